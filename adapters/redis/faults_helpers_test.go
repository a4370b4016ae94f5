package redis

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	socketio "github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adapter/cluster"
	"github.com/socketio-go/socketio/client"
)

// Helpers of the fault tests (faults_test.go): a private redis-server that
// can be killed and restarted, Go nodes in other processes that can be
// killed, clients that count what they receive.

// redisServerBin returns the path of redis-server; without it the fault
// tests skip, or fail when CI is set.
func redisServerBin(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server not found in PATH (CI is set: a missing dependency fails the run)")
		}
		t.Skip("redis-server not found in PATH: the fault tests start their own Redis")
	}
	return bin
}

// redisServer is a redis-server of the test's own, on a free loopback
// port, never the shared one: the tests kill it.
type redisServer struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	args []string // more redis-server options
	cmd  *exec.Cmd
	done chan struct{}
}

// startRedisServer starts a redis-server of the test's own, with the extra
// options args (later options override the defaults: no persistence).
func startRedisServer(t testing.TB, args ...string) *redisServer {
	t.Helper()
	r := &redisServer{t: t, bin: redisServerBin(t), dir: t.TempDir(), port: freePort(t), args: args}
	r.start()
	t.Cleanup(r.kill)
	return r
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (r *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// start starts redis-server (again, on the same port) and returns once it
// answers PING.
func (r *redisServer) start() {
	r.t.Helper()
	cmd := exec.Command(r.bin, append([]string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", r.dir, "--logfile", filepath.Join(r.dir, "redis.log")}, r.args...)...)
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("redis-server: %v", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	r.cmd, r.done = cmd, done
	// No event says that redis-server listens: poll (with plain dials: a
	// Redis client slows its redials down after failures).
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		var conn net.Conn
		if conn, err = net.DialTimeout("tcp", r.addr(), time.Second); err == nil {
			_ = conn.Close()
			c := goredis.NewClient(&goredis.Options{Addr: r.addr(), MaxRetries: -1})
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err = c.Ping(ctx).Err()
			cancel()
			_ = c.Close()
			if err == nil {
				return
			}
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
			r.t.Fatalf("redis-server exited: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server on %s does not answer: %v", r.addr(), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop shuts redis-server down as an operator's restart does (SIGTERM: the
// commands in progress end, the append-only file is written) and waits for
// it to exit.
func (r *redisServer) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	<-r.done
	r.cmd = nil
}

// kill kills redis-server with SIGKILL and waits for it to exit.
func (r *redisServer) kill() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}

// logSink collects an adapter's log, shown when the test fails.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logSink) count(substr string) int {
	return strings.Count(l.String(), substr)
}

func newLogSink(t testing.TB) (*logSink, *slog.Logger) {
	l := &logSink{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("adapter log:\n%s", l.String())
		}
	})
	return l, slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// counter records which numbered events a client received, and how often.
type counter struct {
	mu     sync.Mutex
	got    map[int]int
	notify chan struct{} // may be shared by several counters
}

// newCounter returns a counter that signals notify (buffered) on every
// event.
func newCounter(notify chan struct{}) *counter {
	return &counter{got: make(map[int]int), notify: notify}
}

func (c *counter) add(k int) {
	c.mu.Lock()
	c.got[k]++
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// hasAll reports whether every number in [from, to] arrived.
func (c *counter) hasAll(from, to int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := from; k <= to; k++ {
		if c.got[k] == 0 {
			return false
		}
	}
	return true
}

// missing returns the numbers of [1, to] that did not arrive, and those
// that arrived more than once.
func (c *counter) missing(to int) (lost, dup []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := 1; k <= to; k++ {
		switch n := c.got[k]; {
		case n == 0:
			lost = append(lost, k)
		case n > 1:
			dup = append(dup, k)
		}
	}
	return lost, dup
}

// waitFor waits until cond holds, checked again at each signal of notify
// (or every 5ms when notify is nil: for conditions no event tells); d
// bounds it.
func waitFor(t testing.TB, d time.Duration, what string, notify <-chan struct{}, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	var tick <-chan time.Time
	if notify == nil {
		tk := time.NewTicker(5 * time.Millisecond)
		defer tk.Stop()
		tick = tk.C
	}
	for !cond() {
		select {
		case <-notify:
		case <-tick:
		case <-deadline.C:
			t.Fatalf("%s: not after %v", what, d)
		}
	}
}

// faultClient connects a websocket client to url (through dial, if not
// nil), counts the "n" events it receives in c, and calls onConnect (if
// not nil) at each connection, the first included.
func faultClient(t testing.TB, url string, auth map[string]any, c *counter, dial func(ctx context.Context, network, addr string) (net.Conn, error), onConnect func()) *client.Socket {
	t.Helper()
	m, err := client.NewManager(url, &client.Options{
		Transports:          []string{client.TransportWebSocket},
		ReconnectionDelay:   50 * time.Millisecond,
		RandomizationFactor: -1,
		Dialer:              dial,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	s := m.Socket("/", &client.SocketOptions{Auth: auth})
	if c != nil {
		s.On("n", func(e *client.Event) {
			var k int
			if err := e.Decode(&k); err == nil {
				c.add(k)
			}
		})
	}
	if onConnect != nil {
		s.OnConnect(onConnect)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// clusterAdapter returns the cluster adapter of srv's main namespace.
func clusterAdapter(t testing.TB, srv *socketio.Server) *cluster.Adapter {
	t.Helper()
	a, ok := srv.Of("/").Adapter().(*cluster.Adapter)
	if !ok {
		t.Fatalf("adapter %T", srv.Of("/").Adapter())
	}
	return a
}

// subscribers returns how many connections Redis counts on channel
// (SHARDNUMSUB for a sharded channel).
func subscribers(ctx context.Context, c goredis.UniversalClient, channel string, sharded bool) (int64, error) {
	var (
		res map[string]int64
		err error
	)
	if sharded {
		res, err = c.PubSubShardNumSub(ctx, channel).Result()
	} else {
		res, err = c.PubSubNumSub(ctx, channel).Result()
	}
	return res[channel], err
}

// waitSubscribers polls Redis (no event says that another connection
// subscribed) until channel has n subscribers, and returns when.
func waitSubscribers(t testing.TB, c goredis.UniversalClient, channel string, sharded bool, n int64, d time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		got, err := subscribers(ctx, c, channel, sharded)
		cancel()
		if err == nil && got == n {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d subscribers (%v), want %d, after %v", channel, got, err, n, d)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// socketIDs returns the sorted ids of sockets.
func socketIDs(socks []*socketio.RemoteSocket) []string {
	ids := make([]string, 0, len(socks))
	for _, s := range socks {
		ids = append(ids, s.ID())
	}
	slices.Sort(ids)
	return ids
}

func sorted(ids ...string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return ids
}

// spans formats sorted numbers as ranges: "3-7 9".
func spans(ks []int) string {
	var b strings.Builder
	for i := 0; i < len(ks); {
		j := i
		for j+1 < len(ks) && ks[j+1] == ks[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		if j == i {
			fmt.Fprint(&b, ks[i])
		} else {
			fmt.Fprintf(&b, "%d-%d", ks[i], ks[j])
		}
		i = j + 1
	}
	return b.String()
}
