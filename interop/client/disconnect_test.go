package interopclient

import (
	"errors"
	"testing"

	"github.com/socketio-go/socketio/client"
)

// reasons collects the OnDisconnect reasons of s.
func reasons(s *client.Socket) <-chan client.DisconnectReason {
	ch := make(chan client.DisconnectReason, 10)
	s.OnDisconnect(func(r client.DisconnectReason) { ch <- r })
	return ch
}

// TestDisconnect covers the disconnections initiated by the client and by
// the server, with the official reasons on both sides.
func TestDisconnect(t *testing.T) {
	forTargets(t, func(t *testing.T, target string) {
		srv := shared(t, target)
		forModes(t, func(t *testing.T, tr []string) {
			t.Run("client", func(t *testing.T) {
				m := newManager(t, srv.url(), tr, nil)
				s := m.Socket("/", nil)
				other := m.Socket("/custom", nil)
				connectHello(t, s)
				connectHello(t, other)
				why := reasons(s)
				// The event is written (its acknowledgement awaited) before
				// the disconnection: an event emitted after it would be
				// buffered for the next connection instead.
				sent := make(chan struct{}, 1)
				offOut := s.OnAnyOutgoing(func(event string, args []any) {
					if event == "echo" && len(args) == 1 && args[0] == "never acked" {
						sent <- struct{}{}
					}
				})
				pending := make(chan error, 1)
				go func() {
					_, err := s.EmitWithAck(testCtx(t), "echo", "never acked")
					pending <- err
				}()
				recv(t, sent, "the event awaiting its ack written")
				offOut()
				flush(t, s)
				id := s.ID()
				s.Disconnect()
				if r := recv(t, why, "OnDisconnect"); r != client.ReasonIOClientDisconnect {
					t.Fatalf("client reason %q", r)
				}
				if err := recv(t, pending, "EmitWithAck"); !errors.Is(err, client.ErrDisconnected) {
					t.Fatalf("pending EmitWithAck = %v", err)
				}
				if r := srv.disconnectReason(t, id); r != "client namespace disconnect" {
					t.Fatalf("server reason %q", r)
				}
				if s.Connected() || s.Active() || s.ID() != "" {
					t.Fatal("socket still connected")
				}
				barrier(t, other)
				// Connect again on the same Manager: a new session.
				if h := connectHello(t, s); h.ID == id {
					t.Fatal("same id after a new connection")
				}
			})
			t.Run("server namespace", func(t *testing.T) {
				m := newManager(t, srv.url(), tr, nil)
				s := m.Socket("/", nil)
				other := m.Socket("/custom", nil)
				connectHello(t, s)
				connectHello(t, other)
				why := reasons(s)
				id := s.ID()
				_ = s.Emit("disconnect-me", false)
				if r := recv(t, why, "OnDisconnect"); r != client.ReasonIOServerDisconnect {
					t.Fatalf("client reason %q", r)
				}
				if r := srv.disconnectReason(t, id); r != "server namespace disconnect" {
					t.Fatalf("server reason %q", r)
				}
				if s.Active() {
					t.Fatal("socket active after io server disconnect: it must not reconnect")
				}
				barrier(t, other)
			})
			t.Run("server close", func(t *testing.T) {
				m := newManager(t, srv.url(), tr, nil)
				s := m.Socket("/", nil)
				other := m.Socket("/custom", nil)
				connectHello(t, s)
				connectHello(t, other)
				why, whyOther := reasons(s), reasons(other)
				_ = s.Emit("disconnect-me", true)
				for _, ch := range []<-chan client.DisconnectReason{why, whyOther} {
					if r := recv(t, ch, "OnDisconnect"); r != client.ReasonIOServerDisconnect {
						t.Fatalf("client reason %q", r)
					}
				}
				if s.Active() || other.Active() {
					t.Fatal("sockets still active")
				}
			})
		})
	})
}

// TestServerShutdown covers a graceful server shutdown (SIGTERM): the
// client sees "transport close" and reconnects once the server is back.
func TestServerShutdown(t *testing.T) {
	forTargets(t, func(t *testing.T, target string) {
		forModes(t, func(t *testing.T, tr []string) {
			srv := startServer(t, target, nil)
			m := newManager(t, srv.url(), tr, nil)
			s := m.Socket("/", nil)
			connectHello(t, s)
			if tr == nil {
				waitTransport(t, m, client.TransportWebSocket)
			}
			why := reasons(s)
			id := s.ID()
			srv.stop()
			// Over polling, the GET pending on the server gets the CLOSE
			// packet ("transport close"), but when the client is between
			// two GETs the next one is refused ("transport error"), with
			// the official client as well.
			r := recv(t, why, "OnDisconnect")
			if r != client.ReasonTransportClose && !(len(tr) == 1 && tr[0] == client.TransportPolling && r == client.ReasonTransportError) {
				t.Fatalf("client reason %q", r)
			}
			if r := srv.disconnectReason(t, id); r != "server shutting down" {
				t.Fatalf("server reason %q", r)
			}
			hello := collect(s, "hello")
			srv.restart(t)
			recv(t, hello, "hello after restart")
			if !s.Connected() {
				t.Fatal("not connected after the restart")
			}
		})
	})
}
