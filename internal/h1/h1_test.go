package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testServer serves "/fast/" through the fast path with h and everything
// else with fallback (nil: 404 from a mux).
type testServer struct {
	srv  *Server
	addr string
	errc chan error
	// fastHits counts the requests the fast path served.
	fastHits atomic.Int64
}

func startServer(t *testing.T, h http.Handler, fallback http.Handler) *testServer {
	t.Helper()
	ts := &testServer{errc: make(chan error, 1)}
	if fallback == nil {
		fallback = http.NotFoundHandler()
	}
	tag := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Served-By", "net/http")
			h.ServeHTTP(w, r)
		})
	}
	mux := http.NewServeMux()
	mux.Handle("/", tag(fallback))
	mux.Handle("/fast/", tag(h)) // what net/http gets of the path when the fast path hands a connection off
	ts.srv = &Server{
		Path: "/fast/",
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ts.fastHits.Add(1)
			h.ServeHTTP(w, r)
		}),
		Fallback:          &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)},
		ReadHeaderTimeout: 2 * time.Second,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = ln.Addr().String()
	go func() { ts.errc <- ts.srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = ts.srv.Close()
		if err := <-ts.errc; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
		ts.srv.wg.Wait()
	})
	return ts
}

// rawConn is a client connection speaking raw HTTP/1.1.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (rc *rawConn) send(s string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, s); err != nil {
		rc.t.Fatal(err)
	}
}

func (rc *rawConn) read(method string) (*http.Response, string) {
	rc.t.Helper()
	resp, err := http.ReadResponse(rc.br, &http.Request{Method: method})
	for err == nil && resp.StatusCode < 200 {
		resp, err = http.ReadResponse(rc.br, &http.Request{Method: method})
	}
	if err != nil {
		rc.t.Fatalf("reading the response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		rc.t.Fatalf("reading the body: %v", err)
	}
	return resp, string(b)
}

func echoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s %s q=%s host=%s ua=%s body=%s", r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.Header.Get("User-Agent"), b)
	})
}

