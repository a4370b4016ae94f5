package eioclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/engineio/packet"
)

// echoHandler is an Engine.IO application sending every message back.
type echoHandler struct{}

func (echoHandler) OpenSession(s *engineio.Session) engineio.SessionHandler { return &echoSession{s} }

type echoSession struct{ s *engineio.Session }

func (e *echoSession) HandleMessage(data []byte, binary bool)  { _ = e.s.Send(data, binary, false) }
func (e *echoSession) HandleClose(engineio.CloseReason, error) {}

func newEchoServer(t *testing.T, opts *engineio.Options) string {
	t.Helper()
	srv := engineio.NewServer(opts, echoHandler{})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Close()
		hs.Close()
	})
	return hs.URL + "/engine.io/"
}

// recorder is a Handler collecting what a Conn reports.
type recorder struct {
	msgs     chan packet.Packet
	pings    chan struct{}
	upgrades chan string
	closed   chan error
	reason   Reason
}

func newRecorder() *recorder {
	return &recorder{msgs: make(chan packet.Packet, 10000), pings: make(chan struct{}, 100), upgrades: make(chan string, 1), closed: make(chan error, 1)}
}

func (r *recorder) handler() Handler {
	return Handler{
		OnMessage: func(p packet.Packet) { r.msgs <- p },
		OnPing:    func() { r.pings <- struct{}{} },
		OnUpgrade: func(tr string) { r.upgrades <- tr },
		OnClose: func(reason Reason, err error) {
			r.reason = reason
			r.closed <- err
		},
	}
}

// recv returns the next value of ch, failing the test after 10 s.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	var v T
	select {
	case v = <-ch:
	case <-timer.C:
		t.Fatalf("no %s within 10s", what)
	}
	return v
}

func dial(t *testing.T, rawURL string, cfg Config, h Handler) *Conn {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.URL = u
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, cfg, h)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		<-c.Done()
	})
	return c
}

var modes = []struct {
	name string
	cfg  Config
}{
	{"polling", Config{Transports: []string{Polling}}},
	{"websocket", Config{Transports: []string{WebSocket}}},
	{"upgrade", Config{Upgrade: true}},
}

// TestEcho sends text and binary messages in every mode; in upgrade mode
// a stream of messages crosses the upgrade without loss or reordering.
func TestEcho(t *testing.T) {
	url := newEchoServer(t, nil)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			r := newRecorder()
			c := dial(t, url, m.cfg, r.handler())
			if c.ID() == "" || c.Handshake().PingInterval != 25000 {
				t.Fatalf("handshake %+v", c.Handshake())
			}
			const n = 300
			for i := range n {
				p := packet.Packet{Type: packet.Message, Data: fmt.Appendf(nil, "m%d", i)}
				if i%3 == 0 {
					p = packet.Packet{Type: packet.Message, Binary: true, Data: []byte{byte(i), 0, 0xff}}
				}
				if err := c.Send(p); err != nil {
					t.Fatal(err)
				}
			}
			for i := range n {
				p := recv(t, r.msgs, "echo")
				if i%3 == 0 {
					if !p.Binary || !bytes.Equal(p.Data, []byte{byte(i), 0, 0xff}) {
						t.Fatalf("message %d: %+v", i, p)
					}
				} else if p.Binary || string(p.Data) != fmt.Sprintf("m%d", i) {
					t.Fatalf("message %d: %+v", i, p)
				}
			}
			if m.name == "upgrade" {
				if tr := recv(t, r.upgrades, "upgrade"); tr != WebSocket || c.Transport() != WebSocket {
					t.Fatalf("upgrade to %q, transport %q", tr, c.Transport())
				}
			} else if c.Transport() != m.cfg.Transports[0] {
				t.Fatalf("transport %q", c.Transport())
			}
		})
	}
}

