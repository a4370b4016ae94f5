package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	socketio "github.com/socketio-go/socketio"
)

// TestModes runs the basics over every transport mode against the
// in-process server: events with binary, acks both ways, multiplexing.
func TestModes(t *testing.T) {
	gs := newGoServer(t, nil, func(srv *socketio.Server) {
		echoSetup("/", "/b")(srv)
		srv.Of("/").OnConnection(func(s *socketio.Socket) {
			s.On("ask", func(e *socketio.Event) {
				ctx, cancel := context.WithTimeout(s.Context(), 5*time.Second)
				defer cancel()
				a, err := s.EmitWithAck(ctx, "question", e.Args().Spread()...)
				if err == nil && e.HasAck() {
					_ = e.Ack(a.Spread()...)
				}
			})
		})
	})
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			o := &Options{}
			mode.opts(o)
			m := newTestManager(t, gs.url, o)
			s, b := m.Socket("/", nil), m.Socket("b", nil)
			echo := events(s, "echo")
			s.On("question", func(e *Event) { _ = e.Ack(e.Args().Spread()...) })
			for _, x := range []*Socket{s, b} {
				if err := x.Connect(ctxT(t)); err != nil {
					t.Fatal(err)
				}
			}
			if b.Namespace() != "/b" || s.Manager() != m {
				t.Fatal("namespace or manager")
			}
			_ = s.Emit("echo", 1, "two", []byte{3})
			var n int
			var str string
			var bin []byte
			if err := recv(t, echo, "echo").Decode(&n, &str, &bin); err != nil || n != 1 || str != "two" || !bytes.Equal(bin, []byte{3}) {
				t.Fatalf("echo %v %q %v (%v)", n, str, bin, err)
			}
			a, err := s.EmitWithAck(ctxT(t), "ask", map[string]any{"b": []byte("x")})
			if err != nil {
				t.Fatal(err)
			}
			var got map[string][]byte
			if err := a.Decode(&got); err != nil || string(got["b"]) != "x" {
				t.Fatalf("ask: %v %v", got, err)
			}
			a, err = b.EmitWithAck(ctxT(t), "echo-ack", "on b")
			if err != nil || string(a.Raw(0)) != `"on b"` {
				t.Fatalf("b: %v %v", a, err)
			}
			if err := a.Decode(nil, nil); !errors.Is(err, ErrInvalidArgs) {
				t.Fatalf("Decode of missing args: %v", err)
			}
		})
	}
}

// TestOfflineBuffer: events emitted before the connection are sent once
// connected, in order; volatile ones are dropped; an EmitWithAck that
// timed out while buffered is not sent.
func TestOfflineBuffer(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	gs := newGoServer(t, nil, func(srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			s.OnAny(func(e *socketio.Event) {
				mu.Lock()
				seen = append(seen, e.Name()+string(e.Args().Raw(0)))
				mu.Unlock()
				if e.HasAck() {
					_ = e.Ack()
				}
			})
		})
	})
	m := newTestManager(t, gs.url, nil)
	s := m.Socket("/", nil)
	// The outgoing handlers run on the socket's dispatcher, after the
	// emit: they are awaited below, not read at once.
	out := make(chan string, 16)
	s.OnAnyOutgoing(func(ev string, args []any) { out <- ev })
	_ = s.Emit("a", 1)
	_ = s.Volatile().Emit("v", 2)
	if _, err := s.Timeout(10*time.Millisecond).EmitWithAck(ctxT(t), "expired", 3); !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("buffered EmitWithAck: %v", err)
	}
	_ = s.Emit("b", 4)
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EmitWithAck(ctxT(t), "last", 5); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(seen, " "); got != "a1 b4 last5" {
		t.Fatalf("server got %s", got)
	}
	var got []string
	for len(got) < 3 {
		select {
		case ev := <-out:
			got = append(got, ev)
		case <-time.After(5 * time.Second):
			t.Fatalf("outgoing %v", got)
		}
	}
	if strings.Join(got, " ") != "a b last" {
		t.Fatalf("outgoing %v", got)
	}
}

