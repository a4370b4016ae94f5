package client

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	socketio "github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/internal/faultproxy"
)

// TestRecoveryAgainstGoServer cuts the client's connection to this
// module's server, with connection state recovery on, in the middle of a
// stream of broadcasts and direct emits, by reset, clean close and
// half-open (the server keeps the old connection): each time the client
// gets its session back and, in the end, every event exactly once, in
// order.
func TestRecoveryAgainstGoServer(t *testing.T) {
	faults := []struct {
		name string
		cut  func(p *faultproxy.Proxy)
	}{
		{"reset", (*faultproxy.Proxy).Reset},
		{"close", (*faultproxy.Proxy).Drop},
		{"half-open", (*faultproxy.Proxy).HalfOpen},
	}
	for _, m := range modes {
		for _, f := range faults {
			t.Run(m.name+"/"+f.name, func(t *testing.T) {
				t.Parallel()
				testRecovery(t, m.opts, f.cut)
			})
		}
	}
}

func testRecovery(t *testing.T, mode func(*Options), cut func(*faultproxy.Proxy)) {
	victim := make(chan string, 1)
	gs := newGoServer(t, &socketio.Options{ConnectionStateRecovery: &socketio.ConnectionStateRecovery{}}, func(srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			if !s.Recovered() {
				victim <- s.ID()
			}
		})
	})
	p, err := faultproxy.New(strings.TrimPrefix(gs.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	opts := &Options{}
	mode(opts)
	polling := len(opts.Transports) == 1 && opts.Transports[0] == TransportPolling
	m := newTestManager(t, "http://"+p.Addr(), opts)
	s := m.Socket("/", nil)

	var (
		mu   sync.Mutex
		got  []int
		errs []string
	)
	progress := make(chan struct{}, 1)
	s.On("seq", func(e *Event) {
		var n int
		var off string
		if e.Args().Len() != 2 || json.Unmarshal(e.Args().Raw(0), &n) != nil || json.Unmarshal(e.Args().Raw(1), &off) != nil || off == "" {
			mu.Lock()
			errs = append(errs, "bad event "+e.Name())
			mu.Unlock()
			return
		}
		mu.Lock()
		got = append(got, n)
		mu.Unlock()
		select {
		case progress <- struct{}{}:
		default:
		}
	})
	connects := make(chan bool, 16)
	s.OnConnect(func() { connects <- s.Recovered() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if recovered := recv(t, connects, "connect"); recovered {
		t.Fatal("recovered at the first connection")
	}
	id := recv(t, victim, "server socket")

	// The stream: broadcasts and events to the socket alone, sequenced.
	stop := make(chan struct{})
	sent := make(chan int, 1)
	go func() {
		n := 0
		defer func() { sent <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n%2 == 0 {
				_ = gs.srv.Emit("seq", n)
			} else {
				_ = gs.srv.To(id).Emit("seq", n)
			}
			n++
			time.Sleep(200 * time.Microsecond)
		}
	}()
	waitEvents := func(k int) {
		t.Helper()
		mu.Lock()
		target := len(got) + k
		mu.Unlock()
		for {
			mu.Lock()
			n := len(got)
			mu.Unlock()
			if n >= target {
				return
			}
			recv(t, progress, "events")
		}
	}
	reconnections := 0
	for range 3 {
		waitEvents(20)
		cut(p)
		if polling {
			// A cut between two requests loses nothing: the next one goes
			// on a new TCP connection, and the session goes on.
			waitEvents(20)
			continue
		}
		if recovered := recv(t, connects, "reconnection"); !recovered {
			t.Fatal("reconnected without recovering the session")
		}
		reconnections++
		if s.ID() != id {
			t.Fatalf("id %s after the recovery, was %s", s.ID(), id)
		}
	}
	waitEvents(20)
	for more := true; more; {
		select {
		case recovered := <-connects:
			if !recovered {
				t.Fatal("reconnected without recovering the session")
			}
			reconnections++
		default:
			more = false
		}
	}
	t.Logf("%d reconnections", reconnections)
	close(stop)
	total := <-sent
	for {
		mu.Lock()
		done := len(got) > 0 && got[len(got)-1] == total-1
		mu.Unlock()
		if done {
			break
		}
		recv(t, progress, "the last event")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]+1 {
			t.Fatalf("event %d after %d (received %d events)", got[i], got[i-1], len(got))
		}
	}
}
