package interopclient

import (
	"strings"
	"testing"

	"github.com/socketio-go/socketio/client"
)

var fastPing = map[string]string{"PING_INTERVAL": "300", "PING_TIMEOUT": "200", "CONNECT_TIMEOUT": "1000"}

// TestHeartbeat: the client answers the pings (the connection outlives
// several ping intervals) and detects a dead server after pingInterval +
// pingTimeout ("ping timeout"), then reconnects.
func TestHeartbeat(t *testing.T) {
	forTargets(t, func(t *testing.T, target string) {
		srv := startServer(t, target, fastPing)
		forModes(t, func(t *testing.T, tr []string) {
			var nc netctl
			m := newManager(t, srv.url(), tr, &client.Options{Dialer: nc.Dial})
			pings := make(chan struct{}, 100)
			m.OnPing(func() { pings <- struct{}{} })
			s := m.Socket("/", nil)
			connectHello(t, s)
			if tr == nil {
				waitTransport(t, m, client.TransportWebSocket)
			}
			id := s.ID()
			for range 4 {
				recv(t, pings, "ping")
			}
			barrier(t, s)
			why := reasons(s)
			reconnected := make(chan int, 1)
			m.OnReconnect(func(n int) { reconnected <- n })
			nc.freeze() // the server goes silent
			if r := recv(t, why, "OnDisconnect"); r != client.ReasonPingTimeout {
				t.Fatalf("reason %q", r)
			}
			if r := srv.disconnectReason(t, id); r != "ping timeout" && r != "transport close" && r != "transport error" {
				t.Fatalf("server reason %q", r)
			}
			recv(t, reconnected, "OnReconnect")
			connectedAgain := make(chan struct{}, 1)
			s.OnConnect(func() { connectedAgain <- struct{}{} })
			if !s.Connected() {
				recv(t, connectedAgain, "OnConnect")
			}
			barrier(t, s)
		})
	})
}

// TestUpgrade covers the upgrade, DisableUpgrade and RememberUpgrade.
func TestUpgrade(t *testing.T) {
	forTargets(t, func(t *testing.T, target string) {
		srv := shared(t, target)
		t.Run("upgrade", func(t *testing.T) {
			m := newManager(t, srv.url(), nil, nil)
			upgraded := make(chan string, 1)
			m.OnUpgrade(func(tr string) { upgraded <- tr })
			s := m.Socket("/", nil)
			connectHello(t, s)
			if tr := recv(t, upgraded, "OnUpgrade"); tr != client.TransportWebSocket || m.Transport() != tr {
				t.Fatalf("upgraded to %q, transport %q", tr, m.Transport())
			}
			barrier(t, s)
		})
		t.Run("disabled", func(t *testing.T) {
			m := newManager(t, srv.url(), nil, &client.Options{DisableUpgrade: true})
			s := m.Socket("/", nil)
			connectHello(t, s)
			for range 5 {
				barrier(t, s)
			}
			if m.Transport() != client.TransportPolling {
				t.Fatalf("transport %q", m.Transport())
			}
		})
		for _, remember := range []bool{false, true} {
			t.Run("remember="+map[bool]string{false: "false", true: "true"}[remember], func(t *testing.T) {
				var nc netctl
				m := newManager(t, srv.url(), nil, &client.Options{RememberUpgrade: remember, Dialer: nc.Dial})
				opened := make(chan string, 10)
				m.OnOpen(func() { opened <- m.Transport() })
				s := m.Socket("/", nil)
				connectHello(t, s)
				if tr := recv(t, opened, "OnOpen"); tr != client.TransportPolling {
					t.Fatalf("first connection opened with %q", tr)
				}
				waitTransport(t, m, client.TransportWebSocket)
				nc.cut()
				want := client.TransportPolling
				if remember {
					want = client.TransportWebSocket
				}
				if tr := recv(t, opened, "OnOpen after the cut"); tr != want {
					t.Fatalf("reconnected with %q, want %q", tr, want)
				}
			})
		}
	})
}

// TestLimits: a message above Options.MaxMessageSize closes the
// connection ("transport error"); a message above the server's
// maxHttpBufferSize is refused by the server (413 over polling: "transport
// error"; close 1009 over websocket: "transport close").
func TestLimits(t *testing.T) {
	forTargets(t, func(t *testing.T, target string) {
		srv := shared(t, target)
		forModes(t, func(t *testing.T, tr []string) {
			t.Run("incoming", func(t *testing.T) {
				m := newManager(t, srv.url(), tr, &client.Options{MaxMessageSize: 100000, DisableReconnection: true})
				s := m.Socket("/", nil)
				connectHello(t, s)
				if tr == nil {
					waitTransport(t, m, client.TransportWebSocket)
				}
				why := reasons(s)
				if a := ackJSON(t, s, "big-ack", 50000); len(a) != 50000+4 {
					t.Fatalf("%d bytes", len(a))
				}
				_ = s.Emit("big-ack", 200000) // no ack requested: nothing comes back
				_, err := s.EmitWithAck(testCtx(t), "big-ack", 200000)
				if err == nil {
					t.Fatal("oversized acknowledgement accepted")
				}
				if r := recv(t, why, "OnDisconnect"); r != client.ReasonTransportError {
					t.Fatalf("reason %q", r)
				}
			})
			t.Run("outgoing", func(t *testing.T) {
				m := newManager(t, srv.url(), tr, &client.Options{DisableReconnection: true})
				s := m.Socket("/", nil)
				connectHello(t, s)
				if tr == nil {
					waitTransport(t, m, client.TransportWebSocket)
				}
				why := reasons(s)
				if a := ackJSON(t, s, "echo-ack", strings.Repeat("x", 900000)); len(a) != 900004 {
					t.Fatalf("%d bytes", len(a))
				}
				_ = s.Emit("echo", strings.Repeat("x", 1200000))
				want := client.ReasonTransportClose
				if len(tr) == 1 && tr[0] == client.TransportPolling {
					want = client.ReasonTransportError
				}
				if r := recv(t, why, "OnDisconnect"); r != want {
					t.Fatalf("reason %q, want %q", r, want)
				}
			})
		})
	})
}