// TestRetryQueue: the queue sends one event at a time and an abandoned
// EmitWithAck leaves it.
func TestRetryQueue(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	var count atomic.Int32
	gs := newGoServer(t, nil, func(srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("hold", func(e *socketio.Event) {
				count.Add(1)
				started <- struct{}{}
				go func() {
					<-release
					_ = e.Ack("held")
				}()
			})
			s.On("fast", func(e *socketio.Event) { count.Add(1); _ = e.Ack(e.Args().Spread()...) })
		})
	})
	m := newTestManager(t, gs.url, &Options{Transports: []string{TransportWebSocket}})
	s := m.Socket("/", &SocketOptions{Retries: 2})
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctxT(t))
	held := make(chan error, 1)
	go func() {
		_, err := s.EmitWithAck(ctx, "hold")
		held <- err
	}()
	recv(t, started, "hold")
	fast := make(chan string, 1)
	go func() {
		a, err := s.EmitWithAck(ctxT(t), "fast", "f")
		fast <- string(a.Raw(0)) + errString(err)
	}()
	_ = s.Emit("fast", "fire and forget") // queued too, acknowledged
	// A volatile event bypasses the queue: once acknowledged, the server
	// has seen everything sent before it.
	if _, err := s.Volatile().EmitWithAck(ctxT(t), "fast", "probe"); err != nil {
		t.Fatal(err)
	}
	if c := count.Load(); c != 2 {
		t.Fatalf("%d events handled while the head of the queue waits for its ack", c)
	}
	cancel()
	if err := recv(t, held, "abandoned EmitWithAck"); !errors.Is(err, ErrAckTimeout) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if got := recv(t, fast, "fast"); got != `"f"` {
		t.Fatalf("fast %s", got)
	}
	close(release)
	if _, err := s.Timeout(time.Second).EmitWithAck(ctxT(t), "fast", 1); err != nil {
		t.Fatal(err)
	}
	if c := count.Load(); c != 5 {
		t.Fatalf("%d events handled", c)
	}
}

// TestConnectFailures: unreachable server, with and without reconnection.
func TestConnectFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there any more
	t.Run("ctx", func(t *testing.T) {
		m := newTestManager(t, url, nil)
		var attempts atomic.Int32
		m.OnReconnectAttempt(func(int) { attempts.Add(1) })
		s := m.Socket("/", nil)
		var connErrs atomic.Int32
		s.OnConnectError(func(error) { connErrs.Add(1) })
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		err := s.Connect(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("Connect = %v", err)
		}
		if s.Active() {
			t.Fatal("socket active after a failed Connect")
		}
		m.Close()
		if attempts.Load() == 0 || connErrs.Load() == 0 {
			t.Fatalf("%d attempts, %d connect errors", attempts.Load(), connErrs.Load())
		}
	})
	t.Run("no reconnection", func(t *testing.T) {
		m := newTestManager(t, url, &Options{DisableReconnection: true})
		if err := m.Socket("/", nil).Connect(ctxT(t)); err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Connect = %v", err)
		}
	})
	t.Run("connect timeout", func(t *testing.T) {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
		defer hs.Close()
		m := newTestManager(t, hs.URL, &Options{DisableReconnection: true, Timeout: 50 * time.Millisecond})
		if err := m.Socket("/", nil).Connect(ctxT(t)); !errors.Is(err, ErrConnectTimeout) {
			t.Fatalf("Connect = %v", err)
		}
	})
	t.Run("disconnect meanwhile", func(t *testing.T) {
		m := newTestManager(t, url, nil)
		s := m.Socket("/", nil)
		failed := make(chan error, 10)
		s.OnConnectError(func(err error) { failed <- err })
		done := make(chan error, 1)
		go func() { done <- s.Connect(ctxT(t)) }()
		recv(t, failed, "a failed attempt")
		s.Disconnect()
		if err := recv(t, done, "Connect"); !errors.Is(err, ErrDisconnected) {
			t.Fatalf("Connect = %v", err)
		}
	})
}

