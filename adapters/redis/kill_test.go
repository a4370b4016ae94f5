package redis

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	socketio "github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/adapter/cluster"
)

// faultNodeEnv makes the test binary a node of TestNodeKilled (see
// TestMain): a process of its own, so that SIGKILL is real.
const faultNodeEnv = "SIOREDIS_FAULT_NODE"

const killRequestsTimeout = 3 * time.Second

// killHeartbeat is the membership of the "sharded-heartbeat" mode.
var killHeartbeat = cluster.HeartbeatOptions{Interval: 200 * time.Millisecond, Timeout: time.Second}

// faultFactory returns the adapter of a node of TestNodeKilled: mode is
// "classic", "sharded" (membership by the subscriber count of Redis, asked
// again every 500ms while a request waits) or "sharded-heartbeat"
// (membership by heartbeats).
func faultFactory(mode string, rdb goredis.UniversalClient, prefix string, logger *slog.Logger) adapter.Factory {
	switch mode {
	case "classic":
		return NewAdapter(rdb, Options{Key: prefix, RequestsTimeout: killRequestsTimeout, Logger: logger})
	case "sharded":
		return NewShardedAdapter(rdb, ShardedOptions{ChannelPrefix: prefix, RequestsTimeout: killRequestsTimeout, Logger: logger})
	case "sharded-heartbeat":
		hb := killHeartbeat
		return newShardedAdapter(rdb, ShardedOptions{ChannelPrefix: prefix, RequestsTimeout: killRequestsTimeout, Logger: logger}, cluster.Options{Heartbeat: &hb})
	}
	panic("unknown mode " + mode)
}

// killSetup is the application of every node of TestNodeKilled; "inflight"
// server-side events are reported on got (nil in a node process).
func killSetup(name string, got chan<- struct{}) func(*socketio.Server) {
	return func(srv *socketio.Server) {
		joinFromAuth(srv)
		srv.OnServerSideEmit("inflight", func(e *socketio.ServerEvent) {
			if got != nil {
				got <- struct{}{}
			}
			_ = e.Ack(name)
		})
	}
}

// runFaultNode is a node process: it serves on a free port, prints
// "listening <addr>" and runs until its standard input closes (or it is
// killed).
func runFaultNode(mode string) int {
	rdb := goredis.NewClient(&goredis.Options{Addr: os.Getenv("REDIS_ADDR")})
	srv := socketio.NewServer(&socketio.Options{Adapter: faultFactory(mode, rdb, os.Getenv("PREFIX"), nil)})
	killSetup("victim", nil)(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	go func() { _ = http.Serve(ln, srv) }()
	fmt.Printf("listening %s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// firstLine hands the first line written to it to line (buffered), and
// discards the rest.
type firstLine struct {
	buf  []byte
	sent bool
	line chan string
}

func (w *firstLine) Write(p []byte) (int, error) {
	if !w.sent {
		w.buf = append(w.buf, p...)
		if i := bytes.IndexByte(w.buf, '\n'); i >= 0 {
			w.sent = true
			w.line <- string(w.buf[:i])
			w.buf = nil
		}
	}
	return len(p), nil
}

type nodeProcess struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
}

// startNodeProcess starts the test binary as a node and returns once it
// listens (its subscriptions are made before).
func startNodeProcess(t *testing.T, mode, redisAddr, prefix string) *nodeProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), faultNodeEnv+"="+mode, "REDIS_ADDR="+redisAddr, "PREFIX="+prefix)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &firstLine{line: make(chan string, 1)}
	stderr := &logSink{}
	cmd.Stdout, cmd.Stderr = out, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &nodeProcess{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("node process stderr:\n%s", stderr.String())
		}
	})
	select {
	case l := <-out.line:
		addr, ok := strings.CutPrefix(l, "listening ")
		if !ok {
			t.Fatalf("node process said %q", l)
		}
		p.addr = addr
	case <-p.done:
		t.Fatalf("node process exited: %s", stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatal("node process not listening after 20s")
	}
	return p
}

