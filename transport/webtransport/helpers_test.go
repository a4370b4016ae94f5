package webtransport

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	wt "github.com/quic-go/webtransport-go"
	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/internal/leakcheck"
)

// TestMain fails the run if goroutines started by the tests outlive them.
func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

// testCert returns a self-signed ECDSA P-256 certificate for 127.0.0.1,
// valid for a day, and a pool trusting it.
func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// closeInfo is how a session ended.
type closeInfo struct {
	reason engineio.CloseReason
	cause  error
}

// recorder is the SessionHandler of one session: it records what it gets.
type recorder struct {
	sess   *engineio.Session
	msgs   chan engineio.Message
	closed chan closeInfo
}

func (r *recorder) HandleMessage(data []byte, binary bool) {
	r.msgs <- engineio.Message{Data: data, Binary: binary}
}

func (r *recorder) HandleClose(reason engineio.CloseReason, cause error) {
	r.closed <- closeInfo{reason, cause}
}

// handler hands each new session's recorder to the test.
type handler struct{ opened chan *recorder }

func (h *handler) OpenSession(s *engineio.Session) engineio.SessionHandler {
	r := &recorder{sess: s, msgs: make(chan engineio.Message, 64), closed: make(chan closeInfo, 1)}
	h.opened <- r
	return r
}

// env is an Engine.IO server on HTTP (TCP) and WebTransport (UDP).
type env struct {
	eio     *engineio.Server
	wt      *Server
	h       *handler
	http    *httptest.Server
	wtURL   string // https://127.0.0.1:port/socket.io/
	pool    *x509.CertPool
	served  chan error
	upgrade chan *engineio.Session // OnUpgrade calls
}

const waitFor = 5 * time.Second

// newEnv starts the servers; o may set anything but Transports.
func newEnv(t *testing.T, o *engineio.Options, wo *Options) *env {
	t.Helper()
	if o == nil {
		o = &engineio.Options{}
	}
	o.Transports = []string{"polling", "websocket", "webtransport"}
	cert, pool := testCert(t)
	e := &env{h: &handler{opened: make(chan *recorder, 16)}, pool: pool, served: make(chan error, 1), upgrade: make(chan *engineio.Session, 4)}
	e.eio = engineio.NewServer(o, e.h)
	e.eio.SetHooks(engineio.Hooks{OnUpgrade: func(s *engineio.Session) { e.upgrade <- s }})
	if wo == nil {
		wo = &Options{}
	}
	wo.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	var err error
	e.wt, err = New(e.eio, wo)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { e.served <- e.wt.Serve(pc) }()
	e.wtURL = "https://" + pc.LocalAddr().String() + "/socket.io/"
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", e.eio)
	e.http = httptest.NewServer(mux)
	t.Cleanup(func() {
		e.http.Close()
		_ = e.eio.Close()
		if err := e.wt.Close(); err != nil && !errors.Is(err, ErrServerClosed) {
			t.Errorf("Close: %v", err)
		}
		if err := <-e.served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
		_ = pc.Close()
	})
	return e
}

// session returns the next session opened.
func (e *env) session(t *testing.T) *recorder {
	t.Helper()
	select {
	case r := <-e.h.opened:
		return r
	case <-time.After(waitFor):
		t.Fatal("no session opened")
		return nil
	}
}

// noSession fails if a session opened.
func (e *env) noSession(t *testing.T) {
	t.Helper()
	select {
	case r := <-e.h.opened:
		t.Fatalf("session %s opened", r.sess.ID())
	default:
	}
}

// client is a raw WebTransport Engine.IO client.
type client struct {
	t    *testing.T
	tr   *wt.Transport
	sess *wt.Session
	str  *wt.Stream
	r    *bufio.Reader

	missed []string // Socket.IO: events read before a CONNECT answer
}

