package redis

import (
	"context"
	"regexp"
	"slices"
	"sort"
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

// traffic is a numbered broadcast every 10ms from each node, to everyone
// or to the room "room" (every client is in it); sent holds what was
// emitted, by number.
type traffic struct {
	counters []*counter
	mu       sync.Mutex
	sent     map[int]*emitted
	last     int // the last number given
	done     chan struct{}
	wg       sync.WaitGroup
	stopped  bool
}

func startTraffic(nodes []*socketio.Server, counters []*counter, notify chan struct{}) *traffic {
	tr := &traffic{counters: counters, sent: make(map[int]*emitted), done: make(chan struct{})}
	for from, n := range nodes {
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for {
				tr.mu.Lock()
				tr.last++
				k, e := tr.last, &emitted{from: from, start: time.Now()}
				tr.sent[k] = e
				tr.mu.Unlock()
				if k%2 == 0 {
					_ = n.To("room").Emit("n", k)
				} else {
					_ = n.Emit("n", k)
				}
				tr.mu.Lock()
				e.end = time.Now()
				tr.mu.Unlock()
				select {
				case notify <- struct{}{}:
				default:
				}
				select {
				case <-tr.done:
					return
				case <-tick.C:
				}
			}
		}()
	}
	return tr
}

// stop stops the traffic and waits for the last Emits to return.
func (tr *traffic) stop() {
	if !tr.stopped {
		tr.stopped = true
		close(tr.done)
		tr.wg.Wait()
	}
}

