package nats

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/adapter/cluster"
	"github.com/socketio-go/socketio/parser"
)

// garbage returns malformed messages: not MessagePack, MessagePack of the
// wrong shape, messages of another namespace, of a server whose uid could
// not name a subject, of unknown types, too large.
func garbage(t testing.TB) [][]byte {
	t.Helper()
	enc := func(m *cluster.Message) []byte {
		b, err := cluster.AppendMsgpack(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ev := &parser.Packet{Type: parser.Event, ID: parser.NoID, Namespace: "/", Data: []byte(`["evil"]`)}
	return [][]byte{
		nil,
		[]byte("\xc1"),
		[]byte("{"),
		[]byte("\x91\x01"),
		[]byte("\x81\xa4type\x03"),
		[]byte("\x83\xa3uid\xa1x\xa3nsp\xa1/\xa4type\x63"),
		enc(&cluster.Message{Type: cluster.Broadcast, UID: "*", NSP: "/", Packet: ev}),
		enc(&cluster.Message{Type: cluster.Broadcast, UID: "a.b", NSP: "/", Packet: ev}),
		enc(&cluster.Message{Type: cluster.Broadcast, UID: "x", NSP: "/other", Packet: ev}),
		enc(&cluster.Message{Type: cluster.FetchSockets, UID: ">", NSP: "/", RequestID: "r"}),
		bytes.Repeat([]byte{0x90}, 70<<10), // beyond MaxMessageSize
	}
}

// TestMalformedMessages publishes garbage on every subject of the adapter
// (broadcasts, a server's own subject, the stream) and in the sessions
// bucket: it is dropped and logged, sampled, and the cluster keeps working.
func TestMalformedMessages(t *testing.T) {
	ns := startNATSServer(t)
	opts := jsOptions()
	opts.MaxMessageSize = 64 << 10
	logs := &logSink{}
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	n1 := startGoNode(t, NewJetStreamAdapter(connect(t, ns.url()), opts), true, setupApp("n1"))
	n2 := startGoNode(t, NewJetStreamAdapter(connect(t, ns.url()), opts), true, setupApp("n2"))
	waitServers(t, 2, n1, n2)
	_, e1 := dial(t, n1.url, nil)

	nc := connect(t, ns.url())
	a1 := n1.srv.Of("/").Adapter().(*JetStreamAdapter)
	subj := newSubjects(opts.Prefix, "/")
	for _, s := range []string{subj.all, subj.node + a1.UID(), subj.log} {
		for _, g := range garbage(t) {
			if err := nc.Publish(s, g); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Control requests: unknown, and a takeover without a session.
	for _, h := range []nats.Header{{hdrControl: []string{"reboot"}}, {hdrControl: []string{"takeover"}}} {
		if err := nc.PublishMsg(&nats.Msg{Subject: subj.node + a1.UID(), Header: h}); err != nil {
			t.Fatal(err)
		}
	}
	// An entry of the stream of a type that does not belong there.
	b, _ := cluster.AppendMsgpack(nil, &cluster.Message{Type: cluster.FetchSockets, UID: "abc", NSP: "/", RequestID: "r"})
	_ = nc.Publish(subj.log, b)
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	// Garbage sessions.
	js, _ := jetstream.New(nc)
	opts.defaults()
	kv, err := js.KeyValue(context.Background(), opts.SessionBucket)
	if err != nil {
		t.Fatal(err)
	}
	for pid, v := range map[string][]byte{"g1": []byte("\xc1"), "g2": []byte("\x80"), "g3": nil} {
		for _, kind := range []string{"k", "l"} {
			if _, err := kv.Put(context.Background(), a1.key(kind, pid), v); err != nil {
				t.Fatal(err)
			}
		}
		s, err := n2.srv.Of("/").Adapter().(adapter.SessionStore).RestoreSession(context.Background(), pid, "")
		if s != nil {
			t.Fatalf("restored a garbage session %q: %+v", pid, s)
		}
		t.Logf("garbage session %q: %v", pid, err)
	}

	// Still working: broadcasts through the stream and requests.
	_ = n2.srv.Emit("still", "ok")
	if got := recv(t, e1); !sameEvent(got, `still ["ok"]`) {
		t.Fatalf("got %s", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if answers, err := n1.srv.ServerSideEmitWithAck(ctx, "hello"); err != nil || len(answers) != 1 {
		t.Fatalf("answers %v %v", answers, err)
	}
	none(t, e1, 100*time.Millisecond) // the garbage reached no client
	out := logs.String()
	for _, want := range []string{"malformed message dropped", "malformed stream entry dropped", "malformed control request dropped"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q logged:\n%s", want, out)
		}
	}
	// Sampled: one line per kind within 10s, not one per message.
	if c := strings.Count(out, "malformed"); c > 6 {
		t.Errorf("%d lines logged for the garbage:\n%s", c, out)
	}
}
