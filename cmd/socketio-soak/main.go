// Command socketio-soak runs the long soak of docs/reliability.md: many
// clients connecting, chatting and leaving for minutes against a server in a
// separate process, then a reconnect storm after that server is killed and
// restarted.
//
// Usage:
//
//	socketio-soak run [flags]     start a server process and soak it
//	socketio-soak serve [flags]   the server process (run starts it)
//
// run starts "socketio-soak serve" on a free loopback port, records the
// server's idle baseline (goroutines and heap after a GC, from /stats), then:
//
//  1. churn: -clients clients (of which -polling use long-polling only, the
//     rest WebSocket only) stay connected for -duration; each lives a random
//     lifetime in [-min-life, -max-life), sends "say" every -say-every
//     (acknowledged by the server and relayed to its room) and is replaced
//     when it leaves. The server broadcasts sequenced "msg" events to the
//     -rooms rooms at -rate messages/s in total; a client that sees a
//     sequence gap has lost a message.
//  2. baseline: once every client is gone, the server must return to its
//     idle goroutine count and near its idle heap.
//  3. storm: -storm WebSocket clients connect, the server process is killed
//     (SIGKILL) and started again on the same port; every client must come
//     back, spread over time by its backoff and jitter.
//
// It prints the figures and exits with status 1 if a message was lost, a
// say was not acknowledged, a client failed to connect, the baseline was
// not reached, or a client did not come back.
//
// With -recovery, the server runs with connection state recovery
// (socketio.Options.ConnectionStateRecovery, its sessions kept for
// -recovery-window) and retry deduplication (RetryDedup), and the churn
// forces connection losses on the clients:
//
//   - each client reconnects by itself (default backoff: 1 s, jitter 0.5,
//     5 s max) and must get its session back; every TCP connection it
//     opened is reset (SO_LINGER 0) at random moments, on average every
//     -drop-every;
//   - a client's "msg" sequence runs on across its recovered
//     reconnections: a missing number is a lost message, one received
//     again a duplicate;
//   - says go through the client's retry queue (Retries, no ack timeout):
//     one whose acknowledgement was lost with a connection is sent again
//     after the reconnection and, deduplicated by the server, handled
//     once; the other clients of the room check the "said" relays for
//     gaps and duplicates;
//   - a reconnection that does not recover its session after a
//     disconnection shorter than half of -recovery-window is a failure,
//     and so is a client still disconnected 30 s after a loss at the end
//     of its lifetime;
//   - before the baseline, the server stops broadcasting, and the baseline
//     also waits until the recovery store is empty (no event kept, no
//     session): -baseline-wait is extended by -recovery-window plus 45 s,
//     how long the server keeps events.
//
// The storm runs as without -recovery (the restarted server knows none of
// the sessions: the clients get new ones).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/internal/soak"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: socketio-soak run|serve [flags] (-h for the flags)")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serveCmd(ctx, os.Args[2:])
	case "run":
		err = runCmd(ctx, os.Args[2:], os.Stdout)
	default:
		err = fmt.Errorf("unknown command %q: want run or serve", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "socketio-soak:", err)
		os.Exit(1)
	}
}

// serveCmd is the server process: the soak application and /stats.
func serveCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback)")
	rooms := fs.Int("rooms", 1000, "rooms the broadcasts go to")
	rate := fs.Int("rate", 1000, "broadcast messages per second, over all rooms")
	rht := fs.Duration("read-header-timeout", 10*time.Second, "http.Server ReadHeaderTimeout")
	recovery := fs.Bool("recovery", false, "connection state recovery and retry deduplication on")
	window := fs.Duration("recovery-window", 0, "with -recovery, MaxDisconnectionDuration (0: the default, 2m)")
	_ = fs.Parse(args)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	var opts *socketio.Options
	if *recovery {
		opts = &socketio.Options{
			ConnectionStateRecovery: &socketio.ConnectionStateRecovery{MaxDisconnectionDuration: *window},
			RetryDedup:              &socketio.RetryDedupOptions{},
		}
	}
	srv := socketio.NewServer(opts)
	tick := soak.App(srv, *rooms)
	tctx, quiet := context.WithCancel(ctx)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.Handle("/stats", soak.Stats(srv))
	mux.Handle("/stats/recovery", soak.RecoveryStatsHandler(srv))
	// POST /quiet stops the broadcasts (so that, with recovery, the events
	// kept expire).
	mux.HandleFunc("POST /quiet", func(w http.ResponseWriter, r *http.Request) { quiet() })
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: *rht}
	go func() { tick(tctx, *rate) }()
	// The parent reads the address from this line.
	fmt.Printf("listening on %s\n", ln.Addr())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// The listener first, then the drain (see socketio.Server.Shutdown).
		drained := make(chan error, 1)
		hs.RegisterOnShutdown(func() { drained <- srv.Shutdown(sctx) })
		_ = hs.Shutdown(sctx)
		<-drained
	}()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// serverProc is a running "serve" child process.
