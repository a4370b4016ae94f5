package nats

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	socketio "github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/clustertest"
	"github.com/socketio-go/socketio/internal/leakcheck"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(nodeEnv); mode != "" {
		// This process is a node of a multi-process test, not a test run.
		os.Exit(runNodeProcess(mode))
	}
	os.Exit(leakcheck.Run(m))
}

// natsServerBin is the nats-server the tests start (Debian package
// nats-server). It is required: the tests fail without it.
func natsServerBin(t testing.TB) string {
	t.Helper()
	for _, p := range []string{os.Getenv("NATS_SERVER_BIN"), "/usr/sbin/nats-server"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	t.Fatal("nats-server not found (apt-get install nats-server)")
	return ""
}

// natsServer is a nats-server of the test's own, with JetStream, on a free
// loopback port and a temporary storage directory: the tests restart and
// kill it.
type natsServer struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

func startNATSServer(t testing.TB) *natsServer {
	t.Helper()
	s := &natsServer{t: t, bin: natsServerBin(t), dir: t.TempDir()}
	// The port was free when picked; another process may take it before
	// nats-server binds it: then try another.
	for attempt := 1; ; attempt++ {
		s.port = freePort(t)
		err := s.launch()
		if err == nil {
			break
		}
		if attempt == 3 {
			t.Fatal(err)
		}
	}
	t.Cleanup(s.kill)
	return s
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

func (s *natsServer) url() string { return "nats://127.0.0.1:" + strconv.Itoa(s.port) }

// start starts nats-server again, on the same port and storage, and
// returns once it accepts connections.
func (s *natsServer) start() {
	s.t.Helper()
	if err := s.launch(); err != nil {
		s.t.Fatal(err)
	}
}

// launch starts nats-server and waits until it accepts connections and
// JetStream answers; an error if it exits or does not answer in time.
func (s *natsServer) launch() error {
	var stderr bytes.Buffer
	s.cmd = exec.Command(s.bin, "-a", "127.0.0.1", "-p", strconv.Itoa(s.port), "-js", "-sd", s.dir)
	s.cmd.Stderr = &stderr
	if err := s.cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	s.done = done
	cmd := s.cmd
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		nc, err := nats.Connect(s.url(), nats.NoReconnect())
		if err == nil {
			// JetStream answers too.
			_, err = nc.Request("$JS.API.INFO", nil, time.Second)
			nc.Close()
			if err == nil {
				return nil
			}
		}
		select {
		case <-done:
			s.cmd = nil
			return fmt.Errorf("nats-server on %d exited: %s", s.port, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			_ = s.cmd.Process.Kill()
			<-done
			s.cmd = nil
			return fmt.Errorf("nats-server on %d does not answer: %v", s.port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *natsServer) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// connect returns a connection to s that reconnects forever.
func connect(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

var prefixN struct {
	sync.Mutex
	n int
}

// testPrefix returns a prefix of its own for each cluster of a test.
func testPrefix() string {
	prefixN.Lock()
	defer prefixN.Unlock()
	prefixN.n++
	return fmt.Sprintf("t%d.sio", prefixN.n)
}

// goNode is a Go server of a test cluster (see clustertest.StartNode).
type goNode struct {
	srv *socketio.Server
	url string
}

func startGoNode(t *testing.T, factory adapter.Factory, recovery bool, setup func(*socketio.Server)) *goNode {
	t.Helper()
	o := &socketio.Options{Adapter: factory}
	if recovery {
		o.ConnectionStateRecovery = &socketio.ConnectionStateRecovery{MaxDisconnectionDuration: 30 * time.Second}
	}
	n := clustertest.StartNode(t, o, setup)
	return &goNode{srv: n.Srv, url: n.URL}
}

var (
	dial = clustertest.Dial
	recv = clustertest.Recv
)

// none asserts that nothing arrives on ch within d (used only to check
// that something that must not happen does not).
func none(t *testing.T, ch <-chan string, d time.Duration) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s", v)
	case <-time.After(d):
	}
}

// setupApp is the cluster contract of the tests' servers, answering
// "hello" with name (see clustertest.App).
var setupApp = clustertest.App

// waitServers waits until every node counts n servers.
func waitServers(t *testing.T, n int, nodes ...*goNode) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, nd := range nodes {
		for {
			c, err := nd.srv.Of("/").Adapter().ServerCount(context.Background())
			if err == nil && c == n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("server count %d (%v), want %d", c, err, n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