// TestHeartbeat: pings are answered (the session outlives several
// intervals), a silent server is detected after pingInterval+pingTimeout.
func TestHeartbeat(t *testing.T) {
	// Pings every 50 ms; a client that did not answer them would be closed
	// 400 ms after the first, before the 12th. (A 50 ms pong deadline was
	// missed on a loaded machine: the session closed, and no ping came.)
	url := newEchoServer(t, &engineio.Options{PingInterval: 50 * time.Millisecond, PingTimeout: 400 * time.Millisecond})
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			r := newRecorder()
			c := dial(t, url, m.cfg, r.handler())
			for range 12 {
				recv(t, r.pings, "ping")
			}
			_ = c.Send(packet.Packet{Type: packet.Message, Data: []byte("still there")})
			if p := recv(t, r.msgs, "echo"); string(p.Data) != "still there" {
				t.Fatalf("%+v", p)
			}
		})
	}
	t.Run("silent server", func(t *testing.T) {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("sid") == "" {
				fmt.Fprint(w, `0{"sid":"abc","upgrades":[],"pingInterval":50,"pingTimeout":30,"maxPayload":1000}`)
				return
			}
			if r.Method == http.MethodGet {
				<-r.Context().Done() // never answer
				return
			}
			fmt.Fprint(w, "ok")
		}))
		defer hs.Close()
		r := newRecorder()
		start := time.Now()
		dial(t, hs.URL, Config{Transports: []string{Polling}}, r.handler())
		err := recv(t, r.closed, "close")
		if r.reason != ReasonPingTimeout || !errors.Is(err, ErrPingTimeout) || time.Since(start) < 80*time.Millisecond {
			t.Fatalf("closed %q %v after %v", r.reason, err, time.Since(start))
		}
	})
}

// fakePolling is a scripted long-polling server: the handshake, then
// the GET responses of gets (one per GET, then GETs hang), recording the
// POST bodies.
type fakePolling struct {
	open   string
	gets   chan string
	mu     sync.Mutex
	posts  []string
	status int // of POSTs; 0 means 200
	reqs   []*http.Request
}

func (f *fakePolling) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.reqs = append(f.reqs, r)
	f.mu.Unlock()
	if r.URL.Query().Get("sid") == "" {
		fmt.Fprint(w, f.open)
		return
	}
	if r.Method == http.MethodPost {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.posts = append(f.posts, string(body))
		status := f.status
		f.mu.Unlock()
		if status != 0 {
			w.WriteHeader(status)
			return
		}
		fmt.Fprint(w, "ok")
		return
	}
	select {
	case body := <-f.gets:
		fmt.Fprint(w, body)
	case <-r.Context().Done():
	}
}

func newFake(t *testing.T, maxPayload int) (*fakePolling, string) {
	f := &fakePolling{
		open: fmt.Sprintf(`0{"sid":"s1","upgrades":["websocket"],"pingInterval":10000,"pingTimeout":5000,"maxPayload":%d}`, maxPayload),
		gets: make(chan string, 10),
	}
	hs := httptest.NewServer(f)
	t.Cleanup(hs.Close)
	return f, hs.URL
}

// TestPollingBatches: a POST carries as many queued packets as fit in the
// server's maxPayload; a larger packet goes alone.
func TestPollingBatches(t *testing.T) {
	f, url := newFake(t, 50)
	r := newRecorder()
	c := dial(t, url, Config{Transports: []string{Polling}}, r.handler())
	c.mu.Lock() // queue everything before the writer runs
	for i := range 10 {
		c.buf = append(c.buf, packet.Packet{Type: packet.Message, Data: []byte(strings.Repeat(fmt.Sprint(i), 15))})
	}
	c.buf = append(c.buf, packet.Packet{Type: packet.Message, Data: []byte(strings.Repeat("x", 80))})
	c.mu.Unlock()
	c.kick()
	c.Close()
	<-c.Done()
	f.mu.Lock()
	defer f.mu.Unlock()
	total := 0
	for _, p := range f.posts {
		if p == "1" {
			continue
		}
		n := strings.Count(p, "\x1e") + 1
		total += n
		if len(p) > 50 && n > 1 {
			t.Errorf("POST of %d bytes with %d packets", len(p), n)
		}
	}
	if total != 11 || f.posts[len(f.posts)-1] != "1" {
		t.Fatalf("posts %q", f.posts)
	}
}

