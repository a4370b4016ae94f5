package interopclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/internal/nodetest"
)

// wait is the failure guard of every wait helper.
const wait = 15 * time.Second

var (
	repoRoot, _    = filepath.Abs("../..")
	interopDir     = filepath.Join(repoRoot, "interop")
	buildOnce      sync.Once
	buildDir       string
	buildErr       error
	goServerBin    string
	cliBin         string
	sharedMu       sync.Mutex
	sharedServers  = map[string]*server{}
	sharedStartErr = map[string]error{}
)

// build compiles the Go interop server and the socketio command once per
// test binary.
func build(t testing.TB) {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "interop-client-*")
		if buildErr != nil {
			return
		}
		goServerBin = filepath.Join(buildDir, "interop-server")
		cliBin = filepath.Join(buildDir, "socketio")
		for _, b := range [][2]string{{goServerBin, "./interop/goserver"}, {cliBin, "./cmd/socketio"}} {
			cmd := exec.Command("go", "build", "-o", b[0], b[1])
			cmd.Dir = repoRoot
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", b[1], err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

func removeBuilds() {
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
}

// requireNode skips (or fails, under CI) when Node.js or the npm packages
// it needs are missing.
func requireNode(t testing.TB) {
	t.Helper()
	nodetest.Require(t, interopDir, "socket.io")
}

// targets are the servers every test runs against.
var targets = []string{"node", "go"}

// forTargets runs f as a subtest per target.
func forTargets(t *testing.T, f func(t *testing.T, target string)) {
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			if target == "node" {
				requireNode(t)
			} else {
				build(t)
			}
			f(t, target)
		})
	}
}

// modes are the transport configurations.
var modes = []struct {
	name       string
	transports []string
}{
	{"polling", []string{client.TransportPolling}},
	{"websocket", []string{client.TransportWebSocket}},
	{"upgrade", nil},
}

// forModes runs f as a parallel subtest per transport mode.
func forModes(t *testing.T, f func(t *testing.T, transports []string)) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			f(t, m.transports)
		})
	}
}

