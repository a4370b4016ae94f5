// Package restart tests restarts as users run them: clients of every kind
// the project tests with (the official Node and browser clients,
// python-socketio, this module's Go client), over long-polling and
// WebSocket, connected to a server that is shut down (Shutdown, then Close)
// and started again on the same port. Each client must be back within its
// reconnection delay plus a second, and report the disconnect reason that
// the official server causes when its process is restarted.
// TestRollingRestartOfficial runs the same clients against the official
// server (socket.io 4.8.4), stopped by exiting and by io.close(): that is
// where the expected reasons come from, and it shows why our Shutdown does
// not answer a pending long-poll with a CLOSE packet as io.close() does
// (python-socketio does not come back).
//
// Dependencies: Node.js and interop/node_modules (npm ci) for the Node and
// browser clients, examples/chat/node_modules (playwright-core) and
// /usr/bin/chromium (or CHROMIUM) for the browser, /usr/bin/python3 with
// Debian's python3-socketio, python3-requests and python3-websocket for
// python-socketio. A client kind whose dependency is missing is skipped, or
// fails the test when the CI environment variable is set.
package restart

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/internal/leakcheck"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

const (
	// delay is every client's reconnection delay, without jitter.
	delay = 500 * time.Millisecond
	// grace is what a client may take beyond delay to be back.
	grace = time.Second
	// wait is the failure guard of every wait.
	wait = 30 * time.Second
)

var transports = []string{"polling", "websocket"}

// event is a line of a client's report.
type event struct {
	Client    string `json:"-"`
	Transport string `json:"transport"` // the transport the client was given
	Event     string `json:"event"`     // "connect" or "disconnect"
	Reason    string `json:"reason"`    // of a disconnect
	Via       string `json:"via"`       // of a connect: the transport in use
	at        time.Time
}

func (e event) who() string { return e.Client + "/" + e.Transport }

// server is one run of the server under test.
type server struct {
	srv         *socketio.Server
	served      chan error
	connected   chan struct{}
	reasons     chan socketio.DisconnectReason
	connections int // how many sockets connected, counted by wait
}

func startServer(t *testing.T, addr string) (*server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{
		srv:       socketio.NewServer(nil),
		served:    make(chan error, 1),
		connected: make(chan struct{}, 64),
		reasons:   make(chan socketio.DisconnectReason, 64),
	}
	s.srv.OnConnection(func(sock *socketio.Socket) {
		sock.OnDisconnect(func(r socketio.DisconnectReason) { s.reasons <- r })
		s.connected <- struct{}{}
	})
	go func() { s.served <- s.srv.Serve(ln) }()
	return s, ln.Addr().String()
}

// waitConnections waits until n sockets in all have connected.
func (s *server) waitConnections(t *testing.T, n int) {
	t.Helper()
	for ; s.connections < n; s.connections++ {
		select {
		case <-s.connected:
		case <-time.After(wait):
			t.Fatalf("%d of %d sockets connected to the new server", s.connections, n)
		}
	}
}

func TestRollingRestart(t *testing.T) {
	cur, addr := startServer(t, "127.0.0.1:0")
	t.Cleanup(func() {
		_ = cur.srv.Close()
		<-cur.served
	})
	events, everyone := startClients(t, "http://"+addr)
	cur.waitConnections(t, len(everyone))
	for _, round := range []struct {
		name string
		stop func(*socketio.Server) error
	}{
		{"Shutdown", func(s *socketio.Server) error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return s.Shutdown(ctx)
		}},
		{"Close", (*socketio.Server).Close},
	} {
		t.Run(round.name, func(t *testing.T) {
			stopAt := time.Now()
			if err := round.stop(cur.srv); err != nil {
				t.Fatalf("%s: %v", round.name, err)
			}
			stopped := time.Since(stopAt)
			if err := <-cur.served; !errors.Is(err, socketio.ErrServerClosed) {
				t.Fatalf("Serve returned %v", err)
			}
			// Every socket was disconnected with the reason of the
			// official io.close().
			for range everyone {
				if r := recv(t, cur.reasons); r != socketio.ReasonServerShuttingDown {
					t.Errorf("server-side reason %q, want %q", r, socketio.ReasonServerShuttingDown)
				}
			}
			cur, _ = startServer(t, addr)
			t.Logf("%s took %v; server restarted %v after it began", round.name, stopped.Round(time.Millisecond), time.Since(stopAt).Round(time.Millisecond))
			awaitRestart(t, events, everyone, stopAt, true, afterRestart)
			cur.waitConnections(t, len(everyone))
		})
		if t.Failed() {
			return
		}
	}
}

