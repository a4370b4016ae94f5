package webtransport

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/engineio"
)

// TestHandshake: a new session over WebTransport gets the usual open
// packet, no upgrades, and exchanges text and binary messages both ways.
func TestHandshake(t *testing.T) {
	e := newEnv(t, &engineio.Options{MaxHTTPBufferSize: 12345, PingInterval: time.Minute}, nil)
	c, open, r := e.handshake(t)
	var hs struct {
		SID          string   `json:"sid"`
		Upgrades     []string `json:"upgrades"`
		PingInterval int      `json:"pingInterval"`
		PingTimeout  int      `json:"pingTimeout"`
		MaxPayload   int      `json:"maxPayload"`
	}
	if err := json.Unmarshal([]byte(open), &hs); err != nil {
		t.Fatalf("open payload %q: %v", open, err)
	}
	if hs.SID != r.sess.ID() || len(hs.Upgrades) != 0 || hs.PingInterval != 60000 || hs.PingTimeout != 20000 || hs.MaxPayload != 12345 {
		t.Fatalf("open payload %q", open)
	}
	if got := r.sess.Transport(); got != "webtransport" {
		t.Fatalf("Transport() = %q", got)
	}
	req := r.sess.Request()
	if req.URL.Path != "/socket.io/" || req.RemoteAddr == "" || req.TLS == nil {
		t.Fatalf("Request(): %v %q %v", req.URL, req.RemoteAddr, req.TLS)
	}

	c.send("4hello é")
	if m := r.message(t); m.Binary || string(m.Data) != "hello é" {
		t.Fatalf("server got %+v", m)
	}
	c.sendBinary([]byte{0, 1, 2, 255})
	if m := r.message(t); !m.Binary || !bytes.Equal(m.Data, []byte{0, 1, 2, 255}) {
		t.Fatalf("server got %+v", m)
	}
	big := strings.Repeat("x", 70000) // a 64-bit length header
	if err := r.sess.Send([]byte("hi"), false, false); err != nil {
		t.Fatal(err)
	}
	if err := r.sess.Send([]byte{9, 8, 7}, true, false); err != nil {
		t.Fatal(err)
	}
	if err := r.sess.Send([]byte(big), false, false); err != nil {
		t.Fatal(err)
	}
	if got := c.readText(); got != "4hi" {
		t.Fatalf("client got %q", got)
	}
	if m, err := c.read(); err != nil || !m.Binary || !bytes.Equal(m.Data, []byte{9, 8, 7}) {
		t.Fatalf("client got %+v, %v", m, err)
	}
	if got := c.readText(); got != "4"+big {
		t.Fatalf("client got %d bytes", len(got))
	}
	<-r.sess.Flush()
}

// TestHeartbeat: the server pings over WebTransport; a client that stops
// answering is closed with "ping timeout".
func TestHeartbeat(t *testing.T) {
	e := newEnv(t, &engineio.Options{PingInterval: 30 * time.Millisecond, PingTimeout: 200 * time.Millisecond}, nil)
	c, _, r := e.handshake(t)
	for range 2 {
		if got := c.readText(); got != "2" {
			t.Fatalf("client got %q, want a ping", got)
		}
		c.send("3")
	}
	if got := c.readText(); got != "2" {
		t.Fatalf("client got %q, want a ping", got)
	}
	if ci := r.waitClose(t); ci.reason != engineio.ReasonPingTimeout {
		t.Fatalf("closed with %q", ci.reason)
	}
	c.readEnd()
}

// TestClientCloses: the client ending the session, or sending a close
// packet, closes the session with "transport close".
func TestClientCloses(t *testing.T) {
	e := newEnv(t, nil, nil)
	t.Run("session", func(t *testing.T) {
		c, _, r := e.handshake(t)
		_ = c.sess.CloseWithError(0, "")
		if ci := r.waitClose(t); ci.reason != engineio.ReasonTransportClose {
			t.Fatalf("closed with %q (%v)", ci.reason, ci.cause)
		}
	})
	t.Run("stream", func(t *testing.T) {
		c, _, r := e.handshake(t)
		_ = c.str.Close()
		if ci := r.waitClose(t); ci.reason != engineio.ReasonTransportClose {
			t.Fatalf("closed with %q (%v)", ci.reason, ci.cause)
		}
	})
	t.Run("close packet", func(t *testing.T) {
		c, _, r := e.handshake(t)
		c.send("1")
		if ci := r.waitClose(t); ci.reason != engineio.ReasonTransportClose {
			t.Fatalf("closed with %q (%v)", ci.reason, ci.cause)
		}
		c.readEnd()
	})
	t.Run("ping from the client", func(t *testing.T) {
		c, _, r := e.handshake(t)
		c.send("2")
		if ci := r.waitClose(t); ci.reason != engineio.ReasonTransportError || !errors.Is(ci.cause, engineio.ErrInvalidHeartbeat) {
			t.Fatalf("closed with %q (%v)", ci.reason, ci.cause)
		}
	})
}

