package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/parser"
)

func TestConnectAndAuth(t *testing.T) {
	env := newTestEnv(t, nil)
	type hello struct {
		id   string
		auth string
		tok  any
	}
	got := make(chan hello, 2)
	env.srv.OnConnection(func(s *Socket) {
		got <- hello{s.ID(), string(s.Handshake().RawAuth), s.Handshake().Auth["token"]}
	})
	c := env.dial()
	sid := c.connect("/", `{"token":"123","b":{"z":1,"a":2}}`)
	h := recv(t, got)
	if h.id != sid || h.auth != `{"token":"123","b":{"z":1,"a":2}}` || h.tok != "123" {
		t.Fatalf("handshake %+v (sid %s)", h, sid)
	}
	if sid == c.sid {
		t.Fatal("socket id must not be the Engine.IO session id")
	}
	c2 := env.dial()
	c2.connect("/", "")
	if h := recv(t, got); h.auth != "{}" || h.tok != nil {
		t.Fatalf("no auth: %+v", h)
	}
}

func TestConnectPayloadHasOnlySID(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.dial()
	c.send("0")
	p := c.next()
	var body map[string]any
	if err := json.Unmarshal(p.Data, &body); err != nil || len(body) != 1 || body["sid"] == nil {
		t.Fatalf("CONNECT payload %s", p.Data)
	}
}

func TestConnectBeforeHandlersEmit(t *testing.T) {
	env := newTestEnv(t, nil)
	env.srv.OnConnection(func(s *Socket) { _ = s.Emit("welcome", 1) })
	c := env.dial()
	c.send("0")
	if p := c.next(); p.Type != parser.Connect {
		t.Fatalf("first packet %s, want CONNECT", p.AppendText(nil))
	}
	if got := c.nextText(); got != `2["welcome",1]` {
		t.Fatalf("got %s", got)
	}
}

func TestUnknownNamespace(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.dial()
	c.send("0/random")
	if got := c.nextText(); got != `4/random,{"message":"Invalid namespace"}` {
		t.Fatalf("got %s", got)
	}
	// The connection stays usable.
	c.connect("/", "")
}

func TestMultipleNamespacesOneConnection(t *testing.T) {
	env := newTestEnv(t, nil)
	conns := make(chan string, 2)
	env.srv.OnConnection(func(s *Socket) { conns <- s.ConnID() })
	env.srv.Of("/custom").OnConnection(func(s *Socket) { conns <- s.ConnID() })
	c := env.dial()
	a := c.connect("/", "")
	b := c.connect("/custom", "")
	if a == b {
		t.Fatal("same socket id in two namespaces")
	}
	if x, y := recv(t, conns), recv(t, conns); x != c.sid || y != c.sid {
		t.Fatalf("conn ids %s %s, want %s", x, y, c.sid)
	}
}

func TestDynamicNamespaces(t *testing.T) {
	env := newTestEnv(t, nil)
	parent := env.srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
	names := make(chan string, 2)
	parent.OnConnection(func(s *Socket) { names <- s.Namespace().Name() })
	c := env.dial()
	c.connect("/dyn-1", "")
	c.connect("/dyn-22", "")
	if a, b := recv(t, names), recv(t, names); !(a == "/dyn-1" && b == "/dyn-22" || a == "/dyn-22" && b == "/dyn-1") {
		t.Fatalf("names %s %s", a, b)
	}
	if n := len(parent.Children()); n != 2 {
		t.Fatalf("%d children", n)
	}
	c.send("0/dyn-x")
	if got := c.nextText(); got != `4/dyn-x,{"message":"Invalid namespace"}` {
		t.Fatalf("got %s", got)
	}
	fn := env.srv.OfFunc(func(name string, auth []byte) bool { return name == "/byauth" && string(auth) == `{"ok":true}` })
	fn.OnConnection(func(s *Socket) { names <- s.Namespace().Name() })
	c.send(`0/byauth,{"ok":false}`)
	if got := c.nextText(); got != `4/byauth,{"message":"Invalid namespace"}` {
		t.Fatalf("got %s", got)
	}
	c.connect("/byauth", `{"ok":true}`)
	if n := recv(t, names); n != "/byauth" {
		t.Fatalf("name %s", n)
	}
}