// waitStopped waits until every thread of process pid is stopped (a
// signal is delivered asynchronously), as /proc tells on Linux; elsewhere
// it returns at once.
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/task", pid)
	if _, err := os.Stat(dir); err != nil {
		return
	}
	waitFor(t, 5*time.Second, "the victim stopped", nil, func() bool {
		tasks, err := os.ReadDir(dir)
		if err != nil {
			return false
		}
		for _, task := range tasks {
			stat, err := os.ReadFile(dir + "/" + task.Name() + "/stat")
			if err != nil {
				return false
			}
			// pid (comm) state ...: comm may hold spaces, the state follows
			// the last ')'.
			i := bytes.LastIndexByte(stat, ')')
			if i < 0 || i+2 >= len(stat) || (stat[i+2] != 'T' && stat[i+2] != 't') {
				return false
			}
		}
		return true
	})
}

// TestNodeKilled kills a node with SIGKILL while requests wait for its
// answer, and checks what the survivors and the clients see: the requests
// complete with the survivors' answers (never hang), the dead node's
// sockets leave FetchSockets, its client reconnects to a survivor (its
// dialer tries the dead node, then a survivor) and receives broadcasts
// there. It reports how long the survivors waited for the dead node.
func TestNodeKilled(t *testing.T) {
	for _, mode := range []string{"classic", "sharded", "sharded-heartbeat"} {
		t.Run(mode, func(t *testing.T) { testNodeKilled(t, mode) })
	}
}