type serverProc struct {
	cmd  *exec.Cmd
	addr string
}

// startServer starts "serve" with the flags extra besides these.
func startServer(ctx context.Context, addr string, rooms, rate int, extra []string) (*serverProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "-addr", addr, "-rooms", fmt.Sprint(rooms), "-rate", fmt.Sprint(rate)}
	args = append(args, extra...)
	// SOAK_SERVE_FLAGS adds flags to the server's command line.
	args = append(args, strings.Fields(os.Getenv("SOAK_SERVE_FLAGS"))...)
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("server did not start: %w", err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return &serverProc{cmd: cmd, addr: strings.TrimSpace(strings.TrimPrefix(line, "listening on "))}, nil
}

func (p *serverProc) kill() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

func (p *serverProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
}

func (p *serverProc) stats(ctx context.Context) (soak.ServerStats, error) {
	var st soak.ServerStats
	err := p.get(ctx, http.MethodGet, "/stats", &st)
	return st, err
}

func (p *serverProc) recoveryStats(ctx context.Context) (soak.RecoveryStats, error) {
	var st soak.RecoveryStats
	err := p.get(ctx, http.MethodGet, "/stats/recovery", &st)
	return st, err
}

// quiet stops the server's broadcasts.
func (p *serverProc) quiet(ctx context.Context) error {
	return p.get(ctx, http.MethodPost, "/quiet", nil)
}

