package engineio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// pipeConn is an in-memory MessageConn: the test writes what the server
// reads (in) and reads what it writes (out).
type pipeConn struct {
	in      chan Message
	readErr chan error
	out     chan Message
	closed  chan struct{}
	once    sync.Once
}

func newPipeConn() *pipeConn {
	return &pipeConn{in: make(chan Message, 16), readErr: make(chan error, 1), out: make(chan Message, 64), closed: make(chan struct{})}
}

func (p *pipeConn) ReadMessage() (Message, error) {
	select {
	case m := <-p.in:
		return m, nil
	case err := <-p.readErr:
		return Message{}, err
	case <-p.closed:
		return Message{}, io.EOF
	}
}

func (p *pipeConn) WriteMessages(msgs []Message) error {
	for _, m := range msgs {
		select {
		case p.out <- Message{Data: slices.Clone(m.Data), Binary: m.Binary}:
		case <-p.closed:
			return errors.New("closed")
		}
	}
	return nil
}

func (p *pipeConn) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

func (p *pipeConn) send(s string) { p.in <- Message{Data: []byte(s)} }

func (p *pipeConn) next(t *testing.T) string {
	t.Helper()
	select {
	case m := <-p.out:
		if m.Binary {
			return fmt.Sprintf("binary % x", m.Data)
		}
		return string(m.Data)
	case <-time.After(5 * time.Second):
		t.Fatal("no message written")
		return ""
	}
}

func (p *pipeConn) waitClosed(t *testing.T) {
	t.Helper()
	select {
	case <-p.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("connection not closed")
	}
}

// serveMessage runs ServeMessageTransport for a request with origin (none
// if empty) and returns the recorder once it returned; accepted tells
// whether accept was called.
func serveMessage(srv *Server, c MessageConn, origin string) (rec *httptest.ResponseRecorder, accepted bool) {
	r := httptest.NewRequest("CONNECT", "https://example.com/engine.io/", nil)
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	rec = httptest.NewRecorder()
	srv.ServeMessageTransport(rec, r, TransportWebTransport, func(context.Context) (MessageConn, error) {
		accepted = true
		return c, nil
	})
	return rec, accepted
}

var wtTransports = []string{TransportPolling, TransportWebSocket, TransportWebTransport}

// TestMessageTransportSession: a session over a MessageConn, independent
// of any real transport: open packet, echo of text and binary, close by
// the client.
func TestMessageTransportSession(t *testing.T) {
	ts := newTestServer(t, &Options{Transports: wtTransports})
	c := newPipeConn()
	c.send("0")
	if _, accepted := serveMessage(ts.srv, c, ""); !accepted {
		t.Fatal("accept not called")
	}
	if open := c.next(t); !strings.HasPrefix(open, `0{"sid":"`) || !strings.Contains(open, `"upgrades":[]`) {
		t.Fatalf("open packet %q", open)
	}
	s := <-ts.app.opened
	if s.Transport() != TransportWebTransport {
		t.Fatalf("Transport() = %q", s.Transport())
	}
	c.send("4hello")
	c.in <- Message{Data: []byte{1, 2}, Binary: true}
	if got := []string{c.next(t), c.next(t)}; !slices.Equal(got, []string{"4hello", "binary 01 02"}) {
		t.Fatalf("echo %q", got)
	}
	c.send("1")
	if ev := ts.app.waitClose(t); ev.reason != ReasonTransportClose {
		t.Fatalf("closed with %q", ev.reason)
	}
	c.waitClosed(t)
}

// TestMessageTransportReadErrors: a framing error is "parse error",
// another read error "transport close".
func TestMessageTransportReadErrors(t *testing.T) {
	ts := newTestServer(t, &Options{Transports: wtTransports})
	for _, tc := range []struct {
		err  error
		want CloseReason
	}{
		{fmt.Errorf("x: %w", ErrMalformedFrame), ReasonParseError},
		{fmt.Errorf("x: %w", ErrPayloadTooLarge), ReasonParseError},
		{io.ErrUnexpectedEOF, ReasonTransportClose},
	} {
		c := newPipeConn()
		c.send("0")
		serveMessage(ts.srv, c, "")
		c.next(t)
		<-ts.app.opened
		c.readErr <- tc.err
		if ev := ts.app.waitClose(t); ev.reason != tc.want || !errors.Is(ev.cause, tc.err) {
			t.Fatalf("%v: closed with %q (%v)", tc.err, ev.reason, ev.cause)
		}
	}
}

// TestMessageTransportRefused: the transport must be enabled and the
// origin allowed; the request is then refused without calling accept.
func TestMessageTransportRefused(t *testing.T) {
	off := newTestServer(t, nil)
	rec, accepted := serveMessage(off.srv, newPipeConn(), "")
	if accepted || rec.Code != http.StatusBadRequest || rec.Body.String() != `{"code":0,"message":"Transport unknown"}` {
		t.Fatalf("disabled: %d %q (accepted %v)", rec.Code, rec.Body, accepted)
	}
	on := newTestServer(t, &Options{Transports: wtTransports})
	rec, accepted = serveMessage(on.srv, newPipeConn(), "https://other.example")
	if accepted || rec.Code != http.StatusForbidden {
		t.Fatalf("other origin: %d %q (accepted %v)", rec.Code, rec.Body, accepted)
	}
}

// TestWebTransportUpgrades: long-polling sessions advertise WebTransport
// only when it is enabled, after WebSocket as the official server does.
func TestWebTransportUpgrades(t *testing.T) {
	for _, tc := range []struct {
		transports []string
		want       string
	}{
		{nil, `"upgrades":["websocket"]`},
		{wtTransports, `"upgrades":["websocket","webtransport"]`},
		{[]string{TransportPolling, TransportWebTransport}, `"upgrades":["webtransport"]`},
	} {
		ts := newTestServer(t, &Options{Transports: tc.transports})
		if _, body := ts.get("EIO=4&transport=polling"); !strings.Contains(body, tc.want) {
			t.Errorf("%v: handshake %q", tc.transports, body)
		}
		if got := ts.srv.Options().Transports; tc.transports != nil && !slices.Equal(got, tc.transports) {
			t.Errorf("Options().Transports = %v", got)
		}
	}
	// Over HTTP, "webtransport" is an unknown transport.
	ts := newTestServer(t, &Options{Transports: wtTransports})
	if code, body := ts.get("EIO=4&transport=webtransport"); code != http.StatusBadRequest || !strings.Contains(body, `"code":0`) {
		t.Fatalf("HTTP: %d %q", code, body)
	}
}
