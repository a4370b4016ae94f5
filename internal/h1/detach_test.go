package h1

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// parked is a detached response handed over by detachHandler.
type parked struct {
	w      http.ResponseWriter
	r      *http.Request
	finish func(abort bool)
	gone   chan struct{}
}

// detachHandler detaches the requests whose query is "park" and hands
// them over on the returned channel; it answers the others at once.
func detachHandler(t *testing.T) (http.Handler, <-chan *parked) {
	ch := make(chan *parked, 16)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "park" {
			_, _ = io.WriteString(w, "at once "+r.URL.RawQuery)
			return
		}
		p := &parked{w: w, r: r, gone: make(chan struct{})}
		p.finish = w.(*response).Detach(func() { close(p.gone) })
		if p.finish == nil {
			t.Error("Detach refused")
			return
		}
		ch <- p
	}), ch
}

func (p *parked) answer(body string) {
	p.w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(p.w, body)
	p.finish(false)
}

func TestDetachAnsweredByAnotherGoroutine(t *testing.T) {
	h, ch := detachHandler(t)
	ts := startServer(t, h, nil)
	rc := dial(t, ts.addr)
	for i := range 3 {
		rc.send("GET /fast/?park HTTP/1.1\r\nHost: x\r\n\r\n")
		p := <-ch
		go p.answer("late " + string(rune('0'+i)))
		resp, body := rc.read("GET")
		if resp.StatusCode != 200 || body != "late "+string(rune('0'+i)) || resp.ContentLength != int64(len(body)) || resp.Close {
			t.Fatalf("detached response %d: %d %q length %d close %v", i, resp.StatusCode, body, resp.ContentLength, resp.Close)
		}
		p.finish(false) // a second finish does nothing
		// The connection goes on with the next request.
		rc.send("GET /fast/?next HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, body := rc.read("GET"); body != "at once next" {
			t.Fatalf("next request: %q", body)
		}
		select {
		case <-p.gone:
			t.Fatal("gone called for an answered response")
		default:
		}
		if err := p.r.Context().Err(); err == nil {
			t.Fatal("the request's context did not end with the response")
		}
	}
}

// A request sent before the detached response was written (pipelining)
// is served after it, in order.
func TestDetachPipelinedRequestWaits(t *testing.T) {
	h, ch := detachHandler(t)
	ts := startServer(t, h, nil)
	rc := dial(t, ts.addr)
	rc.send("GET /fast/?park HTTP/1.1\r\nHost: x\r\n\r\nGET /fast/?second HTTP/1.1\r\nHost: x\r\n\r\n")
	p := <-ch
	// The connection's goroutine has read the second request by now (it
	// waits on the connection for it): nothing of it may go out first.
	_ = rc.c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := rc.br.Peek(1); err == nil {
		t.Fatal("a response went out before the detached one")
	}
	_ = rc.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	p.answer("first")
	for _, want := range []string{"first", "at once second"} {
		if _, body := rc.read("GET"); body != want {
			t.Fatalf("got %q, want %q", body, want)
		}
	}
}

// The client leaving a detached response: gone is called, the context
// ends, and the owner's finish does nothing.
func TestDetachClientLeaves(t *testing.T) {
	ts, rc, p := parkOne(t)
	_ = rc.c.Close()
	select {
	case <-p.gone:
	case <-time.After(10 * time.Second):
		t.Fatal("gone not called")
	}
	select {
	case <-p.r.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("context not ended")
	}
	p.answer("too late")
	waitConns(t, ts.srv, 0)
}

// finish(true) closes the connection without a response.
func TestDetachAbort(t *testing.T) {
	ts, rc, p := parkOne(t)
	p.finish(true)
	if b, err := io.ReadAll(rc.br); err != nil || len(b) != 0 {
		t.Fatalf("aborted: read %q, %v; want the connection closed without a response", b, err)
	}
	select {
	case <-p.gone:
		t.Fatal("gone called for an aborted response")
	default:
	}
	waitConns(t, ts.srv, 0)
}

// A client that does not read never blocks the goroutine that answers: a
// response larger than the socket takes is finished at once, the rest
// written on another goroutine as the client reads.
func TestDetachSlowReaderDoesNotBlockFinish(t *testing.T) {
	_, rc, p := parkOne(t)
	big := strings.Repeat("0123456789abcdef", 1<<20) // 16 MiB, more than loopback buffers hold
	done := make(chan struct{})
	go func() {
		p.answer(big)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("finish blocked on a client that does not read")
	}
	_, body := rc.read("GET")
	if body != big {
		t.Fatalf("body of %d bytes, want %d", len(body), len(big))
	}
	rc.send("GET /fast/?after HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := rc.read("GET"); body != "at once after" {
		t.Fatalf("next request: %q", body)
	}
}

// Detach is refused where the connection cannot go on without the
// handler: a request body not read, Connection: close, a watched context.
func TestDetachRefused(t *testing.T) {
	var mu sync.Mutex
	var got []bool
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "watch" {
			_ = r.Context().Done()
		}
		finish := w.(*response).Detach(func() {})
		mu.Lock()
		got = append(got, finish != nil)
		mu.Unlock()
		if finish != nil {
			_, _ = io.WriteString(w, "detached")
			finish(false)
			return
		}
		_, _ = io.WriteString(w, "refused")
	}), nil)
	rc := dial(t, ts.addr)
	for _, c := range []struct{ req, want string }{
		{"POST /fast/ HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", "refused"},
		{"GET /fast/?watch HTTP/1.1\r\nHost: x\r\n\r\n", "refused"},
		{"GET /fast/ HTTP/1.1\r\nHost: x\r\n\r\n", "detached"},
		{"GET /fast/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "refused"},
	} {
		rc.send(c.req)
		if _, body := rc.read(strings.Fields(c.req)[0]); body != c.want {
			t.Fatalf("%q: %q, want %q", c.req, body, c.want)
		}
	}
}

// Shutdown waits for a detached response, which then closes the
// connection.
func TestDetachShutdown(t *testing.T) {
	ts, rc, p := parkOne(t)
	shut := make(chan error, 1)
	go func() { shut <- ts.srv.Shutdown(context.Background()) }()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a detached response pending", err)
	case <-time.After(50 * time.Millisecond):
	}
	p.answer("bye")
	resp, body := rc.read("GET")
	if body != "bye" || !resp.Close {
		t.Fatalf("detached response during shutdown: %q close=%v", body, resp.Close)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if b, _ := io.ReadAll(rc.br); !bytes.Equal(b, nil) {
		t.Fatalf("after the response: %q", b)
	}
}

// waitConns waits until the server tracks n connections.
func waitConns(t *testing.T, s *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		got := len(s.conns)
		s.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// parkOne starts a server with detachHandler and returns a connection
// whose request is parked.
func parkOne(t *testing.T) (*testServer, *rawConn, *parked) {
	h, ch := detachHandler(t)
	ts := startServer(t, h, nil)
	rc := dial(t, ts.addr)
	rc.send("GET /fast/?park HTTP/1.1\r\nHost: x\r\n\r\n")
	return ts, rc, <-ch
}
