package engineio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/socketio/engineio/packet"
	"github.com/socketio-go/socketio/internal/websocket"
)

// closeEvent records how a session ended.
type closeEvent struct {
	sid    string
	reason CloseReason
	cause  error
}

// echoApp echoes every message and reports closes.
type echoApp struct {
	closes chan closeEvent
	opened chan *Session
}

func newEchoApp() *echoApp {
	return &echoApp{closes: make(chan closeEvent, 100), opened: make(chan *Session, 100)}
}

type echoSession struct {
	app *echoApp
	s   *Session
}

func (a *echoApp) OpenSession(s *Session) SessionHandler {
	a.opened <- s
	return echoSession{a, s}
}

func (e echoSession) HandleMessage(data []byte, binary bool) {
	_ = e.s.Send(data, binary, false)
}

func (e echoSession) HandleClose(reason CloseReason, cause error) {
	e.app.closes <- closeEvent{e.s.ID(), reason, cause}
}

func (a *echoApp) waitClose(t *testing.T) closeEvent {
	t.Helper()
	select {
	case ev := <-a.closes:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("timeout waiting for a session to close")
		return closeEvent{}
	}
}

type testServer struct {
	t   *testing.T
	srv *Server
	app *echoApp
	ts  *httptest.Server
	url string
}

func newTestServer(t *testing.T, opts *Options) *testServer {
	t.Helper()
	app := newEchoApp()
	srv := NewServer(opts, app)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		ts.Close()
	})
	return &testServer{t: t, srv: srv, app: app, ts: ts, url: ts.URL + "/engine.io/"}
}

func (ts *testServer) get(query string) (int, string) {
	ts.t.Helper()
	return ts.do(http.MethodGet, query, "", nil)
}

func (ts *testServer) post(query, body string) (int, string) {
	ts.t.Helper()
	return ts.do(http.MethodPost, query, body, nil)
}

func (ts *testServer) do(method, query, body string, hdr http.Header) (int, string) {
	ts.t.Helper()
	resp := ts.doResp(method, query, body, hdr)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		ts.t.Fatalf("%s %s: reading body: %v", method, query, err)
	}
	return resp.StatusCode, string(b)
}

func (ts *testServer) doResp(method, query, body string, hdr http.Header) *http.Response {
	ts.t.Helper()
	req, err := http.NewRequest(method, ts.url+"?"+query, strings.NewReader(body))
	if err != nil {
		ts.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := ts.ts.Client().Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, query, err)
	}
	return resp
}

type handshake struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

func parseOpen(t testing.TB, body string) handshake {
	t.Helper()
	if !strings.HasPrefix(body, "0{") {
		t.Fatalf("open packet: got %q", body)
	}
	var keys map[string]any
	if err := json.Unmarshal([]byte(body[1:]), &keys); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 5 {
		t.Fatalf("open packet has keys %v, want exactly sid, upgrades, pingInterval, pingTimeout, maxPayload", keys)
	}
	var h handshake
	if err := json.Unmarshal([]byte(body[1:]), &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func (ts *testServer) openPolling() string {
	ts.t.Helper()
	status, body := ts.get("EIO=4&transport=polling")
	if status != 200 {
		ts.t.Fatalf("handshake: status %d, body %q", status, body)
	}
	return parseOpen(ts.t, body).SID
}

func (ts *testServer) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(ts.url, "http") + "?" + query
}

func (ts *testServer) dial(query string) *websocket.Conn {
	ts.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, ts.wsURL(query), nil)
	if err != nil {
		ts.t.Fatalf("dial: %v", err)
	}
	ts.t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func readText(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	typ, data, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.TextMessage {
		t.Fatalf("read: got %v message %q, want text", typ, data)
	}
	return string(data)
}

func writeText(t *testing.T, c *websocket.Conn, s string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		t.Fatalf("write %q: %v", s, err)
	}
}

// readUntilClosed reads until the server closes c, skipping pings.
func readUntilClosed(t *testing.T, c *websocket.Conn) error {
	t.Helper()
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			return err
		}
	}
}

// fastOpts makes the heartbeat fast, with a pong deadline generous enough
// for a loaded machine.
func fastOpts() *Options {
	return &Options{PingInterval: 100 * time.Millisecond, PingTimeout: time.Second}
}