// TestServerClose: a CLOSE packet from the server ends the Conn with
// "transport close", after the messages before it.
func TestServerClose(t *testing.T) {
	f, url := newFake(t, 0)
	f.gets <- "4a\x1e4b\x1e1"
	r := newRecorder()
	dial(t, url, Config{Transports: []string{Polling}}, r.handler())
	for _, want := range []string{"a", "b"} {
		if p := recv(t, r.msgs, want); string(p.Data) != want {
			t.Fatalf("got %q", p.Data)
		}
	}
	if err := recv(t, r.closed, "close"); r.reason != ReasonTransportClose || !errors.Is(err, ErrServerClosed) {
		t.Fatalf("closed %q %v", r.reason, err)
	}
}

// TestTransportErrors: garbage, an error status, a too large response.
func TestTransportErrors(t *testing.T) {
	t.Run("garbage", func(t *testing.T) {
		f, url := newFake(t, 0)
		f.gets <- "4ok\x1ex"
		r := newRecorder()
		dial(t, url, Config{Transports: []string{Polling}}, r.handler())
		recv(t, r.msgs, "ok")
		if err := recv(t, r.closed, "close"); r.reason != ReasonTransportError || !errors.Is(err, packet.ErrInvalidPacket) {
			t.Fatalf("closed %q %v", r.reason, err)
		}
	})
	t.Run("POST status", func(t *testing.T) {
		f, url := newFake(t, 0)
		f.status = http.StatusRequestEntityTooLarge
		r := newRecorder()
		c := dial(t, url, Config{Transports: []string{Polling}}, r.handler())
		_ = c.Send(packet.Packet{Type: packet.Message, Data: []byte("big")})
		err := recv(t, r.closed, "close")
		var se *statusError
		if r.reason != ReasonTransportError || !errors.As(err, &se) || se.code != 413 {
			t.Fatalf("closed %q %v", r.reason, err)
		}
		if err := c.Send(packet.Packet{Type: packet.Message}); !errors.Is(err, ErrClosed) {
			t.Fatalf("Send after close: %v", err)
		}
	})
	t.Run("response too big", func(t *testing.T) {
		f, url := newFake(t, 0)
		f.gets <- "4" + strings.Repeat("x", 2000)
		r := newRecorder()
		dial(t, url, Config{Transports: []string{Polling}, MaxMessageSize: 1000}, r.handler())
		if err := recv(t, r.closed, "close"); r.reason != ReasonTransportError || !errors.Is(err, ErrMessageTooBig) {
			t.Fatalf("closed %q %v", r.reason, err)
		}
	})
	t.Run("websocket message too big", func(t *testing.T) {
		url := newEchoServer(t, nil)
		r := newRecorder()
		c := dial(t, url, Config{Transports: []string{WebSocket}, MaxMessageSize: 1000}, r.handler())
		_ = c.Send(packet.Packet{Type: packet.Message, Data: bytes.Repeat([]byte("y"), 2000)})
		if err := recv(t, r.closed, "close"); r.reason != ReasonTransportError || !errors.Is(err, ErrMessageTooBig) {
			t.Fatalf("closed %q %v", r.reason, err)
		}
	})
}