// TestManagerClose: Close fails what is pending, and is safe from a
// handler.
func TestManagerClose(t *testing.T) {
	gs := newGoServer(t, nil, echoSetup("/"))
	m := newTestManager(t, gs.url, nil)
	s := m.Socket("/", nil)
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	why := make(chan DisconnectReason, 1)
	s.OnDisconnect(func(r DisconnectReason) { why <- r })
	pending := make(chan error, 1)
	go func() {
		_, err := s.EmitWithAck(ctxT(t), "echo", "never acked")
		pending <- err
	}()
	closed := make(chan struct{})
	s.On("echo", func(*Event) {
		m.Close() // from a handler
		close(closed)
	})
	recv(t, closed, "Close in a handler")
	if r := recv(t, why, "OnDisconnect"); r != ReasonIOClientDisconnect {
		t.Fatalf("reason %q", r)
	}
	if err := recv(t, pending, "EmitWithAck"); !errors.Is(err, ErrManagerClosed) {
		t.Fatalf("pending: %v", err)
	}
	if err := s.Emit("x"); !errors.Is(err, ErrManagerClosed) {
		t.Fatalf("Emit after Close: %v", err)
	}
	if err := s.Connect(ctxT(t)); !errors.Is(err, ErrManagerClosed) {
		t.Fatalf("Connect after Close: %v", err)
	}
	m.Close()
}

// TestHandlerPanic: a panicking handler is logged; the others run.
func TestHandlerPanic(t *testing.T) {
	gs := newGoServer(t, nil, echoSetup("/"))
	var logs bytes.Buffer
	var mu sync.Mutex
	m := newTestManager(t, gs.url, &Options{Logger: slog.New(slog.NewTextHandler(&lockedBuf{b: &logs, mu: &mu}, nil))})
	s := m.Socket("/", nil)
	s.On("echo", func(*Event) { panic("boom") })
	echo := events(s, "echo")
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	_ = s.Emit("echo", 1)
	_ = s.Emit("echo", 2)
	recv(t, echo, "echo")
	recv(t, echo, "echo")
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "boom") {
		t.Fatalf("log: %s", logs.String())
	}
}

type lockedBuf struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// TestTLSQueryHeaders: https/wss with a custom TLS configuration; query
// parameters and extra headers reach the server on every transport.
func TestTLSQueryHeaders(t *testing.T) {
	type seen struct{ token, header, transport string }
	got := make(chan seen, 10)
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		h := s.Handshake()
		got <- seen{h.Query.Get("token"), h.Headers.Get("X-Client"), s.Transport()}
	})
	hs := httptest.NewUnstartedServer(srv)
	hs.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted case fails handshakes
	hs.StartTLS()
	t.Cleanup(func() {
		_ = srv.Close()
		hs.Close()
	})
	pool := x509.NewCertPool()
	pool.AddCert(hs.Certificate())
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			o := &Options{TLSConfig: &tls.Config{RootCAs: pool}, Query: map[string][]string{"token": {"q"}}, ExtraHeaders: http.Header{"X-Client": {"go"}}}
			mode.opts(o)
			m := newTestManager(t, hs.URL+"/?token=from-url", o)
			if err := m.Socket("/", nil).Connect(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if s := recv(t, got, "connection"); s.token != "q" || s.header != "go" {
				t.Fatalf("server saw %+v", s)
			}
		})
	}
	t.Run("untrusted", func(t *testing.T) {
		m := newTestManager(t, hs.URL, &Options{DisableReconnection: true})
		if err := m.Socket("/", nil).Connect(ctxT(t)); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("Connect = %v", err)
		}
	})
}

