package engineio

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/websocket"
)

func eio3Opts() *Options {
	return &Options{AllowEIO3: true, PingInterval: 100 * time.Millisecond, PingTimeout: 300 * time.Millisecond}
}

// openPollingV3 opens a v3 long-polling session and checks its handshake
// payload: "<length>:0{...}".
func (ts *testServer) openPollingV3(extra string) string {
	ts.t.Helper()
	resp := ts.doResp(http.MethodGet, "EIO=3&transport=polling"+extra, "", nil)
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain; charset=UTF-8" {
		ts.t.Fatalf("v3 handshake: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body.String())
	}
	n, open, ok := strings.Cut(body.String(), ":")
	if !ok || n != strconv.Itoa(len(open)) {
		ts.t.Fatalf("v3 handshake payload %q: length prefix does not match", body.String())
	}
	return parseOpen(ts.t, open).SID
}

func TestEIO3RefusedByDefault(t *testing.T) {
	ts := newTestServer(t, nil)
	for _, q := range []string{"EIO=3&transport=polling", "transport=polling"} {
		status, body := ts.get(q)
		if status != 400 || body != `{"code":5,"message":"Unsupported protocol version"}` {
			t.Fatalf("%s: %d %q", q, status, body)
		}
	}
}

func TestEIO3PollingHeartbeatAndPayloads(t *testing.T) {
	ts := newTestServer(t, eio3Opts())
	sid := ts.openPollingV3("")
	s := <-ts.app.opened
	if s.Protocol() != 3 {
		t.Fatalf("Protocol() = %d", s.Protocol())
	}
	q := "EIO=3&transport=polling&sid=" + sid
	// The client pings; the server answers. Several times past
	// pingInterval+pingTimeout: the pings keep the session open.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if status, body := ts.post(q, "1:2"); status != 200 || body != "ok" {
			t.Fatalf("POST ping: %d %q", status, body)
		}
		if status, body := ts.get(q); status != 200 || body != "1:3" {
			t.Fatalf("GET after ping: %d %q, want a pong", status, body)
		}
		time.Sleep(50 * time.Millisecond) // the client's ping interval; no event to wait for
	}
	// Two text messages in one POST, echoed in one payload, lengths in
	// UTF-16 units.
	if status, _ := ts.post(q, "3:4😀6:4hello"); status != 200 {
		t.Fatal(status)
	}
	waitFor(t, func() bool { return s.queuedLen() == 2 })
	if _, body := ts.get(q); body != "3:4😀6:4hello" {
		t.Fatalf("echo %q", body)
	}
	// A binary POST (application/octet-stream): echoed in a binary
	// payload.
	bin := []byte{0, 6, 255, '4', 'h', 'e', 'l', 'l', 'o', 1, 4, 255, 4, 1, 2, 3}
	status, _ := ts.do(http.MethodPost, q, string(bin), http.Header{"Content-Type": {"application/octet-stream"}})
	if status != 200 {
		t.Fatalf("binary POST: %d", status)
	}
	waitFor(t, func() bool { return s.queuedLen() == 2 })
	resp := ts.doResp(http.MethodGet, q, "", nil)
	var got bytes.Buffer
	_, _ = got.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "application/octet-stream" || !bytes.Equal(got.Bytes(), bin) {
		t.Fatalf("binary echo %q: %v", resp.Header.Get("Content-Type"), got.Bytes())
	}
	// A v3 client must not answer pongs, nor switch protocols.
	if status, _ := ts.get("EIO=4&transport=polling&sid=" + sid); status != 400 {
		t.Fatalf("request with EIO=4 on a v3 session: %d, want 400", status)
	}
	ts.post(q, "1:3")
	if ev := ts.app.waitClose(t); ev.reason != ReasonTransportError || !errors.Is(ev.cause, ErrInvalidHeartbeat) {
		t.Fatalf("close %+v", ev)
	}
}

func (s *Session) queuedLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

func TestEIO3PollingBase64AndPingTimeout(t *testing.T) {
	ts := newTestServer(t, eio3Opts())
	sid := ts.openPollingV3("&b64=1")
	s := <-ts.app.opened
	q := "EIO=3&transport=polling&sid=" + sid
	if status, _ := ts.post(q, "6:b4AQID"); status != 200 {
		t.Fatal(status)
	}
	waitFor(t, func() bool { return s.queuedLen() == 1 })
	resp := ts.doResp(http.MethodGet, q, "", nil)
	var got bytes.Buffer
	_, _ = got.ReadFrom(resp.Body)
	resp.Body.Close()
	if got.String() != "6:b4AQID" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("base64 echo %q %q", resp.Header.Get("Content-Type"), got.String())
	}
	// No ping: closed after pingInterval+pingTimeout, never pinged.
	start := time.Now()
	ev := ts.app.waitClose(t)
	if ev.reason != ReasonPingTimeout {
		t.Fatalf("reason %q", ev.reason)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("closed after %v, before pingInterval+pingTimeout", d)
	}
	if status, body := ts.get(q); status != 400 || strings.Contains(body, "2") && !strings.Contains(body, "code") {
		t.Fatalf("GET after the timeout: %d %q", status, body)
	}
}

