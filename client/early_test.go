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
	// The events came before the ack, so they are queued: once the
	// dispatcher ran them all, the handler is registered late.
	ran := make(chan struct{})
	s.m.disp.do(func() { close(ran) })
	recv(t, ran, "dispatcher")
	early := events(s, "early")
	for i := range maxUnclaimed {
		var n int
		if err := recv(t, early, "early").Decode(&n); err != nil || n != i {
			t.Fatalf("early event %d: %d %v", i, n, err)
		}
	}
	// A round trip through the dispatcher: the events over the bound were
	// dropped.
	echo := events(s, "echo")
	_ = s.Emit("echo", 1)
	recv(t, echo, "echo")
	if len(early) != 0 {
		t.Fatalf("%d events over the bound kept", len(early))
	}
}

// TestLateHandlerKeepsOrder: a handler registered while the events sent
// on connection are being dispatched gets every one of them, in order.
func TestLateHandlerKeepsOrder(t *testing.T) {
	const n = maxUnclaimed - 2
	gs := newGoServer(t, nil, func(srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			for i := range n {
				_ = s.Emit("seq", i)
			}
		})
	})
	for range 20 {
		s, err := Connect(ctxT(t), gs.url, &Options{DisableReconnection: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		seq := events(s, "seq")
		for i := range n {
			var got int
			if err := recv(t, seq, "seq").Decode(&got); err != nil || got != i {
				s.Manager().Close()
				t.Fatalf("event %d: got %d %v", i, got, err)
			}
		}
		s.Manager().Close()
	}
}

// TestDetach: a detached handler lets the next events run while it waits;
// handlers still start in arrival order.
func TestDetach(t *testing.T) {
	answers := make(chan string, 1)
	gs := newGoServer(t, nil, func(srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("go", func(e *socketio.Event) {
				go func() {
					a, err := s.EmitWithAck(ctxT(t), "question")
					if err != nil {
						answers <- err.Error()
						return
					}
					answers <- a.String()
				}()
				_ = s.Emit("other", 1)
			})
		})
	})
	m := newTestManager(t, gs.url, nil)
	s := m.Socket("/", nil)
	other := make(chan struct{})
	s.On("question", func(e *Event) {
		e.Detach()
		<-other // "other" arrives after "question" and runs meanwhile
		_ = e.Ack("answered")
	})
	s.On("other", func(*Event) { close(other) })
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	_ = s.Emit("go")
	if a := recv(t, answers, "answer"); a != `["answered"]` {
		t.Fatalf("answer %s", a)
	}
}
