package soak

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/internal/leakcheck"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

// server is an in-process soak server on a fixed address.
type server struct {
	srv  *socketio.Server
	hs   *http.Server
	stop context.CancelFunc
	done chan struct{}
}

func startServer(t *testing.T, addr string, rooms, rate int) (*server, string) {
	t.Helper()
	return startServerWith(t, addr, rooms, rate, false)
}

// startServerWith is startServer, with connection state recovery and retry
// deduplication if recovery.
func startServerWith(t *testing.T, addr string, rooms, rate int, recovery bool) (*server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return serveWith(ln, rooms, rate, recovery), ln.Addr().String()
}

func serve(ln net.Listener, rooms, rate int) *server { return serveWith(ln, rooms, rate, false) }

func serveWith(ln net.Listener, rooms, rate int, recovery bool) *server {
	// A short heartbeat reclaims quickly the sessions of handshakes that
	// clients abandoned (a client whose lifetime ends while it connects).
	opts := &socketio.Options{PingInterval: time.Second, PingTimeout: time.Second}
	if recovery {
		opts.ConnectionStateRecovery = &socketio.ConnectionStateRecovery{}
		opts.RetryDedup = &socketio.RetryDedupOptions{}
	}
	srv := socketio.NewServer(opts)
	tick := App(srv, rooms)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := &http.Server{Handler: mux}
	go func() { _ = hs.Serve(ln) }()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); tick(ctx, rate) }()
	return &server{srv: srv, hs: hs, stop: cancel, done: done}
}

func (s *server) close(t *testing.T) {
	t.Helper()
	s.stop()
	<-s.done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	_ = s.hs.Shutdown(ctx)
}

