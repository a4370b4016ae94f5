package socketio

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/faultproxy"
	"github.com/socketio-go/socketio/internal/websocket"
)

// dialVia connects a raw client through a fault proxy.
func (env *testEnv) dialVia(t *testing.T, p *faultproxy.Proxy) *tclient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+p.Addr()+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatalf("dial via proxy: %v", err)
	}
	t.Cleanup(func() { _ = ws.CloseNow() })
	c := &tclient{t: t, ws: ws}
	if typ, data, err := ws.ReadMessage(); err != nil || typ != websocket.TextMessage || data[0] != '0' {
		t.Fatalf("open packet: %q %v", data, err)
	}
	return c
}

func newProxy(t *testing.T, env *testEnv) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.New(strings.TrimPrefix(env.hs.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func TestFaultDeadPeerDetected(t *testing.T) {
	const interval, timeout = 100 * time.Millisecond, 200 * time.Millisecond
	env := newTestEnv(t, &Options{PingInterval: interval, PingTimeout: timeout})
	reasons := make(chan DisconnectReason, 1)
	env.srv.OnConnection(func(s *Socket) { s.OnDisconnect(func(r DisconnectReason) { reasons <- r }) })
	p := newProxy(t, env)
	c := env.dialVia(t, p)
	c.connect("/", "")
	// Pongs flow for a while.
	for i := 0; i < 3; i++ {
		if typ, data, err := c.ws.ReadMessage(); err != nil || typ != websocket.TextMessage || string(data) != "2" {
			t.Fatalf("ping %d: %q %v", i, data, err)
		}
		_ = c.ws.WriteMessage(websocket.TextMessage, []byte("3"))
	}
	// The cable is cut: the server must notice within interval+timeout.
	p.Stall()
	start := time.Now()
	if r := recv(t, reasons); r != ReasonPingTimeout {
		t.Fatalf("reason %q", r)
	}
	if d := time.Since(start); d > interval+timeout+time.Second {
		t.Fatalf("dead peer detected after %v", d)
	}
	p.Resume()
}

func TestFaultReset(t *testing.T) {
	env := echoServer(t, nil)
	reasons := make(chan DisconnectReason, 1)
	env.srv.OnConnection(func(s *Socket) { s.OnDisconnect(func(r DisconnectReason) { reasons <- r }) })
	p := newProxy(t, env)
	c := env.dialVia(t, p)
	c.connect("/", "")
	bystander := env.dial()
	bystander.connect("/", "")
	p.Reset()
	if r := recv(t, reasons); r != ReasonTransportClose {
		t.Fatalf("reason %q", r)
	}
	bystander.send(`2["echo","ok"]`)
	if got := bystander.nextText(); got != `2["echo-back","ok"]` {
		t.Fatalf("bystander got %s", got)
	}
}

func TestFaultLatency(t *testing.T) {
	env := echoServer(t, &Options{PingInterval: 100 * time.Millisecond, PingTimeout: time.Second})
	p := newProxy(t, env)
	p.SetLatency(20 * time.Millisecond)
	c := env.dialVia(t, p)
	c.connect("/", "")
	for i := 0; i < 5; i++ {
		c.send(`2["echo","slow"]`)
		if got := c.nextText(); got != `2["echo-back","slow"]` {
			t.Fatalf("got %s", got)
		}
	}
}
