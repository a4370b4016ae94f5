package h1

import (
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// armCounts records the armed reads of a test (see testHookArmed).
type armCounts struct {
	mu       sync.Mutex
	armed    [3]int
	fellBack int
}

func countArmed(t *testing.T, wait time.Duration) *armCounts {
	t.Helper()
	ac := &armCounts{}
	oldWait, oldHook := armWait, testHookArmed
	armWait = wait
	testHookArmed = func(kind uint8, fellBack bool) {
		ac.mu.Lock()
		ac.armed[kind]++
		if fellBack {
			ac.fellBack++
		}
		ac.mu.Unlock()
	}
	t.Cleanup(func() { armWait, testHookArmed = oldWait, oldHook })
	return ac
}

func (ac *armCounts) get() (afterWrite, detached, fellBack int) {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	return ac.armed[armAfterWrite], ac.armed[armDetached], ac.fellBack
}

// Keep-alive requests are answered by the armed read that waits for the
// next one, on Linux; elsewhere the loop reads as before.
func TestArmedReadsServeKeepAlive(t *testing.T) {
	ac := countArmed(t, time.Minute)
	ts := startServer(t, echoHandler(), nil)
	rc := dial(t, ts.addr)
	for i := range 5 {
		rc.send("POST /fast/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n" + string(rune('a'+i)))
		if _, body := rc.read("POST"); body != "POST /fast/ q= host=x ua= body="+string(rune('a'+i)) {
			t.Fatalf("request %d: %q", i, body)
		}
	}
	afterWrite, _, fellBack := ac.get()
	if !armedReads {
		if afterWrite != 0 {
			t.Fatalf("%d armed reads where armedReads is false", afterWrite)
		}
		return
	}
	// The fifth answer's armed read may still wait.
	if afterWrite < 4 || fellBack != 0 {
		t.Fatalf("armed reads: %d after a write, %d fell back; want at least 4, none", afterWrite, fellBack)
	}
}

// A client that sends its next request before the answer to the previous
// one (pipelining), while the handler runs, is served: the armed wait
// cannot see bytes that arrived before it was armed, and the ordinary
// read after armWait finds them.
func TestArmedReadPipelinedWhileHandlerRuns(t *testing.T) {
	ac := countArmed(t, 25*time.Millisecond)
	entered, release := make(chan struct{}), make(chan struct{})
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "block" {
			entered <- struct{}{}
			<-release
			// Idle a moment: the network poller then takes the readiness
			// of the pipelined bytes, before the armed read resets it.
			time.Sleep(2 * time.Millisecond)
		}
		_, _ = io.WriteString(w, "answer "+r.URL.RawQuery)
	}), nil)
	rc := dial(t, ts.addr)
	for i := range 3 {
		rc.send("GET /fast/?block HTTP/1.1\r\nHost: x\r\n\r\n")
		<-entered
		// On loopback the bytes are in the server's socket when the
		// write returns: before the handler does.
		rc.send("GET /fast/?next HTTP/1.1\r\nHost: x\r\n\r\n")
		close(release)
		for _, want := range []string{"answer block", "answer next"} {
			if _, body := rc.read("GET"); body != want {
				t.Fatalf("round %d: %q, want %q", i, body, want)
			}
		}
		release = make(chan struct{})
	}
	// The first round finds the pipelined request after armWait; the
	// connection is not armed again.
	if afterWrite, _, fellBack := ac.get(); armedReads && (fellBack != 1 || afterWrite != 1) {
		t.Fatalf("armed reads: %d after a write, %d fell back; want 1 and 1 (the first round)", afterWrite, fellBack)
	}
}

// A client that closes its side while the handler runs is seen gone: the
// connection closes.
func TestArmedReadClientClosesWhileHandlerRuns(t *testing.T) {
	countArmed(t, 25*time.Millisecond)
	entered, release := make(chan struct{}), make(chan struct{})
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		_, _ = io.WriteString(w, "late")
	}), nil)
	rc := dial(t, ts.addr)
	rc.send("GET /fast/ HTTP/1.1\r\nHost: x\r\n\r\n")
	<-entered
	if err := rc.c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	close(release)
	if _, body := rc.read("GET"); body != "late" {
		t.Fatalf("answer: %q", body)
	}
	if b, err := io.ReadAll(rc.br); err != nil || len(b) != 0 {
		t.Fatalf("after the answer: %q, %v; want the connection closed", b, err)
	}
	waitConns(t, ts.srv, 0)
}

// An armed read that falls back at once (armWait tiny) serves requests as
// an ordinary read does; so does the read of a detached response answered
// before its handler returned (the wait is then not armed).
func TestArmedReadFallsBack(t *testing.T) {
	ac := countArmed(t, time.Nanosecond)
	h, ch := detachHandler(t)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "now" {
			finish := w.(*response).Detach(func() {})
			_, _ = io.WriteString(w, "detached, answered now")
			finish(false)
			return
		}
		h.ServeHTTP(w, r)
	}), nil)
	rc := dial(t, ts.addr)
	for i := range 4 {
		rc.send("GET /fast/?now HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, body := rc.read("GET"); body != "detached, answered now" {
			t.Fatalf("round %d: %q", i, body)
		}
		rc.send("GET /fast/?park HTTP/1.1\r\nHost: x\r\n\r\n")
		p := <-ch
		runtime.Gosched()
		p.answer("parked " + string(rune('0'+i)))
		if _, body := rc.read("GET"); !strings.HasPrefix(body, "parked") {
			t.Fatalf("round %d: %q", i, body)
		}
		rc.send("GET /fast/?plain HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, body := rc.read("GET"); body != "at once plain" {
			t.Fatalf("round %d: %q", i, body)
		}
	}
	if afterWrite, detached, _ := ac.get(); armedReads && (afterWrite == 0 || detached == 0) {
		t.Fatalf("armed reads: %d after a write, %d beside a detached response; want some of each", afterWrite, detached)
	}
}

// sweep ticks at a quarter of the header timeout or half of armWait,
// whichever is shorter, and never faster than a millisecond; every bound
// is at least one tick.
func TestSweepPeriod(t *testing.T) {
	for _, c := range []struct {
		header, arm, every time.Duration
		headerTicks        int64
		armTicks           int64
	}{
		{10 * time.Second, time.Second, 500 * time.Millisecond, 20, 2},
		{2 * time.Second, time.Minute, 500 * time.Millisecond, 4, 120},
		{2 * time.Second, time.Nanosecond, time.Millisecond, 2000, 1},
		{10 * time.Second, 300 * time.Millisecond, 150 * time.Millisecond, 67, 2},
	} {
		every, h, a := sweepPeriod(c.header, c.arm)
		if every != c.every || h != c.headerTicks || a != c.armTicks {
			t.Errorf("sweepPeriod(%v, %v) = %v, %d, %d; want %v, %d, %d", c.header, c.arm, every, h, a, c.every, c.headerTicks, c.armTicks)
		}
	}
}
