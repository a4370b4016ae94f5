package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	socketio "github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/client"
)

// TestGoCluster runs two Go servers on one PostgreSQL: every operation of
// the cluster, small and large (over the NOTIFY threshold) and binary
// payloads.
func TestGoCluster(t *testing.T) {
	pool := newPool(t, pgURL(t))
	opts := testOptions(t, pool)
	n1 := startGoNode(t, NewAdapter(pool, opts), joinFromAuth)
	n2 := startGoNode(t, NewAdapter(pool, opts), joinFromAuth)
	waitServers(t, 2, n1.srv, n2.srv)

	a, ea := dial(t, n1.url, map[string]any{"rooms": []string{"room", "ra"}})
	b, eb := dial(t, n2.url, map[string]any{"rooms": []string{"room", "rb"}})

	_ = n1.srv.To("room").Emit("r", 1)
	for _, ch := range []<-chan string{ea, eb} {
		if got := recv(t, ch); got != `r [1]` {
			t.Fatalf("got %s", got)
		}
	}
	_ = n2.srv.Except("rb").Emit("not-rb")
	if got := recv(t, ea); got != `not-rb []` {
		t.Fatalf("got %s", got)
	}
	// binary: through the attachment table
	_ = n2.srv.To(a.ID()).Emit("direct", []byte("bin"))
	if got := recv(t, ea); got != `direct [{"_placeholder":true,"num":0}]` {
		t.Fatalf("got %s", got)
	}
	// over the threshold: through the attachment table
	big := strings.Repeat("x", 20000)
	_ = n1.srv.To("rb").Emit("big", big)
	if got := recv(t, eb); got != `big ["`+big+`"]` {
		t.Fatalf("got %d bytes", len(got))
	}
	select {
	case got := <-ea:
		t.Fatalf("a got %.40s", got)
	default:
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	socks, err := n1.srv.FetchSockets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range socks {
		ids = append(ids, s.ID())
	}
	sort.Strings(ids)
	want := []string{a.ID(), b.ID()}
	sort.Strings(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("fetched %v want %v", ids, want)
	}
	answers, err := n2.srv.ServerSideEmitWithAck(ctx, "hello", big)
	if err != nil || len(answers) != 1 {
		t.Fatalf("answers %v %v", answers, err)
	}
	a.On("question", func(e *client.Event) { _ = e.Ack("a", []byte{1, 2}) })
	b.On("question", func(e *client.Event) { _ = e.Ack("b") })
	acks, err := n1.srv.EmitWithAck(ctx, "question")
	if err != nil || len(acks) != 2 {
		t.Fatalf("acks %v %v", acks, err)
	}
	var got []string
	for _, ack := range acks {
		var s string
		_ = ack.Decode(&s)
		got = append(got, s)
	}
	sort.Strings(got)
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("acks %v", got)
	}

	if err := n2.srv.In("ra").SocketsJoin("joined"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "remote socketsJoin", func() bool {
		return slices.Contains(n1.srv.Socket(a.ID()).Rooms(), "joined")
	})
	if err := n2.srv.In("ra").SocketsLeave("room"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "remote socketsLeave", func() bool {
		return !slices.Contains(n1.srv.Socket(a.ID()).Rooms(), "room")
	})
	if err := n1.srv.In("rb").DisconnectSockets(false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "remote disconnectSockets", func() bool { return !b.Connected() })
}

// TestWireLayout listens to the channel of a cluster and checks what a Go
// server sends: JSON notifications, and for binary or large messages a
// header {"uid","type","attachmentId"} with the row id as a string, the
// row holding the MessagePack form.
func TestWireLayout(t *testing.T) {
	url := pgURL(t)
	pool := newPool(t, url)
	opts := testOptions(t, pool)
	opts.PayloadThreshold = 300
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	channel := opts.ChannelPrefix + "#/"
	if _, err := conn.Exec(ctx, `LISTEN "`+channel+`"`); err != nil {
		t.Fatal(err)
	}
	n := startGoNode(t, NewAdapter(pool, opts), nil)
	uid := clusterAdapter(t, n.srv).UID()
	next := func() map[string]any {
		t.Helper()
		for {
			note, err := conn.WaitForNotification(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(note.Payload), &m); err != nil {
				t.Fatalf("payload %q: %v", note.Payload, err)
			}
			if m["type"] == float64(2) { // a heartbeat: not the subject
				continue
			}
			return m
		}
	}
	if m := next(); m["type"] != float64(1) || m["uid"] != uid || m["nsp"] != "/" {
		t.Fatalf("first notification %v", m)
	}
	_ = n.srv.Emit("small", 1)
	m := next()
	data, _ := m["data"].(map[string]any)
	if m["type"] != float64(3) || m["nsp"] != "/" || data == nil {
		t.Fatalf("broadcast %v", m)
	}
	for _, emit := range []func(){
		func() { _ = n.srv.Emit("bin", []byte{1}) },
		func() { _ = n.srv.Emit("large", strings.Repeat("y", 400)) },
	} {
		emit()
		m := next()
		id, ok := m["attachmentId"].(string)
		if len(m) != 3 || m["uid"] != uid || m["type"] != float64(3) || !ok {
			t.Fatalf("header %v", m)
		}
		var payload []byte
		if err := pool.QueryRow(ctx, "SELECT payload FROM "+opts.TableName+" WHERE id = $1", id).Scan(&payload); err != nil {
			t.Fatal(err)
		}
		full, err := decodeAttachment(payload)
		if err != nil || full.Type != 3 || full.UID != uid || full.NSP != "/" {
			t.Fatalf("attachment %+v %v", full, err)
		}
	}
}

