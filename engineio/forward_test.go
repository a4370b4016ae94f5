package engineio

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/websocket"
)

const unknownSIDBody = `{"code":1,"message":"Session ID unknown"}`

// cluster starts one server per node id, each forwarding to the others
// through a StaticResolver (filled once the servers listen). opts, if
// non-nil, is the base of each server's options.
func newCluster(t *testing.T, opts *Options, nodes ...string) (map[string]*testServer, StaticResolver) {
	t.Helper()
	resolver := StaticResolver{}
	servers := make(map[string]*testServer, len(nodes))
	for _, id := range nodes {
		o := Options{}
		if opts != nil {
			o = *opts
		}
		o.Forwarding = &ForwardingOptions{NodeID: id, Resolver: resolver}
		app := newEchoApp()
		srv := NewServer(&o, app)
		hs := httptest.NewServer(srv)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, ErrServerClosed) {
				t.Errorf("Shutdown: %v", err)
			}
			hs.Close()
			_ = srv.Close() // the forwarded polls hs.Close cut
		})
		ts := &testServer{t: t, srv: srv, app: app, ts: hs, url: hs.URL + "/engine.io/"}
		servers[id] = ts
		resolver[id] = ts.ts.URL
	}
	return servers, resolver
}

func TestForwardPolling(t *testing.T) {
	c, _ := newCluster(t, nil, "a", "b")
	a, b := c["a"], c["b"]
	sid := a.openPolling()
	if !strings.HasPrefix(sid, "a") || len(sid) != 21 {
		t.Fatalf("sid %q: want the node id a then 20 characters", sid)
	}
	if status, body := b.post("EIO=4&transport=polling&sid="+sid, "4hello\x1e4world"); status != 200 || body != "ok" {
		t.Fatalf("POST via b: %d %q", status, body)
	}
	if status, body := b.get("EIO=4&transport=polling&sid=" + sid); status != 200 || body != "4hello\x1e4world" {
		t.Fatalf("GET via b: %d %q", status, body)
	}
	if n := b.srv.SessionCount(); n != 0 {
		t.Fatalf("b has %d sessions, want 0", n)
	}
	// A long poll waiting on the owner is relayed when it is answered.
	got := make(chan string, 1)
	go func() {
		_, body := b.get("EIO=4&transport=polling&sid=" + sid)
		got <- body
	}()
	sess := a.srv.Session(sid)
	waitFor(t, func() bool { sess.mu.Lock(); defer sess.mu.Unlock(); return sess.getActive })
	if err := sess.Send([]byte("late"), false, false); err != nil {
		t.Fatal(err)
	}
	if body := <-got; body != "4late" {
		t.Fatalf("long poll via b: %q", body)
	}
	// The owner keeps the client's Host (its CORS check uses it) and learns
	// its address.
	hdr := sess.Request().Header // the handshake, served by a itself
	if hdr.Get(ForwardedHeader) != "" {
		t.Fatalf("handshake has %s", ForwardedHeader)
	}
	// The close goes through b too.
	if status, _ := b.post("EIO=4&transport=polling&sid="+sid, "1"); status != 200 {
		t.Fatalf("close via b: %d", status)
	}
	if ev := a.app.waitClose(t); ev.sid != sid {
		t.Fatalf("closed %q, want %q", ev.sid, sid)
	}
	// The owner answers one more poll with a noop (as it does without
	// forwarding), then the sid is unknown.
	if status, body := b.get("EIO=4&transport=polling&sid=" + sid); status != 200 || body != "6" {
		t.Fatalf("GET after close via b: %d %q", status, body)
	}
	if status, body := b.get("EIO=4&transport=polling&sid=" + sid); status != 400 || body != unknownSIDBody {
		t.Fatalf("second GET after close via b: %d %q", status, body)
	}
}