func TestKeepAliveGetAndPost(t *testing.T) {
	ts := startServer(t, echoHandler(), nil)
	rc := dial(t, ts.addr)
	for i := range 3 {
		rc.send("GET /fast/?a=1&i=" + fmt.Sprint(i) + " HTTP/1.1\r\nHost: x\r\nuser-agent: t\r\n\r\n")
		resp, body := rc.read("GET")
		want := fmt.Sprintf("GET /fast/ q=a=1&i=%d host=x ua=t body=", i)
		if resp.StatusCode != 200 || body != want || resp.Header.Get("Date") == "" || resp.ContentLength != int64(len(want)) {
			t.Fatalf("GET %d: %d %q %v", i, resp.StatusCode, body, resp.Header)
		}
		rc.send("POST /fast/?sid=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
		_, body = rc.read("POST")
		if want := "POST /fast/ q=sid=1 host=x ua= body=hello"; body != want {
			t.Fatalf("POST %d: %q, want %q", i, body, want)
		}
	}
	if n := ts.fastHits.Load(); n != 6 {
		t.Fatalf("fast path served %d requests, want 6", n)
	}
}

func TestPipelined(t *testing.T) {
	ts := startServer(t, echoHandler(), nil)
	rc := dial(t, ts.addr)
	rc.send("POST /fast/?n=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\naPOST /fast/?n=2 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nbGET /fast/?n=3 HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, want := range []string{"POST /fast/ q=n=1 host=x ua= body=a", "POST /fast/ q=n=2 host=x ua= body=b", "GET /fast/ q=n=3 host=x ua= body="} {
		_, body := rc.read(strings.Fields(want)[0])
		if body != want {
			t.Fatalf("got %q, want %q", body, want)
		}
	}
}

// Requests the fast path does not serve go to net/http with the
// connection, which keeps serving it.
func TestHandoff(t *testing.T) {
	for name, req := range map[string]string{
		"other path":    "GET /other HTTP/1.1\r\nHost: x\r\n\r\n",
		"HTTP/1.0":      "GET /fast/ HTTP/1.0\r\nHost: x\r\n\r\n",
		"chunked":       "POST /fast/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"expect":        "POST /fast/ HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
		"no host":       "GET /fast/ HTTP/1.1\r\n\r\n",
		"two lengths":   "POST /fast/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
		"bad header":    "GET /fast/ HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
		"folded":        "GET /fast/ HTTP/1.1\r\nHost: x\r\nX-A: y\r\n z\r\n\r\n",
		"big head":      "GET /fast/ HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 2*BufferSize) + "\r\n\r\n",
		"head method":   "HEAD /fast/ HTTP/1.1\r\nHost: x\r\n\r\n",
		"options":       "OPTIONS /fast/ HTTP/1.1\r\nHost: x\r\n\r\n",
		"bare LF":       "GET /fast/ HTTP/1.1\nHost: x\n\n",
		"absolute form": "GET http://x/fast/ HTTP/1.1\r\nHost: x\r\n\r\n",
		"fragment":      "GET /fast/#a HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET body":      "GET /fast/ HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab",
	} {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, echoHandler(), nil)
			rc := dial(t, ts.addr)
			method, _, _ := strings.Cut(req, " ")
			rc.send(req)
			resp, _ := rc.read(method)
			// net/http answered (a 400 has no X-Served-By, it comes from
			// net/http's connection loop itself).
			if resp.Header.Get("X-Served-By") != "net/http" && resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusMovedPermanently {
				t.Fatalf("%q: %d %v, not from net/http", req, resp.StatusCode, resp.Header)
			}
			if ts.fastHits.Load() != 0 {
				t.Fatalf("the fast path served %q", req)
			}
			if resp.Close || resp.StatusCode == http.StatusBadRequest {
				return
			}
			// The connection stays net/http's.
			rc.send("GET /fast/ HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, body := rc.read("GET")
			if resp.Header.Get("X-Served-By") != "net/http" || !strings.HasPrefix(body, "GET /fast/") || ts.fastHits.Load() != 0 {
				t.Fatalf("after the hand-off: %d %q %v", resp.StatusCode, body, resp.Header)
			}
		})
	}
}

func TestContextEndsWhenClientLeaves(t *testing.T) {
	ended := make(chan error, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		ended <- r.Context().Err()
	}), nil)
	rc := dial(t, ts.addr)
	rc.send("GET /fast/ HTTP/1.1\r\nHost: x\r\n\r\n")
	for ts.fastHits.Load() == 0 {
		time.Sleep(time.Millisecond) // no event tells that the request arrived
	}
	_ = rc.c.Close()
	select {
	case err := <-ended:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the context did not end when the client closed")
	}
}

// A context watched while the request waits does not eat the next
// request's bytes: what the background read takes is kept.
func TestContextWatchKeepsPipelinedBytes(t *testing.T) {
	release := make(chan struct{})
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "wait" {
			select {
			case <-r.Context().Done():
				t.Error("context ended")
			case <-release:
			}
		}
		_, _ = io.WriteString(w, r.URL.RawQuery)
	}), nil)
	rc := dial(t, ts.addr)
	rc.send("GET /fast/?wait HTTP/1.1\r\nHost: x\r\n\r\n")
	for ts.fastHits.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	rc.send("GET /fast/?next HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(50 * time.Millisecond) // let the background read take the first byte
	close(release)
	for _, want := range []string{"wait", "next"} {
		if _, body := rc.read("GET"); body != want {
			t.Fatalf("got %q, want %q", body, want)
		}
	}
}

func TestUnreadBodyIsDiscarded(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ignored "+r.URL.RawQuery)
	}), nil)
	rc := dial(t, ts.addr)
	rc.send("POST /fast/?1 HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789GET /fast/?2 HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, want := range []string{"ignored 1", "ignored 2"} {
		if _, body := rc.read("GET"); body != want {
			t.Fatalf("got %q, want %q", body, want)
		}
	}
}

