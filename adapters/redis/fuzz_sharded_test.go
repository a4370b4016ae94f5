package redis

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	socketio "github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/adapter/cluster"
	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/msgpack"
)

// nopTransport is a cluster.Transport that goes nowhere: the fuzz targets
// hand messages to an adapter directly.
type nopTransport struct{}

func (nopTransport) Start(context.Context, func(*cluster.Message, string)) error { return nil }
func (nopTransport) Publish(context.Context, *cluster.Message) (string, error)   { return "", nil }
func (nopTransport) PublishResponse(context.Context, string, *cluster.Message) error {
	return nil
}
func (nopTransport) ServerCount(context.Context) (int, error) { return 2, nil }
func (nopTransport) Close(context.Context) error              { return nil }

// FuzzShardedDecode: whatever arrives on a sharded adapter's channels,
// decoding never panics, what decodes encodes again, and handing it to a
// server's adapter (a real namespace, with a client's socket in a room and
// a server-side handler) never panics either.
func FuzzShardedDecode(f *testing.F) {
	for _, s := range []string{
		`{"type":3,"data":{"packet":{"type":2,"data":["bcast",{"n":1}]},"opts":{"rooms":["room"],"except":[],"flags":{}}},"uid":"u1","nsp":"/"}`,
		`{"type":3,"data":{"packet":{"type":2,"data":["ask"]},"requestId":"r","opts":{"rooms":[],"except":[],"flags":{"timeout":10}}},"uid":"u1","nsp":"/"}`,
		`{"type":4,"data":{"opts":{"rooms":["room"],"except":[],"flags":{}},"rooms":["sj"]},"uid":"u","nsp":"/"}`,
		`{"type":6,"data":{"opts":{"rooms":["nobody"],"except":[],"flags":{}},"close":false},"uid":"u","nsp":"/"}`,
		`{"type":7,"data":{"opts":{"rooms":[],"except":[],"flags":{}},"requestId":"r"},"uid":"u","nsp":"/"}`,
		`{"type":8,"data":{"requestId":"r","sockets":[{"id":"a","handshake":{"headers":{},"issued":1,"query":{},"auth":{}},"rooms":["a"],"data":null}]},"uid":"u","nsp":"/"}`,
		`{"type":9,"data":{"requestId":"r","packet":["hello",{"x":1}]},"uid":"u","nsp":"/"}`,
		`{"type":10,"data":{"requestId":"r","packet":"B"},"uid":"u","nsp":"/"}`,
		`{"type":11,"data":{"requestId":"r","clientCount":2},"uid":"u","nsp":"/"}`,
		`{"type":12,"data":{"requestId":"r","packet":"A"},"uid":"u","nsp":"/"}`,
		`{"type":1,"uid":"u","nsp":"/"}`,
		`{"type":13,"uid":"u","nsp":"/"}`,
	} {
		f.Add([]byte(s))
		if b, err := msgpack.FromJSON(nil, []byte(s), nil); err == nil {
			f.Add(b)
		}
	}
	var a *cluster.Adapter
	srv := socketio.NewServer(&socketio.Options{Adapter: func(nsp adapter.Namespace) adapter.Adapter {
		a = cluster.New(nsp, nopTransport{}, cluster.Options{UID: "me"})
		return a
	}})
	f.Cleanup(func() { _ = srv.Close() })
	srv.OnServerSideEmit("hello", func(e *socketio.ServerEvent) { _ = e.Ack("go") })
	hs := httptest.NewServer(srv)
	f.Cleanup(hs.Close)
	srv.Use(func(_ context.Context, s *socketio.Socket) error { s.Join("room"); return nil })
	mgr, err := client.NewManager(hs.URL, &client.Options{Transports: []string{client.TransportWebSocket}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(mgr.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cs := mgr.Socket("/", nil)
	cs.On("ask", func(e *client.Event) { _ = e.Ack("a") })
	if err := cs.Connect(ctx); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decode(b)
		if err != nil {
			return
		}
		if _, err := encode(m); err != nil {
			t.Fatalf("decoded %+v does not encode: %v", m, err)
		}
		a.OnMessage(m, "")
	})
}
