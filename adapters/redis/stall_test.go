package redis

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	socketio "github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/faultproxy"
)

// stallReadTimeout is the nodes' Redis read and write timeout in
// TestRedisStalled. With go-redis' defaults (3s, and contexts' deadlines
// ignored) the first Emit of each node waited 10s for a stalled Redis,
// and a request 5s whatever RequestsTimeout: the nodes' clients here
// also have ContextTimeoutEnabled, so that RequestsTimeout bounds the
// requests.
const stallReadTimeout = 300 * time.Millisecond

// TestRedisStalled cuts the path to Redis without closing anything (a
// proxy stops forwarding: a network partition, a frozen Redis) while two
// nodes broadcast, then restores it. Nothing may hang: requests fail
// within RequestsTimeout, and once a command timed out, Emits return at
// once. Afterwards everything works again, on the same connections or
// new ones. It reports what arrived, late or twice: the Redis client
// retries a PUBLISH that timed out, and the proxy, as TCP would, delivers
// the stalled bytes once the path is back.
func TestRedisStalled(t *testing.T) {
	for _, mode := range []string{"classic", "sharded"} {
		t.Run(mode, func(t *testing.T) { testRedisStalled(t, mode == "sharded") })
	}
}

func testRedisStalled(t *testing.T, sharded bool) {
	rs := startRedisServer(t)
	proxy, err := faultproxy.New(rs.addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	prefix := randomPrefix()
	logs, logger := newLogSink(t)
	notify := make(chan struct{}, 1)
	var (
		nodes    []*socketio.Server
		counters []*counter
		ids      []string
	)
	for i := range 2 {
		rdb := goredis.NewClient(&goredis.Options{Addr: proxy.Addr(), ReadTimeout: stallReadTimeout, WriteTimeout: stallReadTimeout, ContextTimeoutEnabled: true})
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
	ctl := goredis.NewClient(&goredis.Options{Addr: rs.addr()}) // not through the proxy
	t.Cleanup(func() { _ = ctl.Close() })
	waitPubsubReady(t, ctl, sharded, 2, 5*time.Second)

	tr := startTraffic(nodes, counters, notify)
	defer tr.stop()
	waitFor(t, 10*time.Second, "the first 20 broadcasts everywhere", notify, tr.everywhere(time.Time{}, 20))

	stallAt := time.Now()
	proxy.Stall()
	ctx := context.Background()
	start := time.Now()
	socks, err := nodes[0].FetchSockets(ctx)
	took := time.Since(start)
	if err == nil {
		t.Errorf("FetchSockets with Redis stalled: %v, no error", socketIDs(socks))
	}
	if took > restartRequestsTimeout+300*time.Millisecond {
		t.Errorf("FetchSockets with Redis stalled took %v (RequestsTimeout %v)", took, restartRequestsTimeout)
	}
	t.Logf("Redis stalled: FetchSockets failed in %v (%v)", took.Round(time.Millisecond), err)
	waitFor(t, 20*time.Second, "30 broadcasts with Redis stalled, every node failing", nil, func() bool {
		return len(tr.since(stallAt)) >= 30 && logs.count("cluster: publish failed") == len(nodes)
	})
	resumeAt := time.Now()
	stalled := tr.emitDurations(stallAt, resumeAt)
	if slow := len(stalled) - sort.Search(len(stalled), func(i int) bool { return stalled[i] > 4*stallReadTimeout+500*time.Millisecond }); slow > 0 {
		t.Errorf("%d Emits with Redis stalled took longer than the Redis client's retries: %v", slow, stalled)
	}
	if slow := len(stalled) - sort.Search(len(stalled), func(i int) bool { return stalled[i] > 200*time.Millisecond }); slow > len(nodes) {
		t.Errorf("%d Emits with Redis stalled took over 200ms: only the first of each node should wait (%v)", slow, stalled)
	}
	proxy.Resume()

	// Everything works again: broadcasts reach everyone, requests answer.
	waitFor(t, 15*time.Second, "every node publishing again", nil, func() bool { return logs.count("cluster: publishing again") == len(nodes) })
	backAt := time.Now()
	waitFor(t, 15*time.Second, "30 broadcasts after the stall everywhere", notify, tr.everywhere(backAt, 30))
	tr.stop()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for i, n := range nodes {
		socks, err := n.FetchSockets(rctx)
		if err != nil || !slices.Equal(socketIDs(socks), sorted(ids...)) {
			t.Errorf("node %d after the stall: FetchSockets %v, %v", i, socketIDs(socks), err)
		}
	}
	// What arrived: lost and duplicated broadcasts were all emitted during
	// the stall or while the nodes recovered.
	for j, c := range counters {
		lost, dup := c.missing(tr.last)
		for _, k := range lost {
			if tr.sent[k].from == j {
				t.Errorf("client of node %d: its own node's broadcast %d lost", j, k)
			}
		}
		for _, k := range append(slices.Clone(lost), dup...) {
			if e := tr.sent[k]; e.end.Before(stallAt) || e.start.After(backAt) {
				t.Errorf("client of node %d: broadcast %d lost or duplicated, emitted %v after the stall began, recovered at %v", j, k, e.start.Sub(stallAt), backAt.Sub(stallAt))
			}
		}
		t.Logf("client of node %d: %d of %d lost (%s), %d more than once (%s)", j, len(lost), tr.last, spans(lost), len(dup), spans(dup))
	}
	t.Logf("stall %v; an Emit during it took %v (median), %v (max); publishing again %v after the path came back",
		resumeAt.Sub(stallAt).Round(time.Millisecond), stalled[len(stalled)/2].Round(time.Microsecond), stalled[len(stalled)-1].Round(time.Millisecond),
		backAt.Sub(resumeAt).Round(time.Millisecond))
}
