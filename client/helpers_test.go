package client

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	socketio "github.com/socketio-go/socketio"
)

// modes are the three transport configurations every feature is tested
// with.
var modes = []struct {
	name string
	opts func(o *Options)
}{
	{"polling", func(o *Options) { o.Transports = []string{TransportPolling} }},
	{"websocket", func(o *Options) { o.Transports = []string{TransportWebSocket} }},
	{"upgrade", func(o *Options) {}},
}

// goServer is an in-process server of this module.
type goServer struct {
	srv *socketio.Server
	hs  *httptest.Server
	url string
}

func newGoServer(t *testing.T, opts *socketio.Options, setup func(*socketio.Server)) *goServer {
	t.Helper()
	srv := socketio.NewServer(opts)
	if setup != nil {
		setup(srv)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	return &goServer{srv: srv, hs: hs, url: hs.URL}
}

// echoServer registers "echo" (emits the arguments back) and "echo-ack"
// (acknowledges with them) on every namespace it is given.
func echoSetup(nsps ...string) func(*socketio.Server) {
	return func(srv *socketio.Server) {
		for _, name := range nsps {
			srv.Of(name).OnConnection(func(s *socketio.Socket) {
				s.On("echo", func(e *socketio.Event) { _ = s.Emit("echo", e.Args().Spread()...) })
				s.On("echo-ack", func(e *socketio.Event) {
					if e.HasAck() {
						_ = e.Ack(e.Args().Spread()...)
					}
				})
			})
		}
	}
}

// newTestManager returns a Manager for url with fast reconnection, closed
// at the end of the test.
func newTestManager(t *testing.T, url string, opts *Options) *Manager {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	if opts.ReconnectionDelay == 0 {
		opts.ReconnectionDelay = 20 * time.Millisecond
	}
	if opts.ReconnectionDelayMax == 0 {
		opts.ReconnectionDelayMax = 100 * time.Millisecond
	}
	m, err := NewManager(url, opts)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	t.Cleanup(m.Close)
	return m
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// recv waits for a value on ch.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timeout waiting for %s", what)
		panic("unreachable")
	}
}

// events collects the events of a socket on a channel.
func events(s *Socket, name string) <-chan *Event {
	ch := make(chan *Event, 100)
	s.On(name, func(e *Event) { ch <- e })
	return ch
}

// serve serves srv on an httptest server closed at the end of the test.
func serve(t *testing.T, srv *socketio.Server) *httptest.Server {
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs
}
