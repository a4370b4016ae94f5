package redis

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	socketio "github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adapter"
)

// Fault tests of the Redis pub/sub adapters: Redis restarting under
// traffic, a node killed with SIGKILL, garbage on the adapters' channels.
// Each test starts a redis-server of its own (never the shared one).

const restartRequestsTimeout = time.Second

// TestRedisRestart kills Redis (SIGKILL) while three Go nodes broadcast
// numbered messages to a client each, and restarts it on the same port. It
// asserts what is lost (the broadcasts published while the nodes could not
// reach Redis, for the clients of the other nodes; never a local delivery,
// never a duplicate), that requests during the outage fail within
// RequestsTimeout, that the nodes resubscribe by themselves, and that
// afterwards every broadcast reaches every client and requests work again.
func TestRedisRestart(t *testing.T) {
	for _, mode := range []string{"classic", "sharded"} {
		t.Run(mode, func(t *testing.T) { testRedisRestart(t, mode == "sharded") })
	}
}

// emitted is one broadcast of the traffic: which node emitted it, when the
// Emit call started and returned.
type emitted struct {
	from       int
	start, end time.Time
}

// pubsubReady returns the number of pub/sub connections of Redis that hold
// a node's full set of subscriptions (CLIENT LIST), for when no event
// says it.
func pubsubReady(ctx context.Context, c goredis.UniversalClient, sharded bool) int {
	list, err := c.ClientList(ctx).Result()
	if err != nil {
		return -1
	}
	want := " sub=3 psub=1 " // request, response, own response channel; the broadcast pattern
	if sharded {
		want = " ssub=3 " // the namespace, own response channel, the room "room"
	}
	n := 0
	for _, l := range strings.Split(list, "\n") {
		if strings.Contains(l, want) {
			n++
		}
	}
	return n
}

