package interopclient

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/socketio-go/socketio/client"
)

// TestConnect covers connection, auth (static and AuthFunc),
// connect_error with the server's data, and multiplexing.
func TestConnect(t *testing.T) {
	forTargets(t, func(t *testing.T, target string) {
		srv := shared(t, target)
		forModes(t, func(t *testing.T, tr []string) {
			t.Run("static auth", func(t *testing.T) {
				m := newManager(t, srv.url(), tr, nil)
				s := m.Socket("/", &client.SocketOptions{Auth: map[string]any{"token": "abc", "n": 1}})
				var connected atomic.Int32
				s.OnConnect(func() { connected.Add(1) })
				h := connectHello(t, s)
				if string(h.Auth) != `{"token":"abc","n":1}` && string(h.Auth) != `{"n":1,"token":"abc"}` {
					t.Fatalf("hello auth = %s", h.Auth)
				}
				if !s.Connected() || !s.Active() || s.ID() == "" || s.Recovered() {
					t.Fatalf("state: connected %v active %v id %q recovered %v", s.Connected(), s.Active(), s.ID(), s.Recovered())
				}
				srv.waitLog(t, "connection line", func(l logLine) bool { return l.Event == "connection" && l.ID == s.ID() })
				barrier(t, s)
				if connected.Load() != 1 {
					t.Fatalf("OnConnect ran %d times", connected.Load())
				}
			})
			t.Run("auth func", func(t *testing.T) {
				m := newManager(t, srv.url(), tr, nil)
				var calls atomic.Int32
				s := m.Socket("/", &client.SocketOptions{AuthFunc: func(ctx context.Context) (any, error) {
					calls.Add(1)
					return struct {
						Token string `json:"token"`
					}{"from-func"}, nil
				}})
				if h := connectHello(t, s); string(h.Auth) != `{"token":"from-func"}` || calls.Load() != 1 {
					t.Fatalf("hello auth = %s, AuthFunc calls %d", h.Auth, calls.Load())
				}
			})
			t.Run("connect_error with data", func(t *testing.T) {
				m := newManager(t, srv.url(), tr, nil)
				s := m.Socket("/", &client.SocketOptions{Auth: map[string]string{"token": "reject"}})
				handled := make(chan error, 1)
				s.OnConnectError(func(err error) { handled <- err })
				err := s.Connect(testCtx(t))
				var ce *client.ConnectError
				if !errors.As(err, &ce) || ce.Message != "not authorized" {
					t.Fatalf("Connect = %v", err)
				}
				var data struct {
					Code   int    `json:"code"`
					Reason string `json:"reason"`
				}
				if err := json.Unmarshal(ce.Data, &data); err != nil || data.Code != 4001 || data.Reason != "bad token" {
					t.Fatalf("data = %s (%v)", ce.Data, err)
				}
				if herr := recv(t, handled, "OnConnectError"); herr != error(ce) {
					t.Fatalf("OnConnectError got %v", herr)
				}
				if s.Active() || s.Connected() {
					t.Fatal("refused socket still active")
				}
			})
			t.Run("admin namespace", func(t *testing.T) {
				m := newManager(t, srv.url(), tr, nil)
				err := m.Socket("/admin", nil).Connect(testCtx(t))
				var ce *client.ConnectError
				if !errors.As(err, &ce) || ce.Message != "forbidden" || string(ce.Data) != `{"role":null}` {
					t.Fatalf("Connect = %v (data %s)", err, dataOf(ce))
				}
				m2 := newManager(t, srv.url(), tr, nil)
				s := m2.Socket("/admin", &client.SocketOptions{Auth: map[string]string{"role": "admin"}})
				if h := connectHello(t, s); h.Nsp != "/admin" {
					t.Fatalf("hello = %+v", h)
				}
			})
			t.Run("invalid namespace", func(t *testing.T) {
				m := newManager(t, srv.url(), tr, nil)
				main := m.Socket("/", nil)
				connectHello(t, main)
				err := m.Socket("/nope", nil).Connect(testCtx(t))
				var ce *client.ConnectError
				if !errors.As(err, &ce) || ce.Message != "Invalid namespace" || ce.Data != nil {
					t.Fatalf("Connect = %v (data %s)", err, dataOf(ce))
				}
				barrier(t, main) // the connection survives
			})
			t.Run("multiplex", func(t *testing.T) {
				var nc netctl
				m := newManager(t, srv.url(), tr, &client.Options{Dialer: nc.Dial})
				socks := []*client.Socket{m.Socket("/", nil), m.Socket("/custom", nil), m.Socket("dyn-abc1", nil)}
				for _, s := range socks {
					if h := connectHello(t, s); h.Nsp != s.Namespace() {
						t.Fatalf("hello %+v on %s", h, s.Namespace())
					}
				}
				for _, s := range socks {
					if got := ackJSON(t, s, "echo-ack", s.Namespace()); got != `["`+s.Namespace()+`"]` {
						t.Fatalf("echo-ack on %s = %s", s.Namespace(), got)
					}
				}
				if len(tr) == 1 && tr[0] == client.TransportWebSocket && nc.dialCount() != 1 {
					t.Fatalf("%d connections for 3 namespaces over websocket", nc.dialCount())
				}
				id := socks[1].ID()
				socks[1].Disconnect()
				if r := srv.disconnectReason(t, id); r != "client namespace disconnect" {
					t.Fatalf("server reason %q", r)
				}
				barrier(t, socks[0]) // the other namespaces stay connected
				barrier(t, socks[2])
			})
		})
	})
}

func dataOf(ce *client.ConnectError) string {
	if ce == nil {
		return ""
	}
	return string(ce.Data)
}

// TestPool covers io()-style sharing: sockets of one server share a
// Manager unless ForceNew/DisableMultiplex, or the namespace is taken.
func TestPool(t *testing.T) {
	forTargets(t, func(t *testing.T, target string) {
		srv := shared(t, target)
		var p client.Pool
		defer p.Close()
		a, err := p.Socket(srv.url()+"/", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := p.Socket(srv.url()+"/custom", nil, nil)
		c, _ := p.Socket(srv.url()+"/", nil, nil)
		d, _ := p.Socket(srv.url()+"/custom", &client.Options{ForceNew: true}, nil)
		if a.Manager() != b.Manager() || c.Manager() == a.Manager() || d.Manager() == b.Manager() {
			t.Fatal("unexpected Manager sharing")
		}
		for _, s := range []*client.Socket{a, b, c, d} {
			connectHello(t, s)
		}
	})
}