// since returns the numbers of the broadcasts emitted (Emit returned)
// that started after t0.
func (tr *traffic) since(t0 time.Time) []int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var ks []int
	for k, e := range tr.sent {
		if e.start.After(t0) && !e.end.IsZero() {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

// everywhere tells whether at least n broadcasts started after t0 and
// every one reached every client.
func (tr *traffic) everywhere(t0 time.Time, n int) func() bool {
	return func() bool {
		ks := tr.since(t0)
		if len(ks) < n {
			return false
		}
		for _, c := range tr.counters {
			for _, k := range ks {
				if !c.hasAll(k, k) {
					return false
				}
			}
		}
		return true
	}
}

// emitDurations returns, sorted, how long the Emits that started between
// from and to took.
func (tr *traffic) emitDurations(from, to time.Time) []time.Duration {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var ds []time.Duration
	for _, e := range tr.sent {
		if e.start.After(from) && e.start.Before(to) && !e.end.IsZero() {
			ds = append(ds, e.end.Sub(e.start))
		}
	}
	slices.Sort(ds)
	return ds
}

// pubsubReady returns the number of pub/sub connections of Redis that hold
// a node's full set of subscriptions (CLIENT LIST), for when no event
// says it.
func pubsubReady(ctx context.Context, c goredis.UniversalClient, sharded bool) int {
	list, err := c.ClientList(ctx).Result()
	if err != nil {
		return -1
	}
	// classic: request, response, own response channel; the broadcast
	// pattern. sharded: the namespace, own response channel, the room
	// "room" (and any other room).
	want := regexp.MustCompile(` sub=3 psub=1 `)
	if sharded {
		want = regexp.MustCompile(` ssub=([3-9]|\d\d+) `)
	}
	n := 0
	for _, l := range strings.Split(list, "\n") {
		if want.MatchString(l) {
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
		urls     []string
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
		urls = append(urls, n.url)
	}
	ctl := goredis.NewClient(&goredis.Options{Addr: rs.addr()})
	t.Cleanup(func() { _ = ctl.Close() })
	waitPubsubReady(t, ctl, sharded, 3, 5*time.Second)

	tr := startTraffic(nodes, counters, notify)
	defer tr.stop()
	sent, since, everywhere := tr.sent, tr.since, tr.everywhere
	waitFor(t, 10*time.Second, "the first 20 broadcasts everywhere", notify, everywhere(time.Time{}, 20))

	// The outage.
	killAt := time.Now()
	rs.kill()
	ctx := context.Background() // no deadline: RequestsTimeout must bound the requests
	request := func(when string) {
		t.Helper()
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
		t.Logf("Redis down, %s: FetchSockets failed in %v (%v), ServerSideEmitWithAck in %v (%v)", when,
			fetchTook.Round(time.Millisecond), err, sseTook.Round(time.Millisecond), sseErr)
	}
	request("right after the kill")
	// The first publish of each node waits for the Redis client's
	// retries; then the node knows the outage and fails at once.
	waitFor(t, 20*time.Second, "30 broadcasts with Redis down, every node failing", nil, func() bool {
		return len(since(killAt)) >= 30 && logs.count("cluster: publish failed") == len(nodes)
	})
	request("the outage known")
	// A room created while Redis is down (a channel to subscribe to, in
	// sharded mode) works once it is back.
	late := newCounter(notify)
	lateID := faultClient(t, urls[1], map[string]any{"rooms": []string{"late"}}, late, nil, nil).ID()

	restartAt := time.Now()
	rs.start()
	upAt := time.Now()
	resubAt := waitPubsubReady(t, ctl, sharded, 3, 10*time.Second)
	// Publishing resumes on its own: the Redis client's pool redials at
	// its pace (go-redis: every second once many dials failed), then the
	// node's probe sees Redis again. The log says it.
	waitFor(t, 10*time.Second, "every node publishing again", nil, func() bool { return logs.count("cluster: publishing again") == len(nodes) })
	backAt := time.Now() // after resubAt
	// Everything emitted once every node is subscribed and publishes again
	// arrives everywhere.
	waitFor(t, 10*time.Second, "30 broadcasts after the recovery everywhere", notify, everywhere(backAt, 30))
	tr.stop()
	last := tr.last
	waitFor(t, 10*time.Second, "every broadcast after the recovery everywhere", notify, everywhere(backAt, 0))

	// What was lost.
	var lostFirst, lostLast time.Time
	outageEmits := tr.emitDurations(killAt, restartAt)
	if slow := len(outageEmits) - sort.Search(len(outageEmits), func(i int) bool { return outageEmits[i] > 200*time.Millisecond }); slow > len(nodes) {
		t.Errorf("%d broadcasts with Redis down took over 200ms: only the first of each node should wait (%v)", slow, outageEmits)
	}
	for j, c := range counters {
		lost, dup := c.missing(last)
		if len(dup) > 0 {
			t.Errorf("client of node %d: duplicates %v", j, spans(dup))
		}
		for _, k := range lost {
			e := sent[k]
			if e.from == j {
				t.Errorf("client of node %d: its own node's broadcast %d lost", j, k)
			}
			if e.end.Before(killAt) || !e.start.Before(backAt) {
				t.Errorf("client of node %d: broadcast %d lost, emitted %v..%v after the kill, recovered at %v", j, k, e.start.Sub(killAt), e.end.Sub(killAt), backAt.Sub(killAt))
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
			if e.from != j && e.start.After(killAt) && e.end.Before(restartAt) && !slices.Contains(lost, k) {
				t.Errorf("client of node %d: broadcast %d emitted while Redis was down arrived", j, k)
			}
		}
		t.Logf("client of node %d: %d of %d lost: %s", j, len(lost), last, spans(lost))
	}
	t.Logf("outage (kill to restart) %v; Redis answering %v after the restart; every node subscribed again %v and publishing again %v after that; "+
		"broadcasts lost: emitted from %v to %v after the kill, %v after Redis answered again; "+
		"an Emit with Redis down took %v (median), %v (max)",
		restartAt.Sub(killAt).Round(time.Millisecond), upAt.Sub(restartAt).Round(time.Millisecond), resubAt.Sub(upAt).Round(time.Millisecond), backAt.Sub(upAt).Round(time.Millisecond),
		lostFirst.Sub(killAt).Round(time.Millisecond), lostLast.Sub(killAt).Round(time.Millisecond), lostLast.Sub(upAt).Round(time.Millisecond),
		outageEmits[len(outageEmits)/2].Round(time.Microsecond), outageEmits[len(outageEmits)-1].Round(time.Millisecond))
	if n := logs.count("cluster: publish failed"); n > len(nodes) {
		t.Errorf("%d publish failures logged for one outage of %d nodes, want one per node", n, len(nodes))
	}

	// The cluster works again.
	ids = append(ids, lateID)
	if err := nodes[0].To("late").Emit("n", 1e6); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "a broadcast to the room created during the outage", notify, func() bool { return late.hasAll(1e6, 1e6) })
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
