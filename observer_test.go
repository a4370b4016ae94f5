package socketio

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/parser"
)

// recObserver records the events it receives as strings on a channel.
type recObserver struct {
	NopObserver
	ch chan string

	mu      sync.Mutex
	in, out map[parser.Type]int // packets
	outCh   chan struct{}       // signalled after each PacketsSent
	inBytes int
	mwTime  time.Duration
}

func newRecObserver() *recObserver {
	return &recObserver{ch: make(chan string, 256), in: map[parser.Type]int{}, out: map[parser.Type]int{}, outCh: make(chan struct{}, 1)}
}

func (o *recObserver) NamespaceCreated(n *Namespace) { o.ch <- "nsp " + n.Name() }
func (o *recObserver) ConnOpened(_, t string)        { o.ch <- "open " + t }
func (o *recObserver) ConnUpgraded(string)           { o.ch <- "upgrade" }
func (o *recObserver) Dropped(_ string, n int, slow bool) {
	o.ch <- fmt.Sprintf("dropped %d %v", n, slow)
}
func (o *recObserver) ConnClosed(_ string, r DisconnectReason) {
	o.ch <- "close " + string(r)
}
func (o *recObserver) SocketConnect(s *Socket, start time.Time, mw time.Duration, err error) {
	if start.IsZero() || time.Since(start) < mw {
		o.ch <- "bad start"
	}
	o.mu.Lock()
	o.mwTime = mw
	o.mu.Unlock()
	o.ch <- fmt.Sprintf("connect %s %v", s.Namespace().Name(), err)
}
func (o *recObserver) SocketDisconnected(s *Socket, r DisconnectReason) {
	o.ch <- fmt.Sprintf("disconnect %s %s", s.Namespace().Name(), r)
}
func (o *recObserver) RoomJoined(n *Namespace, id, room string) {
	if room == id {
		room = "(own)"
	}
	o.ch <- fmt.Sprintf("join %s %s", n.Name(), room)
}
func (o *recObserver) RoomLeft(n *Namespace, id, room string) {
	if room == id {
		room = "(own)"
	}
	o.ch <- fmt.Sprintf("leave %s %s", n.Name(), room)
}
func (o *recObserver) PacketReceived(t parser.Type, b int) {
	o.mu.Lock()
	o.in[t]++
	o.inBytes += b
	o.mu.Unlock()
}
func (o *recObserver) PacketsSent(t parser.Type, n, b int) {
	o.mu.Lock()
	o.out[t] += n
	o.mu.Unlock()
	select {
	case o.outCh <- struct{}{}:
	default:
	}
}

// waitOut waits until n packets of type t were reported sent: a packet is
// counted once queued, which may be after the client read it.
func (o *recObserver) waitOut(t *testing.T, typ parser.Type, n int) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		o.mu.Lock()
		got := o.out[typ]
		o.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-o.outCh:
		case <-deadline:
			t.Fatalf("%d %v packets reported sent, want %d", got, typ, n)
		}
	}
}
func (o *recObserver) Broadcast(n *Namespace, r int) {
	o.ch <- fmt.Sprintf("broadcast %s %d", n.Name(), r)
}
func (o *recObserver) Ack(n *Namespace, ev string, d time.Duration, err error) {
	o.ch <- fmt.Sprintf("ack %s %v", ev, err == nil)
}
func (o *recObserver) AdapterRequest(n *Namespace, op string, d time.Duration, err error) {
	o.ch <- fmt.Sprintf("adapter %s %v", op, err)
}

// expect reads events until want arrives, and fails if it does not.
func (o *recObserver) expect(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	var seen []string
	for {
		select {
		case got := <-o.ch:
			if got == want {
				return
			}
			seen = append(seen, got)
		case <-deadline:
			t.Fatalf("no %q; saw %q", want, seen)
		}
	}
}