func TestResponseFraming(t *testing.T) {
	big := strings.Repeat("x", 3*maxBuffered)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.RawQuery {
		case "sniff":
			_, _ = io.WriteString(w, "<html><body>hi</body></html>")
		case "empty":
			w.WriteHeader(http.StatusBadRequest)
		case "error":
			http.Error(w, "nope", http.StatusForbidden)
		case "flush":
			_, _ = io.WriteString(w, "part1,")
			http.NewResponseController(w).Flush()
			_, _ = io.WriteString(w, "part2")
		case "big":
			_, _ = io.WriteString(w, big)
		case "biglen":
			w.Header().Set("Content-Length", fmt.Sprint(len(big)))
			_, _ = io.WriteString(w, big)
		case "crlf":
			w.Header().Set("X-Evil", "a\r\nSet-Cookie: x=1")
			w.Header()["Bad Name"] = []string{"v"}
			_, _ = io.WriteString(w, "ok")
		case "close":
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, "bye")
		}
	}), nil)
	rc := dial(t, ts.addr)
	get := func(q string) (*http.Response, string) {
		rc.send("GET /fast/?" + q + " HTTP/1.1\r\nHost: x\r\n\r\n")
		return rc.read("GET")
	}
	if resp, body := get("sniff"); resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || body != "<html><body>hi</body></html>" {
		t.Fatalf("sniff: %v %q", resp.Header, body)
	}
	if resp, body := get("empty"); resp.StatusCode != 400 || body != "" || resp.ContentLength != 0 || resp.Header.Get("Content-Type") != "" {
		t.Fatalf("empty: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	if resp, body := get("error"); resp.StatusCode != 403 || body != "nope\n" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("error: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	if resp, body := get("flush"); body != "part1,part2" || resp.ContentLength != -1 || len(resp.TransferEncoding) != 1 {
		t.Fatalf("flush: %v %q", resp.TransferEncoding, body)
	}
	if resp, body := get("big"); body != big || resp.ContentLength != -1 {
		t.Fatalf("big: %d bytes, length %d", len(body), resp.ContentLength)
	}
	if resp, body := get("biglen"); body != big || resp.ContentLength != int64(len(big)) {
		t.Fatalf("biglen: %d bytes, length %d", len(body), resp.ContentLength)
	}
	if resp, body := get("crlf"); body != "ok" || resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("X-Evil") != "a  Set-Cookie: x=1" || resp.Header.Get("Bad Name") != "" {
		t.Fatalf("crlf: %v", resp.Header)
	}
	if resp, body := get("close"); body != "bye" || !resp.Close {
		t.Fatalf("close: %v %q", resp.Header, body)
	}
	if _, err := rc.br.ReadByte(); err != io.EOF {
		t.Fatalf("after Connection: close, read %v, want EOF", err)
	}
}

func TestHijack(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		go func() {
			defer nc.Close()
			_, _ = io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n")
			line, _ := brw.ReadString('\n')
			_, _ = io.WriteString(nc, "echo:"+line)
		}()
	}), nil)
	rc := dial(t, ts.addr)
	rc.send("GET /fast/ HTTP/1.1\r\nHost: x\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n")
	resp, err := http.ReadResponse(rc.br, &http.Request{Method: "GET"})
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("%v %v", resp, err)
	}
	rc.send("ping\n")
	line, err := rc.br.ReadString('\n')
	if err != nil || line != "echo:ping\n" {
		t.Fatalf("%q %v", line, err)
	}
}

func TestPanicClosesConnection(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "abort" {
			panic(http.ErrAbortHandler)
		}
		panic("boom")
	}), nil)
	for _, q := range []string{"abort", "boom"} {
		rc := dial(t, ts.addr)
		rc.send("GET /fast/?" + q + " HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, err := rc.br.ReadByte(); err == nil {
			t.Fatalf("%s: got a response", q)
		}
	}
}

func TestSlowHeaderTimesOut(t *testing.T) {
	ts := startServer(t, echoHandler(), nil)
	rc := dial(t, ts.addr)
	rc.send("GET /fast/ HTTP/1.1\r\nHost: x\r\n") // never ends
	start := time.Now()
	if _, err := rc.br.ReadByte(); err == nil {
		t.Fatal("got a response")
	}
	if d := time.Since(start); d < time.Second || d > 10*time.Second {
		t.Fatalf("closed after %v, want about ReadHeaderTimeout (2s)", d)
	}
}