// TestChannelTooLong: a namespace whose channel is longer than
// PostgreSQL's 63 bytes fails to start its adapter, instead of LISTENing
// to a truncated name that nobody notifies.
func TestChannelTooLong(t *testing.T) {
	pool := newPool(t, pgURL(t))
	opts := testOptions(t, pool)
	sink, logger := newLogSink()
	opts.Logger = logger
	f := NewAdapter(pool, opts)
	srv := socketio.NewServer(&socketio.Options{Adapter: f, Logger: logger})
	defer srv.Close()
	long := "/" + strings.Repeat("n", 64-len(opts.ChannelPrefix))
	srv.Of(long)
	if !strings.Contains(sink.String(), ErrChannelTooLong.Error()) {
		t.Fatalf("log: %s", sink.String())
	}
	a := srv.Of(long).Adapter()
	if err := a.Init(context.Background()); !errors.Is(err, ErrChannelTooLong) {
		t.Fatalf("Init: %v", err)
	}
}

// TestAttachmentCleanup: the rows older than CleanupInterval are deleted.
func TestAttachmentCleanup(t *testing.T) {
	pool := newPool(t, pgURL(t))
	opts := testOptions(t, pool)
	opts.CleanupInterval = 200 * time.Millisecond
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "INSERT INTO "+opts.TableName+" (payload, created_at) VALUES ('\\x00', now() - interval '1 hour'), ('\\x00', now() + interval '1 hour')"); err != nil {
		t.Fatal(err)
	}
	startGoNode(t, NewAdapter(pool, opts), nil)
	waitFor(t, 5*time.Second, "old attachment row deleted", func() bool {
		var n int
		_ = pool.QueryRow(ctx, "SELECT count(*) FROM "+opts.TableName).Scan(&n)
		return n == 1
	})
}

// TestEmitter drives two Go servers from an Emitter: broadcasts (all,
// room, except, binary, over the threshold), socketsJoin,
// serverSideEmit, disconnectSockets.
func TestEmitter(t *testing.T) {
	pool := newPool(t, pgURL(t))
	opts := testOptions(t, pool)
	jobs := make(chan string, 4)
	setup := func(srv *socketio.Server) {
		joinFromAuth(srv)
		srv.OnServerSideEmit("job", func(e *socketio.ServerEvent) {
			var n int
			_ = e.Decode(&n)
			jobs <- "job " + strings.Repeat("!", n)
		})
	}
	n1 := startGoNode(t, NewAdapter(pool, opts), setup)
	n2 := startGoNode(t, NewAdapter(pool, opts), setup)
	waitServers(t, 2, n1.srv, n2.srv)
	a, ea := dial(t, n1.url, map[string]any{"rooms": []string{"r1"}})
	_, eb := dial(t, n2.url, map[string]any{"rooms": []string{"r2"}})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	em := NewEmitter(pool, &EmitterOptions{ChannelPrefix: opts.ChannelPrefix, TableName: opts.TableName})
	if err := em.Emit(ctx, "all", 1, []byte{7}); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []<-chan string{ea, eb} {
		if g := recv(t, ch); g != `all [1,{"_placeholder":true,"num":0}]` {
			t.Fatalf("got %s", g)
		}
	}
	big := strings.Repeat("b", 9000)
	_ = em.To("r2").Emit(ctx, "r2", big)
	if g := recv(t, eb); g != `r2 ["`+big+`"]` {
		t.Fatalf("got %.40s", g)
	}
	_ = em.Except("r2").Emit(ctx, "not r2")
	if g := recv(t, ea); g != `not r2 []` {
		t.Fatalf("got %s", g)
	}
	if err := em.In("r1").SocketsJoin(ctx, "r3"); err != nil {
		t.Fatal(err)
	}
	// One channel, in order: the join is applied before this broadcast.
	_ = em.To("r3").Emit(ctx, "r3")
	if g := recv(t, ea); g != `r3 []` {
		t.Fatalf("got %s", g)
	}
	if err := em.ServerSideEmit(ctx, "job", 3); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if g := recv(t, jobs); g != "job !!!" {
			t.Fatalf("got %s", g)
		}
	}
	if err := em.In(a.ID()).DisconnectSockets(ctx, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the emitter's disconnect", func() bool { return !a.Connected() })
	if err := em.Emit(ctx, "connect"); !errors.Is(err, ErrReservedEvent) {
		t.Fatalf("reserved: %v", err)
	}
	if err := em.Of(strings.Repeat("n", 80)).Emit(ctx, "x"); !errors.Is(err, ErrChannelTooLong) {
		t.Fatalf("long namespace: %v", err)
	}
}