// TestRollingRestartOfficial runs the same clients against the official
// server (socket.io 4.8.4), to show what the expectations of
// TestRollingRestart are based on: when its process exits (a restart; Node's
// default SIGTERM action), a long-poll ends without a response and every
// client comes back; with io.close() the pending GET gets a CLOSE packet,
// the Node and browser clients report "transport close", and
// python-socketio stops reconnecting.
func TestRollingRestartOfficial(t *testing.T) {
	if err := needNodeModules(interopDir, "socket.io"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	cur, err := startOfficial("0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cur != nil {
			cur.kill()
		}
	})
	port := cur.port
	events, everyone := startClients(t, "http://127.0.0.1:"+port)

	t.Run("exit", func(t *testing.T) {
		stopAt := time.Now()
		cur.kill()
		if cur, err = startOfficial(port); err != nil {
			t.Fatal(err)
		}
		awaitRestart(t, events, everyone, stopAt, false, afterRestart)
	})
	if t.Failed() {
		return
	}
	t.Run("io.close", func(t *testing.T) {
		stopAt := time.Now()
		if err := cur.close(); err != nil {
			t.Fatal(err)
		}
		for range everyone {
			if r := recv(t, cur.reasons); r != string(socketio.ReasonServerShuttingDown) {
				t.Errorf("server-side reason %q, want %q", r, socketio.ReasonServerShuttingDown)
			}
		}
		if cur, err = startOfficial(port); err != nil {
			t.Fatal(err)
		}
		awaitRestart(t, events, everyone, stopAt, false, func(e event) (string, comeBack) {
			switch {
			case e.Client == "python" && e.Transport == "polling":
				// python-socketio stops reconnecting when its pending
				// GET gets the CLOSE packet; when io.close() found no
				// GET pending (the client was between two polls), the
				// next one fails and it reconnects.
				return "", mayComeBack
			case e.Client == "python":
				return "", mustComeBack
			case e.Transport == "polling":
				// A CLOSE packet when the client had its GET pending
				// (almost always); a GET sent meanwhile fails.
				return "transport close|transport error", mustComeBack
			}
			return "transport close", mustComeBack
		})
	})
}

// afterRestart is what a client reports when the server restarts (is
// stopped and started again), as observed with the official server when
// its process exits: a long-poll that ends without a response is a
// "transport error", a WebSocket that closes a "transport close"; every
// client comes back. (python-socketio 5.7 reports no reason.)
func afterRestart(e event) (reason string, back comeBack) {
	if e.Client == "python" {
		return "", mustComeBack
	}
	return map[string]string{"polling": "transport error", "websocket": "transport close"}[e.Transport], mustComeBack
}

// comeBack says whether a client is expected to reconnect after a stop.
type comeBack int

const (
	mustComeBack comeBack = iota
	mayComeBack           // either is right (a race of the official server)
)