func TestPollingHandshake(t *testing.T) {
	ts := newTestServer(t, fastOpts())
	resp := ts.doResp(http.MethodGet, "EIO=4&transport=polling&t=abc", "", nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Errorf("Content-Type %q", ct)
	}
	h := parseOpen(t, string(body))
	if len(h.SID) != 20 || h.PingInterval != 100 || h.PingTimeout != 1000 || h.MaxPayload != 1e6 {
		t.Errorf("handshake %+v", h)
	}
	if len(h.Upgrades) != 1 || h.Upgrades[0] != "websocket" {
		t.Errorf("upgrades %v", h.Upgrades)
	}
}

func TestBadRequests(t *testing.T) {
	ts := newTestServer(t, nil)
	sid := ts.openPolling()
	tests := []struct {
		name, method, query string
		status              int
		body                string
	}{
		{"no transport", "GET", "EIO=4", 400, `{"code":0,"message":"Transport unknown"}`},
		{"bad transport", "GET", "EIO=4&transport=abc", 400, `{"code":0,"message":"Transport unknown"}`},
		{"no EIO", "GET", "transport=polling", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"EIO 3", "GET", "EIO=3&transport=polling", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"bad EIO", "GET", "EIO=abc&transport=polling", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"handshake POST", "POST", "EIO=4&transport=polling", 400, `{"code":2,"message":"Bad handshake method"}`},
		{"handshake PUT", "PUT", "EIO=4&transport=polling", 400, `{"code":2,"message":"Bad handshake method"}`},
		{"unknown sid", "GET", "EIO=4&transport=polling&sid=nope", 400, `{"code":1,"message":"Session ID unknown"}`},
		{"websocket without upgrade", "GET", "EIO=4&transport=websocket", 400, `{"code":3,"message":"Bad request"}`},
		{"transport mismatch", "GET", "EIO=4&transport=websocket&sid=" + sid, 400, `{"code":3,"message":"Bad request"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := ts.do(tt.method, tt.query, "", nil)
			if status != tt.status || body != tt.body {
				t.Fatalf("got %d %q, want %d %q", status, body, tt.status, tt.body)
			}
		})
	}
}

func TestPollingEcho(t *testing.T) {
	ts := newTestServer(t, nil)
	sid := ts.openPolling()
	q := "EIO=4&transport=polling&sid=" + sid
	for _, tc := range []struct{ in, out string }{
		{"4hello", "4hello"},
		{"4test1\x1e4test2\x1e4test3", "4test1\x1e4test2\x1e4test3"},
		{"4hello\x1ebAQIDBA==", "4hello\x1ebAQIDBA=="},
		{"4€😀", "4€😀"},
	} {
		status, body := ts.post(q, tc.in)
		if status != 200 || body != "ok" {
			t.Fatalf("POST %q: %d %q", tc.in, status, body)
		}
		status, body = ts.get(q)
		if status != 200 || body != tc.out {
			t.Fatalf("GET after %q: %d %q, want %q", tc.in, status, body, tc.out)
		}
	}
}

func TestPollingInvalidPacketClosesSession(t *testing.T) {
	ts := newTestServer(t, nil)
	sid := ts.openPolling()
	q := "EIO=4&transport=polling&sid=" + sid
	// Like the official server: the POST is answered "ok", the session is
	// gone.
	if status, body := ts.post(q, "abc"); status != 200 || body != "ok" {
		t.Fatalf("POST abc: %d %q", status, body)
	}
	if ev := ts.app.waitClose(t); ev.reason != ReasonParseError {
		t.Fatalf("reason %q", ev.reason)
	}
	if status, _ := ts.get(q); status != 400 {
		t.Fatalf("GET after close: status %d, want 400", status)
	}
}

func TestPollingOverlapClosesSession(t *testing.T) {
	ts := newTestServer(t, nil)
	sid := ts.openPolling()
	q := "EIO=4&transport=polling&sid=" + sid
	first := make(chan [2]any, 1)
	go func() {
		status, body := ts.get(q)
		first <- [2]any{status, body}
	}()
	// Wait until the first GET is pending in the server.
	sess := ts.srv.Session(sid)
	waitFor(t, func() bool {
		sess.mu.Lock()
		defer sess.mu.Unlock()
		return sess.getActive
	})
	if status, _ := ts.get(q); status != 400 {
		t.Fatalf("second GET: status %d, want 400", status)
	}
	r := <-first
	if r[0] != 200 || r[1] != "1" {
		t.Fatalf("first GET: %v %q, want 200 \"1\"", r[0], r[1])
	}
	if ev := ts.app.waitClose(t); ev.reason != ReasonTransportError || !errors.Is(ev.cause, ErrPollOverlap) {
		t.Fatalf("close %+v", ev)
	}
	if status, _ := ts.get(q); status != 400 {
		t.Fatalf("GET after close: status %d", status)
	}
}

// waitFor polls cond; it is for internal state that has no event to wait
// on. It fails the test after 5s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPollingClientClose(t *testing.T) {
	ts := newTestServer(t, nil)
	sid := ts.openPolling()
	q := "EIO=4&transport=polling&sid=" + sid
	pending := make(chan string, 1)
	go func() {
		_, body := ts.get(q)
		pending <- body
	}()
	sess := ts.srv.Session(sid)
	waitFor(t, func() bool {
		sess.mu.Lock()
		defer sess.mu.Unlock()
		return sess.getActive
	})
	if status, body := ts.post(q, "1"); status != 200 || body != "ok" {
		t.Fatalf("POST 1: %d %q", status, body)
	}
	if body := <-pending; body != "6" {
		t.Fatalf("pending GET got %q, want noop", body)
	}
	if ev := ts.app.waitClose(t); ev.reason != ReasonTransportClose {
		t.Fatalf("reason %q", ev.reason)
	}
	if status, _ := ts.get(q); status != 400 {
		t.Fatalf("GET after close: %d", status)
	}
}

func TestPollingCloseBeforeGetArrives(t *testing.T) {
	ts := newTestServer(t, nil)
	sid := ts.openPolling()
	q := "EIO=4&transport=polling&sid=" + sid
	if status, _ := ts.post(q, "1"); status != 200 {
		t.Fatal(status)
	}
	ts.app.waitClose(t)
	// The GET that was on its way gets its noop, the next one an error.
	if status, body := ts.get(q); status != 200 || body != "6" {
		t.Fatalf("late GET: %d %q", status, body)
	}
	if status, _ := ts.get(q); status != 400 {
		t.Fatalf("second late GET: %d", status)
	}
}

func TestPollingHeartbeat(t *testing.T) {
	ts := newTestServer(t, fastOpts())
	sid := ts.openPolling()
	q := "EIO=4&transport=polling&sid=" + sid
	for i := 0; i < 3; i++ {
		if status, body := ts.get(q); status != 200 || body != "2" {
			t.Fatalf("round %d: GET %d %q, want ping", i, status, body)
		}
		if status, body := ts.post(q, "3"); status != 200 {
			t.Fatalf("round %d: POST pong %d %q", i, status, body)
		}
	}
	// No pong this time.
	if _, body := ts.get(q); body != "2" {
		t.Fatalf("GET %q, want ping", body)
	}
	ev := ts.app.waitClose(t)
	if ev.reason != ReasonPingTimeout {
		t.Fatalf("reason %q", ev.reason)
	}
	if status, _ := ts.get(q); status != 400 {
		t.Fatalf("GET after ping timeout: %d", status)
	}
}

func TestPollingClientPingIsAnError(t *testing.T) {
	ts := newTestServer(t, nil)
	sid := ts.openPolling()
	ts.post("EIO=4&transport=polling&sid="+sid, "2")
	if ev := ts.app.waitClose(t); ev.reason != ReasonTransportError || !errors.Is(ev.cause, ErrInvalidHeartbeat) {
		t.Fatalf("close %+v", ev)
	}
}

func TestPollingPayloadTooLarge(t *testing.T) {
	ts := newTestServer(t, &Options{MaxHTTPBufferSize: 100})
	sid := ts.openPolling()
	q := "EIO=4&transport=polling&sid=" + sid
	if status, _ := ts.post(q, "4"+strings.Repeat("a", 99)); status != 200 {
		t.Fatalf("POST at the limit: %d", status)
	}
	if _, body := ts.get(q); body != "4"+strings.Repeat("a", 99) {
		t.Fatalf("echo %q", body)
	}
	if status, _ := ts.post(q, "4"+strings.Repeat("a", 100)); status != 413 {
		t.Fatalf("POST over the limit: %d, want 413", status)
	}
	// Nothing of it was delivered, and the session stays usable, as with
	// the official server.
	if status, _ := ts.post(q, "4after"); status != 200 {
		t.Fatalf("POST after 413: %d", status)
	}
	if _, body := ts.get(q); body != "4after" {
		t.Fatalf("echo after 413: %q", body)
	}
}

func TestWebSocketHandshakeAndEcho(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.dial("EIO=4&transport=websocket")
	h := parseOpen(t, readText(t, c))
	if len(h.Upgrades) != 0 {
		t.Fatalf("upgrades %v, want none", h.Upgrades)
	}
	writeText(t, c, "4hello")
	if got := readText(t, c); got != "4hello" {
		t.Fatalf("echo %q", got)
	}
	if err := c.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	typ, data, err := c.ReadMessage()
	if err != nil || typ != websocket.BinaryMessage || !bytes.Equal(data, []byte{1, 2, 3, 4}) {
		t.Fatalf("binary echo: %v %v %v", typ, data, err)
	}
}

func TestWebSocketHeartbeat(t *testing.T) {
	ts := newTestServer(t, fastOpts())
	c := ts.dial("EIO=4&transport=websocket")
	readText(t, c)
	if got := readText(t, c); got != "2" {
		t.Fatalf("got %q, want ping", got)
	}
	writeText(t, c, "3")
	if got := readText(t, c); got != "2" {
		t.Fatalf("got %q, want second ping", got)
	}
	// No pong: the server closes the connection.
	if err := readUntilClosed(t, c); err == nil {
		t.Fatal("expected close")
	}
	if ev := ts.app.waitClose(t); ev.reason != ReasonPingTimeout {
		t.Fatalf("reason %q", ev.reason)
	}
}

func TestWebSocketInvalidPacket(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.dial("EIO=4&transport=websocket")
	readText(t, c)
	writeText(t, c, "abc")
	if err := readUntilClosed(t, c); err == nil {
		t.Fatal("expected close")
	}
	if ev := ts.app.waitClose(t); ev.reason != ReasonParseError {
		t.Fatalf("reason %q", ev.reason)
	}
}

func TestWebSocketClientClose(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.dial("EIO=4&transport=websocket")
	readText(t, c)
	writeText(t, c, "1")
	if ev := ts.app.waitClose(t); ev.reason != ReasonTransportClose {
		t.Fatalf("reason %q", ev.reason)
	}
	c2 := ts.dial("EIO=4&transport=websocket")
	readText(t, c2)
	_ = c2.Close(websocket.StatusNormalClosure, "")
	if ev := ts.app.waitClose(t); ev.reason != ReasonTransportClose {
		t.Fatalf("reason %q", ev.reason)
	}
}

func TestWebSocketMessageTooBig(t *testing.T) {
	ts := newTestServer(t, &Options{MaxHTTPBufferSize: 100})
	c := ts.dial("EIO=4&transport=websocket")
	readText(t, c)
	writeText(t, c, "4"+strings.Repeat("a", 99))
	readText(t, c)
	writeText(t, c, "4"+strings.Repeat("a", 100))
	err := readUntilClosed(t, c)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusMessageTooBig {
		t.Fatalf("close: %v, want code 1009", err)
	}
	if ev := ts.app.waitClose(t); ev.reason != ReasonTransportError {
		t.Fatalf("reason %q", ev.reason)
	}
}

func TestUpgrade(t *testing.T) {
	ts := newTestServer(t, nil)
	sid := ts.openPolling()
	q := "EIO=4&transport=polling&sid=" + sid
	// A poll is pending when the upgrade starts, as with a real client.
	pending := make(chan string, 1)
	go func() {
		_, body := ts.get(q)
		pending <- body
	}()
	c := ts.dial("EIO=4&transport=websocket&sid=" + sid)
	writeText(t, c, "2probe")
	if got := readText(t, c); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	if body := <-pending; body != "6" {
		t.Fatalf("pending poll got %q, want noop", body)
	}
	// Queued while upgrading: must come out on the WebSocket.
	ts.srv.Session(sid).Send([]byte("queued"), false, false)
	writeText(t, c, "5")
	if got := readText(t, c); got != "4queued" {
		t.Fatalf("got %q", got)
	}
	writeText(t, c, "4hello")
	if got := readText(t, c); got != "4hello" {
		t.Fatalf("echo %q", got)
	}
	if tr := ts.srv.Session(sid).Transport(); tr != TransportWebSocket {
		t.Fatalf("transport %q", tr)
	}
	if status, _ := ts.get(q); status != 400 {
		t.Fatalf("poll after upgrade: %d", status)
	}
	if status, _ := ts.post(q, "4x"); status != 400 {
		t.Fatalf("POST after upgrade: %d", status)
	}
	c2 := ts.dial("EIO=4&transport=websocket&sid=" + sid)
	if err := readUntilClosed(t, c2); err == nil {
		t.Fatal("second WebSocket not closed")
	}
	writeText(t, c, "4still")
	if got := readText(t, c); got != "4still" {
		t.Fatalf("echo after second WebSocket %q", got)
	}
}

func TestUpgradeBadProbeKeepsPolling(t *testing.T) {
	ts := newTestServer(t, nil)
	sid := ts.openPolling()
	c := ts.dial("EIO=4&transport=websocket&sid=" + sid)
	writeText(t, c, "4nope")
	if err := readUntilClosed(t, c); err == nil {
		t.Fatal("WebSocket not closed")
	}
	q := "EIO=4&transport=polling&sid=" + sid
	ts.post(q, "4still")
	if _, body := ts.get(q); body != "4still" {
		t.Fatalf("polling after failed upgrade: %q", body)
	}
}

func TestUpgradeTimeout(t *testing.T) {
	ts := newTestServer(t, &Options{UpgradeTimeout: 50 * time.Millisecond})
	sid := ts.openPolling()
	c := ts.dial("EIO=4&transport=websocket&sid=" + sid)
	writeText(t, c, "2probe")
	readText(t, c)
	// Never send "5".
	if err := readUntilClosed(t, c); err == nil {
		t.Fatal("WebSocket not closed")
	}
	if tr := ts.srv.Session(sid).Transport(); tr != TransportPolling {
		t.Fatalf("transport %q", tr)
	}
}

func TestAllowRequestAndCookie(t *testing.T) {
	ts := newTestServer(t, &Options{
		AllowRequest: func(r *http.Request) error {
			if r.URL.Query().Get("token") != "ok" {
				return errors.New("no token")
			}
			return nil
		},
		Cookie: &http.Cookie{HttpOnly: true, SameSite: http.SameSiteLaxMode},
	})
	if status, body := ts.get("EIO=4&transport=polling"); status != 403 || body != `{"code":4,"message":"no token"}` {
		t.Fatalf("refused: %d %q", status, body)
	}
	resp := ts.doResp("GET", "EIO=4&transport=polling&token=ok", "", nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sid := parseOpen(t, string(body)).SID
	want := "io=" + sid + "; Path=/; HttpOnly; SameSite=Lax"
	if got := resp.Header.Get("Set-Cookie"); got != want {
		t.Fatalf("Set-Cookie %q, want %q", got, want)
	}
}

func TestOriginPolicy(t *testing.T) {
	t.Run("default refuses foreign origins", func(t *testing.T) {
		ts := newTestServer(t, nil)
		status, body := ts.do("GET", "EIO=4&transport=polling", "", http.Header{"Origin": {"https://evil.example"}})
		if status != 403 || body != `{"code":4,"message":"Forbidden"}` {
			t.Fatalf("foreign origin: %d %q", status, body)
		}
		host := strings.TrimPrefix(ts.ts.URL, "http://")
		if status, _ := ts.do("GET", "EIO=4&transport=polling", "", http.Header{"Origin": {"http://" + host}}); status != 200 {
			t.Fatalf("same origin: %d", status)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, resp, err := websocket.Dial(ctx, ts.wsURL("EIO=4&transport=websocket"), &websocket.DialOptions{Header: http.Header{"Origin": {"https://evil.example"}}})
		if err == nil || resp == nil || resp.StatusCode != 403 {
			t.Fatalf("foreign WebSocket: err %v, resp %v", err, resp)
		}
	})
	t.Run("configured origins", func(t *testing.T) {
		ts := newTestServer(t, &Options{CORS: &CORSOptions{Origins: []string{"https://app.example"}, Credentials: true}})
		resp := ts.doResp("GET", "EIO=4&transport=polling", "", http.Header{"Origin": {"https://app.example"}})
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Fatalf("allowed origin: %d %v", resp.StatusCode, resp.Header)
		}
		if status, _ := ts.do("GET", "EIO=4&transport=polling", "", http.Header{"Origin": {"https://evil.example"}}); status != 403 {
			t.Fatalf("other origin: %d", status)
		}
		pre := ts.doResp("OPTIONS", "EIO=4&transport=polling", "", http.Header{
			"Origin":                         {"https://app.example"},
			"Access-Control-Request-Method":  {"POST"},
			"Access-Control-Request-Headers": {"content-type"},
		})
		pre.Body.Close()
		if pre.StatusCode != 204 || pre.Header.Get("Access-Control-Allow-Headers") != "content-type" || pre.Header.Get("Access-Control-Allow-Methods") == "" {
			t.Fatalf("preflight: %d %v", pre.StatusCode, pre.Header)
		}
	})
	t.Run("wildcard with credentials panics", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		NewServer(&Options{CORS: &CORSOptions{Origins: []string{"*"}, Credentials: true}}, newEchoApp())
	})
}

func TestSlowConsumerClosesSession(t *testing.T) {
	ts := newTestServer(t, &Options{WriteQueueSize: 10})
	sid := ts.openPolling()
	sess := ts.srv.Session(sid)
	for i := 0; i < 10; i++ {
		if err := sess.Send([]byte("x"), false, false); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if err := sess.Send([]byte("v"), false, true); err != nil {
		t.Fatalf("volatile send: %v", err)
	}
	if err := sess.Send([]byte("x"), false, false); !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("send over the limit: %v", err)
	}
	if ev := ts.app.waitClose(t); ev.reason != ReasonTransportError || !errors.Is(ev.cause, ErrSlowConsumer) {
		t.Fatalf("close %+v", ev)
	}
	if err := sess.Send([]byte("x"), false, false); !errors.Is(err, ErrSessionClosed) {
		t.Fatalf("send after close: %v", err)
	}
}

// TestSendBacklog checks that a backlog goes beyond the write queue limit,
// that the limit then applies to what is queued after it, and that it comes
// back once the transport took the queue.
func TestSendBacklog(t *testing.T) {
	ts := newTestServer(t, &Options{WriteQueueSize: 4})
	sid := ts.openPolling()
	sess := ts.srv.Session(sid)
	backlog := make([]packet.Packet, 10)
	for i := range backlog {
		backlog[i] = packet.Packet{Type: packet.Message, Data: []byte(strconv.Itoa(i))}
	}
	if err := sess.SendBacklog(backlog); err != nil {
		t.Fatalf("SendBacklog: %v", err)
	}
	for i := range 4 {
		if err := sess.Send([]byte("live"), false, false); err != nil {
			t.Fatalf("send %d after the backlog: %v", i, err)
		}
	}
	q := "EIO=4&transport=polling&sid=" + sid
	if code, body := ts.get(q); code != 200 || strings.Count(body, "\x1e") != 13 || !strings.HasPrefix(body, "40\x1e41") {
		t.Fatalf("GET: %d %q", code, body)
	}
	for i := range 4 {
		if err := sess.Send([]byte("x"), false, false); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if err := sess.Send([]byte("x"), false, false); !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("send over the limit once the backlog went out: %v", err)
	}
	if err := sess.SendBacklog(backlog); !errors.Is(err, ErrSessionClosed) {
		t.Fatalf("SendBacklog after close: %v", err)
	}
}

func TestCloseCodes(t *testing.T) {
	for i, r := range closeReasons {
		if got := closeCode(r); int(got) != i {
			t.Errorf("closeCode(%q) = %d, want %d", r, got, i)
		}
	}
}

func TestShutdownReleasesPollsAndWebSockets(t *testing.T) {
	app := newEchoApp()
	srv := NewServer(nil, app)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	ts := &testServer{t: t, srv: srv, app: app, ts: hs, url: hs.URL + "/engine.io/"}

	sid := ts.openPolling()
	q := "EIO=4&transport=polling&sid=" + sid
	// The pending poll on a connection of its own, which the client does
	// not retry on when it ends (net/http retries an idempotent request
	// whose reused connection closed before the response).
	pending := make(chan error, 1)
	go func() {
		tr := &http.Transport{DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get(ts.url + "?" + q)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			err = fmt.Errorf("answered %d %q", resp.StatusCode, b)
		}
		pending <- err
	}()
	sess := srv.Session(sid)
	waitFor(t, func() bool {
		sess.mu.Lock()
		defer sess.mu.Unlock()
		return sess.getActive
	})
	c := ts.dial("EIO=4&transport=websocket")
	readText(t, c)
	srv.Session(parseOpenSIDFromServer(t, srv, sid)).Send([]byte("bye"), false, false)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	// It ends without a response, as when the official server's process
	// exits: a CLOSE packet would stop python-socketio from reconnecting.
	if err := <-pending; !errors.Is(err, io.EOF) {
		t.Fatalf("pending poll: %v, want EOF before a response", err)
	}
	if got := readText(t, c); got != "4bye" {
		t.Fatalf("queued message not flushed: %q", got)
	}
	err := readUntilClosed(t, c)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("WebSocket end: %v", err)
	}
	for i := 0; i < 2; i++ {
		if ev := app.waitClose(t); ev.reason != ReasonForcedClose {
			t.Fatalf("reason %q", ev.reason)
		}
	}
	if status, _ := ts.get("EIO=4&transport=polling"); status != 503 {
		t.Fatalf("handshake after shutdown: %d", status)
	}
	if err := srv.Shutdown(ctx); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("second Shutdown: %v", err)
	}
	if n := srv.tasks.Running(); n != 0 {
		t.Fatalf("%d goroutines still running", n)
	}
}

// parseOpenSIDFromServer returns the id of the session that is not skip.
func parseOpenSIDFromServer(t *testing.T, srv *Server, skip string) string {
	t.Helper()
	srv.mu.RLock()
	defer srv.mu.RUnlock()
	for id := range srv.sessions {
		if id != skip {
			return id
		}
	}
	t.Fatal("no other session")
	return ""
}

func TestConcurrentSends(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.dial("EIO=4&transport=websocket")
	sid := parseOpen(t, readText(t, c)).SID
	sess := ts.srv.Session(sid)
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := sess.Send([]byte(fmt.Sprintf("%d-%d", w, i)), false, false); err != nil {
					t.Errorf("send: %v", err)
					return
				}
			}
		}()
	}
	next := make([]int, writers)
	for n := 0; n < writers*each; n++ {
		msg := readText(t, c)
		var w, i int
		if _, err := fmt.Sscanf(msg, "4%d-%d", &w, &i); err != nil {
			t.Fatalf("message %q: %v", msg, err)
		}
		if i != next[w] {
			t.Fatalf("writer %d: got %d, want %d (out of order)", w, i, next[w])
		}
		next[w]++
	}
	wg.Wait()
}

func TestSlowPostBodyIsCutOff(t *testing.T) {
	ts := newTestServer(t, &Options{PingTimeout: 100 * time.Millisecond, PingInterval: time.Minute})
	sid := ts.openPolling()
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Announce 100 bytes, send one, then stall (slowloris).
	fmt.Fprintf(conn, "POST /engine.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n4", sid)
	ev := ts.app.waitClose(t)
	if ev.reason != ReasonTransportError {
		t.Fatalf("close %+v", ev)
	}
}

// TestIdleWebSocketsHoldNoGoroutine checks the event-driven reads: idle
// WebSocket sessions are parked in the poller, and still answer when data
// comes.
func TestIdleWebSocketsHoldNoGoroutine(t *testing.T) {
	ts := newTestServer(t, nil)
	conns := make([]*websocket.Conn, 20)
	for i := range conns {
		conns[i] = ts.dial("EIO=4&transport=websocket")
		readText(t, conns[i])
	}
	waitFor(t, func() bool { return ts.srv.tasks.Running() == 0 })
	for _, c := range conns {
		writeText(t, c, "4wake")
		if got := readText(t, c); got != "4wake" {
			t.Fatalf("echo %q", got)
		}
	}
	waitFor(t, func() bool { return ts.srv.tasks.Running() == 0 })
}

// TestShutdownAbortsPollOverHTTP2: over HTTP/2, where a connection cannot
// be hijacked, the pending poll's stream is reset: it ends without a
// response too.
func TestShutdownAbortsPollOverHTTP2(t *testing.T) {
	srv := NewServer(nil, newEchoApp())
	hs := httptest.NewUnstartedServer(srv)
	hs.EnableHTTP2 = true
	hs.StartTLS()
	defer hs.Close()
	hc := hs.Client()
	url := hs.URL + "/engine.io/?EIO=4&transport=polling"
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || !strings.HasPrefix(string(body), "0{") {
		t.Fatalf("handshake over %s: %q", resp.Proto, body)
	}
	var open struct{ SID string }
	if err := json.Unmarshal(body[1:], &open); err != nil {
		t.Fatal(err)
	}
	pending := make(chan error, 1)
	go func() {
		resp, err := hc.Get(url + "&sid=" + open.SID)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			err = fmt.Errorf("answered %d %q", resp.StatusCode, b)
		}
		pending <- err
	}()
	sess := srv.Session(open.SID)
	waitFor(t, func() bool {
		sess.mu.Lock()
		defer sess.mu.Unlock()
		return sess.getActive
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-pending; err == nil || !strings.Contains(err.Error(), "INTERNAL_ERROR") {
		t.Fatalf("pending poll over HTTP/2: %v, want a reset stream", err)
	}
}

// TestShutdownKeepsLingeringNoop: a session its client closed with no GET
// pending stays registered to answer the GET on its way with a noop; the
// shutdown must not turn that answer into an abort (a zero byte).
func TestShutdownKeepsLingeringNoop(t *testing.T) {
	ts := newTestServer(t, nil)
	sid := ts.openPolling()
	if status, body := ts.post("EIO=4&transport=polling&sid="+sid, "1"); status != 200 || body != "ok" {
		t.Fatalf("POST close: %d %q", status, body)
	}
	sess := ts.srv.Session(sid)
	if sess == nil || !sess.lingering() {
		t.Fatal("precondition: the closed session lingers")
	}
	sess.shutdownClose(true)
	sess.mu.Lock()
	final := sess.pollFinal
	sess.mu.Unlock()
	if final != '0'+byte(packet.Noop) {
		t.Fatalf("the lingering GET would get %q, want a noop", final)
	}
}

// TestPollHeldDuringUpgradeRefusedOnceUpgraded: a poll that arrives while
// an upgrade is in progress is held; if the upgrade completes meanwhile,
// it is refused at the end of the delay (400, code 3), as by the official
// server, not answered with a noop.
func TestPollHeldDuringUpgradeRefusedOnceUpgraded(t *testing.T) {
	ts := newTestServer(t, nil)
	sid := ts.openPolling()
	q := "EIO=4&transport=polling&sid=" + sid
	c := ts.dial("EIO=4&transport=websocket&sid=" + sid)
	type answer struct {
		status int
		body   string
	}
	held := make(chan answer, 1)
	go func() {
		status, body := ts.get(q)
		held <- answer{status, body}
	}()
	sess := ts.srv.Session(sid)
	for !sess.Writable() { // the poll is pending (held)
		time.Sleep(time.Millisecond)
	}
	writeText(t, c, "2probe")
	if got := readText(t, c); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	writeText(t, c, "5")
	if a := <-held; a.status != 400 || a.body != `{"code":3,"message":"Bad request"}` {
		t.Fatalf("held poll: %d %q, want 400 transport mismatch", a.status, a.body)
	}
}
