package client

import (
	"testing"

	"github.com/socketio-go/socketio"
)

// TestUnclaimedEvents: events that arrive before any handler for them
// exists are kept (at most maxUnclaimed per connection) for the first
// handler registered; events of a name that had handlers are not.
func TestUnclaimedEvents(t *testing.T) {
	gs := newGoServer(t, nil, func(srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			for i := range maxUnclaimed + 5 {
				_ = s.Emit("early", i)
			}
			s.On("done", func(e *socketio.Event) { _ = e.Ack() })
			s.On("echo", func(e *socketio.Event) { _ = s.Emit("echo", e.Args().Spread()...) })
		})
	})
	m := newTestManager(t, gs.url, nil)
	s := m.Socket("/", nil)
	s.Off("early") // no handler was ever registered: Off changes nothing
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EmitWithAck(ctxT(t), "done"); err != nil {
		t.Fatal(err)
	}
	early := events(s, "early")
	for i := range maxUnclaimed {
		var n int
		if err := recv(t, early, "early").Decode(&n); err != nil || n != i {
			t.Fatalf("early event %d: %d %v", i, n, err)
		}
	}
	// A round trip through the dispatcher: the events over the bound are
	// dropped.
	echo := events(s, "echo")
	_ = s.Emit("echo", 1)
	recv(t, echo, "echo")
	if len(early) != 0 {
		t.Fatalf("%d events over the bound kept", len(early))
	}
}