// awaitRestart waits until every client of everyone disconnected and every
// one that want says comes back reconnected, then checks the reasons (want
// may give several, separated by "|") and
// that each one came back over the same transport and, if timed, within
// its reconnection delay plus a second. A client that want says may come
// back is waited for twice that, and checked like the others if it does.
// (The official server is not timed: a Node process takes about half a
// second to start.)
func awaitRestart(t *testing.T, events <-chan event, everyone map[string]bool, stopAt time.Time, timed bool, want func(event) (reason string, back comeBack)) {
	t.Helper()
	disconnected := map[string]event{}
	back := map[string]event{}
	away := 0 // clients that may stay away
	deadline := time.After(wait)
	var extra <-chan time.Time
	for len(disconnected) < len(everyone) || len(back)+away < len(everyone) {
		var e event
		select {
		case e = <-events:
		case <-deadline:
			var missing []string
			for _, who := range keys(everyone) {
				if _, ok := back[who]; !ok {
					missing = append(missing, who)
				}
			}
			t.Fatalf("not back within %v: %v (disconnected: %v)", wait, missing, keys(disconnected))
		}
		switch e.Event {
		case "disconnect":
			if _, dup := disconnected[e.who()]; dup {
				t.Errorf("%s disconnected twice (%q)", e.who(), e.Reason)
			}
			disconnected[e.who()] = e
			if _, b := want(e); b != mustComeBack {
				away++
			}
		case "connect":
			d, ok := disconnected[e.who()]
			if !ok {
				t.Fatalf("%s connected again without a disconnect", e.who())
			}
			back[e.who()] = e
			if _, b := want(d); b != mustComeBack {
				away-- // came back anyway: judged below
			}
		}
	}
	if away > 0 {
		extra = time.After(2 * (delay + grace))
	}
	for extra != nil {
		select {
		case e := <-events:
			if e.Event == "connect" {
				back[e.who()] = e
			}
		case <-extra:
			extra = nil
		}
	}
	for _, who := range keys(everyone) {
		d := disconnected[who]
		reason, b := want(d)
		c, isBack := back[who]
		wantBack := b == mustComeBack || (b == mayComeBack && isBack)
		if !isBack {
			t.Logf("%-18s disconnected %5v after the stop began (%q), not back", who, d.at.Sub(stopAt).Round(time.Millisecond), d.Reason)
		} else {
			t.Logf("%-18s disconnected %5v after the stop began (%q), back %v later (over %s)",
				who, d.at.Sub(stopAt).Round(time.Millisecond), d.Reason, c.at.Sub(d.at).Round(time.Millisecond), c.Via)
		}
		if !slices.Contains(strings.Split(reason, "|"), d.Reason) {
			t.Errorf("%s: disconnect reason %q, want %q", who, d.Reason, reason)
		}
		switch {
		case isBack != wantBack:
			t.Errorf("%s: back %v, want %v", who, isBack, wantBack)
		case !isBack:
		case timed && c.at.Sub(d.at) > delay+grace:
			t.Errorf("%s: back after %v, want at most %v", who, c.at.Sub(d.at), delay+grace)
		case c.Via != d.Transport:
			t.Errorf("%s: reconnected over %s", who, c.Via)
		}
	}
}

// startClients starts every client kind whose dependencies are present,
// each over polling and over WebSocket, and waits until they are
// connected. It returns their events and the set of their names.
func startClients(t *testing.T, url string) (<-chan event, map[string]bool) {
	t.Helper()
	events := make(chan event, 1024)
	everyone := map[string]bool{}
	for _, k := range []struct {
		name  string
		start func(t *testing.T, url string, events chan<- event) error
	}{
		{"go", startGo},
		{"node", startNode},
		{"python", startPython},
		{"browser", startBrowser},
	} {
		if err := k.start(t, url, events); err != nil {
			if os.Getenv("CI") != "" {
				t.Errorf("client %s: %v", k.name, err)
			} else {
				t.Logf("client %s skipped: %v", k.name, err)
			}
			continue
		}
		for _, tr := range transports {
			everyone[k.name+"/"+tr] = true
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	awaitConnects(t, events, everyone)
	return events, everyone
}

// official is a process of the official server.
type official struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	port    string
	reasons chan string   // server-side disconnect reasons
	exited  chan struct{} // closed once the process is waited for
}

// startOfficial starts the official server on port ("0": any) and waits
// until it listens.
func startOfficial(port string) (*official, error) {
	o := &official{
		cmd:     exec.Command("node", "testdata/official_server.mjs", port),
		reasons: make(chan string, 64),
		exited:  make(chan struct{}),
	}
	var err error
	if o.stdin, err = o.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := o.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr lockedBuffer
	o.cmd.Stderr = &stderr
	if err := o.cmd.Start(); err != nil {
		return nil, err
	}
	listening := make(chan string, 1)
	go func() {
		defer close(o.exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				listening <- p
				continue
			}
			var e struct{ Reason string }
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				o.reasons <- e.Reason
			}
		}
		_ = o.cmd.Wait()
	}()
	select {
	case o.port = <-listening:
		return o, nil
	case <-o.exited:
		return nil, fmt.Errorf("official server exited: %s", stderr.String())
	case <-time.After(wait):
		o.kill()
		return nil, errors.New("official server not listening")
	}
}

// kill stops the process at once, as a crash or Node's default SIGTERM
// action does.
func (o *official) kill() {
	_ = o.cmd.Process.Kill()
	<-o.exited
}

