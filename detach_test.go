package socketio

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/socketio-go/socketio/parser"
)

// TestWaitingHandlerLetsNextEventsRun: a handler waiting for an
// acknowledgement with its event's context does not hold up the socket's
// next events (Node.js semantics): the client answers "question" only after
// the server handled its "lookup".
func TestWaitingHandlerLetsNextEventsRun(t *testing.T) {
	env := newTestEnv(t, nil)
	answers := make(chan string, 1)
	env.srv.OnConnection(func(s *Socket) {
		s.On("start", func(e *Event) {
			ctx, cancel := context.WithTimeout(e.Context(), 5*time.Second)
			defer cancel()
			a, err := s.EmitWithAck(ctx, "question")
			answers <- fmt.Sprint(a, err)
		})
		s.On("lookup", HandleAck0(func(ctx context.Context, s *Socket) (string, error) { return "found", nil }))
	})
	c := env.dial()
	c.connect("/", "")
	c.send(`2["start"]`)
	q := c.next()
	if q.Type != parser.Event || q.ID == parser.NoID {
		t.Fatalf("question: %s", q.AppendText(nil))
	}
	c.send(`21["lookup"]`)
	if g := c.nextText(); g != `31["found"]` {
		t.Fatalf("lookup answer %s", g)
	}
	c.send(fmt.Sprintf(`3%d["yes"]`, q.ID))
	if g := recv(t, answers); g != `["yes"] <nil>` {
		t.Fatalf("start got %s", g)
	}
}

// TestDetachKeepsStartOrder: handlers start in arrival order, also when
// each detaches (then they run concurrently), and Close waits for them.
func TestDetachKeepsStartOrder(t *testing.T) {
	env := newTestEnv(t, nil)
	const n = 50
	started := make(chan int, n)
	release := make(chan struct{})
	defer close(release)
	env.srv.OnConnection(func(s *Socket) {
		s.On("n", func(e *Event) {
			var i int
			_ = e.Decode(&i)
			started <- i
			e.Detach()
			e.Detach() // a second call does nothing
			<-release  // the next events start anyway
		})
	})
	c := env.dial()
	c.connect("/", "")
	for i := range n {
		c.send(fmt.Sprintf(`2["n",%d]`, i))
	}
	for i := range n {
		if got := recv(t, started); got != i {
			t.Fatalf("handler %d started in place %d", got, i)
		}
	}
}

// TestHandlersSerialWithoutDetach: a handler that waits with a context
// not derived from its event's, and does not detach, holds the socket's
// next events until it returns (the default).
func TestHandlersSerialWithoutDetach(t *testing.T) {
	env := newTestEnv(t, nil)
	order := make(chan string, 4)
	env.srv.OnConnection(func(s *Socket) {
		s.On("slow", func(e *Event) {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			_, err := s.EmitWithAck(ctx, "never answered")
			order <- fmt.Sprint("slow ", err != nil)
		})
		s.On("fast", func(e *Event) { order <- "fast" })
	})
	c := env.dial()
	c.connect("/", "")
	c.send(`2["slow"]`)
	c.send(`2["fast"]`)
	if a, b := recv(t, order), recv(t, order); a != "slow true" || b != "fast" {
		t.Fatalf("order %q, %q", a, b)
	}
}
