package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	socketio "github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adapter/cluster"
	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/internal/leakcheck"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

// node is one server of a test cluster.
type node struct {
	srv *socketio.Server
	url string
}

// newCluster starts n servers on one bus; setup runs on each before it
// serves.
func newCluster(t *testing.T, n int, opts cluster.Options, setup func(i int, srv *socketio.Server)) (*cluster.Bus, []*node) {
	t.Helper()
	bus := cluster.NewBus()
	var nodes []*node
	for i := range n {
		srv := socketio.NewServer(&socketio.Options{Adapter: bus.Factory(opts)})
		if setup != nil {
			setup(i, srv)
		}
		hs := httptest.NewServer(srv)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
			hs.Close()
		})
		nodes = append(nodes, &node{srv: srv, url: hs.URL})
	}
	return bus, nodes
}

// dial connects a WebSocket client to url with auth and returns it with a
// channel of the events it receives ("name json-args").
func dial(t *testing.T, url string, auth map[string]any) (*client.Socket, <-chan string) {
	t.Helper()
	m, err := client.NewManager(url, &client.Options{Transports: []string{client.TransportWebSocket}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	s := m.Socket("/", &client.SocketOptions{Auth: auth})
	events := make(chan string, 64)
	s.OnAny(func(e *client.Event) {
		b, _ := json.Marshal(e.Args())
		events <- e.Name() + " " + string(b)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	return s, events
}

func recv(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("timeout")
		return ""
	}
}

func none(t *testing.T, ch <-chan string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s", v)
	case <-time.After(50 * time.Millisecond):
	}
}

// joinOnConnect makes each socket join the rooms of its auth ("rooms"), in a
// middleware: before the client is told it is connected.
func joinOnConnect(_ int, srv *socketio.Server) {
	srv.Use(func(_ context.Context, s *socketio.Socket) error {
		if rooms, ok := s.Handshake().Auth["rooms"].([]any); ok {
			for _, r := range rooms {
				s.Join(fmt.Sprint(r))
			}
		}
		s.SetData(map[string]any{"user": s.Handshake().Auth["user"]})
		return nil
	})
}

func TestBroadcastAcrossServers(t *testing.T) {
	_, nodes := newCluster(t, 3, cluster.Options{}, joinOnConnect)
	a, ea := dial(t, nodes[0].url, map[string]any{"rooms": []string{"r1"}})
	_, eb := dial(t, nodes[1].url, map[string]any{"rooms": []string{"r1", "r2"}})
	_, ec := dial(t, nodes[2].url, map[string]any{"rooms": []string{"r2"}})

	_ = nodes[0].srv.Emit("all", 1)
	for _, ch := range []<-chan string{ea, eb, ec} {
		if got := recv(t, ch); got != `all [1]` {
			t.Fatalf("got %s", got)
		}
	}
	_ = nodes[2].srv.To("r1").Emit("r1", "x")
	for _, ch := range []<-chan string{ea, eb} {
		if got := recv(t, ch); got != `r1 ["x"]` {
			t.Fatalf("got %s", got)
		}
	}
	none(t, ec)
	_ = nodes[1].srv.To("r2").Except("r1").Emit("r2 not r1")
	if got := recv(t, ec); got != `r2 not r1 []` {
		t.Fatalf("got %s", got)
	}
	none(t, eb)
	_ = nodes[2].srv.To(a.ID()).Emit("direct", []byte{1, 2, 3})
	if got := recv(t, ea); got != `direct [{"_placeholder":true,"num":0}]` {
		t.Fatalf("got %s", got)
	}
	_ = nodes[0].srv.Local().Emit("local")
	if got := recv(t, ea); got != `local []` {
		t.Fatalf("got %s", got)
	}
	none(t, eb)
}

func TestFetchSocketsAndRemoteOperations(t *testing.T) {
	_, nodes := newCluster(t, 3, cluster.Options{}, joinOnConnect)
	a, _ := dial(t, nodes[0].url, map[string]any{"rooms": []string{"r1"}, "user": "a"})
	b, eb := dial(t, nodes[1].url, map[string]any{"rooms": []string{"r1"}, "user": "b"})
	c, ec := dial(t, nodes[2].url, map[string]any{"user": "c"})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	socks, err := nodes[2].srv.FetchSockets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range socks {
		ids = append(ids, s.ID())
		if s.ID() == b.ID() {
			if !slices.Contains(s.Rooms(), "r1") || s.Handshake().Auth["user"] != "b" {
				t.Fatalf("remote socket: rooms %v auth %v", s.Rooms(), s.Handshake().Auth)
			}
			if d, _ := s.Data().(map[string]any); d["user"] != "b" {
				t.Fatalf("remote data %#v", s.Data())
			}
		}
	}
	sort.Strings(ids)
	want := []string{a.ID(), b.ID(), c.ID()}
	sort.Strings(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("fetched %v, want %v", ids, want)
	}
	if socks, _ := nodes[0].srv.In("r1").FetchSockets(ctx); len(socks) != 2 {
		t.Fatalf("%d sockets in r1", len(socks))
	}

	// Join, leave and disconnect from another server.
	if err := nodes[0].srv.In(c.ID()).SocketsJoin("r3"); err != nil {
		t.Fatal(err)
	}
	_ = nodes[0].srv.Emit("sync") // messages are ordered: the join is done
	recv(t, ec)
	recv(t, eb)
	_ = nodes[1].srv.To("r3").Emit("r3")
	if got := recv(t, ec); got != `r3 []` {
		t.Fatalf("got %s", got)
	}
	if err := nodes[2].srv.In("r1").DisconnectSockets(false); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for a.Connected() || b.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("r1 sockets still connected")
		}
		time.Sleep(5 * time.Millisecond)
	}
	none(t, eb)
}

