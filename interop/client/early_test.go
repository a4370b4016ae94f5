package interopclient

import (
	"sync/atomic"
	"testing"

	"github.com/socketio-go/socketio/client"
)

// TestHandlersAfterConnect: handlers registered right after Connect
// returned see everything, as handlers registered right after io() do in
// JavaScript: the "hello" the server emits in its connection handler, and
// an OnConnect for the first connection (once). Repeated, since the old
// behaviour lost them only some of the time.
func TestHandlersAfterConnect(t *testing.T) {
	forTargets(t, func(t *testing.T, target string) {
		srv := shared(t, target)
		forModes(t, func(t *testing.T, tr []string) {
			for range 10 {
				s, err := client.Connect(testCtx(t), srv.url(), &client.Options{Transports: tr, DisableReconnection: true}, nil)
				if err != nil {
					t.Fatal(err)
				}
				hellos := collect(s, "hello")
				var connects atomic.Int32
				connected := make(chan struct{}, 10)
				s.OnConnect(func() { connects.Add(1); connected <- struct{}{} })
				var h hello
				if err := recv(t, hellos, "hello").Decode(&h); err != nil || h.ID != s.ID() {
					t.Fatalf("hello %+v: %v", h, err)
				}
				recv(t, connected, "OnConnect")
				barrier(t, s)
				if n := connects.Load(); n != 1 {
					t.Fatalf("OnConnect ran %d times", n)
				}
				if len(hellos) != 0 {
					t.Fatal("hello received twice")
				}
				s.Manager().Close()
			}
		})
	})
}

// TestOnConnectRegisteredLate: an OnConnect registered on a connected
// socket runs once for the current connection and once per reconnection.
func TestOnConnectRegisteredLate(t *testing.T) {
	forTargets(t, func(t *testing.T, target string) {
		srv := shared(t, target)
		m := newManager(t, srv.url(), nil, nil)
		s := m.Socket("/", nil)
		connectHello(t, s)
		barrier(t, s)
		connected := make(chan string, 10)
		s.OnConnect(func() { connected <- s.ID() })
		if id := recv(t, connected, "OnConnect"); id != s.ID() {
			t.Fatalf("OnConnect for %q, socket %q", id, s.ID())
		}
		// The handlers run in order: once the echo is handled, a second
		// OnConnect call would have run.
		echoes := collect(s, "echo")
		_ = s.Emit("echo", 1)
		recv(t, echoes, "echo")
		if len(connected) != 0 {
			t.Fatal("OnConnect ran twice for one connection")
		}
	})
}
