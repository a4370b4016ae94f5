package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/adapter/cluster"
)

// garbageNotifications are NOTIFY payloads that are not messages, or not
// well-formed ones; {row} is replaced by the id of an attachment row
// holding garbage.
var garbageNotifications = []string{
	"",
	"x",
	"{",
	"[]",
	`{"type":99,"uid":"z","nsp":"/"}`,
	`{"type":3,"uid":"z","nsp":"/"}`,
	`{"type":3,"uid":"z","nsp":"/","data":{"packet":7}}`,
	`{"type":7,"uid":"z","nsp":"/","data":{}}`,
	`{"uid":"z","type":3,"attachmentId":"999999999"}`,
	`{"uid":"z","type":3,"attachmentId":"abc"}`,
	`{"uid":"z","type":3,"attachmentId":-1}`,
	`{"uid":"z","type":3,"attachmentId":{}}`,
	`{"uid":"z","type":3,"attachmentId":"{row}"}`,
}

// garbageAttachments are payload columns that are not MessagePack
// messages.
var garbageAttachments = [][]byte{
	nil,
	{},
	{0xc1},
	{0x93, 1, 2, 3},
	{0x81, 0xa4, 't', 'y', 'p', 'e', 0x03},
	{0xdf, 0xff, 0xff, 0xff, 0xff},
}

// TestMalformedNotifications sends garbage on a cluster's channel and in
// its attachment table: nothing crashes, the garbage is logged (sampled),
// and the cluster keeps working.
func TestMalformedNotifications(t *testing.T) {
	pool := newPool(t, pgURL(t))
	opts := testOptions(t, pool)
	sink, logger := newLogSink()
	opts.Logger = logger
	n1 := startGoNode(t, NewAdapter(pool, opts), joinFromAuth)
	n2 := startGoNode(t, NewAdapter(pool, opts), joinFromAuth)
	waitServers(t, 2, n1.srv, n2.srv)
	_, ea := dial(t, n1.url, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	channel := opts.ChannelPrefix + "#/"
	notify := func(payload string) {
		t.Helper()
		if _, err := pool.Exec(ctx, "SELECT pg_notify($1, $2)", channel, payload); err != nil {
			t.Fatal(err)
		}
	}
	sent := 0
	for _, att := range garbageAttachments {
		var id int64
		if err := pool.QueryRow(ctx, "INSERT INTO "+opts.TableName+" (payload) VALUES ($1) RETURNING id", att).Scan(&id); err != nil {
			t.Fatal(err)
		}
		for _, g := range garbageNotifications {
			notify(strings.ReplaceAll(g, "{row}", fmt.Sprint(id)))
			sent++
		}
	}
	// The cluster still works, in order after the garbage.
	_ = n2.srv.Emit("after", 1)
	if got := recv(t, ea); got != `after [1]` {
		t.Fatalf("got %s", got)
	}
	dropped := sink.count("malformed notification dropped") + sink.count("attachment dropped")
	if dropped == 0 || dropped > 4 {
		t.Fatalf("%d garbage notifications (x2 servers) logged %d times, want sampled (1..4):\n%s", sent, dropped, sink.String())
	}
	if !strings.Contains(sink.String(), "unlogged_since_last") {
		// a second burst, a second later, reports the count left out
		time.Sleep(1100 * time.Millisecond)
		notify("x")
		_ = n2.srv.Emit("after", 2)
		recv(t, ea)
		waitFor(t, 5*time.Second, "the count of unlogged messages", func() bool {
			return strings.Contains(sink.String(), "unlogged_since_last")
		})
	}
}

// FuzzDecode feeds a NOTIFY payload, and the attachment row it may point
// to, to the decoders: no panic, and what decodes is a valid message.
func FuzzDecode(f *testing.F) {
	for _, g := range garbageNotifications {
		f.Add([]byte(strings.ReplaceAll(g, "{row}", "1")), []byte{0xc1})
	}
	for _, m := range []*cluster.Message{
		{Type: cluster.Heartbeat, UID: "u", NSP: "/"},
		{Type: cluster.FetchSockets, UID: "u", NSP: "/", RequestID: "r"},
	} {
		b, _ := cluster.AppendJSON(nil, m)
		p, _ := cluster.AppendMsgpack(nil, m)
		f.Add(b, p)
		f.Add(appendHeader(nil, "u", m.Type, 1), p)
	}
	f.Fuzz(func(t *testing.T, payload, row []byte) {
		n, err := decodeNotification(payload)
		if err != nil {
			return
		}
		if n.msg == nil {
			if n.attachmentID <= 0 {
				t.Fatalf("attachment id %d", n.attachmentID)
			}
			m, err := decodeAttachment(row)
			if err != nil {
				return
			}
			n.msg = m
		}
		if n.msg.Type < cluster.InitialHeartbeat || n.msg.Type > cluster.AdapterClose {
			t.Fatalf("type %d", n.msg.Type)
		}
		// What decodes encodes again.
		if _, err := encode(n.msg, 8000); err != nil {
			t.Fatalf("re-encoding %+v: %v", n.msg, err)
		}
	})
}