// TestServerCloses: Session.Close delivers what was queued, then ends the
// stream; the session closes with "forced close".
func TestServerCloses(t *testing.T) {
	e := newEnv(t, nil, &Options{CloseLinger: 50 * time.Millisecond})
	c, _, r := e.handshake(t)
	for _, m := range []string{"a", "b", "c"} {
		if err := r.sess.Send([]byte(m), false, false); err != nil {
			t.Fatal(err)
		}
	}
	r.sess.Close()
	if got := c.readEnd(); !slices.Equal(got, []string{"4a", "4b", "4c"}) {
		t.Fatalf("client got %q", got)
	}
	if ci := r.waitClose(t); ci.reason != engineio.ReasonForcedClose {
		t.Fatalf("closed with %q", ci.reason)
	}
	// The server closes the session when the client does not.
	select {
	case <-c.sess.Context().Done():
	case <-time.After(waitFor):
		t.Fatal("the WebTransport session stayed open")
	}
}

// TestFramingErrors: a frame above maxPayload, an empty frame or a bad
// packet close the session with "parse error", as the official server's
// stream decoder does.
func TestFramingErrors(t *testing.T) {
	e := newEnv(t, &engineio.Options{MaxHTTPBufferSize: 100}, nil)
	for _, tc := range []struct {
		name  string
		bytes []byte
		cause error
	}{
		{"oversized", []byte{101}, engineio.ErrPayloadTooLarge},
		{"oversized 64-bit", []byte{127, 0, 0x20, 0, 0, 0, 0, 0, 0}, engineio.ErrMalformedFrame},
		{"empty", []byte{0x80}, engineio.ErrMalformedFrame},
		{"bad packet", []byte{2, '9', 'x'}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, r := e.handshake(t)
			c.write(tc.bytes)
			ci := r.waitClose(t)
			if ci.reason != engineio.ReasonParseError || (tc.cause != nil && !errors.Is(ci.cause, tc.cause)) {
				t.Fatalf("closed with %q (%v)", ci.reason, ci.cause)
			}
			c.readEnd()
		})
	}
	t.Run("largest", func(t *testing.T) {
		c, _, r := e.handshake(t)
		c.send("4" + strings.Repeat("y", 99))
		if m := r.message(t); len(m.Data) != 99 {
			t.Fatalf("got %d bytes", len(m.Data))
		}
	})
}

// TestBadFirstPacket: a connection whose first packet is not an open
// packet, or that sends none in time, is closed without a session.
func TestBadFirstPacket(t *testing.T) {
	e := newEnv(t, &engineio.Options{UpgradeTimeout: 200 * time.Millisecond}, nil)
	for _, tc := range []struct {
		name  string
		first func(c *client)
	}{
		{"message", func(c *client) { c.send("4hello") }},
		{"binary", func(c *client) { c.sendBinary([]byte{0}) }},
		{"ping", func(c *client) { c.send("2probe") }},
		{"bad json", func(c *client) { c.send(`0{"sid":`) }},
		{"sid not a string", func(c *client) { c.send(`0{"sid":1}`) }},
		{"unknown sid", func(c *client) { c.send(`0{"sid":"nope"}`) }},
		{"oversized", func(c *client) { c.write([]byte{127, 0, 0, 0, 0, 1, 0, 0, 0}) }},
		{"nothing", func(*client) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dial(t, "")
			tc.first(c)
			if got := c.readEnd(); len(got) != 0 {
				t.Fatalf("client got %q", got)
			}
			e.noSession(t)
		})
	}
	t.Run("no stream", func(t *testing.T) {
		_, c, err := e.dialRaw(t, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-c.sess.Context().Done():
		case <-time.After(waitFor):
			t.Fatal("the session stayed open")
		}
	})
	if n := e.eio.SessionCount(); n != 0 {
		t.Fatalf("%d sessions", n)
	}
}

