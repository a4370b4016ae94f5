package nats

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	socketio "github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/internal/nodetest"
)

// nodeEnv makes the test binary a Go server of a multi-process test (see
// TestMain): a process of its own, so that SIGKILL is real.
const nodeEnv = "SIONATS_NODE"

// runNodeProcess is a node process: mode "core" or "jetstream" (with
// connection state recovery). It serves on a free port, prints
// "listening <addr>" and runs until its standard input closes (or it is
// killed).
func runNodeProcess(mode string) int {
	nc, err := nats.Connect(os.Getenv("NATS_URL"), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer nc.Close()
	o := &socketio.Options{}
	if ms, err := strconv.Atoi(os.Getenv("PING_MS")); err == nil && ms > 0 {
		o.PingInterval, o.PingTimeout = time.Duration(ms)*time.Millisecond, time.Duration(ms)*time.Millisecond
	}
	opts := Options{Prefix: os.Getenv("PREFIX"), RequestsTimeout: 3 * time.Second}
	switch mode {
	case "core":
		o.Adapter = NewAdapter(nc, opts)
	case "jetstream":
		o.Adapter = NewJetStreamAdapter(nc, JetStreamOptions{Options: opts, Stream: os.Getenv("STREAM")})
		o.ConnectionStateRecovery = &socketio.ConnectionStateRecovery{MaxDisconnectionDuration: 30 * time.Second}
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", mode)
		return 2
	}
	srv := socketio.NewServer(o)
	setupApp("victim")(srv)
	srv.OnConnection(recoveryApp(nil, nil))
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("whoami", func(e *socketio.Event) {
			rooms := s.Rooms()
			sort.Strings(rooms)
			_ = e.Ack(map[string]any{"id": s.ID(), "rooms": rooms, "data": s.Data()})
		})
		// "stored": answers once the bucket holds the session of this
		// connected socket with its data (within SessionFlushInterval).
		s.On("stored", func(e *socketio.Event) {
			e.Detach()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = e.Ack(liveStored(ctx, nc, os.Getenv("STREAM")+"_sessions", s.ID(), "ann") == nil)
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	go func() { _ = http.Serve(ln, srv) }()
	// Serve before announcing: the adapter is up once the namespace is.
	srv.Of("/")
	fmt.Printf("listening %s\n", ln.Addr())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		// "emit <n>": broadcast seq n to everyone; "room <n>": to room r;
		// "to <sid> <n>": to one socket.
		var n int
		var sid string
		if _, err := fmt.Sscanf(in.Text(), "emit %d", &n); err == nil {
			_ = srv.Emit("seq", n)
		} else if _, err := fmt.Sscanf(in.Text(), "room %d", &n); err == nil {
			_ = srv.To("r").Emit("seq", n)
		} else if _, err := fmt.Sscanf(in.Text(), "to %s %d", &sid, &n); err == nil {
			_ = srv.To(sid).Emit("seq", n)
		}
	}
	return 0
}

type nodeProcess struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

// startNodeProcess starts the test binary as a Go server.
func startNodeProcess(t *testing.T, mode, natsURL, prefix, stream string) *nodeProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), nodeEnv+"="+mode, "NATS_URL="+natsURL, "PREFIX="+prefix, "STREAM="+stream)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &nodeProcess{cmd: cmd, done: make(chan struct{})}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "listening ") {
				line <- strings.TrimPrefix(sc.Text(), "listening ")
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case addr := <-line:
		p.url = "http://" + addr
	case <-p.done:
		t.Fatal("node process exited")
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("node process did not start")
	}
	return p
}

func (p *nodeProcess) kill(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Kill() // SIGKILL
	<-p.done
}

// TestOfficialClient runs interop/recovery.test.js: the official
// socket.io-client 4.8.4 (pinned in interop/package-lock.json) against Go
// servers in processes of their own (this test binary) on a nats-server of
// the test's own: connection state recovery across the servers over
// websocket and polling, after a reset, a clean close, a half-open
// connection and the SIGKILL of the client's server.
func TestOfficialClient(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the interop suite starts Node and Go servers")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node not found in PATH: install Node.js 20+")
	}
	if _, err := os.Stat(filepath.Join("interop", "node_modules", "socket.io-client", "package.json")); err != nil {
		t.Fatal("adapters/nats/interop/node_modules/socket.io-client is missing: run `npm ci` in adapters/nats/interop/")
	}
	ns := startNATSServer(t)
	bin, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	nodetest.Run(t, ctx, "interop", []string{"GO_NODE_BIN=" + bin, "NATS_URL=" + ns.url()}, "recovery.test.js")
}

// liveStored waits until bucket holds the session of the connected socket
// sid with want in its data.
func liveStored(ctx context.Context, nc *nats.Conn, bucket, sid, want string) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	for {
		if kv, err := js.KeyValue(ctx, bucket); err == nil {
			if keys, err := kv.Keys(ctx); err == nil {
				for _, k := range keys {
					if !strings.Contains(k, ".l.") {
						continue
					}
					if e, err := kv.Get(ctx, k); err == nil {
						if st, data, err := decodeSession(e.Value()); err == nil && st.SID == sid && strings.Contains(fmt.Sprint(data), want) {
							return nil
						}
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