func hostOf(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func testNodeKilled(t *testing.T, mode string) {
	rs := startRedisServer(t)
	prefix := randomPrefix()
	_, logger := newLogSink(t)
	sharded := mode != "classic"
	var survivors []*goNode
	inflight := make(chan struct{}, 4)
	for i := range 2 {
		rdb := goredis.NewClient(&goredis.Options{Addr: rs.addr()})
		t.Cleanup(func() { _ = rdb.Close() })
		var got chan<- struct{}
		if i == 1 {
			got = inflight
		}
		survivors = append(survivors, startGoNode(t, faultFactory(mode, rdb, prefix, logger.With("node", i)), killSetup(fmt.Sprint("s", i), got)))
	}
	victim := startNodeProcess(t, mode, rs.addr(), prefix)
	ctl := goredis.NewClient(&goredis.Options{Addr: rs.addr()})
	t.Cleanup(func() { _ = ctl.Close() })
	countChannel := prefix + "-request#/#"
	if sharded {
		countChannel = prefix + "#/#"
	}
	waitSubscribers(t, ctl, countChannel, sharded, 3, 10*time.Second)
	if mode == "sharded-heartbeat" {
		waitFor(t, 10*time.Second, "the survivors know the victim by its heartbeats", nil, func() bool {
			for _, s := range survivors {
				if n, _ := clusterAdapter(t, s.srv).ServerCount(context.Background()); n != 3 {
					return false
				}
			}
			return true
		})
	}

	notify := make(chan struct{}, 1)
	ca, cb, cv := newCounter(notify), newCounter(notify), newCounter(notify)
	auth := map[string]any{"rooms": []string{"room"}}
	a := faultClient(t, survivors[0].url, auth, ca, nil, nil)
	b := faultClient(t, survivors[1].url, auth, cb, nil, nil)
	fallback := hostOf(t, survivors[0].url)
	var d net.Dialer
	connected := make(chan time.Time, 2)
	v := faultClient(t, "http://"+victim.addr, auth, cv, func(ctx context.Context, network, _ string) (net.Conn, error) {
		// A client that knows the servers of the cluster: the victim
		// first, then a survivor.
		if c, err := d.DialContext(ctx, network, victim.addr); err == nil {
			return c, nil
		}
		return d.DialContext(ctx, network, fallback)
	}, func() {
		select {
		case connected <- time.Now():
		default:
		}
	})
	oldV := v.ID()
	select {
	case <-connected: // the first connection
	case <-time.After(5 * time.Second):
		t.Fatal("no connect event")
	}

	ctx := context.Background() // no deadline: the adapters' RequestsTimeout bounds the requests
	socks, err := survivors[0].srv.FetchSockets(ctx)
	if err != nil || !slices.Equal(socketIDs(socks), sorted(a.ID(), b.ID(), oldV)) {
		t.Fatalf("before the kill: FetchSockets %v, %v", socketIDs(socks), err)
	}

	// The victim hangs (SIGSTOP) while two requests of survivor 0 wait for
	// its answer, then dies (SIGKILL).
	if err := victim.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitStopped(t, victim.cmd.Process.Pid)
	stopAt := time.Now()
	type result struct {
		ids []string
		n   int
		err error
		at  time.Time
	}
	fetched, answered := make(chan result, 1), make(chan result, 1)
	go func() {
		socks, err := survivors[0].srv.FetchSockets(ctx)
		fetched <- result{ids: socketIDs(socks), err: err, at: time.Now()}
	}()
	go func() {
		answers, err := survivors[0].srv.ServerSideEmitWithAck(ctx, "inflight")
		answered <- result{n: len(answers), err: err, at: time.Now()}
	}()
	select {
	case <-inflight: // survivor 1 got the request: it is on its way to the victim too
	case <-time.After(5 * time.Second):
		t.Fatal("survivor 1 did not get the server-side event")
	}
	killAt := time.Now()
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-victim.done
	goneAt := waitSubscribers(t, ctl, countChannel, sharded, 2, 5*time.Second)
	t.Logf("Redis dropped the victim's subscription %v after the SIGKILL", goneAt.Sub(killAt).Round(time.Millisecond))

	// A new request, from the other survivor: counted by Redis, it no
	// longer waits for the victim; with heartbeats, it waits until the
	// victim is declared gone.
	start := time.Now()
	socks, err = survivors[1].srv.FetchSockets(ctx)
	if err != nil || slices.Contains(socketIDs(socks), oldV) {
		t.Errorf("after the kill: FetchSockets %v, %v; the victim's socket %s must be gone", socketIDs(socks), err, oldV)
	}
	t.Logf("a new FetchSockets %v after the SIGKILL took %v", start.Sub(killAt).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

	// How long a request may wait for a dead server: the next liveness
	// poll (every 500ms) once Redis dropped its subscription, or, with
	// heartbeats, Timeout after its last message plus the check interval
	// (Timeout/2, at most 1s). A margin for a loaded machine.
	bound := 500*time.Millisecond + time.Second
	if mode == "sharded-heartbeat" {
		bound = killHeartbeat.Timeout + min(time.Second, killHeartbeat.Timeout/2) + time.Second
	}

	for name, ch := range map[string]chan result{"FetchSockets": fetched, "ServerSideEmitWithAck": answered} {
		select {
		case r := <-ch:
			switch {
			case r.err != nil:
				t.Errorf("%s in flight: %v", name, r.err)
			case name == "FetchSockets" && !slices.Equal(r.ids, sorted(a.ID(), b.ID())):
				t.Errorf("FetchSockets in flight: %v, want the survivors' sockets %v", r.ids, sorted(a.ID(), b.ID()))
			case name == "ServerSideEmitWithAck" && r.n != 1:
				t.Errorf("ServerSideEmitWithAck in flight: %d answers, want the survivor's", r.n)
			}
			if r.at.Sub(stopAt) > bound {
				t.Errorf("%s in flight: completed %v after the victim stopped, bound %v", name, r.at.Sub(stopAt), bound)
			}
			t.Logf("%s in flight: completed %v after the SIGKILL (%v after the victim stopped)", name, r.at.Sub(killAt).Round(time.Millisecond), r.at.Sub(stopAt).Round(time.Millisecond))
		case <-time.After(2 * killRequestsTimeout):
			t.Fatalf("%s in flight: no answer %v after the SIGKILL", name, 2*killRequestsTimeout)
		}
	}
	// The victim's client is now on survivor 0.
	select {
	case at := <-connected:
		t.Logf("the victim's client reconnected to a survivor %v after the SIGKILL", at.Sub(killAt).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("the victim's client did not reconnect")
	}
	newV := v.ID()
	if newV == oldV || survivors[0].srv.Socket(newV) == nil {
		t.Fatalf("the victim's client is %s (was %s), not on survivor 0", newV, oldV)
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	socks, err = survivors[1].srv.FetchSockets(sctx)
	if err != nil || !slices.Equal(socketIDs(socks), sorted(a.ID(), b.ID(), newV)) {
		t.Errorf("after the reconnection: FetchSockets %v, %v; want %v", socketIDs(socks), err, sorted(a.ID(), b.ID(), newV))
	}
	_ = survivors[1].srv.To("room").Emit("n", 1)
	waitFor(t, 5*time.Second, "a broadcast of survivor 1 reaches every client", notify, func() bool {
		return ca.hasAll(1, 1) && cb.hasAll(1, 1) && cv.hasAll(1, 1)
	})
}