// TestIdleClose: the connection closes when its last socket leaves, and
// opens again when one connects.
func TestIdleClose(t *testing.T) {
	closed := make(chan string, 10)
	gs := newGoServer(t, nil, func(srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			s.OnDisconnect(func(r socketio.DisconnectReason) { closed <- string(r) })
		})
	})
	m := newTestManager(t, gs.url, &Options{Transports: []string{TransportWebSocket}})
	engineClosed := make(chan DisconnectReason, 10)
	m.OnClose(func(r DisconnectReason, _ error) { engineClosed <- r })
	s := m.Socket("/", nil)
	for range 2 {
		if err := s.Connect(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		s.Disconnect()
		if r := recv(t, closed, "server disconnect"); r != "client namespace disconnect" {
			t.Fatalf("reason %q", r)
		}
		if r := recv(t, engineClosed, "connection closed"); r != ReasonIOClientDisconnect || m.Transport() != "" {
			t.Fatalf("connection closed with %q, transport %q", r, m.Transport())
		}
	}
}

// TestRetriesWithServerDedup: the retry queue against a server that
// deduplicates retried events (socketio.Options.RetryDedup): although
// every acknowledgement comes later than AckTimeout, and the client sends
// each event several times, each handler runs exactly once and every
// EmitWithAck succeeds.
func TestRetriesWithServerDedup(t *testing.T) {
	var runs atomic.Int32
	gs := newGoServer(t, &socketio.Options{RetryDedup: &socketio.RetryDedupOptions{}}, func(srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("slow", func(e *socketio.Event) {
				runs.Add(1)
				time.Sleep(150 * time.Millisecond) // slower than the client's ackTimeout
				_ = e.Ack(e.Args().Spread()...)
			})
		})
	})
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			runs.Store(0)
			o := &Options{}
			mode.opts(o)
			m := newTestManager(t, gs.url, o)
			s := m.Socket("/", &SocketOptions{Retries: 5, AckTimeout: 50 * time.Millisecond})
			if err := s.Connect(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				a, err := s.EmitWithAck(ctxT(t), "slow", i)
				var n int
				if err != nil || a.Decode(&n) != nil || n != i {
					t.Fatalf("event %d: %v %v", i, a, err)
				}
			}
			if r := runs.Load(); r != 3 {
				t.Fatalf("handlers ran %d times for 3 events", r)
			}
		})
	}
}

// TestAuthErrors: an AuthFunc error or an auth that is not a JSON object
// refuses to connect without sending anything to the namespace.
func TestAuthErrors(t *testing.T) {
	gs := newGoServer(t, nil, nil)
	boom := errors.New("no token")
	for name, opts := range map[string]*SocketOptions{
		"func":       {AuthFunc: func(context.Context) (any, error) { return nil, boom }},
		"not object": {Auth: []int{1}},
		"bad value":  {Auth: map[string]any{"f": func() {}}},
	} {
		t.Run(name, func(t *testing.T) {
			m := newTestManager(t, gs.url, nil)
			s := m.Socket("/", opts)
			handled := make(chan error, 1)
			s.OnConnectError(func(err error) { handled <- err })
			err := s.Connect(ctxT(t))
			if err == nil || !strings.Contains(err.Error(), "auth") || (name == "func" && !errors.Is(err, boom)) {
				t.Fatalf("Connect = %v", err)
			}
			if recv(t, handled, "OnConnectError") != err || s.Active() {
				t.Fatal("handler or state")
			}
		})
	}
	// A nil auth value means no payload.
	m := newTestManager(t, gs.url, nil)
	s := m.Socket("/", &SocketOptions{AuthFunc: func(context.Context) (any, error) { return nil, nil }})
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

// TestHandlerPanicDefaultLogger: with Options.Logger nil, a handler panic
// is logged, with its stack, to slog.Default().
func TestHandlerPanicDefaultLogger(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&lockedBuf{b: &logs, mu: &mu}, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	gs := newGoServer(t, nil, echoSetup("/"))
	m := newTestManager(t, gs.url, nil)
	s := m.Socket("/", nil)
	s.On("echo", func(*Event) { panic("default boom") })
	echo := events(s, "echo")
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	_ = s.Emit("echo", 1)
	recv(t, echo, "echo")
	m.Close()
	mu.Lock()
	defer mu.Unlock()
	if out := logs.String(); !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "default boom") || !strings.Contains(out, "client_test.go") {
		t.Fatalf("log: %s", out)
	}
}
