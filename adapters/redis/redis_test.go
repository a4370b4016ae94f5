package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	socketio "github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/internal/clustertest"
	"github.com/socketio-go/socketio/internal/leakcheck"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(faultNodeEnv); mode != "" {
		// This process is a node of TestNodeKilled, not a test run.
		os.Exit(runFaultNode(mode))
	}
	os.Exit(leakcheck.Run(m))
}

// redisAddr is the Redis the tests use: $REDIS_ADDR, or 127.0.0.1:6379,
// started with redis-server when nothing answers there.
func redisAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if c.Ping(ctx).Err() == nil {
		return addr
	}
	if addr == "127.0.0.1:6379" {
		cmd := exec.Command("redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379", "--save", "", "--appendonly", "no")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("no Redis at %s and redis-server failed: %v %s", addr, err, out)
		}
		deadline := time.Now().Add(5 * time.Second)
		for c.Ping(ctx).Err() != nil {
			if time.Now().After(deadline) {
				t.Fatalf("redis-server started but %s does not answer", addr)
			}
			time.Sleep(20 * time.Millisecond)
		}
		return addr
	}
	t.Fatalf("no Redis at %s", addr)
	return ""
}

func newClient(t testing.TB) goredis.UniversalClient {
	c := goredis.NewClient(&goredis.Options{Addr: redisAddr(t)})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func randomPrefix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "test-" + hex.EncodeToString(b[:])
}

// goNode is a Go server of a test cluster (see clustertest.StartNode).
type goNode struct {
	srv *socketio.Server
	url string
}

func startGoNode(t *testing.T, factory adapter.Factory, setup func(*socketio.Server)) *goNode {
	t.Helper()
	n := clustertest.StartNode(t, &socketio.Options{Adapter: factory}, setup)
	return &goNode{srv: n.Srv, url: n.URL}
}

var (
	dial         = clustertest.Dial
	recv         = clustertest.Recv
	joinFromAuth = clustertest.JoinFromAuth
)

