package redis

import (
	"testing"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/adapter/cluster"
	"github.com/socketio-go/socketio/msgpack"
)

// fuzzNS is a namespace with no socket, for decoding only.
type fuzzNS struct{ adapter.Namespace }

func (fuzzNS) Name() string { return "/" }

// FuzzClassicDecode: messages from Redis are untrusted. Whatever arrives on
// any of the classic adapter's channels, decoding never panics, and what
// decodes can be encoded again.
func FuzzClassicDecode(f *testing.F) {
	bcast, _ := msgpack.FromJSON(nil, []byte(`["u",{"type":2,"data":["e",1],"nsp":"/"},{"rooms":["r"],"except":[],"flags":{}}]`), nil)
	for _, seed := range [][]byte{
		bcast,
		[]byte(`{"uid":"u","requestId":"r","type":5,"opts":{"rooms":[4242],"except":[]}}`),
		[]byte(`{"uid":"u","type":2,"opts":{"rooms":[],"except":[]},"rooms":["x"]}`),
		[]byte(`{"uid":"u","requestId":"r","type":6,"data":["ev",{"a":1}]}`),
		[]byte(`{"requestId":"r","sockets":[{"id":"s","handshake":{},"rooms":["s"],"data":{}}]}`),
		[]byte(`{"type":8,"requestId":"r","clientCount":2}`),
		[]byte(`{"type":6,"requestId":"r","data":"B"}`),
	} {
		for _, ch := range []string{"socket.io#/#", "socket.io#/#r#", "socket.io-request#/#", "socket.io-response#/#"} {
			f.Add(ch, seed)
		}
	}
	f.Fuzz(func(t *testing.T, channel string, b []byte) {
		tr := &pubsubTransport{
			nsp: "/", uid: "me",
			channel: "socket.io#/#", request: "socket.io-request#/#", response: "socket.io-response#/#",
			specific: "socket.io-response#/#me#",
		}
		tr.a = cluster.New(fuzzNS{}, tr, cluster.Options{UID: "me"}) // no client: legacy requests get no answer
		m, err := tr.decode(channel, b)
		if err != nil || m == nil {
			return
		}
		if _, _, err := tr.encode(m); err != nil {
			t.Fatalf("decoded %+v does not encode: %v", m, err)
		}
	})
}
