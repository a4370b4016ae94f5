package client

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeServer is a scripted Engine.IO long-polling server: the test reads
// what the client POSTs (posts) and decides what each GET returns (gets),
// to check exact packets and to play a hostile server.
type fakeServer struct {
	url   string
	posts chan string // POSTed payloads, all sessions
	gets  chan string // bodies of the GET responses, in order
	mu    sync.Mutex
	n     int // sessions opened
}

func newFakeServer(t *testing.T) *fakeServer {
	f := &fakeServer{posts: make(chan string, 1000), gets: make(chan string, 1000)}
	hs := httptest.NewServer(f)
	t.Cleanup(hs.Close)
	f.url = hs.URL
	return f
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("transport") != "polling" {
		http.Error(w, "polling only", http.StatusBadRequest)
		return
	}
	if r.URL.Query().Get("sid") == "" {
		f.mu.Lock()
		f.n++
		n := f.n
		f.mu.Unlock()
		fmt.Fprintf(w, `0{"sid":"s%d","upgrades":[],"pingInterval":20000,"pingTimeout":20000,"maxPayload":1000000}`, n)
		return
	}
	if r.Method == http.MethodPost {
		body, _ := io.ReadAll(r.Body)
		for _, p := range strings.Split(string(body), "\x1e") {
			f.posts <- p
		}
		_, _ = io.WriteString(w, "ok")
		return
	}
	var payload string
	select {
	case payload = <-f.gets:
	case <-r.Context().Done():
		return
	}
	_, _ = io.WriteString(w, payload)
}

// expect waits for the next POSTed packet and checks it.
func (f *fakeServer) expect(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-f.posts:
		if got != want {
			t.Fatalf("client sent %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("timeout waiting for the client to send %q", want)
	}
}

// send makes the next GET return packets (joined into one payload).
func (f *fakeServer) send(pkts ...string) { f.gets <- strings.Join(pkts, "\x1e") }

// fakeManager returns a polling-only Manager for the fake server.
func fakeManager(t *testing.T, f *fakeServer, opts *Options) *Manager {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	opts.Transports = []string{TransportPolling}
	return newTestManager(t, f.url, opts)
}