// get sends a request to the server and decodes its JSON answer into v
// (unless v is nil).
func (p *serverProc) get(ctx context.Context, method, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://"+p.addr+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if v == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func runCmd(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	clients := fs.Int("clients", 10000, "clients connected at any time during the churn")
	polling := fs.Int("polling", 500, "how many of -clients use long-polling only (the rest: WebSocket)")
	duration := fs.Duration("duration", 10*time.Minute, "churn duration")
	rooms := fs.Int("rooms", 1000, "rooms")
	rate := fs.Int("rate", 1000, "server broadcasts per second, over all rooms")
	sayEvery := fs.Duration("say-every", 10*time.Second, "each client sends an acknowledged \"say\" this often")
	minLife := fs.Duration("min-life", 30*time.Second, "shortest client lifetime")
	maxLife := fs.Duration("max-life", 120*time.Second, "longest client lifetime")
	storm := fs.Int("storm", 10000, "clients in the reconnect storm (0: no storm)")
	baselineWait := fs.Duration("baseline-wait", 90*time.Second,
		"how long the server may take to return to its baseline (abandoned handshakes last pingInterval+pingTimeout)")
	recovery := fs.Bool("recovery", false,
		"server with connection state recovery and retry deduplication; the clients' connections are reset and must recover")
	window := fs.Duration("recovery-window", 0, "with -recovery, the server's MaxDisconnectionDuration (0: its default, 2m)")
	dropEvery := fs.Duration("drop-every", 30*time.Second, "with -recovery, the mean interval between two resets of a client's connections (0: none)")
	_ = fs.Parse(args)
	if *polling > *clients {
		return fmt.Errorf("-polling %d exceeds -clients %d", *polling, *clients)
	}
	var misplaced error
	fs.Visit(func(f *flag.Flag) {
		if !*recovery && (f.Name == "recovery-window" || f.Name == "drop-every") {
			misplaced = fmt.Errorf("-%s needs -recovery", f.Name)
		}
	})
	if misplaced != nil {
		return misplaced
	}
	var extra []string
	if *recovery {
		extra = []string{"-recovery", "-recovery-window", window.String()}
		if *window <= 0 {
			*window = 2 * time.Minute
		}
	}

	srv, err := startServer(ctx, "127.0.0.1:0", *rooms, *rate, extra)
	if err != nil {
		return err
	}
	defer func() { srv.stop() }()
	fmt.Fprintf(w, "server on %s (pid %d)\n", srv.addr, srv.cmd.Process.Pid)
	base, err := srv.stats(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "baseline: %+v\n", base)

	// 1. Churn: the WebSocket and the polling clients side by side.
	start := time.Now()
	cfg := soak.Config{
		URL: "http://" + srv.addr, Duration: *duration, Rooms: *rooms,
		MinLifetime: *minLife, MaxLifetime: *maxLife, SayEvery: *sayEvery,
	}
	if *recovery {
		cfg.Recovery, cfg.RecoveryWindow, cfg.DropEvery = true, *window, *dropEvery
	}
	var (
		wg       sync.WaitGroup
		ws, poll soak.Result
	)
	progress, stopProgress := context.WithCancel(ctx)
	go reportProgress(progress, w, srv, start, *recovery)
	wg.Add(2)
	go func() {
		defer wg.Done()
		c := cfg
		c.Clients, c.Transports = *clients-*polling, []string{"websocket"}
		ws, _ = soak.Run(ctx, c)
	}()
	go func() {
		defer wg.Done()
		c := cfg
		c.Clients, c.Transports = *polling, []string{"polling"}
		poll, _ = soak.Run(ctx, c)
	}()
	wg.Wait()
	stopProgress()
	fmt.Fprintf(w, "churn (%v): websocket: %v\n", time.Since(start).Round(time.Second), ws)
	fmt.Fprintf(w, "churn (%v): polling:   %v\n", time.Since(start).Round(time.Second), poll)
	var failures []string
	for _, r := range []soak.Result{ws, poll} {
		if r.Failed() {
			failures = append(failures, "churn: "+r.String())
		}
	}

	// 2. Back to the baseline.
	bstart := time.Now()
	wait := *baselineWait
	if *recovery {
		// The events kept for recovery expire window + the heartbeat
		// (45 s) after they were sent: stop sending.
		if err := srv.quiet(ctx); err != nil {
			return err
		}
		wait += *window + 45*time.Second
		if rs, err := srv.recoveryStats(ctx); err == nil {
			fmt.Fprintf(w, "broadcasts stopped; recovery store: %+v\n", rs)
		}
	}
	var (
		after soak.ServerStats
		rs    soak.RecoveryStats
	)
	for {
		if after, err = srv.stats(ctx); err != nil {
			return err
		}
		if *recovery {
			if rs, err = srv.recoveryStats(ctx); err != nil {
				return err
			}
		}
		if after.Sessions == 0 && after.Goroutines <= base.Goroutines+2 && after.HeapInuse <= base.HeapInuse+16<<20 &&
			rs.StoredPackets == 0 && rs.KeptSessions == 0 {
			if *recovery {
				fmt.Fprintf(w, "baseline reached after %v: %+v, recovery store %+v\n", time.Since(bstart).Round(100*time.Millisecond), after, rs)
			} else {
				fmt.Fprintf(w, "baseline reached after %v: %+v\n", time.Since(bstart).Round(100*time.Millisecond), after)
			}
			break
		}
		if time.Since(bstart) > wait {
			if *recovery {
				failures = append(failures, fmt.Sprintf("baseline not reached in %v: %+v, recovery store %+v", wait, after, rs))
			} else {
				failures = append(failures, fmt.Sprintf("baseline not reached in %v: %+v", wait, after))
			}
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}

	// 3. Reconnect storm.
	if *storm > 0 {
		if err := runStorm(ctx, w, &srv, *storm, *rooms, *rate, extra); err != nil {
			failures = append(failures, "storm: "+err.Error())
		}
	}
	if len(failures) > 0 {
		return errors.New(strings.Join(failures, "; "))
	}
	fmt.Fprintln(w, "PASS")
	return nil
}

// reportProgress prints the server's figures every 30 s (with recovery,
// its recovery store's too).
func reportProgress(ctx context.Context, w io.Writer, srv *serverProc, start time.Time, recovery bool) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := srv.stats(ctx)
		if err != nil {
			continue
		}
		line := fmt.Sprintf("  %4ds: sessions %d, goroutines %d, heap %.1f MiB",
			int(time.Since(start).Seconds()), st.Sessions, st.Goroutines, float64(st.HeapInuse)/(1<<20))
		if recovery {
			if rs, err := srv.recoveryStats(ctx); err == nil {
				line += fmt.Sprintf(", kept for recovery: %d events (%.1f MiB), %d sessions",
					rs.StoredPackets, float64(rs.StoredBytes)/(1<<20), rs.KeptSessions)
			}
		}
		fmt.Fprintln(w, line)
	}
}