// close makes the server call io.close(), then exit.
func (o *official) close() error {
	if _, err := io.WriteString(o.stdin, "close\n"); err != nil {
		return err
	}
	select {
	case <-o.exited:
		return nil
	case <-time.After(wait):
		o.kill()
		return errors.New("io.close() did not end the process")
	}
}

// recv receives from ch, or fails the test after wait.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("nothing received in %v", wait)
		panic("unreachable")
	}
}

// awaitConnects waits for the first connect of each client in want.
func awaitConnects(t *testing.T, events <-chan event, want map[string]bool) {
	t.Helper()
	seen := map[string]bool{}
	deadline := time.After(wait)
	for len(seen) < len(want) {
		select {
		case e := <-events:
			if e.Event != "connect" {
				t.Fatalf("%s: %s before it connected (%q)", e.who(), e.Event, e.Reason)
			}
			seen[e.who()] = true
		case <-deadline:
			t.Fatalf("connected: %v of %v", keys(seen), keys(want))
		}
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// startGo connects this module's client, one Manager per transport.
func startGo(t *testing.T, url string, events chan<- event) error {
	for _, tr := range transports {
		m, err := client.NewManager(url, &client.Options{
			Transports:           []string{tr},
			ReconnectionDelay:    delay,
			ReconnectionDelayMax: delay,
			RandomizationFactor:  -1,
		})
		if err != nil {
			return err
		}
		t.Cleanup(m.Close)
		s := m.Socket("/", nil)
		s.OnConnect(func() {
			events <- event{Client: "go", Transport: tr, Event: "connect", Via: m.Transport(), at: time.Now()}
		})
		s.OnDisconnect(func(r client.DisconnectReason) {
			events <- event{Client: "go", Transport: tr, Event: "disconnect", Reason: string(r), at: time.Now()}
		})
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		err = s.Connect(ctx)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

var interopDir, _ = filepath.Abs("..")

// needNodeModules reports why the npm packages of dir are missing, or nil.
func needNodeModules(dir string, pkgs ...string) error {
	if _, err := exec.LookPath("node"); err != nil {
		return errors.New("node not found (Node.js 20+)")
	}
	for _, p := range pkgs {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", p)); err != nil {
			return fmt.Errorf("%s missing (cd %s && npm ci)", p, dir)
		}
	}
	return nil
}

func startNode(t *testing.T, url string, events chan<- event) error {
	if err := needNodeModules(interopDir, "socket.io-client"); err != nil {
		return err
	}
	return startProcess(t, "node", events, exec.Command("node", "testdata/node_clients.mjs", url, ms(delay)))
}

func startBrowser(t *testing.T, url string, events chan<- event) error {
	if err := needNodeModules(interopDir, "socket.io-client"); err != nil {
		return err
	}
	if err := needNodeModules(filepath.Join(interopDir, "..", "examples", "chat"), "playwright-core"); err != nil {
		return err
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		return fmt.Errorf("no browser: %v (apt-get install chromium)", err)
	}
	return startProcess(t, "browser", events, exec.Command("node", "testdata/browser_clients.mjs", url, ms(delay)))
}

// python is Debian's interpreter, the one python3-socketio installs for
// (another python3 may come first in PATH).
const python = "/usr/bin/python3"

func startPython(t *testing.T, url string, events chan<- event) error {
	if out, err := exec.Command(python, "-c", "import socketio, requests, websocket").CombinedOutput(); err != nil {
		return fmt.Errorf("%s cannot import socketio, requests, websocket (apt-get install python3-socketio python3-requests python3-websocket): %v %s", python, err, bytes.TrimSpace(out))
	}
	return startProcess(t, "python", events, exec.Command(python, "testdata/python_clients.py", url, ms(delay)))
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// startProcess runs a client process that reports events as JSON lines on
// its stdout and exits when its stdin ends, which the test's cleanup
// causes.
func startProcess(t *testing.T, name string, events chan<- event, cmd *exec.Cmd) error {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	var other lockedBuffer // stdout lines that are no event
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var e event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Event == "" {
				fmt.Fprintln(&other, sc.Text())
				continue
			}
			e.Client, e.at = name, time.Now()
			events <- e
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		werr := cmd.Wait()
		if t.Failed() || werr != nil {
			t.Logf("%s client (exit: %v) stdout:\n%s\nstderr:\n%s", name, werr, other.String(), stderr.String())
		}
	})
	return nil
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
