package socketio

import (
	"strconv"
	"testing"

	"github.com/socketio-go/socketio/parser"
)

// TestConnectionHandlerRunsWithConnect checks that the connection handlers
// run while the CONNECT packet is on its way, as with the official server
// (whose handlers run in the tick that sends it): the rooms a handler joins
// are joined by the time the client has its CONNECT, so a broadcast sent
// as soon as the client is connected reaches it; what the handler emits
// still comes after the CONNECT, and before that broadcast.
func TestConnectionHandlerRunsWithConnect(t *testing.T) {
	env := newTestEnv(t, nil)
	joined := make(chan struct{}, 1)
	env.srv.OnConnection(func(s *Socket) {
		s.Join("room")
		_ = s.Emit("hello")
		joined <- struct{}{}
	})
	const runs = 20
	early := 0 // runs where the handler had joined when CONNECT arrived
	for i := range runs {
		c := env.dial()
		c.connect("/", "")
		select {
		case <-joined:
			early++
		default:
			recv(t, joined)
		}
		if err := env.srv.To("room").Emit("news", i); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`2["hello"]`, `2["news",` + strconv.Itoa(i) + `]`} {
			p := c.next()
			if p.Type != parser.Event || string(p.AppendText(nil)) != want {
				t.Fatalf("run %d: got %s, want %s", i, p.AppendText(nil), want)
			}
		}
		_ = c.ws.CloseNow()
	}
	// Before, the handlers ran a millisecond after the CONNECT was
	// written: never early. Scheduling may delay the handler's goroutine
	// now and then.
	if early < runs/2 {
		t.Errorf("the handler had joined when the client got CONNECT in %d of %d runs", early, runs)
	}
}

// TestDisconnectInConnectionHandler checks that a connection handler that
// closes the connection at once still gets its packets to the client
// first: the CONNECT, then the DISCONNECT, then the close.
func TestDisconnectInConnectionHandler(t *testing.T) {
	env := newTestEnv(t, nil)
	env.srv.OnConnection(func(s *Socket) {
		_ = s.Emit("bye")
		s.Disconnect(true)
	})
	c := env.dial()
	c.connect("/", "")
	if got := c.nextText(); got != `2["bye"]` {
		t.Fatalf("got %s, want the event", got)
	}
	if p := c.next(); p.Type != parser.Disconnect {
		t.Fatalf("got %s, want a DISCONNECT", p.AppendText(nil))
	}
	c.waitClosed()
}
