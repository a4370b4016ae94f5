package soak

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/internal/faultproxy"
)

// countingServer counts how often each "work" event (identified by its
// argument) is handled.
type countingServer struct {
	srv *socketio.Server
	hs  *http.Server
	mu  sync.Mutex
	ran map[int]int
}

func newCountingServer(t *testing.T, opts *socketio.Options) (*countingServer, *faultproxy.Proxy) {
	t.Helper()
	cs := &countingServer{srv: socketio.NewServer(opts), ran: map[int]int{}}
	cs.srv.OnConnection(func(s *socketio.Socket) {
		s.On("work", func(e *socketio.Event) {
			var id int
			if e.Decode(&id) != nil {
				return
			}
			cs.mu.Lock()
			cs.ran[id]++
			cs.mu.Unlock()
			_ = e.Ack(id)
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cs.hs = &http.Server{Handler: cs.srv}
	go func() { _ = cs.hs.Serve(ln) }()
	p, err := faultproxy.New(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = cs.srv.Shutdown(ctx)
		_ = cs.hs.Shutdown(ctx)
	})
	return cs, p
}

func (cs *countingServer) counts() map[int]int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	m := make(map[int]int, len(cs.ran))
	for k, v := range cs.ran {
		m[k] = v
	}
	return m
}

// emitAll sends "work" 0..n-1 concurrently, each with EmitWithAck, and
// returns the errors.
func emitAll(ctx context.Context, s *client.Socket, n int) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := s.EmitWithAck(ctx, "work", i)
			var got int
			if err == nil && (a.Decode(&got) != nil || got != i) {
				err = fmt.Errorf("ack %v for %d", a, i)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	return errs
}

// TestFaultStallRetriesExactlyOnce: the network stalls for longer than the
// client's ackTimeout (but less than the heartbeat's limit); the client's
// retry queue sends again, and a server with RetryDedup handles every
// event exactly once while every EmitWithAck succeeds.
func TestFaultStallRetriesExactlyOnce(t *testing.T) {
	for _, tr := range []string{"websocket", "polling"} {
		t.Run(tr, func(t *testing.T) {
			cs, p := newCountingServer(t, &socketio.Options{
				RetryDedup:   &socketio.RetryDedupOptions{},
				PingInterval: 2 * time.Second, PingTimeout: 2 * time.Second,
			})
			m, err := client.NewManager("http://"+p.Addr(), &client.Options{Transports: []string{tr}})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			s := m.Socket("/", &client.SocketOptions{Retries: 20, AckTimeout: 100 * time.Millisecond})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			const n = 50
			p.SetLatency(30 * time.Millisecond)
			done := make(chan []error, 1)
			go func() { done <- emitAll(ctx, s, n) }()
			// Stall twice while the events are in flight.
			for range 2 {
				time.Sleep(100 * time.Millisecond)
				p.Stall()
				time.Sleep(400 * time.Millisecond)
				p.Resume()
			}
			for i, err := range <-done {
				if err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
			}
			got := cs.counts()
			for i := range n {
				if got[i] != 1 {
					t.Fatalf("event %d handled %d times (all: %v)", i, got[i], got)
				}
			}
		})
	}
}

// TestFaultResetNothingLost: the connection is reset while events are in
// flight; the client reconnects and its retry queue delivers every event
// (at least once: an event handled just before the reset whose
// acknowledgement was lost is handled again on the new connection, as with
// the official packages) and every EmitWithAck succeeds.
func TestFaultResetNothingLost(t *testing.T) {
	cs, p := newCountingServer(t, nil)
	m, err := client.NewManager("http://"+p.Addr(), &client.Options{
		Transports:        []string{"websocket"},
		ReconnectionDelay: 50 * time.Millisecond, ReconnectionDelayMax: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := m.Socket("/", &client.SocketOptions{Retries: 50, AckTimeout: 200 * time.Millisecond})
	reconnects := make(chan struct{}, 16)
	s.OnConnect(func() { reconnects <- struct{}{} })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	<-reconnects
	const n = 100
	p.SetLatency(20 * time.Millisecond)
	done := make(chan []error, 1)
	go func() { done <- emitAll(ctx, s, n) }()
	for range 3 {
		time.Sleep(50 * time.Millisecond)
		p.Reset()
		select {
		case <-reconnects:
		case <-ctx.Done():
			t.Fatal("no reconnection after a reset")
		}
	}
	var failed []string
	for i, err := range <-done {
		if err != nil {
			failed = append(failed, fmt.Sprintf("%d: %v", i, err))
		}
	}
	if len(failed) > 0 {
		t.Fatalf("%d events failed: %s", len(failed), strings.Join(failed, "; "))
	}
	got := cs.counts()
	again := 0
	for i := range n {
		switch {
		case got[i] == 0:
			t.Fatalf("event %d lost (all: %v)", i, got)
		case got[i] > 1:
			again++
		}
	}
	t.Logf("%d of %d events handled twice or more after a reset", again, n)
}
