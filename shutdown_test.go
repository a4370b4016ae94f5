package socketio

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/websocket"
)

// newShutdownEnv is newRoomsEnv for tests that shut the server down
// themselves: its cleanup tolerates ErrServerClosed.
func newShutdownEnv(t *testing.T, opts *Options) *roomsEnv {
	t.Helper()
	srv := NewServer(opts)
	hs, end := serveHTTP(t, srv) // on its own listener, long polls are detached
	env := &roomsEnv{testEnv: &testEnv{t: t, srv: srv, hs: hs}, socks: make(chan *Socket, 16)}
	env.srv.OnConnection(func(s *Socket) { env.socks <- s })
	env.srv.Of("/custom").OnConnection(func(s *Socket) { env.socks <- s })
	t.Cleanup(func() {
		if err := srv.Close(); err != nil && !errors.Is(err, ErrServerClosed) {
			t.Errorf("Close: %v", err)
		}
		end()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.tasks.Wait(ctx); err != nil {
			t.Errorf("%d server goroutines still running: %v", srv.tasks.Running(), err)
		}
	})
	return env
}

// getOnOwnConn sends a GET on another goroutine, on a connection of its
// own: net/http retries an idempotent request whose reused connection
// closes before the response, which would hide an aborted poll.
func getOnOwnConn(url string) <-chan pollResp {
	ch := make(chan pollResp, 1)
	go func() {
		// Keep-alive, as clients do: on the server's own listener the
		// poll is then detached (a request with Connection: close is not).
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		ch <- (&pclient{hc: &http.Client{Transport: tr}}).do(http.MethodGet, url, "")
	}()
	return ch
}

// readUntilClosed reads frames until the connection ends and returns them
// with the error that ended it.
func readUntilClosed(c *tclient) ([]string, error) {
	var frames []string
	for {
		raw, err := c.nextRaw()
		if err != nil {
			return frames, err
		}
		frames = append(frames, raw)
	}
}

func TestShutdownAndClose(t *testing.T) {
	tests := []struct {
		name     string
		graceful bool
		stop     func(*Server) error
	}{
		{"Shutdown", true, func(s *Server) error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return s.Shutdown(ctx)
		}},
		{"Close", false, func(s *Server) error { return s.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newShutdownEnv(t, nil)
			reasons := make(chan string, 4)
			track := func(name string, s *Socket) {
				s.OnDisconnect(func(r DisconnectReason) { reasons <- name + ":" + string(r) })
			}
			wc, wsMain := env.join("/", "")
			wsCustom := env.joinOn(wc, "/custom", "")
			pc := env.dialPolling()
			pc.connect("/", "")
			pMain := recv(t, env.socks)
			track("ws/", wsMain)
			track("ws/custom", wsCustom)
			track("polling/", pMain)

			pending := getOnOwnConn(pc.url)
			waitPollPending(t, pMain)
			if tt.graceful {
				// Queued before the shutdown: flushed before the close.
				if err := wsMain.Emit("bye"); err != nil {
					t.Fatal(err)
				}
			}
			if err := tt.stop(env.srv); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}

			got := []string{recv(t, reasons), recv(t, reasons), recv(t, reasons)}
			slices.Sort(got)
			want := []string{"polling/:server shutting down", "ws/:server shutting down", "ws/custom:server shutting down"}
			if !slices.Equal(got, want) {
				t.Fatalf("reasons %q, want %q", got, want)
			}
			for _, s := range []*Socket{wsMain, wsCustom, pMain} {
				if s.Connected() || s.Context().Err() == nil {
					t.Fatal("socket still connected")
				}
			}

			// The WebSocket client gets a close frame (no status code,
			// like the official server), after what was queued.
			frames, err := readUntilClosed(wc)
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.StatusNoStatus {
				t.Fatalf("WebSocket ended with %v, want a close frame", err)
			}
			if tt.graceful && !slices.Equal(frames, []string{`42["bye"]`}) {
				t.Fatalf("frames before the close %q", frames)
			}
			if len(frames) > 1 || len(frames) == 1 && frames[0] != `42["bye"]` {
				t.Fatalf("frames before the close %q", frames)
			}

			// The pending poll ends without a response, as when the
			// official server's process exits (its io.close() answers a
			// CLOSE packet, after which python-socketio does not
			// reconnect).
			if r := recv(t, pending); !errors.Is(r.err, io.EOF) {
				t.Fatalf("pending GET: %d %q %v, want EOF before a response", r.status, r.body, r.err)
			}
			if r := pc.getRaw(); ownListener && r.err == nil || !ownListener && r.status != http.StatusBadRequest {
				t.Fatalf("GET after the close: %d %q", r.status, r.body)
			}
			if n := env.srv.Engine().SessionCount(); n != 0 {
				t.Fatalf("%d sessions left", n)
			}

			// New connections are refused: with 503 when mounted (the
			// http.Server is the user's), at the listener on our own.
			r := pc.do(http.MethodGet, env.hs.URL+"/socket.io/?EIO=4&transport=polling", "")
			if ownListener {
				if r.err == nil {
					t.Fatalf("polling handshake after %s: %d %q, want the connection refused", tt.name, r.status, r.body)
				}
			} else if r.err != nil || r.status != http.StatusServiceUnavailable {
				t.Fatalf("polling handshake after %s: %d %q %v", tt.name, r.status, r.body, r.err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			url := "ws" + strings.TrimPrefix(env.hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
			if ws, _, err := websocket.Dial(ctx, url, nil); err == nil {
				_ = ws.CloseNow()
				t.Fatalf("WebSocket handshake after %s succeeded", tt.name)
			}

			// Idempotent.
			if err := env.srv.Shutdown(context.Background()); !errors.Is(err, ErrServerClosed) {
				t.Fatalf("second Shutdown: %v", err)
			}
			// Close after Shutdown finishes whatever Shutdown left (here
			// nothing) and succeeds once; a second Close is an error.
			if err := env.srv.Close(); tt.name == "Shutdown" && err != nil {
				t.Fatalf("Close after Shutdown: %v", err)
			}
			if err := env.srv.Close(); !errors.Is(err, ErrServerClosed) {
				t.Fatalf("second Close after %s: %v", tt.name, err)
			}
			if n := env.srv.tasks.Running(); n != 0 {
				t.Fatalf("%d server goroutines running after %s", n, tt.name)
			}
			if err := wsMain.Emit("late"); !errors.Is(err, ErrDisconnected) {
				t.Fatalf("Emit after %s: %v", tt.name, err)
			}
		})
	}
}

// TestShutdownReleasesEmitWithAck: a handler waiting for an ack with no
// deadline is released with ErrDisconnected.
func TestShutdownReleasesEmitWithAck(t *testing.T) {
	env := newShutdownEnv(t, nil)
	results := make(chan error, 1)
	c, s := env.join("/", "")
	s.On("wait", func(e *Event) {
		_, err := s.EmitWithAck(context.Background(), "q")
		results <- err
	})
	c.send(`2["wait"]`)
	answerAck(t, c, "") // the question arrives; no answer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := env.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case err := <-results:
		if !errors.Is(err, ErrDisconnected) {
			t.Fatalf("EmitWithAck: %v", err)
		}
	default:
		t.Fatal("Shutdown returned before the handler did")
	}
	s.mu.Lock()
	n := len(s.acks)
	s.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d acks left", n)
	}
}

