package redis

import (
	"encoding/base64"
	"testing"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/adapter/cluster"
	"github.com/socketio-go/socketio/msgpack"
	"github.com/socketio-go/socketio/parser"
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

// FuzzStreamsDecode: stream entries and stored sessions are untrusted.
// Whatever a stream entry holds, decoding never panics, and what decodes
// can be written as an entry again; a stored session that decodes can be
// stored again.
func FuzzStreamsDecode(f *testing.F) {
	bin, _ := cluster.AppendDataMsgpack(nil, &cluster.Message{Type: cluster.Broadcast, Packet: &parser.Packet{Type: parser.Event, Data: []byte(`["e",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2}}}})
	for _, seed := range []struct{ typ, data string }{
		{"3", `{"packet":{"type":2,"data":["e",1]},"opts":{"rooms":["r"],"except":[],"flags":{}}}`},
		{"3", base64.StdEncoding.EncodeToString(bin)},
		{"4", `{"opts":{"rooms":[],"except":[]},"rooms":["x"]}`},
		{"6", `{"opts":{"rooms":[],"except":[]},"close":true}`},
		{"9", `{"packet":["ev",1]}`},
		{"2", ""},
	} {
		f.Add(seed.typ, seed.data, "hKNzaWShc6NwaWShcKVyb29tc5Ghc6RkYXRhgA==")
	}
	f.Fuzz(func(t *testing.T, typ, data, session string) {
		tr := &streamsTransport{nsp: "/", opts: StreamsOptions{}}
		tr.opts.defaults()
		m, err := tr.decodeEntry(map[string]any{"uid": "u", "nsp": "/", "type": typ, "data": data})
		if err == nil && m != nil {
			if _, err := tr.entry(m); err != nil {
				t.Fatalf("decoded %+v does not encode: %v", m, err)
			}
		}
		if st, d, err := decodeSession(session); err == nil {
			if _, err := encodeSession(st.PID, st.SID, st.Rooms, d, st.Since, st.Owner); err != nil {
				t.Fatalf("decoded session %+v does not encode: %v", st, err)
			}
		}
	})
}
