package webtransport

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
)

// sioEnv is a Socket.IO server with WebTransport, and the events of its
// sockets.
type sioEnv struct {
	sio    *socketio.Server
	wt     *Server
	url    string
	pool   *x509.CertPool
	events chan string // "connect <id> <recovered>", "disconnect <id> <reason>"
}

func newSIOEnv(t *testing.T) *sioEnv {
	t.Helper()
	cert, pool := testCert(t)
	e := &sioEnv{events: make(chan string, 16)}
	e.sio = socketio.NewServer(&socketio.Options{
		Transports:              []string{"polling", "websocket", "webtransport"},
		ConnectionStateRecovery: &socketio.ConnectionStateRecovery{MaxDisconnectionDuration: time.Minute},
	})
	e.sio.OnConnection(func(s *socketio.Socket) {
		e.events <- "connect " + s.ID() + " " + map[bool]string{true: "recovered", false: "new"}[s.Recovered()]
		s.OnDisconnect(func(r socketio.DisconnectReason) { e.events <- "disconnect " + s.ID() + " " + string(r) })
		s.On("echo", func(ev *socketio.Event) { _ = ev.Ack(ev.Args().Spread()...) })
	})
	var err error
	e.wt, err = New(e.sio.Engine(), &Options{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- e.wt.Serve(pc) }()
	e.url = "https://" + pc.LocalAddr().String() + "/socket.io/"
	e.pool = pool
	t.Cleanup(func() {
		_ = e.sio.Close()
		_ = e.wt.Close()
		<-served
		_ = pc.Close()
	})
	return e
}

func (e *sioEnv) event(t *testing.T) string {
	t.Helper()
	select {
	case ev := <-e.events:
		return ev
	case <-time.After(waitFor):
		t.Fatal("no socket event")
		return ""
	}
}

// connect opens an Engine.IO session over WebTransport and connects to
// the main namespace with auth; it returns the client and the CONNECT
// answer's payload.
func (e *sioEnv) connect(t *testing.T, auth string) (*client, map[string]string) {
	t.Helper()
	env := &env{wtURL: e.url, pool: e.pool}
	c := env.dial(t, "")
	c.send("0")
	if open := c.readText(); !strings.HasPrefix(open, "0{") {
		t.Fatalf("open: %q", open)
	}
	c.send("40" + auth)
	ans := c.readText()
	for strings.HasPrefix(ans, "42") { // missed events come first
		c.missed = append(c.missed, ans)
		ans = c.readText()
	}
	if !strings.HasPrefix(ans, "40{") {
		t.Fatalf("CONNECT answer %q", ans)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(ans[2:]), &m); err != nil {
		t.Fatal(err)
	}
	return c, m
}

// TestSocketIO: Socket.IO runs unchanged over WebTransport: events with
// binary attachments and acks, and connection state recovery after the
// WebTransport session is lost.
func TestSocketIO(t *testing.T) {
	e := newSIOEnv(t)
	c, ans := e.connect(t, "")
	sid, pid := ans["sid"], ans["pid"]
	if sid == "" || pid == "" {
		t.Fatalf("CONNECT answer %v", ans)
	}
	if ev := e.event(t); ev != "connect "+sid+" new" {
		t.Fatalf("event %q", ev)
	}

	// A binary event with an ack: the ack comes back with the same bytes.
	c.send(`451-7["echo","text",{"_placeholder":true,"num":0}]`)
	c.sendBinary([]byte{1, 2, 3})
	if got := c.readText(); got != `461-7["text",{"_placeholder":true,"num":0}]` {
		t.Fatalf("ack %q", got)
	}
	if m, err := c.read(); err != nil || !m.Binary || !bytes.Equal(m.Data, []byte{1, 2, 3}) {
		t.Fatalf("attachment %+v, %v", m, err)
	}

	// An event from the server carries its offset for recovery.
	if err := e.sio.Emit("first"); err != nil {
		t.Fatal(err)
	}
	first := c.readText()
	var args []string
	if !strings.HasPrefix(first, "42") || json.Unmarshal([]byte(first[2:]), &args) != nil || len(args) != 2 || args[0] != "first" {
		t.Fatalf("event %q", first)
	}
	offset := args[1]

	// The WebTransport session is lost; an event is emitted meanwhile.
	_ = c.sess.CloseWithError(0, "")
	if ev := e.event(t); ev != "disconnect "+sid+" transport close" {
		t.Fatalf("event %q", ev)
	}
	if err := e.sio.Emit("missed"); err != nil {
		t.Fatal(err)
	}

	// A new session recovers the socket and gets the missed event.
	auth, _ := json.Marshal(map[string]string{"pid": pid, "offset": offset})
	c2, ans2 := e.connect(t, string(auth))
	if ans2["sid"] != sid {
		t.Fatalf("recovered as %v, want sid %s", ans2, sid)
	}
	if ev := e.event(t); ev != "connect "+sid+" recovered" {
		t.Fatalf("event %q", ev)
	}
	// The missed event, before the CONNECT answer as with the official
	// server.
	if len(c2.missed) != 1 || !strings.HasPrefix(c2.missed[0], `42["missed",`) {
		t.Fatalf("missed events %q", c2.missed)
	}
	_ = c2.sess.CloseWithError(0, "")
	if ev := e.event(t); ev != "disconnect "+sid+" transport close" {
		t.Fatalf("event %q", ev)
	}
}
