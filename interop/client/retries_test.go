package interopclient

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/socketio/client"
)

// questions counts the "question" events of the contract's "ask" handler
// (one per execution of the handler on the server) and answers them,
// except the first question about values in skip.
type questions struct {
	mu    sync.Mutex
	count map[string]int
	order []string
	skip  map[string]bool
	seen  chan string // receives each value asked about, when not full
}

func (q *questions) handler(e *client.Event) {
	var v string
	_ = e.Decode(&v)
	q.mu.Lock()
	q.count[v]++
	q.order = append(q.order, v)
	answer := !(q.skip[v] && q.count[v] == 1)
	q.mu.Unlock()
	select {
	case q.seen <- v:
	default:
	}
	if answer {
		_ = e.Ack(v)
	}
}

// TestRetriesExactlyOnce sends events through the retry queue
// (SocketOptions.Retries + AckTimeout) while the server is killed and
// restarted: each reaches the server's handler exactly once, in order,
// and each EmitWithAck gets its acknowledgement.
func TestRetriesExactlyOnce(t *testing.T) {
	forTargets(t, func(t *testing.T, target string) {
		forModes(t, func(t *testing.T, tr []string) {
			srv := startServer(t, target, nil)
			m := newManager(t, srv.url(), tr, nil)
			s := m.Socket("/", &client.SocketOptions{Retries: 3, AckTimeout: 1500 * time.Millisecond})
			q := &questions{count: map[string]int{}}
			s.On("question", q.handler)
			connectHello(t, s)
			why := reasons(s)

			const n = 10
			results := make(chan string, n)
			ask := func(i int) {
				v := fmt.Sprint("m", i)
				a, err := s.EmitWithAck(testCtx(t), "ask", v)
				if err != nil {
					results <- v + ": " + err.Error()
					return
				}
				var r struct {
					OK     bool   `json:"ok"`
					Answer string `json:"answer"`
				}
				_ = a.Decode(&r)
				if !r.OK || r.Answer != v {
					results <- fmt.Sprintf("%s: ack %+v", v, r)
					return
				}
				results <- ""
			}
			for i := range n / 2 {
				go ask(i)
			}
			for range n / 2 {
				if r := recv(t, results, "ack"); r != "" {
					t.Fatal(r)
				}
			}
			srv.kill()
			recv(t, why, "OnDisconnect")
			for i := n / 2; i < n; i++ {
				go ask(i)
			}
			srv.restart(t)
			for range n / 2 {
				if r := recv(t, results, "ack"); r != "" {
					t.Fatal(r)
				}
			}
			q.mu.Lock()
			defer q.mu.Unlock()
			for i := range n {
				if c := q.count[fmt.Sprint("m", i)]; c != 1 {
					t.Errorf("m%d handled %d times", i, c)
				}
			}
			// The queue sends one event at a time: the first half in emit
			// order is not guaranteed (concurrent emits), but the second
			// half came after the first.
			if len(q.order) != n {
				t.Fatalf("order %v", q.order)
			}
		})
	})
}

// TestRetriesAtLeastOnce shows the at-least-once side of the retry queue:
// an acknowledgement that does not come in time makes the client send the
// event again (the handler runs twice), the events queued behind it wait,
// and an event never acknowledged fails after Retries+1 tries.
func TestRetriesAtLeastOnce(t *testing.T) {
	forTargets(t, func(t *testing.T, target string) {
		srv := shared(t, target)
		forModes(t, func(t *testing.T, tr []string) {
			m := newManager(t, srv.url(), tr, nil)
			s := m.Socket("/", &client.SocketOptions{Retries: 2, AckTimeout: 400 * time.Millisecond})
			q := &questions{count: map[string]int{}, skip: map[string]bool{"slow": true}, seen: make(chan string, 100)}
			s.On("question", q.handler)
			connectHello(t, s)

			if target == "node" {
				// This module's server runs the handlers of a socket one
				// at a time: a retried "ask" would wait for the first one,
				// blocked 2 s on its unanswered question, so no retry
				// could succeed before the first try's {"ok":false}. Only
				// the never-acknowledged case below applies to it.
				slowRetry(t, s, q)
			}

			// "echo" never acknowledges: 1 + Retries tries, then
			// ErrAckTimeout. The server's echoes count the tries.
			echo := collect(s, "echo")
			tok := token()
			start := time.Now()
			_, err := s.EmitWithAck(testCtx(t), "echo", tok)
			if !errors.Is(err, client.ErrAckTimeout) || time.Since(start) < 3*400*time.Millisecond {
				t.Fatalf("err = %v after %v", err, time.Since(start))
			}
			flush(t, s)
			tries := 0
			for len(echo) > 0 {
				if string((<-echo).Args().Raw(0)) == `"`+tok+`"` {
					tries++
				}
			}
			if tries != 3 {
				t.Fatalf("%d tries", tries)
			}
		})
	})
}

// slowRetry: the first question about "slow" is not answered, so the
// server acknowledges "ask" only after 2 s; the client's 400 ms timeout
// sends it again, the handler runs a second time and answers, and "next",
// queued behind, goes once "slow" is acknowledged.
func slowRetry(t *testing.T, s *client.Socket, q *questions) {
	done := make(chan error, 2)
	go func() {
		a, err := s.EmitWithAck(testCtx(t), "ask", "slow")
		if err == nil {
			var r struct {
				OK     bool   `json:"ok"`
				Answer string `json:"answer"`
			}
			_ = a.Decode(&r)
			if !r.OK || r.Answer != "slow" {
				err = fmt.Errorf("ack %+v", r)
			}
		}
		done <- err
	}()
	// Wait until "slow" is in flight, then queue "next" behind it.
	for recv(t, q.seen, "question") != "slow" {
	}
	go func() {
		_, err := s.EmitWithAck(testCtx(t), "ask", "next")
		done <- err
	}()
	for range 2 {
		if err := recv(t, done, "EmitWithAck"); err != nil {
			t.Fatal(err)
		}
	}
	q.mu.Lock()
	if q.count["slow"] != 2 || q.count["next"] != 1 || fmt.Sprint(q.order) != "[slow slow next]" {
		t.Errorf("handled %v", q.order)
	}
	q.mu.Unlock()
}
