package postgres

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/socketio-go/socketio/client"
)

// app is a process of the interop app contract (interop/README.md).
type app struct {
	url  string
	cmd  *exec.Cmd
	done chan struct{}
}

func startApp(t *testing.T, name string, args []string, env ...string) *app {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &logSink{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &app{cmd: cmd, done: make(chan struct{})}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() {
			if first {
				line <- sc.Text()
				first = false
			}
		}
		_ = cmd.Wait()
		close(a.done)
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-a.done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-a.done
		}
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, stderr.String())
		}
	})
	select {
	case l := <-line:
		port, ok := strings.CutPrefix(l, "listening ")
		if !ok {
			t.Fatalf("%s said %q", name, l)
		}
		a.url = "http://127.0.0.1:" + port
	case <-a.done:
		t.Fatalf("%s exited: %s", name, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("%s not listening after 30s", name)
	}
	return a
}

// TestMixedPostgresRestart restarts PostgreSQL (an instance of the test's
// own) under a Go and a Node server of one cluster: both listen again,
// count each other again, and broadcasts and server-side requests cross
// between them both ways. The Node server needs an "error" listener on
// its pool's clients (node-app.js): without it, the official adapter
// 0.5.0 makes the process exit, which the test asserts too.
func TestMixedPostgresRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a PostgreSQL, Node and Go servers")
	}
	requireNodePackages(t)
	pgs := startOwnPostgres(t)
	pool, err := pgxpool.New(context.Background(), pgs.url())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	opts := testOptions(t, pool)

	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", dir, "./interop/goapp")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./interop/goapp: %v\n%s", err, out)
	}
	env := []string{"PG_URL=" + pgs.url(), "PREFIX=" + opts.ChannelPrefix, "HEARTBEAT_INTERVAL=300", "HEARTBEAT_TIMEOUT=1500", "EXIT_ON_STDIN_EOF=1", "PORT=0", "LOG_INFO=1", "DEBUG=socket.io-postgres-adapter"}
	apps := []*app{
		startApp(t, "goapp", []string{filepath.Join(dir, "goapp")}, env...),
		startApp(t, "node-app", []string{"node", filepath.Join(interopDir, "node-app.js")}, env...),
	}
	type peer struct {
		ctl    *client.Socket
		events <-chan string
	}
	var peers []peer
	for _, a := range apps {
		ctl, events := dial(t, a.url, nil)
		peers = append(peers, peer{ctl, events})
	}
	call := func(p peer, event string, args ...any) any {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := p.ctl.EmitWithAck(ctx, event, args...)
		if err != nil {
			t.Fatalf("%s: %v", event, err)
		}
		var v any
		_ = res.Decode(&v)
		return v
	}
	check := func(phase string) {
		t.Helper()
		for i, p := range peers {
			var last any
			deadline := time.Now().Add(15 * time.Second)
			for last = call(p, "server-count"); last != float64(2); last = call(p, "server-count") {
				if time.Now().After(deadline) {
					for k, a := range apps {
						select {
						case <-a.done:
							t.Errorf("server %d exited: %v", k, a.cmd.ProcessState)
						default:
						}
					}
					t.Fatalf("%s: server %d counts %v servers, not 2, 15s after", phase, i, last)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		// Delivery both ways: the counts may be stale on one side (a
		// server is counted out only after the heartbeat timeout), so a
		// broadcast is sent again until the other server's client has one.
		for i, p := range peers {
			other := peers[1-i]
			deadline := time.Now().Add(15 * time.Second)
		attempts:
			for k := 0; ; k++ {
				name := fmt.Sprintf("%s-%d-%d", phase, i, k)
				call(p, "broadcast", map[string]any{"event": name, "except": []string{p.ctl.ID()}}, []byte{byte(i)}, strings.Repeat("p", 9000))
				timeout := time.After(500 * time.Millisecond)
				for {
					select {
					case got := <-other.events:
						if strings.HasPrefix(got, fmt.Sprintf("%s-%d-", phase, i)) {
							break attempts
						}
					case <-timeout:
						if time.Now().After(deadline) {
							t.Fatalf("%s: no broadcast from server %d reached server %d in 15s", phase, i, 1-i)
						}
						continue attempts
					}
				}
			}
		}
		for i, p := range peers {
			res, _ := call(p, "sse-ack", "whoami").(map[string]any)
			if res == nil || res["err"] != nil || len(res["responses"].([]any)) != 1 {
				t.Fatalf("%s: sse-ack from server %d: %v", phase, i, res)
			}
		}
	}
	check("before")
	pgs.stop()
	time.Sleep(500 * time.Millisecond) // an outage of some length: nothing to wait for
	pgs.start()
	up := time.Now()
	check("after")
	t.Logf("Go + Node cluster whole again (counts, broadcasts and requests both ways) %v after PostgreSQL was back", time.Since(up).Round(time.Millisecond))

	// Without an "error" listener on the pool's clients (the official
	// adapter 0.5.0 alone), the Node server exits when PostgreSQL restarts.
	bare := startApp(t, "node-app (no client error handler)", []string{"node", filepath.Join(interopDir, "node-app.js")}, append(env, "NO_CLIENT_ERROR_HANDLER=1")...)
	pgs.stop()
	select {
	case <-bare.done:
		t.Logf("as expected, the official adapter 0.5.0 alone exits on a PostgreSQL restart: %v", bare.cmd.ProcessState)
	case <-time.After(10 * time.Second):
		t.Errorf("the Node server without a client error handler survived the PostgreSQL stop: has the official adapter changed?")
	}
	pgs.start()
}
