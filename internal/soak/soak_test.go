package soak

import (
	"context"
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
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return serve(ln, rooms, rate), ln.Addr().String()
}

func serve(ln net.Listener, rooms, rate int) *server {
	// A short heartbeat reclaims quickly the sessions of handshakes that
	// clients abandoned (a client whose lifetime ends while it connects).
	srv := socketio.NewServer(&socketio.Options{PingInterval: time.Second, PingTimeout: time.Second})
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