// TestRefusedRequests: requests the server refuses before accepting the
// session get the status of a refused long-polling request.
func TestRefusedRequests(t *testing.T) {
	e := newEnv(t, &engineio.Options{
		AllowRequest: func(r *http.Request) error {
			if r.URL.Query().Get("deny") != "" {
				return errors.New("denied")
			}
			return nil
		},
	}, nil)
	for _, tc := range []struct {
		name   string
		query  string
		origin string
		status int
	}{
		{"unknown sid", "EIO=4&transport=webtransport&sid=nope", "", http.StatusBadRequest},
		{"EIO 3", "EIO=3&transport=webtransport", "", http.StatusBadRequest},
		{"other origin", "", "https://evil.example", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := http.Header{}
			if tc.origin != "" {
				hdr.Set("Origin", tc.origin)
			}
			rsp, _, err := e.dialRaw(t, tc.query, hdr)
			if err == nil || rsp == nil || rsp.StatusCode != tc.status {
				code := 0
				if rsp != nil {
					code = rsp.StatusCode
				}
				t.Fatalf("status %d (%v), want %d", code, err, tc.status)
			}
		})
	}
	// Over HTTP, transport=webtransport is an unknown transport, as with
	// the official server.
	code, body := e.poll(t, http.MethodGet, "EIO=4&transport=webtransport", "")
	if code != http.StatusBadRequest || body != `{"code":0,"message":"Transport unknown"}` {
		t.Fatalf("HTTP: %d %q", code, body)
	}
	// AllowRequest is applied to a new session, once its open packet
	// shows it is one, and not to an upgrade.
	c := e.dial(t, "deny=1")
	c.send("0")
	if got := c.readEnd(); len(got) != 0 {
		t.Fatalf("client got %q", got)
	}
	e.noSession(t)
	sid, _ := e.pollHandshake(t)
	<-e.h.opened
	c = e.dial(t, "deny=1")
	c.send(`0{"sid":` + quote(sid) + `}`)
	c.send("2probe")
	if got := c.readText(); got != "3probe" {
		t.Fatalf("client got %q", got)
	}
}

// TestUpgradeFromPolling: a long-polling session advertises WebTransport
// and upgrades to it: open with the sid, probe, pending poll released
// with a noop, upgrade; then packets flow on WebTransport.
func TestUpgradeFromPolling(t *testing.T) {
	e := newEnv(t, nil, nil)
	sid, open := e.pollHandshake(t)
	if !strings.Contains(open, `"upgrades":["websocket","webtransport"]`) {
		t.Fatalf("open payload %q", open)
	}
	r := e.session(t)
	pending := make(chan string, 1)
	go func() {
		rsp, err := http.Get(e.http.URL + "/socket.io/?EIO=4&transport=polling&sid=" + sid)
		if err != nil {
			pending <- err.Error()
			return
		}
		defer rsp.Body.Close()
		b, _ := io.ReadAll(rsp.Body)
		pending <- string(b)
	}()
	c := e.dial(t, "") // as the official client: no query
	c.send(`0{"sid":` + quote(sid) + `}`)
	c.send("2probe")
	if got := c.readText(); got != "3probe" {
		t.Fatalf("client got %q", got)
	}
	select {
	case body := <-pending:
		if body != "6" {
			t.Fatalf("pending poll got %q, want a noop", body)
		}
	case <-time.After(waitFor):
		t.Fatal("the pending poll was not released")
	}
	if err := r.sess.Send([]byte("queued during the upgrade"), false, false); err != nil {
		t.Fatal(err)
	}
	c.send("5")
	select {
	case s := <-e.upgrade:
		if s != r.sess {
			t.Fatal("OnUpgrade for another session")
		}
	case <-time.After(waitFor):
		t.Fatal("no OnUpgrade")
	}
	if got := r.sess.Transport(); got != "webtransport" {
		t.Fatalf("Transport() = %q", got)
	}
	if got := c.readText(); got != "4queued during the upgrade" {
		t.Fatalf("client got %q", got)
	}
	c.send("4up")
	if m := r.message(t); string(m.Data) != "up" {
		t.Fatalf("server got %q", m.Data)
	}
	// Polling is over for this session.
	if code, _ := e.poll(t, http.MethodGet, "EIO=4&transport=polling&sid="+sid, ""); code != http.StatusBadRequest {
		t.Fatalf("poll after the upgrade: %d", code)
	}
	// A second upgrade is refused.
	c2 := e.dial(t, "EIO=4&transport=webtransport&sid="+sid)
	c2.send(`0{"sid":` + quote(sid) + `}`)
	if got := c2.readEnd(); len(got) != 0 {
		t.Fatalf("second upgrade got %q", got)
	}
	_ = c.sess.CloseWithError(0, "")
	if ci := r.waitClose(t); ci.reason != engineio.ReasonTransportClose {
		t.Fatalf("closed with %q", ci.reason)
	}
}

