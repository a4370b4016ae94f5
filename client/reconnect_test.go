package client

import (
	"context"
	"errors"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	socketio "github.com/socketio-go/socketio"
)

// cutter dials TCP connections it can close all at once, refusing new
// ones until allowed (a network outage). Refusing matters for polling:
// net/http retries a GET whose kept-alive connection was closed on a new
// connection, so that a mere cut does not end a long-polling session.
type cutter struct {
	mu      sync.Mutex
	conns   []net.Conn
	refused bool
}

func (c *cutter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c.mu.Lock()
	refused := c.refused
	c.mu.Unlock()
	if refused {
		return nil, errors.New("cutter: refused")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err == nil {
		c.mu.Lock()
		c.conns = append(c.conns, conn)
		c.mu.Unlock()
	}
	return conn, err
}

func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refused = true
	for _, conn := range c.conns {
		_ = conn.Close()
	}
	c.conns = nil
}

func (c *cutter) allow() {
	c.mu.Lock()
	c.refused = false
	c.mu.Unlock()
}

// TestReconnect: after a network cut the Manager reconnects and the
// socket joins its namespace again; every Manager event fires in order;
// when the server is gone for good, the attempts run out.
func TestReconnect(t *testing.T) {
	gs := newGoServer(t, &socketio.Options{PingInterval: 50 * time.Millisecond, PingTimeout: 500 * time.Millisecond}, echoSetup("/"))
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			var c cutter
			o := &Options{Dialer: c.dial, ReconnectionAttempts: 50, RandomizationFactor: -1}
			mode.opts(o)
			m := newTestManager(t, gs.url, o)
			var mu sync.Mutex
			var log []string
			add := func(s string) {
				mu.Lock()
				log = append(log, s)
				mu.Unlock()
			}
			pinged := make(chan struct{}, 100)
			upgraded := make(chan struct{}, 1)
			reconnected := make(chan struct{}, 1)
			failed := make(chan struct{})
			m.OnOpen(func() { add("open") })
			m.OnPing(func() {
				select {
				case pinged <- struct{}{}:
				default:
				}
			})
			m.OnUpgrade(func(string) { upgraded <- struct{}{} })
			m.OnClose(func(r DisconnectReason, _ error) { add("close") })
			m.OnReconnectAttempt(func(n int) { add("attempt") })
			m.OnReconnect(func(n int) { add("reconnect"); reconnected <- struct{}{} })
			m.OnReconnectError(func(error) { add("error") })
			m.OnReconnectFailed(func() { add("failed"); close(failed) })
			s := m.Socket("/", nil)
			connected := make(chan struct{}, 2)
			s.OnConnect(func() { add("connect"); connected <- struct{}{} })
			s.OnDisconnect(func(DisconnectReason) { add("disconnect") })
			if err := s.Connect(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			recv(t, pinged, "ping")
			if mode.name == "upgrade" {
				recv(t, upgraded, "upgrade")
			}
			id := s.ID()
			disconnected := make(chan struct{}, 1)
			s.OnDisconnect(func(DisconnectReason) { disconnected <- struct{}{} })
			c.cut()
			recv(t, disconnected, "disconnect")
			c.allow()
			recv(t, reconnected, "reconnect")
			recv(t, connected, "first connect")
			recv(t, connected, "connect after the reconnection")
			if _, err := s.EmitWithAck(ctxT(t), "echo-ack"); err != nil || s.ID() == id {
				t.Fatalf("after reconnect: %v, id %q (was %q)", err, s.ID(), id)
			}
			mu.Lock()
			got := strings.Join(log, " ")
			mu.Unlock()
			// Attempts made during the outage fail ("attempt error").
			if !regexp.MustCompile(`^open connect close disconnect (attempt error )*attempt open reconnect connect$`).MatchString(got) {
				t.Fatalf("events: %s", got)
			}
		})
	}
	t.Run("attempts exhausted", func(t *testing.T) {
		srv := socketio.NewServer(nil)
		hs := serve(t, srv)
		m := newTestManager(t, hs.URL, &Options{ReconnectionAttempts: 2, Transports: []string{TransportWebSocket}})
		failed := make(chan struct{})
		var errs int
		var mu sync.Mutex
		m.OnReconnectError(func(error) { mu.Lock(); errs++; mu.Unlock() })
		m.OnReconnectFailed(func() { close(failed) })
		s := m.Socket("/", nil)
		if err := s.Connect(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		_ = srv.Close()
		hs.Close()
		recv(t, failed, "reconnect failed")
		mu.Lock()
		defer mu.Unlock()
		if errs != 2 || !s.Active() || s.Connected() {
			t.Fatalf("%d errors, active %v", errs, s.Active())
		}
	})
}

// TestListeners covers the listener API against the in-process server.
func TestListeners(t *testing.T) {
	gs := newGoServer(t, nil, echoSetup("/"))
	m := newTestManager(t, gs.url, nil)
	s := m.Socket("/", nil)
	var mu sync.Mutex
	var calls []string
	rec := func(tag string) EventHandler {
		return func(e *Event) {
			if e.Socket() != s {
				t.Error("Event.Socket")
			}
			var n int
			_ = e.Decode(&n)
			mu.Lock()
			calls = append(calls, tag+":"+e.Name()+":"+string(rune('0'+n)))
			mu.Unlock()
		}
	}
	flushed := make(chan struct{}, 1)
	s.On("echo", func(e *Event) {
		if e.Args().Len() == 0 {
			flushed <- struct{}{}
		}
	})
	flush := func() {
		_ = s.Emit("echo")
		recv(t, flushed, "flush")
	}
	offAny := s.OnAny(rec("any"))
	s.PrependAny(rec("first"))
	s.On("echo", rec("on"))
	s.Once("echo", rec("once"))
	var out []string
	s.OnAnyOutgoing(func(ev string, args []any) { mu.Lock(); out = append(out, "out:"+ev); mu.Unlock() })
	s.PrependAnyOutgoing(func(ev string, args []any) { mu.Lock(); out = append(out, "pre:"+ev); mu.Unlock() })
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	_ = s.Emit("echo", 1)
	flush()
	offAny()
	_ = s.Emit("echo", 2)
	flush()
	s.OffAny()
	s.OffAnyOutgoing()
	s.Off("echo")
	s.On("echo", rec("new"))
	_ = s.Send(3)
	_ = s.Emit("echo", 4)
	a, err := s.EmitWithAck(ctxT(t), "echo-ack", []byte{1}, 2)
	if err != nil || a.Len() != 2 || len(a.Attachments()) != 1 {
		t.Fatalf("ack %v %v", a, err)
	}
	m.Close()
	mu.Lock()
	defer mu.Unlock()
	want := "first:echo:1 any:echo:1 on:echo:1 once:echo:1 first:echo:0 any:echo:0 on:echo:0 first:echo:2 on:echo:2 first:echo:0 on:echo:0 new:echo:4"
	if got := strings.Join(calls, " "); got != want {
		t.Fatalf("calls\n got %s\nwant %s", got, want)
	}
	if got := strings.Join(out, " "); got != "pre:echo out:echo pre:echo out:echo pre:echo out:echo pre:echo out:echo" {
		t.Fatalf("outgoing %s", got)
	}
}
