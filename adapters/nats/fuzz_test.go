package nats

import (
	"iter"
	"testing"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/adapter/cluster"
	"github.com/socketio-go/socketio/parser"
)

// fuzzNS is a namespace with no socket, for decoding only.
type fuzzNS struct{ adapter.Namespace }

func (fuzzNS) Name() string                                                               { return "/" }
func (fuzzNS) Deliver(*parser.Packet, adapter.BroadcastFlags, iter.Seq[adapter.SocketID]) {}
func (fuzzNS) Disconnect(adapter.SocketID, bool)                                          {}

// FuzzDecode: what arrives from NATS is untrusted. Whatever a message on
// the adapter's subjects, a stream entry or a stored session holds,
// decoding and delivering it never panics, what decodes can be encoded
// again, and a stored session that decodes can be stored again.
func FuzzDecode(f *testing.F) {
	ev := &parser.Packet{Type: parser.Event, ID: parser.NoID, Namespace: "/", Data: []byte(`["e",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2}}}
	for _, m := range []*cluster.Message{
		{Type: cluster.Broadcast, UID: "abc", NSP: "/", Packet: ev, Opts: adapter.BroadcastOptions{Rooms: []string{"r"}, Except: []string{"x"}}},
		{Type: cluster.Broadcast, UID: "abc", NSP: "/", Packet: ev, RequestID: "q"},
		{Type: cluster.SocketsJoin, UID: "abc", NSP: "/", Rooms: []string{"r2"}},
		{Type: cluster.DisconnectSockets, UID: "abc", NSP: "/", Close: true},
		{Type: cluster.FetchSocketsResponse, UID: "abc", NSP: "/", RequestID: "q", Sockets: []adapter.SocketInfo{{ID: "s", Rooms: []string{"s"}, Data: map[string]any{"b": []byte{1}}}}},
		{Type: cluster.Heartbeat, UID: "abc", NSP: "/"},
	} {
		b, err := cluster.AppendMsgpack(nil, m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	s, _ := encodeSession("p", "s", []string{"s", "r"}, map[string]any{"bin": []byte{1}}, 7, "abc", time.UnixMilli(1))
	f.Add(s)
	f.Add([]byte("\xc1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a := NewJetStreamAdapter(nil, JetStreamOptions{})(fuzzNS{}).(*JetStreamAdapter)
		a.maxDisconnection.Store(int64(time.Minute))
		if m, err := a.t.core.decode(b); err == nil {
			if !validUID(m.UID) || m.NSP != "/" {
				t.Fatalf("accepted %+v", m)
			}
			if _, err := cluster.AppendMsgpack(nil, m); err != nil {
				t.Fatalf("decoded %+v does not encode: %v", m, err)
			}
		}
		a.deliverMu.Lock()
		a.deliver(1, b)
		a.deliverMu.Unlock()
		if st, data, err := decodeSession(b); err == nil {
			if _, err := encodeSession(st.PID, st.SID, st.Rooms, data, st.Since, st.Owner, time.UnixMilli(st.Expires)); err != nil {
				t.Fatalf("decoded session %+v does not encode: %v", st, err)
			}
		}
	})
}
