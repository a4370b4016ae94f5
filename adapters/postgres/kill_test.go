package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	socketio "github.com/socketio-go/socketio"
)

// killNodeEnv makes the test binary a node of TestNodeKilled (see
// TestMain): a process of its own, so that SIGKILL is real. Its value is
// the JSON of the Options (without Logger).
const killNodeEnv = "SIOPG_KILL_NODE"

// killSetup answers the "who" server-side event with name.
func killSetup(name string) func(*socketio.Server) {
	return func(srv *socketio.Server) {
		joinFromAuth(srv)
		srv.OnServerSideEmit("who", func(e *socketio.ServerEvent) { _ = e.Ack(name) })
	}
}

// runKillNode is a node process: it serves on a free port, prints
// "listening <addr>" once the cluster counts it, and runs until its
// standard input closes (or it is killed).
func runKillNode() int {
	var opts Options
	if err := json.Unmarshal([]byte(os.Getenv(killNodeEnv)), &opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	pool, err := pgxpool.New(context.Background(), os.Getenv("PG_URL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	srv := socketio.NewServer(&socketio.Options{Adapter: NewAdapter(pool, opts)})
	killSetup("victim")(srv)
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

// TestNodeKilled kills a node process with SIGKILL: requests of the
// survivors complete with their answers once the heartbeat timeout drops
// the dead node (never hang until the requests timeout), and the server
// count drops.
func TestNodeKilled(t *testing.T) {
	url := pgURL(t)
	pool := newPool(t, url)
	opts := testOptions(t, pool)
	opts.RequestsTimeout = 10 * time.Second // longer than the heartbeat timeout
	n1 := startGoNode(t, NewAdapter(pool, opts), killSetup("n1"))
	n2 := startGoNode(t, NewAdapter(pool, opts), killSetup("n2"))

	env, _ := json.Marshal(opts)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), killNodeEnv+"="+string(env), "PG_URL="+url)
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
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("node process stderr:\n%s", stderr.String())
		}
	})
	line := make(chan string, 1)
	go func() {
		b := make([]byte, 256)
		n, _ := stdout.Read(b)
		line <- string(b[:n])
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		close(done)
	}()
	select {
	case l := <-line:
		if !strings.HasPrefix(l, "listening ") {
			t.Fatalf("node process said %q: %s", l, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("node process not listening after 20s")
	}
	waitServers(t, 3, n1.srv, n2.srv)
	ctx := context.Background()
	answers, err := n1.srv.ServerSideEmitWithAck(ctx, "who")
	if err != nil || len(answers) != 2 {
		t.Fatalf("before the kill: %v %v", answers, err)
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	killed := time.Now()
	answers, err = n1.srv.ServerSideEmitWithAck(ctx, "who")
	waited := time.Since(killed)
	if err != nil || len(answers) != 1 {
		t.Fatalf("after the kill: %v %v", answers, err)
	}
	var who string
	_ = answers[0].Decode(&who)
	if who != "n2" {
		t.Fatalf("answer %q", who)
	}
	if waited > opts.HeartbeatTimeout+2*opts.HeartbeatInterval+time.Second {
		t.Fatalf("the request waited %v for the dead node (heartbeat timeout %v)", waited, opts.HeartbeatTimeout)
	}
	waitServers(t, 2, n1.srv, n2.srv)
	t.Logf("request answered %v after the SIGKILL (heartbeat timeout %v, interval %v)", waited.Round(time.Millisecond), opts.HeartbeatTimeout, opts.HeartbeatInterval)
}