func TestEIO3WebSocket(t *testing.T) {
	ts := newTestServer(t, eio3Opts())
	c := ts.dial("EIO=3&transport=websocket")
	parseOpen(t, readText(t, c))
	writeText(t, c, "2")
	if got := readText(t, c); got != "3" {
		t.Fatalf("pong %q", got)
	}
	// Binary frames carry the packet type first.
	if err := c.WriteMessage(websocket.BinaryMessage, []byte{4, 1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	typ, data, err := c.ReadMessage()
	if err != nil || typ != websocket.BinaryMessage || !bytes.Equal(data, []byte{4, 1, 2, 3}) {
		t.Fatalf("binary echo: %v %v %v", typ, data, err)
	}
	writeText(t, c, "b4AQI=")
	if typ, data, err := c.ReadMessage(); err != nil || typ != websocket.BinaryMessage || !bytes.Equal(data, []byte{4, 1, 2}) {
		t.Fatalf("base64 message echo: %v %v %v", typ, data, err)
	}
	// The client stops pinging.
	if ev := ts.app.waitClose(t); ev.reason != ReasonPingTimeout {
		t.Fatalf("reason %q", ev.reason)
	}

	c2 := ts.dial("EIO=3&transport=websocket&b64=1")
	parseOpen(t, readText(t, c2))
	if err := c2.WriteMessage(websocket.BinaryMessage, []byte{4, 7}); err != nil {
		t.Fatal(err)
	}
	if got := readText(t, c2); got != "b4Bw==" {
		t.Fatalf("b64 echo %q", got)
	}
	if err := c2.WriteMessage(websocket.BinaryMessage, []byte{9}); err != nil {
		t.Fatal(err)
	}
	if ev := ts.app.waitClose(t); ev.reason != ReasonParseError {
		t.Fatalf("bad binary type: %q", ev.reason)
	}
}

func TestEIO3Upgrade(t *testing.T) {
	ts := newTestServer(t, eio3Opts())
	sid := ts.openPollingV3("")
	c := ts.dial("EIO=3&transport=websocket&sid=" + sid)
	writeText(t, c, "2probe")
	if got := readText(t, c); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	q := "EIO=3&transport=polling&sid=" + sid
	if _, body := ts.get(q); body != "1:6" {
		t.Fatalf("poll during the upgrade: %q, want a noop", body)
	}
	writeText(t, c, "5")
	writeText(t, c, "4after")
	if got := readText(t, c); got != "4after" {
		t.Fatalf("echo after the upgrade %q", got)
	}
	// A protocol mismatch on the upgrade request is refused.
	sid2 := ts.openPollingV3("")
	ctxDial := ts.wsURL("EIO=4&transport=websocket&sid=" + sid2)
	if _, resp, err := websocket.Dial(t.Context(), ctxDial, nil); err == nil || resp == nil || resp.StatusCode != 400 {
		t.Fatalf("upgrade with EIO=4 on a v3 session: %v %v", resp, err)
	}
}

// TestEIO3JSONP checks JSONP polling against answers of the official
// server (engine.io 6.6.13 with allowEIO3), recorded with fetch.
func TestEIO3JSONP(t *testing.T) {
	ts := newTestServer(t, &Options{AllowEIO3: true})
	status, body := ts.get("EIO=3&transport=polling&j=3")
	const head, foot = `___eio[3]("`, `");`
	if status != 200 || !strings.HasPrefix(body, head) || !strings.HasSuffix(body, foot) {
		t.Fatalf("JSONP handshake: %d %q", status, body)
	}
	var payload string
	if err := json.Unmarshal([]byte(body[len(head)-1:len(body)-len(foot)+1]), &payload); err != nil {
		t.Fatalf("JSONP handshake %q: %v", body, err)
	}
	_, open, _ := strings.Cut(payload, ":")
	sid := parseOpen(t, open).SID
	s := <-ts.app.opened
	q := "EIO=3&transport=polling&j=3&sid=" + sid
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	for _, tc := range []struct{ d, want string }{
		// U+2028 is escaped (the official server answered
		// ___eio[3]("17:42[\"back\",\"é😀\u2028\"]"); for the same characters).
		{"5:4é😀\u2028", `___eio[3]("5:4é😀\u2028");`},
		{`4:4a\nb`, `___eio[3]("4:4a\nb");`},   // backslash-n posted: a newline
		{`5:4a\\nb`, `___eio[3]("5:4a\\nb");`}, // backslash-backslash-n: a backslash and an n
		{"4:4\"\t\x01", `___eio[3]("4:4\"\t\u0001");`},
	} {
		status, got := ts.do(http.MethodPost, q, "d="+url.QueryEscape(tc.d), form)
		if status != 200 || got != "ok" {
			t.Fatalf("POST %q: %d %q", tc.d, status, got)
		}
		waitFor(t, func() bool { return s.queuedLen() == 1 })
		resp := ts.doResp(http.MethodGet, q, "", nil)
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		resp.Body.Close()
		if b.String() != tc.want || resp.Header.Get("Content-Type") != "text/plain; charset=UTF-8" {
			t.Fatalf("POST %q: echo %q (%s), want %q", tc.d, b.String(), resp.Header.Get("Content-Type"), tc.want)
		}
	}
}