// TestChurn is the short version of the soak: clients come and go while
// messages flow; none is lost, every "say" is acknowledged, and the server
// returns to its baseline afterwards.
func TestChurn(t *testing.T) {
	for _, tc := range []struct {
		name       string
		transports []string
	}{
		{"websocket", []string{"websocket"}},
		{"polling", []string{"polling"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, addr := startServer(t, "127.0.0.1:0", 10, 200)
			defer s.close(t)
			before := CurrentStats(s.srv)
			res, err := Run(context.Background(), Config{
				URL:         "http://" + addr,
				Clients:     100,
				Duration:    4 * time.Second,
				Rooms:       10,
				MinLifetime: 500 * time.Millisecond,
				MaxLifetime: 1500 * time.Millisecond,
				SayEvery:    200 * time.Millisecond,
				Transports:  tc.transports,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Log(res)
			if res.Gaps != 0 || res.SayErrors != 0 || res.ConnectErrors != 0 {
				t.Fatalf("lost or failed: %v", res)
			}
			if res.Sessions < 200 || res.Messages == 0 || res.Says == 0 {
				t.Fatalf("too little happened: %v", res)
			}
			// Back to the baseline once every client is gone.
			deadline := time.Now().Add(10 * time.Second)
			for {
				after := CurrentStats(s.srv)
				if after.Sessions == 0 && after.Goroutines <= before.Goroutines+2 &&
					after.HeapInuse <= before.HeapInuse+8<<20 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("not back to the baseline: before %+v, after %+v", before, after)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// TestChurnRecovery is TestChurn against a server with connection state
// recovery (and retry deduplication), each client's connections reset
// every 300 ms on average: every reconnection recovers its session, and
// across them no "msg" is lost or received twice, every say is
// acknowledged and handled once (the "said" relays), and the server
// returns to its baseline.
func TestChurnRecovery(t *testing.T) {
	for _, tc := range []struct {
		name       string
		transports []string
	}{
		{"websocket", []string{"websocket"}},
		{"polling", []string{"polling"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, addr := startServerWith(t, "127.0.0.1:0", 10, 200, true)
			defer s.close(t)
			before := CurrentStats(s.srv)
			res, err := Run(context.Background(), Config{
				URL:         "http://" + addr,
				Clients:     50,
				Duration:    3 * time.Second,
				Rooms:       10,
				MinLifetime: 1500 * time.Millisecond,
				MaxLifetime: 3 * time.Second,
				SayEvery:    200 * time.Millisecond,
				Transports:  tc.transports,
				Recovery:    true,
				DropEvery:   300 * time.Millisecond,
				// Reconnect at once: many drops in a short run.
				ReconnectionDelay:    20 * time.Millisecond,
				ReconnectionDelayMax: 100 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Log(res)
			if rs, ok := CurrentRecoveryStats(s.srv); !ok || rs.StoredPackets == 0 {
				t.Errorf("recovery store: %+v, %v", rs, ok)
			}
			// Everything Failed checks but NotBack: how fast a client
			// reconnects depends on the machine's load; the command checks
			// it (30 s), not this short run.
			if res.Gaps != 0 || res.Duplicates != 0 || res.SaidGaps != 0 || res.SaidDuplicates != 0 ||
				res.SayErrors != 0 || res.ConnectErrors != 0 || res.Unrecovered != 0 {
				t.Fatalf("lost, duplicated or failed: %v", res)
			}
			if res.Sessions < 50 || res.Messages == 0 || res.Says == 0 || res.Said == 0 ||
				res.Drops < 50 || res.Recovered < 20 {
				t.Fatalf("too little happened: %v", res)
			}
			// Back to the baseline once every client is gone (the few events
			// kept for recovery weigh nothing here).
			deadline := time.Now().Add(10 * time.Second)
			for {
				after := CurrentStats(s.srv)
				if after.Sessions == 0 && after.Goroutines <= before.Goroutines+2 &&
					after.HeapInuse <= before.HeapInuse+8<<20 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("not back to the baseline: before %+v, after %+v", before, after)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// TestStorm restarts the server under connected clients: all reconnect.
func TestStorm(t *testing.T) {
	s, addr := startServer(t, "127.0.0.1:0", 0, 0)
	const n = 200
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var connects atomic.Int64
	socks, err := StormClients(ctx, "http://"+addr, n, []string{"websocket"}, func() { connects.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	defer CloseAll(socks)
	s.close(t)
	// The same address again: every client must come back.
	var ln net.Listener
	for ln == nil {
		if ln, err = net.Listen("tcp", addr); err != nil {
			time.Sleep(50 * time.Millisecond)
		}
	}
	s2 := serve(ln, 0, 0)
	defer s2.close(t)
	start := time.Now()
	if err := WaitConnected(ctx, &connects, 2*n); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d clients reconnected in %v", n, time.Since(start))
}

// TestAbandonedHandshakesReclaimed: many clients open a session and vanish
// (polling handshakes never polled again, WebSocket connections that never
// join a namespace and stop answering); the heartbeat and the connect
// timeout reclaim them all and the server returns to its baseline.
func TestAbandonedHandshakesReclaimed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := socketio.NewServer(&socketio.Options{
		PingInterval: 300 * time.Millisecond, PingTimeout: 300 * time.Millisecond,
		ConnectTimeout: 500 * time.Millisecond,
	})
	hs := &http.Server{Handler: srv}
	go func() { _ = hs.Serve(ln) }()
	defer func() {
		_ = srv.Close()
		_ = hs.Close()
	}()
	base := "http://" + ln.Addr().String() + "/socket.io/?EIO=4&transport="
	before := CurrentStats(srv)
	const n = 300
	var conns []net.Conn
	for i := 0; i < n; i++ {
		resp, err := http.Get(base + "polling")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("polling handshake: %s", resp.Status)
		}
		// A WebSocket handshake by hand, then silence.
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		_, _ = c.Write([]byte("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n" +
			"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
		status := make([]byte, 12)
		if _, err := io.ReadFull(c, status); err != nil || string(status) != "HTTP/1.1 101" {
			t.Fatalf("websocket handshake: %q %v", status, err)
		}
	}
	if got := srv.Engine().SessionCount(); got == 0 {
		t.Fatal("no session open after the handshakes")
	}
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(20 * time.Second)
	for {
		after := CurrentStats(srv)
		if after.Sessions == 0 && after.Goroutines <= before.Goroutines+2 && after.HeapInuse <= before.HeapInuse+8<<20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not reclaimed: before %+v, after %+v", before, after)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