func TestForwardHeaders(t *testing.T) {
	seen := make(chan *http.Request, 1)
	a := NewServer(&Options{Forwarding: &ForwardingOptions{NodeID: "a", Resolver: StaticResolver{}}}, newEchoApp())
	ha := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(ForwardedHeader) != "" {
			seen <- r
		}
		a.ServeHTTP(w, r)
	}))
	defer ha.Close()
	defer a.Close()
	c, bResolver := newCluster(t, nil, "b")
	b := c["b"]
	bResolver["a"] = ha.URL

	resp, err := http.Get(ha.URL + "/engine.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	open, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	sid := parseOpen(t, string(open)).SID

	req, _ := http.NewRequest(http.MethodPost, b.ts.URL+"/prefix/engine.io/?EIO=4&transport=polling&sid="+sid+"&t=x%20y", strings.NewReader("4hi"))
	req.Host = "chat.example:8080"
	req.Header.Set("X-Custom", "kept")
	resp, err = b.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST via b: %d", resp.StatusCode)
	}
	r := <-seen
	if r.Method != http.MethodPost || r.URL.Path != "/prefix/engine.io/" || r.URL.RawQuery != "EIO=4&transport=polling&sid="+sid+"&t=x%20y" {
		t.Errorf("forwarded %s %s?%s", r.Method, r.URL.Path, r.URL.RawQuery)
	}
	if r.Host != "chat.example:8080" || r.Header.Get("X-Custom") != "kept" || r.Header.Get(ForwardedHeader) != "b" {
		t.Errorf("forwarded Host %q, headers %v", r.Host, r.Header)
	}
	if xff := r.Header.Get("X-Forwarded-For"); xff != "127.0.0.1" {
		t.Errorf("X-Forwarded-For %q", xff)
	}
}

func TestForwardUpgrade(t *testing.T) {
	c, _ := newCluster(t, nil, "a", "b")
	a, b := c["a"], c["b"]
	sid := a.openPolling()
	ws := b.dial("EIO=4&transport=websocket&sid=" + sid)
	writeText(t, ws, "2probe")
	if got := readText(t, ws); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	writeText(t, ws, "5")
	writeText(t, ws, "4hello")
	if got := readText(t, ws); got != "4hello" {
		t.Fatalf("echo over the forwarded WebSocket: %q", got)
	}
	if got := a.srv.Session(sid).Transport(); got != TransportWebSocket {
		t.Fatalf("owner's transport %q", got)
	}
	// Closing b cuts the pipe: the client sees its WebSocket end, the
	// owner a transport close.
	if err := b.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ws.ReadMessage(); err == nil {
		t.Fatal("the WebSocket via b is still open after b.Close")
	}
	if ev := a.app.waitClose(t); ev.sid != sid || ev.reason != ReasonTransportClose {
		t.Fatalf("owner closed %+v", ev)
	}
}

func TestForwardShutdownCutsPipes(t *testing.T) {
	c, _ := newCluster(t, &Options{PingInterval: time.Minute}, "a", "b")
	a, b := c["a"], c["b"]
	sid := a.openPolling()
	ws := b.dial("EIO=4&transport=websocket&sid=" + sid)
	writeText(t, ws, "2probe")
	readText(t, ws)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ws.ReadMessage(); err == nil {
		t.Fatal("the WebSocket via b is still open after b.Shutdown")
	}
	// The session stays on polling, and polling via b still works.
	if status, body := b.post("EIO=4&transport=polling&sid="+sid, "4x"); status != 200 || body != "ok" {
		t.Fatalf("POST via b after its Shutdown: %d %q", status, body)
	}
	// A new upgrade via b is refused.
	if _, resp, err := websocket.Dial(ctx, b.wsURL("EIO=4&transport=websocket&sid="+sid), nil); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("upgrade via a shut down b: %v %v", err, resp)
	}
}