func TestMiddleware(t *testing.T) {
	env := newTestEnv(t, nil)
	order := make(chan string, 10)
	env.srv.Use(func(ctx context.Context, s *Socket) error {
		order <- "mw1"
		return nil
	})
	env.srv.Use(func(ctx context.Context, s *Socket) error {
		order <- "mw2"
		switch s.Handshake().Auth["token"] {
		case "reject":
			return &ConnectError{Message: "not authorized", Data: map[string]any{"code": 4001}}
		case "plain":
			return errors.New("plain <error> & more")
		}
		return nil
	})
	env.srv.OnConnection(func(s *Socket) { order <- "connection" })
	c := env.dial()
	c.send(`0{"token":"reject"}`)
	if got := c.nextText(); got != `4{"message":"not authorized","data":{"code":4001}}` {
		t.Fatalf("got %s", got)
	}
	c.send(`0{"token":"plain"}`)
	if got := c.nextText(); got != `4{"message":"plain <error> & more"}` {
		t.Fatalf("got %s", got)
	}
	c.connect("/", `{"token":"ok"}`)
	want := []string{"mw1", "mw2", "mw1", "mw2", "mw1", "mw2", "connection"}
	for _, w := range want {
		if got := recv(t, order); got != w {
			t.Fatalf("order: got %s, want %s", got, w)
		}
	}
	// A refused socket leaves nothing behind (socketioxide #627).
	if n := len(env.srv.Of("/").Sockets()); n != 1 {
		t.Fatalf("%d sockets in the namespace, want 1", n)
	}
	if rooms := env.srv.Of("/").Adapter().Rooms(); len(rooms) != 1 {
		t.Fatalf("rooms %v, want only the connected socket's own room", rooms)
	}
}

func TestConnectTimeout(t *testing.T) {
	env := newTestEnv(t, &Options{ConnectTimeout: 100 * time.Millisecond})
	c := env.dial()
	c.waitClosed()
	c2 := env.dial()
	c2.connect("/", "")
	// A connected client is not closed by the timer.
	c2.send(`1`)
	c2.send(`2["x"]`) // for a namespace it left: the server closes now
	c2.waitClosed()
}

func TestConnectTwiceClosesConnection(t *testing.T) {
	env := newTestEnv(t, nil)
	reasons := make(chan DisconnectReason, 1)
	env.srv.OnConnection(func(s *Socket) {
		s.OnDisconnect(func(r DisconnectReason) { reasons <- r })
		_ = s.Emit("ready")
	})
	c := env.dial()
	c.connect("/", "")
	c.next() // ready
	c.send("0")
	c.waitClosed()
	if r := recv(t, reasons); r != ReasonForcedClose {
		t.Fatalf("reason %q", r)
	}
}

// TestHandshakeAndRequest: the handshake and the request a socket reports
// describe the connection request (rebuilt from what the session keeps).
func TestHandshakeAndRequest(t *testing.T) {
	env := newTestEnv(t, nil)
	type seen struct {
		h *Handshake
		r *http.Request
	}
	got := make(chan seen, 1)
	env.srv.OnConnection(func(s *Socket) { got <- seen{s.Handshake(), s.Request()} })
	c := env.dial()
	c.connect("/", `{"k":1}`)
	g := recv(t, got)
	h, r := g.h, g.r
	if h.URL != "/socket.io/?EIO=4&transport=websocket" || h.Query.Get("EIO") != "4" || h.Query.Get("transport") != "websocket" {
		t.Fatalf("handshake URL %q, query %v", h.URL, h.Query)
	}
	if h.Address != "127.0.0.1" || h.Secure || h.XDomain || h.Headers.Get("Upgrade") != "websocket" || h.Issued == 0 ||
		h.Headers.Get("Host") != strings.TrimPrefix(env.hs.URL, "http://") { // as in Node's headers
		t.Fatalf("handshake %+v", h)
	}
	if r.Header.Get("Host") != "" {
		t.Fatalf("handshake %+v", h)
	}
	if r.Method != http.MethodGet || r.URL.Path != "/socket.io/" || r.URL.Query().Get("EIO") != "4" ||
		r.RequestURI != h.URL || r.Header.Get("Upgrade") != "websocket" || r.ProtoMajor != 1 ||
		!strings.HasPrefix(r.RemoteAddr, "127.0.0.1:") || r.Host == "" || r.Body != http.NoBody || r.Context().Err() != nil {
		t.Fatalf("request %+v", r)
	}
}