// runStorm connects n clients, kills the server, restarts it on the same
// address and waits until every client is back, printing how the
// reconnections spread over time.
func runStorm(ctx context.Context, w io.Writer, srv **serverProc, n, rooms, rate int, extra []string) error {
	var (
		mu       sync.Mutex
		connects []time.Time
	)
	onConnect := func() {
		mu.Lock()
		connects = append(connects, time.Now())
		mu.Unlock()
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	socks, err := soak.StormClients(cctx, "http://"+(*srv).addr, n, []string{"websocket"}, onConnect)
	if err != nil {
		return fmt.Errorf("initial connect: %w", err)
	}
	defer soak.CloseAll(socks)
	fmt.Fprintf(w, "storm: %d clients connected in %v\n", n, time.Since(t0).Round(10*time.Millisecond))
	// Failed reconnection attempts, by error: what the backoff spreads.
	var (
		emu      sync.Mutex
		attempts int
		rerrs    = map[string]int{}
	)
	for _, s := range socks {
		s.Manager().OnReconnectAttempt(func(int) {
			emu.Lock()
			attempts++
			emu.Unlock()
		})
		s.Manager().OnReconnectError(func(err error) {
			emu.Lock()
			rerrs[err.Error()]++
			emu.Unlock()
		})
	}

	addr := (*srv).addr
	(*srv).kill()
	killed := time.Now()
	for {
		s, err := startServer(ctx, addr, rooms, rate, extra)
		if err == nil {
			*srv = s
			break
		}
		if ctx.Err() != nil || time.Since(killed) > 10*time.Second {
			return fmt.Errorf("restart: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	restarted := time.Now()
	fmt.Fprintf(w, "storm: server killed and restarted in %v\n", restarted.Sub(killed).Round(time.Millisecond))
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(connects)
	}
	for count() < 2*n {
		select {
		case <-cctx.Done():
			return fmt.Errorf("%d of %d clients came back", count()-n, n)
		case <-time.After(50 * time.Millisecond):
		}
	}
	mu.Lock()
	back := append([]time.Time(nil), connects[n:]...)
	mu.Unlock()
	last := back[0]
	buckets := map[int]int{}
	for _, t := range back {
		if t.After(last) {
			last = t
		}
		buckets[int(t.Sub(killed)/(500*time.Millisecond))]++
	}
	fmt.Fprintf(w, "storm: all %d clients back %v after the kill (%.0f reconnections/s)\n",
		n, last.Sub(killed).Round(10*time.Millisecond), float64(n)/last.Sub(killed).Seconds())
	emu.Lock()
	fmt.Fprintf(w, "storm: %d reconnection attempts; failed ones by error: %v\n", attempts, rerrs)
	emu.Unlock()
	fmt.Fprintln(w, "storm: reconnections per 500 ms after the kill:")
	for i := 0; i <= int(last.Sub(killed)/(500*time.Millisecond)); i++ {
		fmt.Fprintf(w, "  %5.1fs %6d\n", float64(i)/2, buckets[i])
	}
	return nil
}
