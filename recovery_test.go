package socketio

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/parser"
)

// recoveryEnv is a server with connection state recovery whose connection
// handler hands out the sockets.
type recoveryEnv struct {
	*testEnv
	socks chan *Socket
	why   chan string // "<id> <reason>" per disconnection
}

func newRecoveryEnv(t *testing.T, opts *Options) *recoveryEnv {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	if opts.ConnectionStateRecovery == nil {
		opts.ConnectionStateRecovery = &ConnectionStateRecovery{}
	}
	env := &recoveryEnv{testEnv: newTestEnv(t, opts), socks: make(chan *Socket, 1024), why: make(chan string, 1024)}
	env.srv.OnConnection(func(s *Socket) {
		s.OnDisconnect(func(r DisconnectReason) { env.why <- s.ID() + " " + string(r) })
		env.socks <- s
	})
	return env
}

// connectPayload is the payload of a CONNECT reply.
type connectPayload struct {
	SID string `json:"sid"`
	PID string `json:"pid"`
}

// recoveryAuthJSON is a CONNECT payload asking to recover pid from offset
// (omitted when empty).
func recoveryAuthJSON(pid, offset string) string {
	m := map[string]string{"pid": pid}
	if offset != "" {
		m["offset"] = offset
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// connectRecover sends CONNECT with auth and returns the events that came
// before the CONNECT reply (missed ones), in text form, and the reply.
func (c *tclient) connectRecover(auth string) ([]string, connectPayload) {
	c.t.Helper()
	c.send("0" + auth)
	var before []string
	for {
		p := c.next()
		if p.Type == parser.Connect {
			var cp connectPayload
			if err := json.Unmarshal(p.Data, &cp); err != nil || cp.SID == "" {
				c.t.Fatalf("CONNECT payload %s", p.Data)
			}
			return before, cp
		}
		before = append(before, string(p.AppendText(nil)))
	}
}

// offsetOf returns the last argument of an EVENT packet in text form.
func offsetOf(t *testing.T, text string) string {
	t.Helper()
	i := strings.IndexByte(text, '[')
	elems, err := parser.SplitArray(nil, []byte(text[i:]))
	if err != nil || len(elems) < 2 {
		t.Fatalf("no offset in %s", text)
	}
	var off string
	if err := json.Unmarshal(elems[len(elems)-1], &off); err != nil {
		t.Fatalf("offset of %s: %v", text, err)
	}
	return off
}

// withoutOffset returns an EVENT's text form without its offset.
func withoutOffset(t *testing.T, text string) string {
	t.Helper()
	off := offsetOf(t, text)
	return strings.Replace(text, `,"`+off+`"]`, "]", 1)
}

func TestRecoveryWire(t *testing.T) {
	env := newRecoveryEnv(t, nil)
	c := env.dial()
	_, cp := c.connectRecover("")
	if len(cp.SID) != 20 || len(cp.PID) < 22 || cp.PID == cp.SID {
		t.Fatalf("CONNECT payload %+v: want a sid and a pid of at least 128 bits", cp)
	}
	s := recv(t, env.socks)
	if s.Recovered() {
		t.Fatal("first connection reported as recovered")
	}

	_ = s.Emit("direct", 1)
	direct := c.nextText()
	_ = env.srv.Emit("all", "x")
	all := c.nextText()
	if withoutOffset(t, direct) != `2["direct",1]` || withoutOffset(t, all) != `2["all","x"]` {
		t.Fatalf("stored events: %s %s", direct, all)
	}
	o1, o2 := offsetOf(t, direct), offsetOf(t, all)
	if o1 == o2 {
		t.Fatalf("two events with the offset %s", o1)
	}

	// Not stored, so without an offset: volatile, and asking for an ack.
	// A volatile event is dropped while the transport is busy: try until
	// one goes through, each followed by a stored marker.
	for sawVolatile := false; !sawVolatile; {
		_ = s.Volatile().Emit("v", 1)
		_ = s.Emit("marker")
		for got := c.nextText(); !strings.HasPrefix(got, `2["marker"`); got = c.nextText() {
			if got != `2["v",1]` {
				t.Fatalf("volatile: %s", got)
			}
			sawVolatile = true
		}
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = s.EmitWithAck(ctx, "q", 1)
	}()
	if got := c.nextText(); !strings.HasSuffix(got, `["q",1]`) || !strings.HasPrefix(got, "2") || got == `2["q",1]` {
		t.Fatalf("with ack: %s", got)
	}
	c.send("30[]")

	// Binary: the offset follows the placeholders; one attachment.
	_ = env.srv.To(s.ID()).Emit("bin", []byte{1, 2})
	p := c.next()
	text := string(p.AppendText(nil))
	if !strings.HasPrefix(text, `51-["bin",{"_placeholder":true,"num":0},"`) || len(p.Attachments) != 1 || string(p.Attachments[0]) != "\x01\x02" {
		t.Fatalf("binary: %s %v", text, p.Attachments)
	}
}

// TestRecoveryRestoresSession cuts a client, emits what it must and must not
// miss, and checks that it gets its socket back with exactly what it missed,
// in order, before the CONNECT reply, over WebSocket and long-polling.
func TestRecoveryRestoresSession(t *testing.T) {
	for _, transport := range []string{"websocket", "polling"} {
		t.Run(transport, func(t *testing.T) {
			env := newRecoveryEnv(t, nil)
			var (
				sid, pid, off0 string
				drop           func()
			)
			if transport == "websocket" {
				c := env.dial()
				_, cp := c.connectRecover("")
				sid, pid = cp.SID, cp.PID
				s := recv(t, env.socks)
				s.Join("room")
				s.SetData("data")
				_ = env.srv.Emit("e", 0)
				off0 = offsetOf(t, c.nextText())
				drop = func() { _ = c.ws.CloseNow() }
			} else {
				c := env.dialPolling()
				c.post(`40`)
				pkts := c.decode(c.get())
				var cp connectPayload
				_ = json.Unmarshal(pkts[0].Data, &cp)
				sid, pid = cp.SID, cp.PID
				s := recv(t, env.socks)
				s.Join("room")
				s.SetData("data")
				_ = env.srv.Emit("e", 0)
				pkts = c.decode(c.get())
				off0 = offsetOf(t, string(pkts[0].AppendText(nil)))
				drop = func() { c.post("1") } // the client closes
			}
			old := env.srv.Of("/").Socket(sid)
			drop()
			if got := recv(t, env.why); got != sid+" transport close" {
				t.Fatalf("disconnect: %s", got)
			}

			// While the client is away.
			_ = env.srv.Emit("e", 1)
			_ = env.srv.To("room").Emit("e", 2)
			_ = env.srv.To("elsewhere").Emit("not for it")
			_ = env.srv.To(sid).Emit("e", 3)
			if err := old.Emit("e", 4); err != nil { // its session is kept: stored
				t.Fatalf("Emit on a socket whose session is kept: %v", err)
			}
			_ = env.srv.Volatile().Emit("volatile")
			_ = env.srv.Except("room").Emit("not for it")

			var missed []string
			var cp connectPayload
			var live func() string
			if transport == "websocket" {
				c := env.dial()
				missed, cp = c.connectRecover(recoveryAuthJSON(pid, off0))
				live = c.nextText
			} else {
				c := env.dialPolling()
				c.post("40" + recoveryAuthJSON(pid, off0))
				var pkts []*parser.Packet
				for len(pkts) == 0 || pkts[len(pkts)-1].Type != parser.Connect {
					pkts = append(pkts, c.decode(c.get())...)
				}
				for _, p := range pkts[:len(pkts)-1] {
					missed = append(missed, string(p.AppendText(nil)))
				}
				_ = json.Unmarshal(pkts[len(pkts)-1].Data, &cp)
				live = func() string { return string(c.decode(c.get())[0].AppendText(nil)) }
			}
			if cp.SID != sid || cp.PID != pid {
				t.Fatalf("CONNECT %+v, want sid %s pid %s", cp, sid, pid)
			}
			var got []string
			for _, m := range missed {
				got = append(got, withoutOffset(t, m))
			}
			want := []string{`2["e",1]`, `2["e",2]`, `2["e",3]`, `2["e",4]`}
			if !slices.Equal(got, want) {
				t.Fatalf("missed:\n%v\nwant\n%v", got, want)
			}
			s := recv(t, env.socks)
			if !s.Recovered() || s.ID() != sid || s.Data() != "data" {
				t.Fatalf("recovered %v id %s data %v", s.Recovered(), s.ID(), s.Data())
			}
			if rooms := s.Rooms(); !slices.Contains(rooms, "room") || !slices.Contains(rooms, sid) {
				t.Fatalf("rooms %v", rooms)
			}
			_ = env.srv.To("room").Emit("e", 5)
			if got := withoutOffset(t, live()); got != `2["e",5]` {
				t.Fatalf("after the recovery: %s", got)
			}
		})
	}
}

// TestRecoveryRefused checks that a recovery that cannot be done gives a new
// session, never another's state, and leaves the real session recoverable.
func TestRecoveryRefused(t *testing.T) {
	env := newRecoveryEnv(t, &Options{ConnectionStateRecovery: &ConnectionStateRecovery{MaxDisconnectionDuration: time.Minute}})
	c := env.dial()
	_, cp := c.connectRecover("")
	recv(t, env.socks)
	_ = env.srv.Emit("e", 0)
	off := offsetOf(t, c.nextText())
	_ = c.ws.CloseNow()
	recv(t, env.why)
	_ = env.srv.Emit("e", 1)

	other := newRecoveryEnv(t, nil) // another server's offset, well formed
	oc := other.dial()
	oc.connectRecover("")
	recv(t, other.socks)
	_ = other.srv.Emit("e")
	foreign := offsetOf(t, oc.nextText())

	for name, auth := range map[string]string{
		"unknown pid":          recoveryAuthJSON("AAAAAAAAAAAAAAAAAAAAAAAA", off),
		"pid of a sid":         recoveryAuthJSON(cp.SID, off),
		"offset never issued":  recoveryAuthJSON(cp.PID, "nope"),
		"another server's":     recoveryAuthJSON(cp.PID, foreign),
		"offset not yet given": recoveryAuthJSON(cp.PID, off[:strings.IndexByte(off, '.')+1]+"zzzzzz"),
		"pid not a string":     `{"pid":1,"offset":"` + off + `"}`,
		"offset not a string":  `{"pid":"` + cp.PID + `","offset":1}`,
	} {
		t.Run(name, func(t *testing.T) {
			c := env.dial()
			missed, got := c.connectRecover(auth)
			if len(missed) > 0 || got.SID == cp.SID || got.PID == cp.PID || got.PID == "" {
				t.Fatalf("missed %v, CONNECT %+v (the session's: %+v)", missed, got, cp)
			}
			if s := recv(t, env.socks); s.Recovered() {
				t.Fatal("Recovered")
			}
			_ = c.ws.CloseNow()
			recv(t, env.why)
		})
	}
	// None of them consumed the session.
	c = env.dial()
	missed, got := c.connectRecover(recoveryAuthJSON(cp.PID, off))
	if got.SID != cp.SID || len(missed) != 1 || withoutOffset(t, missed[0]) != `2["e",1]` {
		t.Fatalf("missed %v, CONNECT %+v", missed, got)
	}
	if s := recv(t, env.socks); !s.Recovered() {
		t.Fatal("not recovered")
	}
}

func TestRecoveryExpires(t *testing.T) {
	const d = 50 * time.Millisecond
	env := newRecoveryEnv(t, &Options{ConnectionStateRecovery: &ConnectionStateRecovery{MaxDisconnectionDuration: d}})
	c := env.dial()
	_, cp := c.connectRecover("")
	recv(t, env.socks)
	_ = c.ws.CloseNow()
	recv(t, env.why)
	time.Sleep(2 * d) // the session's lifetime is what is tested
	c = env.dial()
	if _, got := c.connectRecover(recoveryAuthJSON(cp.PID, "")); got.SID == cp.SID {
		t.Fatal("recovered after MaxDisconnectionDuration")
	}
}

// TestRecoveryWithoutOffset: a client that received no event before the
// drop sends no offset; it missed everything since it connected.
func TestRecoveryWithoutOffset(t *testing.T) {
	env := newRecoveryEnv(t, nil)
	_ = env.srv.Emit("before")
	c := env.dial()
	_, cp := c.connectRecover("")
	recv(t, env.socks)
	_ = c.ws.CloseNow()
	recv(t, env.why)
	_ = env.srv.Emit("e", 1)
	c = env.dial()
	missed, got := c.connectRecover(recoveryAuthJSON(cp.PID, ""))
	if got.SID != cp.SID || len(missed) != 1 || withoutOffset(t, missed[0]) != `2["e",1]` {
		t.Fatalf("missed %v, CONNECT %+v", missed, got)
	}
}

// TestRecoveryTakesOverHalfOpen: the server still holds the client's old
// connection, which no longer reaches the client (half-open), when the
// client comes back with a recovery handshake: the new connection takes the
// session over at once, the old one is closed with "transport replaced",
// and what was sent to the old one after the client's offset is replayed,
// once.
func TestRecoveryTakesOverHalfOpen(t *testing.T) {
	env := newRecoveryEnv(t, nil)
	p := newProxy(t, env.testEnv)
	old := env.dialVia(t, p)
	_, cp := old.connectRecover("")
	recv(t, env.socks)
	_ = env.srv.Emit("e", 0)
	off := offsetOf(t, old.nextText())
	p.Stall() // half-open: the server's writes go nowhere, nothing closes
	_ = env.srv.Emit("e", 1)
	_ = env.srv.Emit("e", 2)

	c := env.dial()
	missed, got := c.connectRecover(recoveryAuthJSON(cp.PID, off))
	if got.SID != cp.SID || got.PID != cp.PID {
		t.Fatalf("CONNECT %+v, want %+v", got, cp)
	}
	if why := recv(t, env.why); why != cp.SID+" transport replaced" {
		t.Fatalf("old socket: %s", why)
	}
	var texts []string
	for _, m := range missed {
		texts = append(texts, withoutOffset(t, m))
	}
	if !slices.Equal(texts, []string{`2["e",1]`, `2["e",2]`}) {
		t.Fatalf("missed %v", texts)
	}
	if s := recv(t, env.socks); !s.Recovered() {
		t.Fatal("not recovered")
	}
	_ = env.srv.Emit("e", 3)
	if got := withoutOffset(t, c.nextText()); got != `2["e",3]` {
		t.Fatalf("live: %s", got)
	}
	p.Resume()
	old.waitClosed() // the server closed the old connection
}

func TestRecoveryMiddlewares(t *testing.T) {
	for _, run := range []bool{false, true} {
		t.Run(fmt.Sprint("RunMiddlewares=", run), func(t *testing.T) {
			env := newRecoveryEnv(t, &Options{ConnectionStateRecovery: &ConnectionStateRecovery{RunMiddlewares: run}})
			var (
				mu     sync.Mutex
				seen   []string // "<id> <recovered>" per middleware run
				refuse bool
			)
			env.srv.Use(func(_ context.Context, s *Socket) error {
				mu.Lock()
				defer mu.Unlock()
				seen = append(seen, fmt.Sprint(s.ID(), " ", s.Recovered()))
				if refuse {
					return &ConnectError{Message: "no"}
				}
				return nil
			})
			c := env.dial()
			_, cp := c.connectRecover("")
			recv(t, env.socks)
			_ = c.ws.CloseNow()
			recv(t, env.why)
			if run {
				// Refused: the session stays for a later attempt.
				mu.Lock()
				refuse = true
				mu.Unlock()
				c = env.dial()
				c.send("0" + recoveryAuthJSON(cp.PID, ""))
				if p := c.next(); p.Type != parser.ConnectError {
					t.Fatalf("got %s, want CONNECT_ERROR", p.AppendText(nil))
				}
				mu.Lock()
				refuse = false
				mu.Unlock()
			}
			c = env.dial()
			if _, got := c.connectRecover(recoveryAuthJSON(cp.PID, "")); got.SID != cp.SID {
				t.Fatalf("not recovered: %+v", got)
			}
			recv(t, env.socks)
			mu.Lock()
			defer mu.Unlock()
			want := []string{cp.SID + " false"}
			if run {
				want = append(want, cp.SID+" true", cp.SID+" true")
			}
			if !slices.Equal(seen, want) {
				t.Fatalf("middleware runs %v, want %v", seen, want)
			}
		})
	}
}

// TestRecoveryDisconnectHandlersFirst: the disconnect handlers of the old
// socket run before the recovered socket's connection handlers.
func TestRecoveryDisconnectHandlersFirst(t *testing.T) {
	env := newTestEnv(t, &Options{ConnectionStateRecovery: &ConnectionStateRecovery{}})
	var (
		mu    sync.Mutex
		order []string
	)
	release := make(chan struct{})
	connected := make(chan bool, 2)
	env.srv.OnConnection(func(s *Socket) {
		mu.Lock()
		order = append(order, fmt.Sprint("connection recovered=", s.Recovered()))
		mu.Unlock()
		s.OnDisconnect(func(DisconnectReason) {
			<-release
			mu.Lock()
			order = append(order, "disconnect")
			mu.Unlock()
		})
		connected <- s.Recovered()
	})
	c := env.dial()
	_, cp := c.connectRecover("")
	recv(t, connected)
	_ = c.ws.CloseNow()
	c = env.dial()
	c.send("0" + recoveryAuthJSON(cp.PID, ""))
	select {
	case <-connected:
		t.Fatal("recovered socket connected while the old one's disconnect handler runs")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if !recv(t, connected) {
		t.Fatal("not recovered")
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"connection recovered=false", "disconnect", "connection recovered=true"}; !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
}

// TestRecoveryRetryDedup: with RetryDedup, a retry sent after the recovery
// is answered with the first try's answer, and the handler runs once.
func TestRecoveryRetryDedup(t *testing.T) {
	env := newTestEnv(t, &Options{ConnectionStateRecovery: &ConnectionStateRecovery{}, RetryDedup: &RetryDedupOptions{}})
	var runs sync.WaitGroup
	runs.Add(1)
	count := 0
	release := make(chan struct{})
	env.srv.OnConnection(func(s *Socket) {
		s.On("job", func(e *Event) {
			count++
			runs.Done()
			<-release
			_ = e.Ack("done")
		})
	})
	c := env.dial()
	_, cp := c.connectRecover("")
	c.send(`21["job",1]`)
	runs.Wait() // the first try is being handled
	_ = c.ws.CloseNow()
	c = env.dial()
	if _, got := c.connectRecover(recoveryAuthJSON(cp.PID, "")); got.SID != cp.SID {
		t.Fatalf("not recovered: %+v", got)
	}
	c.send(`27["job",1]`) // the client's retry, after the reconnection
	close(release)
	if got := c.nextText(); got != `37["done"]` {
		t.Fatalf("got %s, want the first try's answer to the retry", got)
	}
	c.send(`28["job",1]`)
	if got := c.nextText(); got != `38["done"]` {
		t.Fatalf("got %s", got)
	}
	if count != 1 {
		t.Fatalf("handler ran %d times", count)
	}
}

// TestRecoveryBacklog: more missed events than the write queue holds are
// all delivered.
func TestRecoveryBacklog(t *testing.T) {
	env := newRecoveryEnv(t, &Options{WriteQueueSize: 16})
	c := env.dial()
	_, cp := c.connectRecover("")
	recv(t, env.socks)
	_ = c.ws.CloseNow()
	recv(t, env.why)
	const n = 200
	for i := range n {
		_ = env.srv.Emit("e", i)
	}
	c = env.dial()
	missed, got := c.connectRecover(recoveryAuthJSON(cp.PID, ""))
	if got.SID != cp.SID || len(missed) != n {
		t.Fatalf("%d missed, CONNECT %+v", len(missed), got)
	}
	for i, m := range missed {
		if withoutOffset(t, m) != `2["e",`+strconv.Itoa(i)+`]` {
			t.Fatalf("missed[%d] = %s", i, m)
		}
	}
}

// TestRecoveryExactlyOnce cuts a client many times while a broadcaster
// sends sequenced events, over WebSocket: by close, by reset, and half-open
// (the old connection is left hanging, the server does not know). Every
// event must arrive once, in order.
func TestRecoveryExactlyOnce(t *testing.T) {
	env := newRecoveryEnv(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	sent := make(chan int, 1)
	go func() {
		defer wg.Done()
		i := 0
		for ctx.Err() == nil {
			_ = env.srv.Emit("seq", i)
			i++
			if i%50 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		sent <- i
	}()
	next, offset := -1, "" // the next sequence number expected, the last offset
	take := func(text string) {
		if !strings.HasPrefix(text, `2["seq",`) {
			t.Fatalf("unexpected %s", text)
		}
		var n int
		_, _ = fmt.Sscanf(text, `2["seq",%d`, &n)
		if next < 0 {
			next = n // the first event after the connection
		}
		if n != next {
			t.Fatalf("got seq %d, want %d", n, next)
		}
		next++
		offset = offsetOf(t, text)
	}
	p := newProxy(t, env.testEnv)
	c := env.dialVia(t, p)
	_, cp := c.connectRecover("")
	for round := range 30 {
		for want := next + 50; next < want; {
			take(c.nextText())
		}
		switch round % 3 {
		case 0:
			_ = c.ws.CloseNow()
		case 1:
			p.Reset()
		case 2:
			p.Stall() // half-open: the old connection hangs, the server does not know
		}
		p = newProxy(t, env.testEnv)
		c = env.dialVia(t, p)
		missed, got := c.connectRecover(recoveryAuthJSON(cp.PID, offset))
		if got.SID != cp.SID {
			t.Fatalf("round %d: not recovered", round)
		}
		for _, m := range missed {
			take(m)
		}
	}
	cancel()
	wg.Wait()
	for total := <-sent; next < total; {
		take(c.nextText())
	}
}

// TestRecoveryRacesClose: clients reset their connections again and again,
// reconnecting at once, so that recoveries race with the server's close of
// the old connection (noticed a moment before, or after). Every
// reconnection must recover its session, rooms included: a middleware puts
// every new socket in room "r". Either the client resets once the
// connection handler ran, or as soon as it is connected.
func TestRecoveryRacesClose(t *testing.T) {
	for _, atConnect := range []bool{false, true} {
		t.Run(fmt.Sprint("at-connect=", atConnect), func(t *testing.T) {
			env := newTestEnv(t, &Options{ConnectionStateRecovery: &ConnectionStateRecovery{}})
			env.srv.Use(func(_ context.Context, s *Socket) error {
				s.Join("r")
				return nil
			})
			var mu sync.Mutex
			var recovered, notRecovered, roomsLost int
			env.srv.OnConnection(func(s *Socket) {
				_, asked := s.Handshake().Auth["pid"]
				before := s.Connected()
				rooms := s.Rooms()
				live := before && s.Connected()
				mu.Lock()
				switch {
				case s.Recovered() && live && !slices.Contains(rooms, "r"):
					roomsLost++
				case s.Recovered():
					recovered++
				case asked:
					notRecovered++
				}
				mu.Unlock()
				s.Join("r")
				_ = s.Emit("joined")
			})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			for range 10 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resetLoop(ctx, t, env.hs.URL, atConnect)
				}()
			}
			wg.Wait()
			mu.Lock()
			defer mu.Unlock()
			t.Logf("recovered %d, not recovered %d, recovered without their rooms %d", recovered, notRecovered, roomsLost)
			if notRecovered > 0 || roomsLost > 0 || recovered == 0 {
				t.Fatal("recovery lost sessions or rooms")
			}
		})
	}
}

// resetLoop runs a client that resets its connection whenever it gets
// connected (atConnect) or its "joined" event, until ctx ends.
func resetLoop(ctx context.Context, t *testing.T, url string, atConnect bool) {
	var mu sync.Mutex
	var conns []net.Conn
	m, err := client.NewManager(url, &client.Options{
		Transports: []string{client.TransportWebSocket},
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
			return c, err
		},
		ReconnectionDelay: time.Millisecond, ReconnectionDelayMax: time.Millisecond, RandomizationFactor: -1,
	})
	if err != nil {
		t.Error(err)
		return
	}
	defer m.Close()
	s := m.Socket("/", nil)
	ready := make(chan struct{}, 1)
	signal := func() {
		select {
		case ready <- struct{}{}:
		default:
		}
	}
	if atConnect {
		s.OnConnect(signal)
	} else {
		s.On("joined", func(*client.Event) { signal() })
	}
	if err := s.Connect(ctx); err != nil {
		t.Error(err)
		return
	}
	for {
		select {
		case <-ready:
		case <-ctx.Done():
			return
		}
		mu.Lock()
		cs := conns
		conns = nil
		mu.Unlock()
		for _, c := range cs {
			_ = c.(*net.TCPConn).SetLinger(0)
			_ = c.Close()
		}
	}
}

// gatedDelAll holds one DelAll (the old socket leaving its rooms as it
// closes) until released.
type gatedDelAll struct {
	*adapter.SessionAware
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (g *gatedDelAll) DelAll(id adapter.SocketID) {
	if g.armed.CompareAndSwap(true, false) {
		g.entered <- struct{}{}
		<-g.release
	}
	g.SessionAware.DelAll(id)
}

// TestRecoveryWhileOldSocketLeavesRooms: a client recovers its session
// while the server is still taking the old socket out of its rooms. The
// recovered socket (same id) must end up in the rooms: the session is kept
// only once the old socket left them, and the recovery waits for it.
func TestRecoveryWhileOldSocketLeavesRooms(t *testing.T) {
	g := &gatedDelAll{entered: make(chan struct{}, 1), release: make(chan struct{})}
	opts := &Options{ConnectionStateRecovery: &ConnectionStateRecovery{}}
	opts.Adapter = func(nsp adapter.Namespace) adapter.Adapter {
		g.SessionAware = adapter.NewSessionAwareAdapter(nsp, adapter.SessionOptions{})
		return g
	}
	env := newTestEnv(t, opts)
	env.srv.Use(func(_ context.Context, s *Socket) error {
		s.Join("r")
		return nil
	})
	c := env.dial()
	_, cp := c.connectRecover("")
	g.armed.Store(true)
	_ = c.ws.CloseNow()
	recv(t, g.entered) // the old socket is leaving its rooms
	got := make(chan connectPayload, 1)
	go func() {
		c2 := env.dial()
		_, p := c2.connectRecover(recoveryAuthJSON(cp.PID, ""))
		got <- p
	}()
	// Let the recovery handshake arrive while the old socket is stuck
	// (whether it waits, or wrongly goes ahead, does not depend on this).
	time.Sleep(50 * time.Millisecond)
	close(g.release)
	if p := recv(t, got); p.SID != cp.SID {
		t.Fatalf("not recovered: %+v", p)
	}
	s := env.srv.Of("/").Socket(cp.SID)
	if s == nil || !slices.Contains(s.Rooms(), "r") {
		t.Fatalf("recovered socket %v without its room", s)
	}
}