// TestShutdownWaitsForConnectionHandler: Shutdown waits for a handler that
// does not return until ctx ends, and the handler still completes (with
// its OnDisconnect) once it is released.
func TestShutdownWaitsForConnectionHandler(t *testing.T) {
	srv := NewServer(nil)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	env := &testEnv{t: t, srv: srv, hs: hs}
	started := make(chan *Socket, 1)
	release := make(chan struct{})
	finished := make(chan struct{})
	reasons := make(chan DisconnectReason, 1)
	srv.OnConnection(func(s *Socket) {
		s.OnDisconnect(func(r DisconnectReason) { reasons <- r })
		started <- s
		<-release
		close(finished)
	})
	c := env.dial()
	c.connect("/", "")
	s := recv(t, started)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := srv.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a blocked handler: %v, want the ctx error", err)
	}
	select {
	case <-finished:
		t.Fatal("handler finished before it was released")
	default:
	}
	if s.Context().Err() == nil {
		t.Fatal("socket context not cancelled by Shutdown")
	}
	if _, err := readUntilClosed(c); err == nil {
		t.Fatal("connection not closed")
	}
	if n := srv.tasks.Running(); n == 0 {
		t.Fatal("no goroutine counted while the handler runs")
	}

	close(release)
	recv(t, finished)
	if r := recv(t, reasons); r != ReasonServerShuttingDown {
		t.Fatalf("reason %q", r)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	if err := srv.tasks.Wait(wctx); err != nil {
		t.Fatalf("goroutines still running after the handler returned: %v", err)
	}
	if err := srv.Shutdown(context.Background()); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("second Shutdown: %v", err)
	}
}

// TestRegression_ShutdownLeavesIdlePollingSession: a polling session with no GET
// pending is left "closing" by Shutdown, which returns nil, until its timer
// fires pingInterval+pingTimeout (45s by default) later; the official
// server closes it at once (engine.close discards the transport).
func TestRegression_ShutdownLeavesIdlePollingSession(t *testing.T) {
	env := newShutdownEnv(t, nil)
	pc := env.dialPolling()
	pc.connect("/", "")
	s := recv(t, env.socks)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := env.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if s.Connected() {
		t.Fatal("socket still connected")
	}
	sess := env.srv.Engine().Session(pc.sid)
	if n := env.srv.Engine().SessionCount(); n != 0 || sess != nil {
		t.Fatalf("%d Engine.IO sessions still open after Shutdown returned", n)
	}
}

// TestRegression_CloseAfterTimedOutShutdown: the usual pattern
//
//	if err := srv.Shutdown(ctx); err != nil { srv.Close() }
//
// does not work: Close returns ErrServerClosed without closing anything, so
// a WebSocket whose peer stopped reading keeps its writer goroutine blocked
// (and its session open) until the peer goes away.
func TestRegression_CloseAfterTimedOutShutdown(t *testing.T) {
	env := newShutdownEnv(t, nil)
	_, s := env.join("/", "")
	big := strings.Repeat("x", 1<<20)
	for range 32 {
		if err := s.Emit("big", big); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := env.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("precondition: Shutdown = %v, want a timeout (the writer should be stuck)", err)
	}
	_ = env.srv.Close() // must force-close what Shutdown could not
	if n := env.srv.Engine().SessionCount(); n != 0 {
		t.Fatalf("%d sessions still open after Close", n)
	}
}
