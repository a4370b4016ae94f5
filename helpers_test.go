package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/leakcheck"
	"github.com/socketio-go/socketio/internal/websocket"
	"github.com/socketio-go/socketio/parser"
)

// ownListener runs the tests' servers on their own listeners (Serve)
// rather than mounted on an httptest.Server: SOCKETIO_TEST_SERVE=own.
var ownListener = os.Getenv("SOCKETIO_TEST_SERVE") == "own"

// TestMain fails the run if goroutines are left behind by the tests.
func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

// testEnv is a Socket.IO server under test.
type testEnv struct {
	t   *testing.T
	srv *Server
	hs  *httptest.Server
}

// serveHTTP serves srv as the tests run it: mounted on an
// httptest.Server, or on its own listener (Serve, with the HTTP/1.1 fast
// path) with SOCKETIO_TEST_SERVE=own. end, called once srv was shut
// down, waits for Serve to return or closes the httptest.Server.
func serveHTTP(t *testing.T, srv *Server) (hs *httptest.Server, end func()) {
	if !ownListener {
		hs = httptest.NewServer(srv)
		return hs, hs.Close
	}
	hs = httptest.NewUnstartedServer(srv)
	hs.URL = "http://" + hs.Listener.Addr().String()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(hs.Listener) }()
	return hs, func() {
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	}
}

func newTestEnv(t *testing.T, opts *Options) *testEnv {
	t.Helper()
	srv := NewServer(opts)
	hs, end := serveHTTP(t, srv)
	env := &testEnv{t: t, srv: srv, hs: hs}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		end()
		if n := srv.tasks.Running(); n != 0 {
			t.Errorf("%d server goroutines still running after Shutdown", n)
		}
	})
	return env
}

// tclient is a raw protocol client over WebSocket, for tests that check the
// exact packets.
type tclient struct {
	t   *testing.T
	ws  *websocket.Conn
	dec parser.Decoder
	sid string
}

func (env *testEnv) dial() *tclient {
	env.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(env.hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		env.t.Fatalf("dial: %v", err)
	}
	env.t.Cleanup(func() { _ = ws.CloseNow() })
	c := &tclient{t: env.t, ws: ws}
	typ, data, err := ws.ReadMessage()
	if err != nil || typ != websocket.TextMessage || !strings.HasPrefix(string(data), "0{") {
		env.t.Fatalf("open packet: %v %q %v", typ, data, err)
	}
	var open struct{ SID string }
	_ = json.Unmarshal(data[1:], &open)
	c.sid = open.SID
	return c
}

// send writes a Socket.IO packet given in its text form.
func (c *tclient) send(text string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte("4"+text)); err != nil {
		c.t.Fatalf("send %q: %v", text, err)
	}
}

func (c *tclient) sendBinary(b []byte) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
		c.t.Fatalf("send binary: %v", err)
	}
}

// next returns the next Socket.IO packet, answering pings on the way. It
// fails the test if the connection ends.
func (c *tclient) next() *parser.Packet {
	c.t.Helper()
	p, err := c.nextErr()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return p
}

func (c *tclient) nextErr() (*parser.Packet, error) {
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			return nil, err
		}
		var p *parser.Packet
		if typ == websocket.BinaryMessage {
			p, err = c.dec.DecodeBinary(data)
		} else {
			switch data[0] {
			case '2':
				_ = c.ws.WriteMessage(websocket.TextMessage, []byte("3"))
				continue
			case '4':
				p, err = c.dec.DecodeText(data[1:])
			default:
				continue
			}
		}
		if err != nil {
			c.t.Fatalf("decode %q: %v", data, err)
		}
		if p != nil {
			return p, nil
		}
	}
}

// nextText returns the next packet in its text form (attachments not
// included).
func (c *tclient) nextText() string {
	c.t.Helper()
	return string(c.next().AppendText(nil))
}

// connect joins a namespace and returns the socket id.
func (c *tclient) connect(nsp, auth string) string {
	c.t.Helper()
	prefix := ""
	if nsp != "/" {
		prefix = nsp + ","
	}
	c.send("0" + prefix + auth)
	p := c.next()
	if p.Type != parser.Connect || p.Namespace != nsp {
		c.t.Fatalf("connect %s: got %s", nsp, p.AppendText(nil))
	}
	var body struct{ SID string }
	if err := json.Unmarshal(p.Data, &body); err != nil || body.SID == "" {
		c.t.Fatalf("connect payload %s", p.Data)
	}
	return body.SID
}

// waitClosed reads until the server closes the connection.
func (c *tclient) waitClosed() {
	c.t.Helper()
	for {
		if _, _, err := c.ws.ReadMessage(); err != nil {
			return
		}
	}
}

// recv waits for a value on ch.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("timeout")
		var zero T
		return zero
	}
}