// Shutdown closes idle connections at once, lets a request in flight
// finish (its connection then closes), and returns once it did.
func TestShutdown(t *testing.T) {
	release := make(chan struct{})
	ts := &testServer{errc: make(chan error, 1)}
	ts.srv = &Server{
		Path: "/fast/",
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ts.fastHits.Add(1)
			if r.URL.RawQuery == "wait" {
				<-release
			}
			_, _ = io.WriteString(w, "done")
		}),
		Fallback: &http.Server{Handler: http.NotFoundHandler()},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { ts.errc <- ts.srv.Serve(ln) }()
	idle := dial(t, ln.Addr().String())
	idle.send("GET /fast/ HTTP/1.1\r\nHost: x\r\n\r\n")
	idle.read("GET")
	busy := dial(t, ln.Addr().String())
	busy.send("GET /fast/?wait HTTP/1.1\r\nHost: x\r\n\r\n")
	for ts.fastHits.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	shut := make(chan error, 1)
	go func() { shut <- ts.srv.Shutdown(context.Background()) }()
	if _, err := idle.br.ReadByte(); err == nil {
		t.Fatal("idle connection not closed")
	}
	if err := <-ts.errc; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	resp, body := busy.read("GET")
	if body != "done" || !resp.Close {
		t.Fatalf("in-flight request: %q close=%v", body, resp.Close)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Fatal("listener still open")
	}
}

func TestHandoffWithStandardClient(t *testing.T) {
	ts := startServer(t, echoHandler(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "fallback "+r.URL.Path)
	}))
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr}
	for i := range 5 {
		resp, err := cl.Post("http://"+ts.addr+"/fast/?i="+fmt.Sprint(i), "text/plain", bytes.NewReader([]byte("x")))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("POST /fast/ q=i=%d host=%s ua=Go-http-client/1.1 body=x", i, ts.addr); string(b) != want {
			t.Fatalf("got %q, want %q", b, want)
		}
	}
	resp, err := cl.Get("http://" + ts.addr + "/elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "fallback /elsewhere" {
		t.Fatalf("got %q", b)
	}
}

// A request that waited with its context watched ends; the read watching
// the connection then serves the next requests, and a Shutdown closes the
// connection while it waits.
func TestWatchedRequestThenNext(t *testing.T) {
	release := make(chan struct{})
	waiting := make(chan struct{}, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "wait" {
			done := r.Context().Done()
			waiting <- struct{}{}
			select {
			case <-done:
				t.Error("context ended")
			case <-release:
			}
		}
		_, _ = io.WriteString(w, r.URL.RawQuery)
	}), nil)
	rc := dial(t, ts.addr)
	for i := range 3 {
		rc.send("GET /fast/?wait HTTP/1.1\r\nHost: x\r\n\r\n")
		<-waiting
		release <- struct{}{}
		if _, body := rc.read("GET"); body != "wait" {
			t.Fatalf("%d: got %q", i, body)
		}
		rc.send("POST /fast/?post HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx")
		if _, body := rc.read("POST"); body != "post" {
			t.Fatalf("%d: got %q", i, body)
		}
	}
	rc.send("GET /fast/?wait HTTP/1.1\r\nHost: x\r\n\r\n")
	<-waiting
	release <- struct{}{}
	rc.read("GET")
	// The connection is idle, its next request awaited by the background
	// read: Shutdown closes it.
	if err := ts.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.br.ReadByte(); err == nil {
		t.Fatal("idle connection not closed by Shutdown")
	}
}

