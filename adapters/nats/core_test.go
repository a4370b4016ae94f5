package nats

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	socketio "github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adapter/cluster"
	"github.com/socketio-go/socketio/client"
)

func ids(socks []*socketio.RemoteSocket) []string {
	var out []string
	for _, s := range socks {
		out = append(out, s.ID())
	}
	sort.Strings(out)
	return out
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// waitRooms waits until the local socket id of srv is in room (or not).
func waitRooms(t *testing.T, srv *socketio.Server, id, room string, in bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if s := srv.Socket(id); s != nil && slices.Contains(s.Rooms(), room) == in {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("socket %s in %s: want %v", id, room, in)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sameEvent reports whether the event got is want, but for the offset
// that connection state recovery appends to a broadcast's arguments.
func sameEvent(got, want string) bool {
	if got == want {
		return true
	}
	i := strings.LastIndex(got, `"`)
	j := strings.LastIndex(got[:max(i, 0)], `"`)
	if i < 0 || j < 0 || i != len(got)-2 || !strings.HasSuffix(got, `"]`) {
		return false
	}
	if _, err := strconv.ParseUint(got[j+1:i], 10, 64); err != nil {
		return false
	}
	rest := strings.TrimSuffix(got[:j], ",")
	return rest+"]" == want
}

// clusterOps checks the operations of the adapter across three Go servers.
func clusterOps(t *testing.T, n1, n2, n3 *goNode) {
	a, ea := dial(t, n1.url, map[string]any{"rooms": []string{"r"}})
	b, eb := dial(t, n2.url, map[string]any{"rooms": []string{"r"}})
	c, ec := dial(t, n3.url, nil)

	// Rooms and except.
	_ = n3.srv.To("r").Except(b.ID()).Emit("x", 1)
	if got := recv(t, ea); !sameEvent(got, `x [1]`) {
		t.Fatalf("a got %s", got)
	}
	_ = n1.srv.Emit("all")
	for _, ch := range []<-chan string{ea, eb, ec} {
		if got := recv(t, ch); !sameEvent(got, `all []`) {
			t.Fatalf("got %s (a broadcast to r except b reached b or c?)", got)
		}
	}
	// Binary, to a socket id on another server.
	_ = n2.srv.To(c.ID()).Emit("bin", []byte{1, 2})
	if got := recv(t, ec); !sameEvent(got, `bin [{"_placeholder":true,"num":0}]`) {
		t.Fatalf("c got %s", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	socks, err := n2.srv.FetchSockets(ctx)
	if err != nil || !slices.Equal(ids(socks), sorted(a.ID(), b.ID(), c.ID())) {
		t.Fatalf("fetchSockets %v %v", ids(socks), err)
	}
	socks, err = n3.srv.In("r").FetchSockets(ctx)
	if err != nil || !slices.Equal(ids(socks), sorted(a.ID(), b.ID())) {
		t.Fatalf("fetchSockets in r %v %v", ids(socks), err)
	}

	// socketsJoin / socketsLeave from another server.
	if err := n1.srv.In(c.ID()).SocketsJoin("r2"); err != nil {
		t.Fatal(err)
	}
	waitRooms(t, n3.srv, c.ID(), "r2", true)
	_ = n2.srv.To("r2").Emit("r2")
	if got := recv(t, ec); !sameEvent(got, `r2 []`) {
		t.Fatalf("c got %s", got)
	}
	if err := n1.srv.In("r2").SocketsLeave("r2"); err != nil {
		t.Fatal(err)
	}
	waitRooms(t, n3.srv, c.ID(), "r2", false)

	// Server-side emit with answers.
	answers, err := n1.srv.ServerSideEmitWithAck(ctx, "hello")
	if err != nil || len(answers) != 2 {
		t.Fatalf("answers %v %v", answers, err)
	}
	var names []string
	for _, an := range answers {
		var s string
		if err := an.Decode(&s); err != nil {
			t.Fatal(err)
		}
		names = append(names, s)
	}
	if !slices.Equal(sorted(names...), []string{"n2", "n3"}) {
		t.Fatalf("answers from %v", names)
	}

	// Broadcast with acknowledgements.
	for _, s := range []*client.Socket{a, b, c} {
		s.On("q", func(e *client.Event) { _ = e.Ack(e.Socket().ID()) })
	}
	acks, err := n2.srv.EmitWithAck(ctx, "q")
	if err != nil || len(acks) != 3 {
		t.Fatalf("acks %v %v", acks, err)
	}
	for _, ch := range []<-chan string{ea, eb, ec} {
		if got := recv(t, ch); !sameEvent(got, `q []`) {
			t.Fatalf("got %s", got)
		}
	}

	// disconnectSockets from another server.
	gone := make(chan struct{}, 1)
	c.OnDisconnect(func(client.DisconnectReason) { gone <- struct{}{} })
	if err := n1.srv.In(c.ID()).DisconnectSockets(true); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("c not disconnected")
	}
}

// TestCoreCluster runs three Go servers on core NATS.
func TestCoreCluster(t *testing.T) {
	ns := startNATSServer(t)
	opts := Options{Prefix: testPrefix()}
	n1 := startGoNode(t, NewAdapter(connect(t, ns.url()), opts), false, setupApp("n1"))
	n2 := startGoNode(t, NewAdapter(connect(t, ns.url()), opts), false, setupApp("n2"))
	n3 := startGoNode(t, NewAdapter(connect(t, ns.url()), opts), false, setupApp("n3"))
	waitServers(t, 3, n1, n2, n3)
	clusterOps(t, n1, n2, n3)
}

// TestCoreRequestTimeout: a server that does not answer makes a request
// end after RequestsTimeout with cluster.ErrTimeout and the answers
// received.
func TestCoreRequestTimeout(t *testing.T) {
	ns := startNATSServer(t)
	opts := Options{Prefix: testPrefix(), RequestsTimeout: 500 * time.Millisecond}
	n1 := startGoNode(t, NewAdapter(connect(t, ns.url()), opts), false, setupApp("n1"))
	n2 := startGoNode(t, NewAdapter(connect(t, ns.url()), opts), false, setupApp("n2"))
	n3 := startGoNode(t, NewAdapter(connect(t, ns.url()), opts), false, func(srv *socketio.Server) {
		srv.OnServerSideEmit("hello", func(*socketio.ServerEvent) {}) // never answers
	})
	waitServers(t, 3, n1, n2, n3)
	start := time.Now()
	answers, err := n1.srv.ServerSideEmitWithAck(context.Background(), "hello")
	if !errors.Is(err, cluster.ErrTimeout) || len(answers) != 1 {
		t.Fatalf("answers %v err %v", answers, err)
	}
	if d := time.Since(start); d < 400*time.Millisecond || d > 3*time.Second {
		t.Fatalf("ended after %v", d)
	}

	// A broadcast with acknowledgements whose client on n3 never answers:
	// the answers of the others, and an ack timeout, at the caller's
	// deadline.
	for i, n := range []*goNode{n1, n2, n3} {
		s, _ := dial(t, n.url, nil)
		if i < 2 {
			s.On("q", func(e *client.Event) { _ = e.Ack("ok") })
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	acks, err := n2.srv.EmitWithAck(ctx, "q")
	if !errors.Is(err, socketio.ErrAckTimeout) || len(acks) != 2 {
		t.Fatalf("acks %v err %v", acks, err)
	}
}

// TestSubjectsOfNamespaces: namespaces whose names hold '.', '*', '>' or
// spaces get subjects of their own, and do not hear each other.
func TestSubjectsOfNamespaces(t *testing.T) {
	for name, want := range map[string]string{"/": "_2F", "/chat": "_2Fchat", "/a.b c": "_2Fa_2Eb_20c", "/*>": "_2F_2A_3E", "/x_y": "_2Fx_5Fy", "/é": "_2F_C3_A9"} {
		if got := Token(name); got != want {
			t.Errorf("Token(%q) = %q, want %q", name, got, want)
		}
	}
	ns := startNATSServer(t)
	opts := Options{Prefix: testPrefix()}
	n1 := startGoNode(t, NewAdapter(connect(t, ns.url()), opts), false, nil)
	n2 := startGoNode(t, NewAdapter(connect(t, ns.url()), opts), false, nil)
	got := make(chan string, 16)
	for _, name := range []string{"/a.b", "/a*", "/a>", "/a b"} {
		name := name
		n2.srv.Of(name).OnConnection(func(*socketio.Socket) {})
		n1.srv.Of(name)
		m, err := client.NewManager(n2.url, &client.Options{Transports: []string{client.TransportWebSocket}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		s := m.Socket(name, nil)
		s.OnAny(func(e *client.Event) { got <- name + " " + e.Name() })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = s.Connect(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, name := range []string{"/a.b", "/a*", "/a>", "/a b"} {
		for {
			c, _ := n1.srv.Of(name).Adapter().ServerCount(context.Background())
			if c == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d servers", name, c)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, name := range []string{"/a.b", "/a*", "/a>", "/a b"} {
		_ = n1.srv.Of(name).Emit("e")
		if v := recv(t, got); v != name+" e" {
			t.Fatalf("got %q after a broadcast to %s", v, name)
		}
	}
	none(t, got, 200*time.Millisecond)
}