func TestForwardRefusals(t *testing.T) {
	c, resolver := newCluster(t, &Options{MaxHTTPBufferSize: 100}, "a", "b")
	a, b := c["a"], c["b"]
	sid := a.openPolling()

	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resolver["dead"] = "http://" + dead.Addr().String()
	dead.Close()
	resolver["bad"] = "ftp://x"

	random := sid[1:]
	for name, q := range map[string]string{
		"unknown node": "sid=zz" + random,
		"dead owner":   "sid=dead" + random,
		"bad url":      "sid=bad" + random,
		"own node":     "sid=b" + random,
		"no node":      "sid=" + random,
	} {
		status, body := b.get("EIO=4&transport=polling&" + q)
		if status != 400 || body != unknownSIDBody {
			t.Errorf("%s: GET %d %q, want 400 %s", name, status, body, unknownSIDBody)
		}
	}
	// The WebSocket upgrade is refused as the official server refuses it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, b.wsURL("EIO=4&transport=websocket&sid=dead"+random), nil)
	if err == nil || resp == nil || resp.StatusCode != 400 {
		t.Fatalf("upgrade for a dead owner: %v %v", err, resp)
	}

	// Loop guard: an already forwarded request is never forwarded again.
	status, body := b.do(http.MethodGet, "EIO=4&transport=polling&sid="+sid, "", http.Header{ForwardedHeader: {"x"}})
	if status != 400 || body != unknownSIDBody {
		t.Fatalf("forwarded twice: %d %q", status, body)
	}
	// A resolver that points back to the forwarding server: one hop, then
	// the unknown sid answer.
	resolver["loop"] = b.ts.URL
	if status, body := b.get("EIO=4&transport=polling&sid=loop" + random); status != 400 || body != unknownSIDBody {
		t.Fatalf("loop: %d %q", status, body)
	}

	// Payload limit, checked before forwarding (Content-Length) and while
	// streaming (chunked).
	big := "4" + strings.Repeat("x", 200)
	if status, _ := b.post("EIO=4&transport=polling&sid="+sid, big); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("large POST via b: %d", status)
	}
	if status, body := a.post("EIO=4&transport=polling&sid="+sid, "4ok"); status != 200 || body != "ok" {
		t.Fatalf("small POST after a large one: %d %q", status, body)
	}
	req, _ := http.NewRequest(http.MethodPost, b.url+"?EIO=4&transport=polling&sid="+sid, struct{ *strings.Reader }{strings.NewReader(big)})
	resp, err = b.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if req.ContentLength != 0 || resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("large chunked POST via b: length %d, status %d", req.ContentLength, resp.StatusCode)
	}
}

func TestForwardingOptionsValidation(t *testing.T) {
	for _, o := range []ForwardingOptions{
		{NodeID: "", Resolver: StaticResolver{}},
		{NodeID: "a.b", Resolver: StaticResolver{}},
		{NodeID: strings.Repeat("a", 33), Resolver: StaticResolver{}},
		{NodeID: "a"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewServer accepted %+v", o)
				}
			}()
			NewServer(&Options{Forwarding: &o}, newEchoApp())
		}()
	}
}

// Close cuts a forwarded long poll and returns once it has returned; the
// owner sees the poll end as a client that went away.
func TestForwardCloseCutsPolls(t *testing.T) {
	c, _ := newCluster(t, &Options{PingInterval: time.Minute}, "a", "b")
	a, b := c["a"], c["b"]
	sid := a.openPolling()
	done := make(chan int, 1)
	go func() {
		resp, err := b.ts.Client().Get(b.url + "?EIO=4&transport=polling&sid=" + sid)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	sess := a.srv.Session(sid)
	waitFor(t, func() bool { sess.mu.Lock(); defer sess.mu.Unlock(); return sess.getActive })
	if err := b.srv.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the forwarded poll is still pending after b.Close")
	}
	if ev := a.app.waitClose(t); ev.sid != sid || ev.reason != ReasonTransportError {
		t.Fatalf("owner closed %+v", ev)
	}
	// b no longer forwards.
	if status, _ := b.get("EIO=4&transport=polling&sid=" + sid); status != http.StatusServiceUnavailable {
		t.Fatalf("GET via a closed b: %d", status)
	}
}