// A handler's read deadline applies to a body read that has to wait for
// the client, and ends there: the next request on the connection is not
// affected.
func TestReadDeadlineOnBody(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "slow" {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("body read error %v, want a timeout", err)
			}
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, "timeout")
			return
		}
		_, _ = w.Write(b)
	}), nil)

	// The body comes within the deadline, after a wait: read, and the
	// deadline does not outlive the request.
	rc := dial(t, ts.addr)
	rc.send("POST /fast/?slow HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n")
	time.Sleep(20 * time.Millisecond) // the handler's read must wait
	rc.send("abc")
	if _, body := rc.read("POST"); body != "abc" {
		t.Fatalf("got %q", body)
	}
	time.Sleep(200 * time.Millisecond) // past the deadline
	rc.send("POST /fast/ HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n")
	time.Sleep(20 * time.Millisecond)
	rc.send("de")
	if _, body := rc.read("POST"); body != "de" {
		t.Fatalf("next request: got %q", body)
	}

	// The body does not come: the read times out.
	rc = dial(t, ts.addr)
	rc.send("POST /fast/?slow HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\na")
	if _, body := rc.read("POST"); body != "timeout" {
		t.Fatalf("got %q", body)
	}
}

// A read deadline ends a waiting handler's context when it passes, as
// with net/http, whether it was set before or after the wait began.
func TestReadDeadlineEndsWatchedContext(t *testing.T) {
	for _, before := range []bool{true, false} {
		t.Run(fmt.Sprintf("before=%v", before), func(t *testing.T) {
			ended := make(chan struct{})
			ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rc := http.NewResponseController(w)
				if before {
					_ = rc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				}
				done := r.Context().Done()
				if !before {
					_ = rc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				}
				select {
				case <-done:
					close(ended)
				case <-time.After(10 * time.Second):
					t.Error("the context did not end at the read deadline")
				}
			}), nil)
			rc := dial(t, ts.addr)
			rc.send("GET /fast/ HTTP/1.1\r\nHost: x\r\n\r\n")
			<-ended
		})
	}
}

// A response that closes the connection while the background read watches
// it: the read ends before the connection's buffers are released (run
// with -race).
func TestCloseWhileWatched(t *testing.T) {
	for _, how := range []string{"close", "panic"} {
		t.Run(how, func(t *testing.T) {
			ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = r.Context().Done() // starts the background read
				if how == "panic" {
					panic(http.ErrAbortHandler)
				}
				w.Header().Set("Connection", "close")
				_, _ = io.WriteString(w, "bye")
			}), nil)
			for range 20 {
				rc := dial(t, ts.addr)
				rc.send("GET /fast/ HTTP/1.1\r\nHost: x\r\n\r\n")
				if how == "close" {
					if _, body := rc.read("GET"); body != "bye" {
						t.Fatalf("got %q", body)
					}
				}
				if _, err := rc.br.ReadByte(); err == nil {
					t.Fatal("connection not closed")
				}
			}
			// The server still serves.
			rc := dial(t, ts.addr)
			rc.send("GET /fast/ HTTP/1.1\r\nHost: x\r\n\r\n")
			if how == "close" {
				if _, body := rc.read("GET"); body != "bye" {
					t.Fatalf("got %q", body)
				}
			}
		})
	}
}

// WriteString (io.WriteString's path) frames and counts the body as Write
// does: buffered, past the buffer (chunked), and over a declared length.
func TestWriteString(t *testing.T) {
	big := strings.Repeat("x", maxBuffered+10)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.RawQuery {
		case "small":
			_, _ = io.WriteString(w, "o")
			_, _ = io.WriteString(w, "k")
		case "big":
			_, _ = io.WriteString(w, "a")
			_, _ = io.WriteString(w, big)
		case "over":
			w.Header().Set("Content-Length", "2")
			_, _ = io.WriteString(w, "ok")
			if _, err := io.WriteString(w, "!"); !errors.Is(err, http.ErrContentLength) {
				t.Errorf("write over Content-Length: %v", err)
			}
		}
	}), nil)
	rc := dial(t, ts.addr)
	for _, c := range []struct{ q, body string }{{"small", "ok"}, {"big", "a" + big}, {"over", "ok"}} {
		rc.send("GET /fast/?" + c.q + " HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, body := rc.read("GET")
		if body != c.body {
			t.Fatalf("%s: body of %d bytes, want %d", c.q, len(body), len(c.body))
		}
		if c.q == "big" && len(resp.TransferEncoding) == 0 {
			t.Fatalf("%s: not chunked: %v", c.q, resp.Header)
		}
	}
}