// TestUpgradeAborted: an upgrade whose probe is wrong, or that times out,
// leaves the session on long-polling; a new attempt may follow.
func TestUpgradeAborted(t *testing.T) {
	e := newEnv(t, &engineio.Options{UpgradeTimeout: 300 * time.Millisecond}, nil)
	sid, _ := e.pollHandshake(t)
	r := e.session(t)
	for _, tc := range []struct {
		name string
		do   func(c *client)
	}{
		{"bad probe", func(c *client) { c.send("2nope") }},
		{"no upgrade packet", func(c *client) {
			c.send("2probe")
			if got := c.readText(); got != "3probe" {
				t.Fatalf("client got %q", got)
			}
		}},
		{"message instead of upgrade", func(c *client) {
			c.send("2probe")
			c.readText()
			c.send("4x")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dial(t, "EIO=4&transport=webtransport&sid="+sid)
			c.send(`0{"sid":` + quote(sid) + `}`)
			tc.do(c)
			c.readEnd()
			if got := r.sess.Transport(); got != "polling" {
				t.Fatalf("Transport() = %q", got)
			}
		})
	}
	// Still usable over polling.
	if err := r.sess.Send([]byte("still here"), false, false); err != nil {
		t.Fatal(err)
	}
	if _, body := e.poll(t, http.MethodGet, "EIO=4&transport=polling&sid="+sid, ""); !strings.Contains(body, "4still here") {
		t.Fatalf("poll got %q", body)
	}
}

// TestUpgradeAbortedBySessionClose: closing a session during the upgrade
// drops the WebTransport session.
func TestUpgradeAbortedBySessionClose(t *testing.T) {
	e := newEnv(t, nil, nil)
	sid, _ := e.pollHandshake(t)
	r := e.session(t)
	c := e.dial(t, "EIO=4&transport=webtransport&sid="+sid)
	c.send(`0{"sid":` + quote(sid) + `}`)
	c.send("2probe")
	if got := c.readText(); got != "3probe" {
		t.Fatalf("client got %q", got)
	}
	r.sess.Close()
	c.readEnd()
}

// TestNotEnabled: New refuses an Engine.IO server without the transport,
// and such a server does not advertise it.
func TestNotEnabled(t *testing.T) {
	cert, _ := testCert(t)
	eio := engineio.NewServer(nil, &handler{opened: make(chan *recorder, 1)})
	defer eio.Close()
	if _, err := New(eio, &Options{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}); err == nil {
		t.Fatal("New accepted a server without webtransport")
	}
	if slices.Contains(eio.Options().Transports, "webtransport") {
		t.Fatal("webtransport enabled by default")
	}
	eio2 := engineio.NewServer(&engineio.Options{Transports: []string{"webtransport"}}, &handler{})
	defer eio2.Close()
	if _, err := New(eio2, nil); err == nil {
		t.Fatal("New accepted no certificate")
	}
}

// TestServerClose: closing the WebTransport server ends its sessions
// ("transport close") and every goroutine it started; Serve returns
// ErrServerClosed (checked by newEnv's cleanup).
func TestServerClose(t *testing.T) {
	e := newEnv(t, nil, nil)
	_, _, r1 := e.handshake(t)
	_, _, r2 := e.handshake(t)
	if err := e.wt.Close(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*recorder{r1, r2} {
		if ci := r.waitClose(t); ci.reason != engineio.ReasonTransportClose {
			t.Fatalf("closed with %q", ci.reason)
		}
	}
	if err := e.wt.Close(); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("second Close: %v", err)
	}
}

// TestShutdown: after the Engine.IO server's Shutdown closed the sessions,
// Shutdown returns once their WebTransport sessions ended.
func TestShutdown(t *testing.T) {
	e := newEnv(t, &engineio.Options{}, &Options{CloseLinger: time.Minute})
	c, _, r := e.handshake(t)
	if err := r.sess.Send([]byte("bye"), false, false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := e.eio.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.readEnd(); !slices.Equal(got, []string{"4bye"}) {
		t.Fatalf("client got %q", got)
	}
	// The server lingers (a minute here) until the client closes.
	_ = c.sess.CloseWithError(0, "")
	if err := e.wt.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-e.served:
		e.served <- err // for the cleanup
	case <-time.After(waitFor):
		t.Fatal("Serve did not return")
	}
}

// TestWriteTimeout: a client that stops reading is closed with
// "transport error" once a write has been blocked for WriteTimeout.
func TestWriteTimeout(t *testing.T) {
	e := newEnv(t, nil, &Options{WriteTimeout: 200 * time.Millisecond})
	_, _, r := e.handshake(t)
	chunk := bytes.Repeat([]byte{'z'}, 256<<10)
	for range 16 { // 4 MiB, well beyond the stream's flow control window
		if err := r.sess.Send(chunk, true, false); err != nil {
			break
		}
	}
	if ci := r.waitClose(t); ci.reason != engineio.ReasonTransportError {
		t.Fatalf("closed with %q (%v)", ci.reason, ci.cause)
	}
}