// TestDialErrors: the handshake fails cleanly.
func TestDialErrors(t *testing.T) {
	for name, body := range map[string]string{
		"not open":     `4hello`,
		"bad JSON":     `0{`,
		"no sid":       `0{"pingInterval":1,"pingTimeout":1}`,
		"no heartbeat": `0{"sid":"a","pingInterval":0,"pingTimeout":1}`,
		"garbage":      `z`,
	} {
		t.Run(name, func(t *testing.T) {
			f, u := newFake(t, 0)
			f.open = body
			pu, _ := url.Parse(u)
			if _, err := Dial(context.Background(), Config{URL: pu, Transports: []string{Polling}}, Handler{}); err == nil {
				t.Fatal("Dial succeeded")
			}
		})
	}
	t.Run("timeout", func(t *testing.T) {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
		defer hs.Close()
		pu, _ := url.Parse(hs.URL)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		for _, tr := range []string{Polling, WebSocket} {
			if _, err := Dial(ctx, Config{URL: pu, Transports: []string{tr}}, Handler{}); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%s: %v", tr, err)
			}
		}
	})
	t.Run("config", func(t *testing.T) {
		pu, _ := url.Parse("http://127.0.0.1:1")
		for _, cfg := range []Config{{}, {URL: pu, Transports: []string{}}, {URL: pu, Transports: []string{"carrier-pigeon"}}} {
			if _, err := Dial(context.Background(), cfg, Handler{}); err == nil {
				t.Fatalf("Dial(%+v) succeeded", cfg)
			}
		}
	})
}

// TestRequests: the user's query and headers reach the requests, and an
// error status fails the handshake.
func TestRequests(t *testing.T) {
	var mu sync.Mutex
	var seen []*http.Request
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Clone(context.Background()))
		mu.Unlock()
		http.Error(w, "no", http.StatusTeapot)
	}))
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL + "/p/?token=x")
	hdr := http.Header{"X-Custom": {"yes"}}
	_, err := Dial(context.Background(), Config{URL: pu, Header: hdr}, Handler{})
	if err == nil {
		t.Fatal("Dial succeeded against a teapot")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 {
		t.Fatalf("%d requests", len(seen))
	}
	q := seen[0].URL.Query()
	if seen[0].URL.Path != "/p/" || q.Get("token") != "x" || q.Get("EIO") != "4" || q.Get("transport") != "polling" || q.Get("t") == "" || seen[0].Header.Get("X-Custom") != "yes" {
		t.Fatalf("request %v %v", seen[0].URL, seen[0].Header)
	}
}

// TestCookies: the session cookie set by the server during the polling
// handshake is sent with the WebSocket upgrade when the client has a jar.
func TestCookies(t *testing.T) {
	srv := engineio.NewServer(&engineio.Options{Cookie: &http.Cookie{Name: "io"}}, echoHandler{})
	var mu sync.Mutex
	var wsCookie string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("transport") == "websocket" {
			mu.Lock()
			wsCookie = r.Header.Get("Cookie")
			mu.Unlock()
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		_ = srv.Close()
		hs.Close()
	})
	jar, _ := cookiejar.New(nil)
	r := newRecorder()
	hc := &http.Client{Jar: jar}
	c := dial(t, hs.URL+"/engine.io/", Config{Upgrade: true, HTTPClient: hc}, r.handler())
	recv(t, r.upgrades, "upgrade")
	mu.Lock()
	defer mu.Unlock()
	if wsCookie != "io="+c.ID() {
		t.Fatalf("websocket Cookie %q, sid %s", wsCookie, c.ID())
	}
	hc.CloseIdleConnections()
}

// TestClose: Close writes what is queued, then tells the server.
func TestClose(t *testing.T) {
	for _, m := range modes[:2] {
		t.Run(m.name, func(t *testing.T) {
			closed := make(chan engineio.CloseReason, 1)
			got := make(chan string, 100)
			h := handlerFunc(func(s *engineio.Session) engineio.SessionHandler {
				return &funcSession{
					msg:   func(d []byte, _ bool) { got <- string(d) },
					close: func(r engineio.CloseReason, _ error) { closed <- r },
				}
			})
			srv := engineio.NewServer(nil, h)
			hs := httptest.NewServer(srv)
			defer func() {
				_ = srv.Close()
				hs.Close()
			}()
			r := newRecorder()
			u, _ := url.Parse(hs.URL + "/engine.io/")
			cfg := m.cfg
			cfg.URL = u
			c, err := Dial(context.Background(), cfg, r.handler())
			if err != nil {
				t.Fatal(err)
			}
			for i := range 20 {
				_ = c.Send(packet.Packet{Type: packet.Message, Data: fmt.Append(nil, i)})
			}
			c.Close()
			c.Close()
			<-c.Done()
			for i := range 20 {
				if s := recv(t, got, "message"); s != fmt.Sprint(i) {
					t.Fatalf("got %q", s)
				}
			}
			if reason := recv(t, closed, "server close"); reason != engineio.CloseReason("transport close") {
				t.Fatalf("server reason %q", reason)
			}
			select {
			case err := <-r.closed:
				t.Fatalf("OnClose after Close: %v", err)
			default:
			}
		})
	}
}