func waitPubsubReady(t testing.TB, c goredis.UniversalClient, sharded bool, n int, d time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		got := pubsubReady(ctx, c, sharded)
		cancel()
		if got == n {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d nodes subscribed, want %d, after %v", got, n, d)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func testRedisRestart(t *testing.T, sharded bool) {
	rs := startRedisServer(t)
	prefix := randomPrefix()
	logs, logger := newLogSink(t)
	notify := make(chan struct{}, 1)
	var (
		nodes    []*socketio.Server
		counters []*counter
		ids      []string
	)
	for i := range 3 {
		rdb := goredis.NewClient(&goredis.Options{Addr: rs.addr()})
		t.Cleanup(func() { _ = rdb.Close() })
		var f adapter.Factory
		if sharded {
			f = NewShardedAdapter(rdb, ShardedOptions{ChannelPrefix: prefix, RequestsTimeout: restartRequestsTimeout, Logger: logger.With("node", i)})
		} else {
			f = NewAdapter(rdb, Options{Key: prefix, RequestsTimeout: restartRequestsTimeout, Logger: logger.With("node", i)})
		}
		n := startGoNode(t, f, joinFromAuth)
		c := newCounter(notify)
		s := faultClient(t, n.url, map[string]any{"rooms": []string{"room"}}, c, nil, nil)
		nodes, counters, ids = append(nodes, n.srv), append(counters, c), append(ids, s.ID())
	}
	ctl := goredis.NewClient(&goredis.Options{Addr: rs.addr()})
	t.Cleanup(func() { _ = ctl.Close() })
	waitPubsubReady(t, ctl, sharded, 3, 5*time.Second)

	// The traffic: every 5ms a numbered broadcast, from each node in turn,
	// to everyone or to the room "room" (every client is in it).
	var (
		mu   sync.Mutex
		sent []emitted // sent[k-1] is broadcast k
	)
	sentCount := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(sent)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for k := 1; ; k++ {
			from := k % len(nodes)
			start := time.Now()
			if k%2 == 0 {
				_ = nodes[from].To("room").Emit("n", k)
			} else {
				_ = nodes[from].Emit("n", k)
			}
			mu.Lock()
			sent = append(sent, emitted{from: from, start: start, end: time.Now()})
			mu.Unlock()
			select {
			case notify <- struct{}{}:
			default:
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	stopped := false
	stopTraffic := func() {
		if !stopped {
			stopped = true
			close(stop)
			<-done
		}
	}
	defer stopTraffic()
	allHave := func(from, to int) func() bool {
		return func() bool {
			for _, c := range counters {
				if !c.hasAll(from, to) {
					return false
				}
			}
			return true
		}
	}
	waitFor(t, 10*time.Second, "the first 20 broadcasts everywhere", notify, func() bool { return sentCount() >= 20 && allHave(1, 20)() })

	// The outage.
	killAt := time.Now()
	rs.kill()
	ctx := context.Background() // no deadline: RequestsTimeout must bound the requests
	start := time.Now()
	socks, err := nodes[1].FetchSockets(ctx)
	fetchTook := time.Since(start)
	if err == nil {
		t.Fatalf("FetchSockets with Redis down: %d sockets, no error", len(socks))
	}
	start = time.Now()
	answers, sseErr := nodes[2].ServerSideEmitWithAck(ctx, "hello")
	sseTook := time.Since(start)
	if sseErr == nil {
		t.Fatalf("ServerSideEmitWithAck with Redis down: %v, no error", answers)
	}
	for _, took := range []time.Duration{fetchTook, sseTook} {
		if took > restartRequestsTimeout+300*time.Millisecond {
			t.Errorf("a request with Redis down took %v (RequestsTimeout %v)", took, restartRequestsTimeout)
		}
	}
	t.Logf("with Redis down: FetchSockets failed in %v (%v), ServerSideEmitWithAck in %v (%v)", fetchTook.Round(time.Millisecond), err, sseTook.Round(time.Millisecond), sseErr)
	duringOutage := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, e := range sent {
			if e.start.After(killAt) {
				n++
			}
		}
		return n
	}
	waitFor(t, 20*time.Second, "3 broadcasts with Redis down", notify, func() bool { return duringOutage() >= 3 })

	restartAt := time.Now()
	rs.start()
	upAt := time.Now()
	resubAt := waitPubsubReady(t, ctl, sharded, 3, 10*time.Second)
	// Everything emitted once every node is subscribed again arrives
	// everywhere; the broadcast being emitted now may have been published
	// before.
	first := sentCount() + 2
	waitFor(t, 10*time.Second, "30 broadcasts after the resubscription everywhere", notify, func() bool {
		return sentCount() >= first+30 && allHave(first, first+30)()
	})
	stopTraffic()
	last := sentCount()
	waitFor(t, 10*time.Second, "every broadcast after the resubscription everywhere", notify, allHave(first, last))

	// What was lost.
	var lostFirst, lostLast time.Time
	var maxOutageEmit time.Duration
	for _, e := range sent {
		if e.start.After(killAt) && e.start.Before(upAt) {
			maxOutageEmit = max(maxOutageEmit, e.end.Sub(e.start))
		}
	}
	for j, c := range counters {
		lost, dup := c.missing(last)
		if len(dup) > 0 {
			t.Errorf("client of node %d: duplicates %v", j, spans(dup))
		}
		for _, k := range lost {
			e := sent[k-1]
			if e.from == j {
				t.Errorf("client of node %d: its own node's broadcast %d lost", j, k)
			}
			if e.end.Before(killAt) || !e.start.Before(resubAt) {
				t.Errorf("client of node %d: broadcast %d lost, emitted %v..%v after the kill, resubscribed at %v", j, k, e.start.Sub(killAt), e.end.Sub(killAt), resubAt.Sub(killAt))
			}
			if lostFirst.IsZero() || e.start.Before(lostFirst) {
				lostFirst = e.start
			}
			if e.end.After(lostLast) {
				lostLast = e.end
			}
		}
		// Pub/sub keeps nothing: what another node emitted while Redis
		// was down is gone.
		for k, e := range sent {
			if e.from != j && e.start.After(killAt) && e.end.Before(restartAt) && !slices.Contains(lost, k+1) {
				t.Errorf("client of node %d: broadcast %d emitted while Redis was down arrived", j, k+1)
			}
		}
		t.Logf("client of node %d: %d of %d lost: %s", j, len(lost), last, spans(lost))
	}
	t.Logf("outage (kill to restart) %v; Redis answering %v after the restart; every node subscribed again %v after that; "+
		"broadcasts lost: emitted from %v to %v after the kill (a window of %v); an Emit with Redis down took up to %v",
		restartAt.Sub(killAt).Round(time.Millisecond), upAt.Sub(restartAt).Round(time.Millisecond), resubAt.Sub(upAt).Round(time.Millisecond),
		lostFirst.Sub(killAt).Round(time.Millisecond), lostLast.Sub(killAt).Round(time.Millisecond), lostLast.Sub(lostFirst).Round(time.Millisecond),
		maxOutageEmit.Round(time.Millisecond))
	if n := logs.count("cluster: publish failed"); n > len(nodes) {
		t.Errorf("%d publish failures logged for one outage of %d nodes, want one per node", n, len(nodes))
	}

	// The cluster works again.
	rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i, n := range nodes {
		socks, err := n.FetchSockets(rctx)
		if err != nil || !slices.Equal(socketIDs(socks), sorted(ids...)) {
			t.Errorf("node %d after the restart: FetchSockets %v, %v; want %v", i, socketIDs(socks), err, sorted(ids...))
		}
		answers, err := n.ServerSideEmitWithAck(rctx, "hello")
		if err != nil || len(answers) != len(nodes)-1 {
			t.Errorf("node %d after the restart: ServerSideEmitWithAck %d answers, %v", i, len(answers), err)
		}
	}
}