// logLine is one JSON log line of the app.
type logLine struct {
	Event  string `json:"event"`
	Nsp    string `json:"nsp"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
	raw    string
}

// server is a server process of the app contract.
type server struct {
	target string
	script string // node script, "" for the app
	env    map[string]string
	port   int

	mu      sync.Mutex
	lines   []logLine
	changed chan struct{} // closed and replaced on each new line or exit
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	exited  chan struct{}
	readers sync.WaitGroup
	stderr  bytes.Buffer
}

// startServer starts a server for target with env (PING_INTERVAL...),
// stopped at the end of the test.
func startServer(t *testing.T, target string, env map[string]string) *server {
	t.Helper()
	s := newServer(target, "", env)
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	return s
}

func newServer(target, script string, env map[string]string) *server {
	return &server{target: target, script: script, env: env, changed: make(chan struct{})}
}

// shared returns the long-lived server of target with the default
// configuration, started on first use and stopped by TestMain.
func shared(t *testing.T, target string) *server {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if s := sharedServers[target]; s != nil {
		return s
	}
	if err := sharedStartErr[target]; err != nil {
		t.Fatal(err)
	}
	s := newServer(target, "", nil)
	if err := s.start(); err != nil {
		sharedStartErr[target] = err
		t.Fatal(err)
	}
	sharedServers[target] = s
	return s
}

func stopShared() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	for _, s := range sharedServers {
		s.stop()
	}
}

func (s *server) command() *exec.Cmd {
	switch {
	case s.script != "":
		return exec.Command("node", s.script)
	case s.target == "node":
		return exec.Command("node", filepath.Join(interopDir, "servers", "node", "app.js"))
	default:
		return exec.Command(goServerBin)
	}
}

// start starts the process (on s.port when set, a free port otherwise)
// and waits for its "listening" line.
func (s *server) start() error {
	var lastErr error
	for try := 0; try < 20; try++ {
		if lastErr = s.startOnce(); lastErr == nil {
			return nil
		}
		if s.port == 0 || !strings.Contains(lastErr.Error(), "EADDRINUSE") && !strings.Contains(lastErr.Error(), "address already in use") {
			return lastErr
		}
		time.Sleep(50 * time.Millisecond) // the port is not free yet
	}
	return lastErr
}

func (s *server) startOnce() error {
	cmd := s.command()
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(s.port), "EXIT_ON_STDIN_EOF=1")
	for k, v := range s.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.stderr.Reset()
	s.mu.Unlock()
	cmd.Stderr = &lockedWriter{s: s}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.stdin, s.exited = cmd, stdin, exited
	s.mu.Unlock()
	br := bufio.NewReaderSize(stdout, 1<<16)
	first, err := br.ReadString('\n')
	port, perr := 0, err
	if err == nil {
		_, perr = fmt.Sscanf(first, "listening %d\n", &port)
	}
	if perr != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		close(exited)
		s.mu.Lock()
		defer s.mu.Unlock()
		return fmt.Errorf("%s server did not start: %v (first line %q)\nstderr:\n%s", s.target, perr, first, s.stderr.String())
	}
	s.port = port
	s.readers.Add(1)
	go func() {
		defer s.readers.Done()
		for {
			line, err := br.ReadString('\n')
			if line = strings.TrimSpace(line); line != "" {
				var l logLine
				if json.Unmarshal([]byte(line), &l) == nil {
					l.raw = line
					s.mu.Lock()
					s.lines = append(s.lines, l)
					close(s.changed)
					s.changed = make(chan struct{})
					s.mu.Unlock()
				}
			}
			if err != nil {
				break
			}
		}
		_ = cmd.Wait()
		s.mu.Lock()
		close(exited)
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}()
	return nil
}

type lockedWriter struct{ s *server }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if w.s.stderr.Len() < 1<<20 {
		w.s.stderr.Write(p)
	}
	return len(p), nil
}

// url returns the server's base URL.
func (s *server) url() string { return "http://127.0.0.1:" + strconv.Itoa(s.port) }

// signal sends sig to the process and waits for it to exit.
func (s *server) signal(sig os.Signal) {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
	default:
		_ = cmd.Process.Signal(sig)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	s.readers.Wait()
}

// stop terminates the server gracefully (SIGTERM).
func (s *server) stop() { s.signal(syscall.SIGTERM) }

// kill kills the server (SIGKILL).
func (s *server) kill() { s.signal(syscall.SIGKILL) }

// restart starts the server again on the same port.
func (s *server) restart(t *testing.T) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
}

// waitLog waits for a log line matching pred (already printed or
// future).
func (s *server) waitLog(t *testing.T, what string, pred func(logLine) bool) logLine {
	t.Helper()
	deadline := time.After(wait)
	seen := 0
	for {
		s.mu.Lock()
		lines := s.lines[seen:]
		seen = len(s.lines)
		ch := s.changed
		s.mu.Unlock()
		for _, l := range lines {
			if pred(l) {
				return l
			}
		}
		select {
		case <-ch:
		case <-deadline:
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Fatalf("%s server: timeout waiting for %s\nstderr:\n%s", s.target, what, s.stderr.String())
		}
	}
}

// disconnectReason waits for the disconnect line of socket id.
func (s *server) disconnectReason(t *testing.T, id string) string {
	t.Helper()
	return s.waitLog(t, "disconnect of "+id, func(l logLine) bool { return l.Event == "disconnect" && l.ID == id }).Reason
}

// newManager returns a Manager for the server with the given transports,
// fast reconnection unless opts says otherwise, closed at the end of the
// test.
func newManager(t *testing.T, url string, transports []string, opts *client.Options) *client.Manager {
	t.Helper()
	if opts == nil {
		opts = &client.Options{}
	}
	if opts.Transports == nil {
		opts.Transports = transports
	}
	if opts.ReconnectionDelay == 0 {
		opts.ReconnectionDelay = 50 * time.Millisecond
	}
	if opts.ReconnectionDelayMax == 0 {
		opts.ReconnectionDelayMax = 200 * time.Millisecond
	}
	m, err := client.NewManager(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// recv waits for a value on ch, within the test's wait guard.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	ctx := testCtx(t)
	for {
		select {
		case v := <-ch:
			return v
		case <-ctx.Done():
			t.Fatalf("timeout waiting for %s", what)
		}
	}
}

// collect returns a channel receiving every event name of s.
func collect(s *client.Socket, name string) <-chan *client.Event {
	ch := make(chan *client.Event, 1000)
	s.On(name, func(e *client.Event) { ch <- e })
	return ch
}

// hello is the payload of the app's "hello" event.
type hello struct {
	ID   string          `json:"id"`
	Nsp  string          `json:"nsp"`
	Auth json.RawMessage `json:"auth"`
}

// connectHello connects s and returns its "hello".
func connectHello(t *testing.T, s *client.Socket) hello {
	t.Helper()
	ch := make(chan *client.Event, 10)
	off := s.Once("hello", func(e *client.Event) { ch <- e })
	defer off()
	if err := s.Connect(testCtx(t)); err != nil {
		t.Fatalf("connect %s: %v", s.Namespace(), err)
	}
	var h hello
	if err := recv(t, ch, "hello").Decode(&h); err != nil {
		t.Fatal(err)
	}
	if h.ID != s.ID() {
		t.Fatalf("hello id %q, socket id %q", h.ID, s.ID())
	}
	return h
}

// ackJSON emits event with args, waits for the acknowledgement and returns
// it as a JSON array.
func ackJSON(t *testing.T, s *client.Socket, event string, args ...any) string {
	t.Helper()
	a, err := s.EmitWithAck(testCtx(t), event, args...)
	if err != nil {
		t.Fatalf("EmitWithAck(%q): %v", event, err)
	}
	b, _ := a.MarshalJSON()
	return string(b)
}

// barrier makes sure the server processed everything s sent before.
func barrier(t *testing.T, s *client.Socket) {
	t.Helper()
	ackJSON(t, s, "echo-ack")
}