// dialRaw opens a WebTransport session to the Engine.IO path with query
// (without the leading "?") and returns the response, or the error.
func (e *env) dialRaw(t *testing.T, query string, hdr http.Header) (*http.Response, *client, error) {
	t.Helper()
	tr := &wt.Transport{TLSClientConfig: &tls.Config{RootCAs: e.pool}}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	u := e.wtURL
	if query != "" {
		u += "?" + query
	}
	rsp, sess, err := tr.Dial(ctx, u, hdr)
	if err != nil {
		_ = tr.Close()
		return rsp, nil, err
	}
	c := &client{t: t, tr: tr, sess: sess}
	t.Cleanup(c.close)
	return rsp, c, nil
}

// dial opens a session and its stream.
func (e *env) dial(t *testing.T, query string) *client {
	t.Helper()
	_, c, err := e.dialRaw(t, query, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c.str, err = c.sess.OpenStreamSync(ctx)
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	c.r = bufio.NewReader(c.str)
	return c
}

// handshake opens a new Engine.IO session over WebTransport and returns
// the client, the open packet's payload and the server's session.
func (e *env) handshake(t *testing.T) (*client, string, *recorder) {
	t.Helper()
	c := e.dial(t, "") // the official client's URL has no query
	c.send("0")
	open := c.readText()
	if !strings.HasPrefix(open, "0{") {
		t.Fatalf("open packet %q", open)
	}
	return c, open[1:], e.session(t)
}

func (c *client) close() {
	if c.sess != nil {
		_ = c.sess.CloseWithError(0, "")
	}
	_ = c.tr.Close()
}

func (c *client) write(b []byte) {
	c.t.Helper()
	if _, err := c.str.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *client) send(text string) {
	c.t.Helper()
	c.write(appendFrame(nil, engineio.Message{Data: []byte(text)}))
}

func (c *client) sendBinary(b []byte) {
	c.t.Helper()
	c.write(appendFrame(nil, engineio.Message{Data: b, Binary: true}))
}

// read reads the next message, or fails after waitFor.
func (c *client) read() (engineio.Message, error) {
	_ = c.str.SetReadDeadline(time.Now().Add(waitFor))
	return readFrame(c.r, 1<<30)
}

func (c *client) readText() string {
	c.t.Helper()
	m, err := c.read()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if m.Binary {
		c.t.Fatalf("binary message % x, want text", m.Data)
	}
	return string(m.Data)
}

// readEnd reads until the stream or session ends and returns the
// messages read before; it fails if the end does not come.
func (c *client) readEnd() []string {
	c.t.Helper()
	var got []string
	for {
		m, err := c.read()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatalf("the server did not end the stream; read %q", got)
			}
			return got
		}
		got = append(got, string(m.Data))
	}
}

// closed waits for the session's close and returns it.
func (r *recorder) waitClose(t *testing.T) closeInfo {
	t.Helper()
	select {
	case ci := <-r.closed:
		return ci
	case <-time.After(waitFor):
		t.Fatalf("session %s did not close", r.sess.ID())
		return closeInfo{}
	}
}

func (r *recorder) message(t *testing.T) engineio.Message {
	t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case <-time.After(waitFor):
		t.Fatal("no message")
		return engineio.Message{}
	}
}

// poll is a long-polling request on the HTTP side.
func (e *env) poll(t *testing.T, method, query, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.http.URL+"/socket.io/?"+query, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer rsp.Body.Close()
	b, err := io.ReadAll(rsp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rsp.StatusCode, string(b)
}

// pollHandshake opens a long-polling session and returns its id and open
// payload.
func (e *env) pollHandshake(t *testing.T) (string, string) {
	t.Helper()
	code, body := e.poll(t, http.MethodGet, "EIO=4&transport=polling", "")
	if code != http.StatusOK || !strings.HasPrefix(body, `0{"sid":"`) {
		t.Fatalf("polling handshake: %d %q", code, body)
	}
	sid := strings.TrimPrefix(body, `0{"sid":"`)
	sid = sid[:strings.IndexByte(sid, '"')]
	return sid, body[1:]
}

func quote(s string) string { return strconv.Quote(s) }