func TestServerSideEmitAcrossServers(t *testing.T) {
	got := make(chan string, 8)
	_, nodes := newCluster(t, 3, cluster.Options{}, func(i int, srv *socketio.Server) {
		srv.OnServerSideEmit("hello", func(e *socketio.ServerEvent) {
			var who string
			_ = e.Decode(&who)
			got <- fmt.Sprint(i, " from ", who)
			if e.HasAck() {
				_ = e.Ack(fmt.Sprint("node", i), "only the first argument travels")
			}
		})
	})
	if err := nodes[0].srv.ServerSideEmit("hello", "n0"); err != nil {
		t.Fatal(err)
	}
	var from []string
	from = append(from, recv(t, got), recv(t, got))
	sort.Strings(from)
	if !slices.Equal(from, []string{"1 from n0", "2 from n0"}) {
		t.Fatalf("got %v", from)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	answers, err := nodes[1].srv.ServerSideEmitWithAck(ctx, "hello", "n1")
	if err != nil {
		t.Fatal(err)
	}
	var vals []string
	for _, a := range answers {
		b, _ := json.Marshal(a)
		vals = append(vals, string(b))
	}
	sort.Strings(vals)
	if !slices.Equal(vals, []string{`["node0"]`, `["node2"]`}) {
		t.Fatalf("answers %v", vals)
	}
	recv(t, got)
	recv(t, got)
}

func TestBroadcastWithAckAcrossServers(t *testing.T) {
	_, nodes := newCluster(t, 2, cluster.Options{}, nil)
	for i, n := range nodes {
		s, _ := dial(t, n.url, nil)
		s.On("question", func(e *client.Event) { _ = e.Ack(fmt.Sprint("answer", i)) })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	answers, err := nodes[0].srv.EmitWithAck(ctx, "question")
	if err != nil {
		t.Fatal(err)
	}
	var vals []string
	for _, a := range answers {
		var v string
		_ = a.Decode(&v)
		vals = append(vals, v)
	}
	sort.Strings(vals)
	if !slices.Equal(vals, []string{"answer0", "answer1"}) {
		t.Fatalf("answers %v", vals)
	}
}

// TestDeadServerNotWaitedFor: a server that dies while a request waits for
// it is not waited for until the timeout, in both membership modes.
func TestDeadServerNotWaitedFor(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts cluster.Options
	}{
		{"count", cluster.Options{LivenessInterval: 50 * time.Millisecond, RequestsTimeout: 10 * time.Second}},
		{"heartbeat", cluster.Options{Heartbeat: &cluster.HeartbeatOptions{Interval: 50 * time.Millisecond, Timeout: 200 * time.Millisecond}, RequestsTimeout: 10 * time.Second}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			var uids sync.Map
			block := make(chan struct{})
			bus, nodes := newCluster(t, 3, mode.opts, func(i int, srv *socketio.Server) {
				srv.OnServerSideEmit("slow", func(e *socketio.ServerEvent) {
					if i == 2 {
						<-block // the dying server never answers
						return
					}
					_ = e.Ack(i)
				})
			})
			defer close(block)
			for i, n := range nodes {
				uids.Store(i, n.srv.Of("/").Adapter().(*cluster.Adapter).UID())
			}
			if mode.opts.Heartbeat != nil {
				waitServers(t, nodes[0].srv, 3)
			}
			done := make(chan error, 1)
			start := time.Now()
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				answers, err := nodes[0].srv.ServerSideEmitWithAck(ctx, "slow")
				if err == nil && len(answers) != 1 {
					err = fmt.Errorf("%d answers", len(answers))
				}
				done <- err
			}()
			time.Sleep(20 * time.Millisecond)
			uid, _ := uids.Load(2)
			bus.Cut(uid.(string))
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Fatalf("answered after %v", d)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the request waited for the dead server")
			}
		})
	}
}

func waitServers(t *testing.T, srv *socketio.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := srv.Of("/").Adapter().ServerCount(context.Background())
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d servers, want %d", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRequestTimeout(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	_, nodes := newCluster(t, 2, cluster.Options{RequestsTimeout: 100 * time.Millisecond}, func(i int, srv *socketio.Server) {
		srv.OnServerSideEmit("slow", func(e *socketio.ServerEvent) { <-block })
	})
	answers, err := nodes[0].srv.ServerSideEmitWithAck(context.Background(), "slow")
	if !errors.Is(err, cluster.ErrTimeout) || len(answers) != 0 {
		t.Fatalf("answers %v, err %v", answers, err)
	}
}