type handlerFunc func(*engineio.Session) engineio.SessionHandler

func (f handlerFunc) OpenSession(s *engineio.Session) engineio.SessionHandler { return f(s) }

type funcSession struct {
	msg   func([]byte, bool)
	close func(engineio.CloseReason, error)
}

func (f *funcSession) HandleMessage(d []byte, b bool)                { f.msg(d, b) }
func (f *funcSession) HandleClose(r engineio.CloseReason, err error) { f.close(r, err) }

// TestPollingRetriesClosedConnection: a server that closes the connection a
// request went out on without answering (as net/http does to a kept-alive
// connection at its ReadHeaderTimeout) did not read the request; the
// client sends it again, once, and the session goes on.
func TestPollingRetriesClosedConnection(t *testing.T) {
	srv := engineio.NewServer(nil, echoHandler{})
	var drops atomic.Int32
	drops.Store(2) // one GET, one POST
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("sid") != "" && (r.Method == http.MethodPost) == (drops.Load() == 1) && drops.Add(-1) >= 0 {
			// Close without reading the request or answering.
			nc, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = nc.(*net.TCPConn).SetLinger(0) // a reset, like a server closing with unread data
				_ = nc.Close()
			}
			return
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		_ = srv.Close()
		hs.Close()
	})
	r := newRecorder()
	c := dial(t, hs.URL+"/engine.io/", Config{Transports: []string{Polling}}, r.handler())
	for i := range 3 {
		if err := c.Send(packet.Packet{Type: packet.Message, Data: fmt.Appendf(nil, "m%d", i)}); err != nil {
			t.Fatal(err)
		}
		if p := recv(t, r.msgs, "echo"); string(p.Data) != fmt.Sprintf("m%d", i) {
			t.Fatalf("echo %d: %q", i, p.Data)
		}
	}
	if n := drops.Load(); n > 0 {
		t.Fatalf("%d requests were not dropped", n)
	}
	select {
	case err := <-r.closed:
		t.Fatalf("connection closed: %v", err)
	default:
	}
}

// TestPollingGetNotRepeated: with RetryGet false, a GET whose connection
// breaks after the server read it is sent neither by the Conn nor by
// net/http again (its answer may have been lost with the connection): the
// connection fails instead.
func TestPollingGetNotRepeated(t *testing.T) {
	srv := engineio.NewServer(nil, echoHandler{})
	var gets, dropAt atomic.Int32
	dropAt.Store(-1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Query().Get("sid") != "" {
			if n := gets.Add(1); n == dropAt.Load() {
				nc, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					_ = nc.(*net.TCPConn).SetLinger(0)
					_ = nc.Close()
				}
				return
			}
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		_ = srv.Close()
		hs.Close()
	})
	r := newRecorder()
	c := dial(t, hs.URL+"/engine.io/", Config{Transports: []string{Polling}, RetryGet: func() bool { return false }}, r.handler())
	if err := c.Send(packet.Packet{Type: packet.Message, Data: []byte("m")}); err != nil {
		t.Fatal(err)
	}
	recv(t, r.msgs, "echo")
	dropAt.Store(gets.Load() + 1) // the GET pending now, or the next one
	if err := c.Send(packet.Packet{Type: packet.Message, Data: []byte("m")}); err != nil {
		t.Fatal(err)
	}
	recv(t, r.closed, "close")
	if n, at := gets.Load(), dropAt.Load(); n != at {
		t.Fatalf("%d GETs, the connection broke at GET %d: it was sent again", n, at)
	}
}