func TestObserverEvents(t *testing.T) {
	env := newTestEnv(t, nil)
	env.srv.Of("/refuse").Use(func(ctx context.Context, s *Socket) error {
		time.Sleep(time.Millisecond) // a middleware that takes time
		return errors.New("no")
	})
	o := newRecObserver()
	env.srv.Observe(o)
	// Observe reports the namespaces that exist; "/" was created first,
	// but the order of the report is not specified.
	got := []string{<-o.ch, <-o.ch}
	if !(strings.Join(got, ",") == "nsp /,nsp /refuse" || strings.Join(got, ",") == "nsp /refuse,nsp /") {
		t.Fatalf("namespaces at Observe: %q", got)
	}
	env.srv.Of("/late")
	o.expect(t, "nsp /late")

	acked := make(chan error, 1)
	env.srv.OnConnection(func(s *Socket) {
		s.Join("room1")
		s.On("hello", func(e *Event) {
			_, err := s.EmitWithAck(context.Background(), "ping")
			acked <- err
		})
	})
	c := env.dial()
	o.expect(t, "open websocket")
	c.connect("/", "")
	o.expect(t, "join / (own)")
	o.expect(t, "connect / <nil>")
	o.expect(t, "join / room1")

	c.send(`2["hello"]`)
	p := c.next()
	if p.Type != parser.Event || p.ID < 0 {
		t.Fatalf("want an event with ack, got %s", p.AppendText(nil))
	}
	c.send(fmt.Sprintf("3%d[]", p.ID))
	if err := recv(t, acked); err != nil {
		t.Fatal(err)
	}
	o.expect(t, "ack ping true")

	if err := env.srv.To("room1").Emit("news", 1); err != nil {
		t.Fatal(err)
	}
	o.expect(t, "broadcast / 1")
	o.expect(t, "adapter broadcast <nil>")
	if got := c.nextText(); got != `2["news",1]` {
		t.Fatalf("broadcast: %s", got)
	}

	st := env.srv.Stats()
	if st.Connections != 1 || st.PollingConnections != 0 || st.Sockets != 1 {
		t.Fatalf("stats: %+v", st)
	}
	if len(st.Namespaces) != 3 || st.Namespaces[0] != (NamespaceStats{Name: "/", Sockets: 1}) {
		t.Fatalf("namespace stats: %+v", st.Namespaces)
	}

	c.send("0/refuse,")
	if p := c.next(); p.Type != parser.ConnectError {
		t.Fatalf("want connect error, got %s", p.AppendText(nil))
	}
	o.expect(t, "connect /refuse no")
	o.mu.Lock()
	if o.mwTime < time.Millisecond {
		t.Errorf("middleware time %v, want at least 1ms", o.mwTime)
	}
	o.mu.Unlock()

	if err := env.srv.DisconnectSockets(false); err != nil {
		t.Fatal(err)
	}
	o.expect(t, "leave / (own)")
	o.expect(t, "disconnect / server namespace disconnect")
	o.expect(t, "adapter disconnectSockets <nil>")
	// Read the DISCONNECT first: closing a TCP socket with unread bytes in
	// its receive buffer sends a RST, which the server rightly reports as a
	// transport error rather than a close.
	if got := c.nextText(); got != "1" {
		t.Fatalf("want DISCONNECT, got %s", got)
	}
	_ = c.ws.CloseNow()
	o.expect(t, "close transport close")

	o.waitOut(t, parser.ConnectError, 1)
	o.waitOut(t, parser.Disconnect, 1)
	o.mu.Lock()
	defer o.mu.Unlock()
	// In: CONNECT /, EVENT hello, ACK, CONNECT /refuse. Out: CONNECT,
	// EVENT ping, EVENT news, CONNECT_ERROR, DISCONNECT.
	if o.in[parser.Connect] != 2 || o.in[parser.Event] != 1 || o.in[parser.Ack] != 1 {
		t.Errorf("packets in: %v", o.in)
	}
	if o.inBytes != len(`0`)+len(`2["hello"]`)+len(`30[]`)+len(`0/refuse,`) {
		t.Errorf("bytes in: %d", o.inBytes)
	}
	if o.out[parser.Connect] != 1 || o.out[parser.Event] != 2 || o.out[parser.ConnectError] != 1 || o.out[parser.Disconnect] != 1 {
		t.Errorf("packets out: %v", o.out)
	}
}

func TestStatsPolling(t *testing.T) {
	env := newTestEnv(t, &Options{WriteQueueSize: 2})
	o := newRecObserver()
	env.srv.Observe(o)
	c := env.dialPolling()
	o.expect(t, "open polling")
	c.connect("/", "")
	if st := env.srv.Stats(); st.Connections != 1 || st.PollingConnections != 1 || st.Sockets != 1 {
		t.Fatalf("stats: %+v", st)
	}
	// No GET pending: a volatile packet is dropped.
	if err := env.srv.Volatile().Emit("v"); err != nil {
		t.Fatal(err)
	}
	o.expect(t, "dropped 1 false")
	// Over the write queue: the connection is closed.
	for i := 0; i < 3; i++ {
		_ = env.srv.Sockets()[0].Emit("x")
	}
	o.expect(t, "dropped 1 true")
	o.expect(t, "close transport error")
	if st := env.srv.Stats(); st.Connections != 0 || st.PollingConnections != 0 {
		t.Fatalf("stats after close: %+v", st)
	}
}

// TestStatsUpgrade checks the polling count of a connection that moves to
// WebSocket, with the Go client (polling first, then the upgrade).
func TestStatsUpgrade(t *testing.T) {
	env := newTestEnv(t, nil)
	o := newRecObserver()
	env.srv.Observe(o)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, env.hs.URL+"/", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Manager().Close()
	o.expect(t, "open polling")
	o.expect(t, "upgrade")
	if st := env.srv.Stats(); st.Connections != 1 || st.PollingConnections != 0 {
		t.Fatalf("stats after the upgrade: %+v", st)
	}
	c.Manager().Close()
	o.expect(t, "close transport close")
	if st := env.srv.Stats(); st.Connections != 0 || st.PollingConnections != 0 {
		t.Fatalf("stats after close: %+v", st)
	}
}

// TestObserveMany checks that a second observer gets the events too.
func TestObserveMany(t *testing.T) {
	env := newTestEnv(t, nil)
	a, b := newRecObserver(), newRecObserver()
	env.srv.Observe(a)
	env.srv.Observe(b)
	a.expect(t, "nsp /")
	b.expect(t, "nsp /")
	c := env.dial()
	c.connect("/", "")
	a.expect(t, "connect / <nil>")
	b.expect(t, "connect / <nil>")
}