// twoGoServers checks what every adapter must do between two Go servers
// n1 and n2 (set up with joinFromAuth): a client on each in "room"; a
// broadcast to the room reaches both, a binary emit to a socket id of the
// other server arrives, FetchSockets sees both sockets, and the other
// server answers a server-side emit. It returns the clients and their
// events.
func twoGoServers(t *testing.T, n1, n2 *goNode) (a, b *client.Socket, ea, eb <-chan string) {
	t.Helper()
	a, ea = dial(t, n1.url, map[string]any{"rooms": []string{"room"}})
	b, eb = dial(t, n2.url, map[string]any{"rooms": []string{"room"}})
	_ = n1.srv.To("room").Emit("r", 1)
	for _, ch := range []<-chan string{ea, eb} {
		if got := recv(t, ch); got != `r [1]` {
			t.Fatalf("got %s", got)
		}
	}
	_ = n2.srv.To(a.ID()).Emit("direct", []byte("bin"))
	if got := recv(t, ea); got != `direct [{"_placeholder":true,"num":0}]` {
		t.Fatalf("got %s", got)
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
	answers, err := n2.srv.ServerSideEmitWithAck(ctx, "hello")
	if err != nil || len(answers) != 1 {
		t.Fatalf("answers %v %v", answers, err)
	}
	return a, b, ea, eb
}

// TestShardedGoCluster runs two Go servers on Redis sharded pub/sub.
func TestShardedGoCluster(t *testing.T) {
	for _, mode := range []SubscriptionMode{Dynamic, Static, DynamicPrivate} {
		t.Run(string(mode), func(t *testing.T) {
			c := newClient(t)
			opts := ShardedOptions{ChannelPrefix: randomPrefix(), SubscriptionMode: mode}
			n1 := startGoNode(t, NewShardedAdapter(c, opts), joinFromAuth)
			n2 := startGoNode(t, NewShardedAdapter(c, opts), joinFromAuth)
			twoGoServers(t, n1, n2)
		})
	}
}

// TestClassicGoCluster runs two Go servers on Redis pub/sub (the classic
// adapter).
func TestClassicGoCluster(t *testing.T) {
	c := newClient(t)
	opts := Options{Key: randomPrefix()}
	n1 := startGoNode(t, NewAdapter(c, opts), joinFromAuth)
	n2 := startGoNode(t, NewAdapter(c, opts), joinFromAuth)
	a, b, ea, eb := twoGoServers(t, n1, n2)
	_ = n2.srv.Emit("all")
	for _, ch := range []<-chan string{ea, eb} {
		if got := recv(t, ch); got != `all []` {
			t.Fatalf("got %s", got)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b.On("question", func(e *client.Event) { _ = e.Ack("b") })
	a.On("question", func(e *client.Event) { _ = e.Ack("a") })
	acks, err := n1.srv.EmitWithAck(ctx, "question")
	if err != nil || len(acks) != 2 {
		t.Fatalf("acks %v %v", acks, err)
	}
	if err := n2.srv.In("room").SocketsLeave("room"); err != nil {
		t.Fatal(err)
	}
	// The request and broadcast channels are not ordered with each other:
	// wait for the leave to arrive.
	deadline := time.Now().Add(5 * time.Second)
	for slices.Contains(n1.srv.Socket(a.ID()).Rooms(), "room") {
		if time.Now().After(deadline) {
			t.Fatalf("rooms %v 5s after a remote socketsLeave", n1.srv.Socket(a.ID()).Rooms())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestEmitter drives Go servers on the classic adapter from an Emitter.
func TestEmitter(t *testing.T) {
	c := newClient(t)
	key := randomPrefix()
	got := make(chan string, 4)
	setup := func(srv *socketio.Server) {
		joinFromAuth(srv)
		srv.OnServerSideEmit("job", func(e *socketio.ServerEvent) {
			var n int
			_ = e.Decode(&n)
			got <- fmt.Sprint("job ", n)
		})
	}
	n1 := startGoNode(t, NewAdapter(c, Options{Key: key}), setup)
	n2 := startGoNode(t, NewAdapter(c, Options{Key: key}), setup)
	a, ea := dial(t, n1.url, map[string]any{"rooms": []string{"r1"}})
	_, eb := dial(t, n2.url, map[string]any{"rooms": []string{"r2"}})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	em := NewEmitter(c, &EmitterOptions{Key: key})
	if err := em.Emit(ctx, "all", 1, []byte{7}); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []<-chan string{ea, eb} {
		if g := recv(t, ch); g != `all [1,{"_placeholder":true,"num":0}]` {
			t.Fatalf("got %s", g)
		}
	}
	_ = em.To("r2").Emit(ctx, "r2")
	if g := recv(t, eb); g != `r2 []` {
		t.Fatalf("got %s", g)
	}
	_ = em.Except("r2").Emit(ctx, "not r2")
	if g := recv(t, ea); g != `not r2 []` {
		t.Fatalf("got %s", g)
	}
	if err := em.In("r1").SocketsJoin(ctx, "r3"); err != nil {
		t.Fatal(err)
	}
	// Requests and broadcasts go on different channels, not ordered with
	// each other: wait for the join.
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Contains(n1.srv.Socket(a.ID()).Rooms(), "r3") {
		if time.Now().After(deadline) {
			t.Fatal("the join did not arrive")
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = em.To("r3").Emit(ctx, "r3")
	if g := recv(t, ea); g != `r3 []` {
		t.Fatalf("got %s", g)
	}
	if err := em.ServerSideEmit(ctx, "job", 5); err != nil {
		t.Fatal(err)
	}
	if g := recv(t, got); g != "job 5" {
		t.Fatalf("got %s", g)
	}
	recv(t, got)
	if err := em.In(a.ID()).DisconnectSockets(ctx, false); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for a.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("still connected")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := em.Emit(ctx, "connect"); !errors.Is(err, ErrReservedEvent) {
		t.Fatalf("reserved: %v", err)
	}
}
