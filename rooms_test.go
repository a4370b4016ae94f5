package socketio

import (
	"bytes"
	"context"
	"errors"
	"iter"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/websocket"
	"github.com/socketio-go/socketio/parser"
)

// roomsEnv is a server whose "/" and "/custom" namespaces hand every
// connected socket to the test.
type roomsEnv struct {
	*testEnv
	socks chan *Socket
}

func newRoomsEnv(t *testing.T, opts *Options) *roomsEnv {
	t.Helper()
	env := &roomsEnv{testEnv: newTestEnv(t, opts), socks: make(chan *Socket, 16)}
	env.srv.OnConnection(func(s *Socket) { env.socks <- s })
	env.srv.Of("/custom").OnConnection(func(s *Socket) { env.socks <- s })
	return env
}

// join opens a WebSocket connection and joins nsp on it.
func (env *roomsEnv) join(nsp, auth string) (*tclient, *Socket) {
	env.t.Helper()
	c := env.dial()
	return c, env.joinOn(c, nsp, auth)
}

// joinOn joins nsp on an existing connection.
func (env *roomsEnv) joinOn(c *tclient, nsp, auth string) *Socket {
	env.t.Helper()
	id := c.connect(nsp, auth)
	s := recv(env.t, env.socks)
	if s.ID() != id {
		env.t.Fatalf("socket %s, want %s", s.ID(), id)
	}
	return s
}

// upTo returns the packets (text form) the client receives before a
// marker emitted now to s: what a broadcast that already returned queued
// for it.
func upTo(t *testing.T, c *tclient, s *Socket) []string {
	t.Helper()
	if err := s.Emit("end"); err != nil {
		t.Fatalf("emit end: %v", err)
	}
	marker := string((&parser.Packet{Type: parser.Event, Namespace: s.nsp.name, ID: parser.NoID, Data: []byte(`["end"]`)}).AppendText(nil))
	var got []string
	for {
		p := c.nextText()
		if p == marker {
			return got
		}
		got = append(got, p)
	}
}

// nextRaw returns the next Engine.IO frame as it is, answering pings.
func (c *tclient) nextRaw() (string, error) {
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			return "", err
		}
		if typ == websocket.TextMessage && string(data) == "2" {
			_ = c.ws.WriteMessage(websocket.TextMessage, []byte("3"))
			continue
		}
		return string(data), nil
	}
}

func sortedRooms(rooms ...string) []string {
	return slices.Sorted(slices.Values(rooms))
}

func TestRoomsJoinLeave(t *testing.T) {
	env := newRoomsEnv(t, nil)
	c, s := env.join("/", "")
	if got := s.Rooms(); !slices.Equal(got, []string{s.ID()}) {
		t.Fatalf("initial rooms %v, want only its own", got)
	}
	s.Join("b", "a")
	s.Join("a")                                                                       // twice: no-op
	if got, want := s.Rooms(), []string{s.ID(), "b", "a"}; !slices.Equal(got, want) { // own first, then join order
		t.Fatalf("rooms %v, want %v", got, want)
	}
	s.Leave("a")
	s.Leave("never-joined")
	if got, want := sortedRooms(s.Rooms()...), sortedRooms("b", s.ID()); !slices.Equal(got, want) {
		t.Fatalf("rooms after Leave %v, want %v", got, want)
	}
	if got, want := env.srv.Of("/").Adapter().Rooms(), sortedRooms("b", s.ID()); !slices.Equal(got, want) {
		t.Fatalf("adapter rooms %v, want %v", got, want)
	}

	type seen struct {
		what  string
		rooms []string
	}
	events := make(chan seen, 2)
	s.OnDisconnecting(func(r DisconnectReason) { events <- seen{"disconnecting", s.Rooms()} })
	s.OnDisconnect(func(r DisconnectReason) { events <- seen{"disconnect", s.Rooms()} })
	c.send("1")
	for _, what := range []string{"disconnecting", "disconnect"} {
		ev := recv(t, events)
		if ev.what != what || !slices.Equal(ev.rooms, []string{s.ID(), "b"}) {
			t.Fatalf("%s: rooms %v", ev.what, ev.rooms)
		}
	}
	// Nothing of the socket is left in the namespace.
	nsp := env.srv.Of("/")
	if rooms := nsp.Adapter().Rooms(); len(rooms) != 0 {
		t.Fatalf("adapter rooms after disconnect %v", rooms)
	}
	if ids := nsp.Adapter().Sockets(nil); len(ids) != 0 {
		t.Fatalf("adapter sockets after disconnect %v", ids)
	}
	if nsp.Socket(s.ID()) != nil || len(nsp.Sockets()) != 0 {
		t.Fatal("socket still registered in the namespace")
	}
	// Join after the disconnection does nothing.
	s.Join("late")
	if rooms := nsp.Adapter().Rooms(); len(rooms) != 0 {
		t.Fatalf("adapter rooms after a late Join %v", rooms)
	}
}

func TestBroadcastSelection(t *testing.T) {
	env := newRoomsEnv(t, nil)
	// A: r1; B: r1, r2; C: r2; D: none.
	names := []string{"A", "B", "C", "D"}
	clients := make([]*tclient, 4)
	socks := make([]*Socket, 4)
	for i := range names {
		clients[i], socks[i] = env.join("/", "")
	}
	A, B, C := socks[0], socks[1], socks[2]
	A.Join("r1")
	B.Join("r1", "r2")
	C.Join("r2")
	srv := env.srv

	tests := []struct {
		name string
		op   *BroadcastOperator
		want string // the sockets reached
	}{
		{"server To", srv.To("r1"), "AB"},
		{"server In", srv.In("r2"), "BC"},
		{"namespace To", srv.Of("/").To("r2"), "BC"},
		{"socket To excludes the sender", A.To("r1"), "B"},
		{"socket In excludes the sender", B.In("r2"), "C"},
		{"To two rooms reaches each socket once", srv.To("r1", "r2"), "ABC"},
		{"To chained", srv.To("r1").To("r2"), "ABC"},
		{"socket To two rooms", B.To("r1", "r2"), "AC"},
		{"Except", srv.Except("r2"), "AD"},
		{"To Except", srv.To("r1").Except("r2"), "A"},
		{"Except two rooms", srv.Except("r1", "r2"), "D"},
		{"socket Broadcast", A.Broadcast(), "BCD"},
		{"socket Except", A.Except("r2"), "D"},
		{"socket Local", D(socks).Local(), "ABC"},
		{"To a socket id", srv.To(C.ID()), "C"},
		{"To an unknown room", srv.To("nobody"), ""},
		{"everyone", srv.Of("/").operator(), "ABCD"},
		{"server Local", srv.Local().To("r1"), "AB"},
		{"Compress is only a flag", srv.Of("/").Compress(true).To("r2"), "BC"},
	}
	for i, tt := range tests {
		if err := tt.op.Emit("x", i); err != nil {
			t.Fatalf("%s: Emit: %v", tt.name, err)
		}
		want := `2["x",` + strconv.Itoa(i) + `]`
		var reached string
		for j, c := range clients {
			got := upTo(t, c, socks[j])
			switch {
			case len(got) == 0:
			case len(got) == 1 && got[0] == want:
				reached += names[j]
			default:
				t.Errorf("%s: %s received %q, want at most one %s", tt.name, names[j], got, want)
			}
		}
		if reached != tt.want {
			t.Errorf("%s: reached %q, want %q", tt.name, reached, tt.want)
		}
	}
	// Server.Emit is the namespace-wide broadcast.
	if err := srv.Emit("all"); err != nil {
		t.Fatal(err)
	}
	for j, c := range clients {
		if got := upTo(t, c, socks[j]); !slices.Equal(got, []string{`2["all"]`}) {
			t.Errorf("%s: %q", names[j], got)
		}
	}
	if err := srv.To("r1").Emit("connect"); !errors.Is(err, ErrReservedEvent) {
		t.Fatalf("reserved event: %v", err)
	}
}

// D returns the fourth socket (readability of the table above).
func D(socks []*Socket) *Socket { return socks[3] }

// TestBroadcastNamespaceIsolation: a broadcast on "/" does not reach the
// "/custom" socket of the same connection, and the other way round.
func TestBroadcastNamespaceIsolation(t *testing.T) {
	env := newRoomsEnv(t, nil)
	c1, main1 := env.join("/", "")
	custom1 := env.joinOn(c1, "/custom", "")
	c2, custom2 := env.join("/custom", "")
	// The same room name in both namespaces.
	main1.Join("room")
	custom1.Join("room")
	custom2.Join("room")

	if err := env.srv.To("room").Emit("main-only"); err != nil {
		t.Fatal(err)
	}
	if err := env.srv.Emit("main-all"); err != nil {
		t.Fatal(err)
	}
	if got := upTo(t, c1, main1); !slices.Equal(got, []string{`2["main-only"]`, `2["main-all"]`}) {
		t.Fatalf("c1: %q", got)
	}
	if got := upTo(t, c2, custom2); len(got) != 0 {
		t.Fatalf("c2 on /custom got %q", got)
	}

	if err := env.srv.Of("/custom").To("room").Emit("custom", 1); err != nil {
		t.Fatal(err)
	}
	if err := custom1.Broadcast().Emit("from-custom1"); err != nil {
		t.Fatal(err)
	}
	// upTo returns what the connection received, whatever the namespace.
	if got := upTo(t, c1, custom1); !slices.Equal(got, []string{`2/custom,["custom",1]`}) {
		t.Fatalf("c1: %q", got)
	}
	if got := upTo(t, c2, custom2); !slices.Equal(got, []string{`2/custom,["custom",1]`, `2/custom,["from-custom1"]`}) {
		t.Fatalf("c2 on /custom: %q", got)
	}
	if got := env.srv.Of("/custom").Adapter().Sockets([]string{"room"}); len(got) != 2 {
		t.Fatalf("/custom room members %v", got)
	}
	if got := env.srv.Of("/").Adapter().Sockets([]string{"room"}); !slices.Equal(got, []string{main1.ID()}) {
		t.Fatalf("/ room members %v", got)
	}
}

func TestFetchSockets(t *testing.T) {
	env := newRoomsEnv(t, nil)
	_, a := env.join("/", `{"token":"ta"}`)
	cb, b := env.join("/", `{"token":"tb"}`)
	_, c := env.join("/", "")
	a.Join("room")
	b.Join("room", "other")
	type info struct{ Level int }
	a.SetData(info{Level: 3})
	b.SetData("bee")

	ctx := context.Background()
	remotes, err := env.srv.In("room").FetchSockets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*RemoteSocket{}
	for _, r := range remotes {
		byID[r.ID()] = r
	}
	if len(remotes) != 2 || byID[a.ID()] == nil || byID[b.ID()] == nil {
		t.Fatalf("fetched %d sockets %v", len(remotes), byID)
	}
	ra, rb := byID[a.ID()], byID[b.ID()]
	if got, want := ra.Rooms(), []string{a.ID(), "room"}; !slices.Equal(got, want) {
		t.Errorf("a rooms %v, want %v", got, want)
	}
	if got, want := rb.Rooms(), []string{b.ID(), "room", "other"}; !slices.Equal(got, want) {
		t.Errorf("b rooms %v, want %v", got, want)
	}
	if d, ok := ra.Data().(info); !ok || d.Level != 3 {
		t.Errorf("a data %#v", ra.Data())
	}
	if rb.Data() != "bee" {
		t.Errorf("b data %#v", rb.Data())
	}
	h := ra.Handshake()
	if h.Auth["token"] != "ta" || string(h.RawAuth) != `{"token":"ta"}` || h.Query.Get("EIO") != "4" ||
		h.Query.Get("transport") != "websocket" || h.Address != "127.0.0.1" || h.Secure || h.XDomain || h.Time.IsZero() {
		t.Errorf("handshake %+v", h)
	}
	if all, err := env.srv.FetchSockets(ctx); err != nil || len(all) != 3 {
		t.Fatalf("all sockets: %d %v", len(all), err)
	}
	if ex, err := env.srv.Except("other").FetchSockets(ctx); err != nil || len(ex) != 2 {
		t.Fatalf("except other: %d %v", len(ex), err)
	}
	if none, err := env.srv.In("nobody").FetchSockets(ctx); err != nil || len(none) != 0 {
		t.Fatalf("unknown room: %v %v", none, err)
	}
	// The rooms are a snapshot.
	a.Join("later")
	if slices.Contains(ra.Rooms(), "later") {
		t.Error("RemoteSocket rooms changed after the fetch")
	}

	// RemoteSocket acts on the live socket.
	if err := rb.Emit("hello", 1); err != nil {
		t.Fatal(err)
	}
	if got := cb.nextText(); got != `2["hello",1]` {
		t.Fatalf("remote emit: %s", got)
	}
	if err := rb.Join("joined"); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(b.Rooms(), "joined") {
		t.Fatalf("remote join: %v", b.Rooms())
	}
	if err := rb.Leave("joined", "other"); err != nil {
		t.Fatal(err)
	}
	if got, want := sortedRooms(b.Rooms()...), sortedRooms("room", b.ID()); !slices.Equal(got, want) {
		t.Fatalf("remote leave: %v, want %v", got, want)
	}
	reason := make(chan DisconnectReason, 1)
	b.OnDisconnect(func(r DisconnectReason) { reason <- r })
	if err := rb.Disconnect(false); err != nil {
		t.Fatal(err)
	}
	if raw, err := cb.nextRaw(); err != nil || raw != "41" {
		t.Fatalf("remote disconnect: %q %v", raw, err)
	}
	if r := recv(t, reason); r != ReasonServerNamespaceDisconnect {
		t.Fatalf("reason %q", r)
	}
	if left, _ := env.srv.FetchSockets(ctx); len(left) != 2 || c.Rooms() == nil {
		t.Fatalf("after disconnect: %d sockets", len(left))
	}
}

func TestSocketsJoinLeaveDisconnect(t *testing.T) {
	env := newRoomsEnv(t, nil)
	reasons := make(chan string, 8)
	track := func(name string, s *Socket) {
		s.OnDisconnect(func(r DisconnectReason) { reasons <- name + ":" + string(r) })
	}
	ca, a := env.join("/", "")
	cb, b := env.join("/", "")
	cc, c := env.join("/", "")
	cCustom := env.joinOn(cc, "/custom", "")
	cd, d := env.join("/", "")
	dCustom := env.joinOn(cd, "/custom", "")
	for name, s := range map[string]*Socket{"a": a, "b": b, "c": c, "c/custom": cCustom, "d": d, "d/custom": dCustom} {
		track(name, s)
	}
	a.Join("g")
	b.Join("g")

	if err := env.srv.In("g").SocketsJoin("h", "i"); err != nil {
		t.Fatal(err)
	}
	if err := env.srv.Except("g").SocketsJoin("outside"); err != nil {
		t.Fatal(err)
	}
	if got, want := sortedRooms(a.Rooms()...), sortedRooms("g", "h", "i", a.ID()); !slices.Equal(got, want) {
		t.Fatalf("a rooms %v, want %v", got, want)
	}
	if got, want := sortedRooms(c.Rooms()...), sortedRooms("outside", c.ID()); !slices.Equal(got, want) {
		t.Fatalf("c rooms %v, want %v", got, want)
	}
	if got := cCustom.Rooms(); !slices.Equal(got, []string{cCustom.ID()}) {
		t.Fatalf("SocketsJoin on / changed a /custom socket: %v", got)
	}
	if err := env.srv.In("h").SocketsLeave("g", "i"); err != nil {
		t.Fatal(err)
	}
	if got, want := sortedRooms(b.Rooms()...), sortedRooms("h", b.ID()); !slices.Equal(got, want) {
		t.Fatalf("b rooms %v, want %v", got, want)
	}
	if got := env.srv.Of("/").Adapter().Sockets([]string{"g"}); len(got) != 0 {
		t.Fatalf("room g still has %v", got)
	}

	// Namespace disconnect: "41" each, the connections stay open.
	if err := env.srv.In("h").DisconnectSockets(false); err != nil {
		t.Fatal(err)
	}
	for _, cl := range []*tclient{ca, cb} {
		if raw, err := cl.nextRaw(); err != nil || raw != "41" {
			t.Fatalf("DisconnectSockets(false): %q %v", raw, err)
		}
	}
	got := []string{recv(t, reasons), recv(t, reasons)}
	slices.Sort(got)
	if want := []string{"a:server namespace disconnect", "b:server namespace disconnect"}; !slices.Equal(got, want) {
		t.Fatalf("reasons %v", got)
	}
	if a.Connected() || b.Connected() || !c.Connected() {
		t.Fatal("Connected() wrong after DisconnectSockets")
	}
	a2 := env.joinOn(ca, "/", "") // the connection is still usable
	if a2.ID() == a.ID() {
		t.Fatal("reconnected socket reuses the id")
	}

	// A custom namespace gets its own DISCONNECT packet.
	if err := env.srv.Of("/custom").In(cCustom.ID()).DisconnectSockets(false); err != nil {
		t.Fatal(err)
	}
	if raw, err := cc.nextRaw(); err != nil || raw != "41/custom," {
		t.Fatalf("custom disconnect: %q %v", raw, err)
	}
	if r := recv(t, reasons); r != "c/custom:server namespace disconnect" {
		t.Fatalf("reason %s", r)
	}
	if !c.Connected() {
		t.Fatal("the / socket of the same connection was disconnected")
	}

	// With close: every namespace of the connection gets its DISCONNECT,
	// then the connection closes.
	if err := env.srv.In(d.ID()).DisconnectSockets(true); err != nil {
		t.Fatal(err)
	}
	var frames []string
	for {
		raw, err := cd.nextRaw()
		if err != nil {
			break
		}
		frames = append(frames, raw)
	}
	slices.Sort(frames)
	if want := []string{"41", "41/custom,"}; !slices.Equal(frames, want) {
		t.Fatalf("frames before close %q, want %q", frames, want)
	}
	got = []string{recv(t, reasons), recv(t, reasons)}
	slices.Sort(got)
	if want := []string{"d/custom:server namespace disconnect", "d:server namespace disconnect"}; !slices.Equal(got, want) {
		t.Fatalf("reasons %v", got)
	}
	// The others are untouched.
	if err := c.Emit("still"); err != nil {
		t.Fatal(err)
	}
	if got := cc.nextText(); got != `2["still"]` {
		t.Fatalf("c: %s", got)
	}
}

// answerAck answers the next packet of c, an event asking for an
// acknowledgement, with ackArgs (and the binary attachments, if any).
func answerAck(t *testing.T, c *tclient, ackArgs string, atts ...[]byte) *parser.Packet {
	t.Helper()
	p := c.next()
	if (p.Type != parser.Event && p.Type != parser.BinaryEvent) || p.ID == parser.NoID {
		t.Fatalf("want an event with an ack id, got %s", p.AppendText(nil))
	}
	if ackArgs == "" {
		return p
	}
	id := strconv.FormatInt(p.ID, 10)
	if len(atts) == 0 {
		c.send("3" + id + ackArgs)
		return p
	}
	c.send("6" + strconv.Itoa(len(atts)) + "-" + id + ackArgs)
	for _, a := range atts {
		c.sendBinary(a)
	}
	return p
}

type broadcastAck struct {
	answers []Args
	err     error
}

func startBroadcastAck(ctx context.Context, op *BroadcastOperator, args ...any) <-chan broadcastAck {
	ch := make(chan broadcastAck, 1)
	go func() {
		answers, err := op.EmitWithAck(ctx, "q", args...)
		ch <- broadcastAck{answers, err}
	}()
	return ch
}

func firstArgs(t *testing.T, answers []Args) []string {
	t.Helper()
	var out []string
	for _, a := range answers {
		var v any
		if err := a.Decode(&v); err != nil {
			t.Fatalf("decode %v: %v", a, err)
		}
		switch v := v.(type) {
		case []byte:
			out = append(out, "bin:"+string(v))
		case string:
			out = append(out, v)
		default:
			t.Fatalf("answer %#v", v)
		}
	}
	slices.Sort(out)
	return out
}

func TestBroadcastEmitWithAck(t *testing.T) {
	t.Run("all answer", func(t *testing.T) {
		env := newRoomsEnv(t, nil)
		var cs []*tclient
		for range 3 {
			c, _ := env.join("/", "")
			cs = append(cs, c)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		res := startBroadcastAck(ctx, env.srv.Of("/").operator(), 1, []byte("in"))
		p := answerAck(t, cs[0], `["a"]`)
		if string(p.Data) != `["q",1,{"_placeholder":true,"num":0}]` || !bytes.Equal(p.Attachments[0], []byte("in")) {
			t.Fatalf("question %s %q", p.AppendText(nil), p.Attachments)
		}
		answerAck(t, cs[1], `["b",2]`)
		answerAck(t, cs[2], `[{"_placeholder":true,"num":0}]`, []byte("xyz"))
		r := recv(t, res)
		if r.err != nil {
			t.Fatal(r.err)
		}
		if got := firstArgs(t, r.answers); !slices.Equal(got, []string{"a", "b", "bin:xyz"}) {
			t.Fatalf("answers %q", got)
		}
	})

	t.Run("timeout returns partial answers", func(t *testing.T) {
		env := newRoomsEnv(t, nil)
		var cs []*tclient
		for range 3 {
			c, _ := env.join("/", "")
			cs = append(cs, c)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		res := startBroadcastAck(ctx, env.srv.Of("/").operator())
		answerAck(t, cs[0], `["a"]`)
		answerAck(t, cs[1], `["b"]`)
		answerAck(t, cs[2], "") // reads, never answers
		r := recv(t, res)
		if !errors.Is(r.err, ErrAckTimeout) || !errors.Is(r.err, context.DeadlineExceeded) {
			t.Fatalf("error %v", r.err)
		}
		if got := firstArgs(t, r.answers); !slices.Equal(got, []string{"a", "b"}) {
			t.Fatalf("partial answers %q", got)
		}
	})

	t.Run("a disconnected client is not waited for, and reported", func(t *testing.T) {
		env := newRoomsEnv(t, nil)
		var cs []*tclient
		var socks []*Socket
		for range 3 {
			c, s := env.join("/", "")
			cs = append(cs, c)
			socks = append(socks, s)
			s.Join("room")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		res := startBroadcastAck(ctx, env.srv.To("room"))
		answerAck(t, cs[0], `["a"]`)
		answerAck(t, cs[1], "")
		_ = cs[1].ws.CloseNow()
		answerAck(t, cs[2], `["c"]`)
		r := recv(t, res)
		// As the official server, which reports a timeout (later): ported
		// `if (err)` code keeps its meaning; ErrDisconnected tells it from
		// the end of ctx.
		if !errors.Is(r.err, ErrAckTimeout) || !errors.Is(r.err, ErrDisconnected) || errors.Is(r.err, context.DeadlineExceeded) {
			t.Fatalf("error %v after %v", r.err, time.Since(start))
		}
		if got := firstArgs(t, r.answers); !slices.Equal(got, []string{"a", "c"}) {
			t.Fatalf("answers %q", got)
		}
		// The answered acks are not kept by the sockets.
		for _, i := range []int{0, 2} {
			socks[i].mu.Lock()
			n := len(socks[i].acks)
			socks[i].mu.Unlock()
			if n != 0 {
				t.Fatalf("socket %d keeps %d acks", i, n)
			}
		}
	})

	t.Run("no recipient", func(t *testing.T) {
		env := newRoomsEnv(t, nil)
		env.join("/", "")
		answers, err := env.srv.To("nobody").EmitWithAck(context.Background(), "q")
		if err != nil || len(answers) != 0 {
			t.Fatalf("%v %v", answers, err)
		}
		if _, err := env.srv.Of("/").EmitWithAck(context.Background(), "disconnect"); !errors.Is(err, ErrReservedEvent) {
			t.Fatalf("reserved: %v", err)
		}
	})
}

// TestVolatileBroadcast: a volatile broadcast is dropped for a polling
// client with no GET pending, and reaches a WebSocket client whose writer
// is idle.
func TestVolatileBroadcast(t *testing.T) {
	env := newRoomsEnv(t, nil)
	wc, ws := env.join("/", "")
	pc := env.dialPolling()
	pc.connect("/", "")
	ps := recv(t, env.socks)

	// A WebSocket connection drops a volatile packet while its writer is
	// busy, which the client cannot see: retry until one gets through.
	gotVolatile := false
	rounds := 0
	for ; rounds < 50 && !gotVolatile; rounds++ {
		if err := env.srv.Volatile().Emit("v", rounds); err != nil {
			t.Fatal(err)
		}
		for _, p := range upTo(t, wc, ws) {
			if p != `2["v",`+strconv.Itoa(rounds)+`]` {
				t.Fatalf("websocket client got %s", p)
			}
			gotVolatile = true
		}
	}
	if !gotVolatile {
		t.Fatal("no volatile packet reached the WebSocket client")
	}
	// The polling client, which had no GET pending, got only the markers.
	if err := ps.Emit("after"); err != nil {
		t.Fatal(err)
	}
	body := pc.get()
	if body != `42["after"]` {
		t.Fatalf("polling client got %q", body)
	}

	// With a GET pending, the polling client gets volatile packets.
	pending := pc.getAsync()
	waitPollPending(t, ps)
	if err := env.srv.Volatile().To(ps.ID()).Emit("pv"); err != nil {
		t.Fatal(err)
	}
	if r := recv(t, pending); r.status != http.StatusOK || r.body != `42["pv"]` {
		t.Fatalf("pending GET: %d %q", r.status, r.body)
	}
}

// countingNS counts the adapter's calls to Deliver.
type countingNS struct {
	adapter.Namespace
	delivers atomic.Int32
}

func (c *countingNS) Deliver(p *parser.Packet, flags adapter.BroadcastFlags, ids iter.Seq[adapter.SocketID]) {
	c.delivers.Add(1)
	c.Namespace.Deliver(p, flags, ids)
}

// TestBroadcastGoesThroughAdapter: a broadcast is one Deliver call for all
// its recipients (the packet is encoded there, once), with a custom adapter
// factory.
func TestBroadcastGoesThroughAdapter(t *testing.T) {
	var mu sync.Mutex
	counters := map[string]*countingNS{}
	factory := func(nsp adapter.Namespace) adapter.Adapter {
		c := &countingNS{Namespace: nsp}
		mu.Lock()
		counters[nsp.Name()] = c
		mu.Unlock()
		return adapter.NewInMemory(c)
	}
	env := newRoomsEnv(t, &Options{Adapter: factory})
	var cs []*tclient
	var socks []*Socket
	for range 3 {
		c, s := env.join("/", "")
		cs = append(cs, c)
		socks = append(socks, s)
	}
	if err := env.srv.Emit("once", []byte{1}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	n := counters["/"].delivers.Load()
	mu.Unlock()
	if n != 1 {
		t.Fatalf("%d Deliver calls for one broadcast", n)
	}
	for i, c := range cs {
		p := c.next()
		if string(p.Data) != `["once",{"_placeholder":true,"num":0}]` || !bytes.Equal(p.Attachments[0], []byte{1}) {
			t.Fatalf("client %d: %s", i, p.AppendText(nil))
		}
		if got := upTo(t, c, socks[i]); len(got) != 0 {
			t.Fatalf("client %d got more: %q", i, got)
		}
	}
}

// gatedAdapter holds AddAll calls for the room "late" until released.
type gatedAdapter struct {
	*adapter.InMemory
	entered chan struct{}
	release chan struct{}
}

func (g *gatedAdapter) AddAll(id adapter.SocketID, rooms []adapter.Room) {
	if slices.Contains(rooms, "late") {
		g.entered <- struct{}{}
		<-g.release
	}
	g.InMemory.AddAll(id, rooms)
}

// TestRegression_JoinRacesDisconnect: Socket.Join checks Connected() and then
// calls AddAll without any lock; a disconnection in between (which runs
// DelAll) leaves the dead socket in the room forever.
func TestRegression_JoinRacesDisconnect(t *testing.T) {
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	var gated *gatedAdapter
	factory := func(nsp adapter.Namespace) adapter.Adapter {
		g := &gatedAdapter{InMemory: adapter.NewInMemoryAdapter(nsp), entered: entered, release: release}
		if nsp.Name() == "/" {
			gated = g
		}
		return g
	}
	env := newRoomsEnv(t, &Options{Adapter: factory})
	c, s := env.join("/", "")
	disc := make(chan struct{})
	s.OnDisconnect(func(DisconnectReason) { close(disc) })
	joined := make(chan struct{})
	go func() {
		defer close(joined)
		s.Join("late") // passes the Connected() check, then waits in AddAll
	}()
	recv(t, entered)
	c.send("1") // the client leaves the namespace meanwhile
	// (The disconnection waits for the Join under way: a socket's rooms
	// change under one lock per socket id.)
	close(release)
	recv(t, disc)
	recv(t, joined)
	if rooms := gated.Rooms(); len(rooms) != 0 {
		t.Fatalf("adapter rooms after the socket disconnected: %v (want none)", rooms)
	}
}

// TestRegression_JoinInMiddleware: the official server lets a middleware join
// rooms (socket.join is plain adapter.addAll); here Join is silently
// ignored until the socket is connected.
func TestRegression_JoinInMiddleware(t *testing.T) {
	env := newRoomsEnv(t, nil)
	env.srv.Use(func(ctx context.Context, s *Socket) error {
		s.Join("from-middleware")
		return nil
	})
	_, s := env.join("/", "")
	if got, want := sortedRooms(s.Rooms()...), sortedRooms("from-middleware", s.ID()); !slices.Equal(got, want) {
		t.Fatalf("rooms %v, want %v", got, want)
	}
}

// TestRegression_BroadcastAckTimeoutLeaksAcks: when a broadcast EmitWithAck ends
// (timeout), the sockets that did not answer keep the ack callback until
// they disconnect; Socket.EmitWithAck removes its own.
func TestRegression_BroadcastAckTimeoutLeaksAcks(t *testing.T) {
	env := newRoomsEnv(t, nil)
	c, s := env.join("/", "")
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_, err := env.srv.Of("/").EmitWithAck(ctx, "q")
		cancel()
		if !errors.Is(err, ErrAckTimeout) {
			t.Fatalf("err %v", err)
		}
		answerAck(t, c, "")
	}
	// The callbacks may be dropped just after EmitWithAck returned.
	deadline := time.Now().Add(2 * time.Second)
	for {
		s.mu.Lock()
		n := len(s.acks)
		s.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("socket keeps %d ack callbacks of finished broadcasts", n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRegression_MiddlewareJoinLeaksOnAbort: rooms joined by a middleware are
// left in the adapter when the client goes away during the middleware:
// the socket never becomes connected, so neither the refusal path nor
// onClose (wasConnected false) runs DelAll.
func TestRegression_MiddlewareJoinLeaksOnAbort(t *testing.T) {
	for _, result := range []string{"error", "nil"} {
		t.Run("middleware returns "+result, func(t *testing.T) {
			env := newRoomsEnv(t, nil)
			entered := make(chan *Socket, 1)
			env.srv.Use(func(ctx context.Context, s *Socket) error {
				s.Join("mw-room")
				entered <- s
				<-ctx.Done() // the client goes away meanwhile
				if result == "error" {
					return ctx.Err()
				}
				return nil
			})
			c := env.dial()
			c.send("0")
			s := recv(t, entered)
			_ = c.ws.CloseNow()
			// The connect task is the dispatcher's current task: what is
			// pushed now runs after it.
			done := make(chan struct{})
			s.dispatcher.pushForce(func() { close(done) })
			recv(t, done)
			if rooms := env.srv.Of("/").Adapter().Rooms(); len(rooms) != 0 {
				t.Fatalf("adapter rooms %v after the connection was abandoned (want none)", rooms)
			}
		})
	}
}

// waitBlocked waits until a goroutine running fn is blocked on a mutex.
func waitBlocked(t *testing.T, fn string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		for _, g := range strings.Split(string(buf), "\n\n") {
			header, _, _ := strings.Cut(g, "\n")
			if strings.Contains(g, fn) && (strings.Contains(header, "Mutex.Lock") || strings.Contains(header, "semacquire")) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no goroutine blocked in %s", fn)
		}
		time.Sleep(time.Millisecond)
	}
}

// pausingAdapter delivers broadcasts through an iterator that first waits
// for the test, so that the test acts while Deliver holds the namespace
// lock.
type pausingAdapter struct {
	*adapter.InMemory
	nsp    adapter.Namespace
	paused chan struct{}
	resume chan struct{}
}

func (a *pausingAdapter) Broadcast(p *parser.Packet, opts adapter.BroadcastOptions) error {
	ids := a.InMemory.Sockets(opts.Rooms)
	a.nsp.Deliver(p, opts.Flags, func(yield func(adapter.SocketID) bool) {
		a.paused <- struct{}{}
		<-a.resume
		for _, id := range ids {
			if !yield(id) {
				return
			}
		}
	})
	return nil
}

// TestRegression_BroadcastAfterNamespaceDisconnect: Socket.Disconnect(false)
// writes the DISCONNECT packet before the socket leaves the namespace, so a
// broadcast in progress still delivers to it: the client receives an event
// for a namespace the server told it it left (socket.io-client buffers it
// and replays it on the next connect).
func TestRegression_BroadcastAfterNamespaceDisconnect(t *testing.T) {
	paused, resume := make(chan struct{}), make(chan struct{})
	factory := func(nsp adapter.Namespace) adapter.Adapter {
		if nsp.Name() != "/" {
			return adapter.NewInMemory(nsp)
		}
		return &pausingAdapter{InMemory: adapter.NewInMemoryAdapter(nsp), nsp: nsp, paused: paused, resume: resume}
	}
	env := newRoomsEnv(t, &Options{Adapter: factory})
	c, s := env.join("/", "")
	marker := env.joinOn(c, "/custom", "")

	emitted := make(chan error, 1)
	go func() { emitted <- env.srv.Emit("x") }()
	recv(t, paused) // Deliver holds the namespace read lock
	disconnected := make(chan struct{})
	go func() {
		defer close(disconnected)
		s.Disconnect(false)
	}()
	waitBlocked(t, "(*Socket).Disconnect")
	close(resume)
	if err := recv(t, emitted); err != nil {
		t.Fatal(err)
	}
	recv(t, disconnected)

	frames := upTo(t, c, marker)
	if i := slices.Index(frames, "1"); i < 0 || i != len(frames)-1 {
		t.Fatalf("frames %q: want the DISCONNECT last", frames)
	}
}

// TestRegression_EventsBeforeDisconnectDropped: events the client sent before it
// disconnected are dropped if their handler had not started yet (dispatch
// checks the state when it runs); the official server runs the handlers of
// every event received before the disconnection.
func TestRegression_EventsBeforeDisconnectDropped(t *testing.T) {
	tests := []struct {
		name       string
		disconnect func(c *tclient)
		reason     DisconnectReason
	}{
		{"namespace disconnect", func(c *tclient) { c.send("1") }, ReasonClientNamespaceDisconnect},
		{"transport close", func(c *tclient) { _ = c.ws.Close(websocket.StatusNormalClosure, "") }, ReasonTransportClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newRoomsEnv(t, nil)
			release := make(chan struct{})
			got := make(chan string, 4)
			c, s := env.join("/", "")
			s.On("block", func(e *Event) { <-release; got <- "block" })
			s.On("last", func(e *Event) { got <- "last" })
			s.OnDisconnect(func(r DisconnectReason) { got <- "disconnect:" + string(r) })
			c.send(`2["block"]`)
			c.send(`2["last"]`)
			tt.disconnect(c)
			recv(t, s.Context().Done()) // the server saw the disconnection
			close(release)
			var order []string
			for len(order) < 3 {
				select {
				case v := <-got:
					order = append(order, v)
				case <-time.After(time.Second):
					t.Fatalf("handlers run: %q", order)
				}
			}
			if want := []string{"block", "last", "disconnect:" + string(tt.reason)}; !slices.Equal(order, want) {
				t.Fatalf("order %q, want %q", order, want)
			}
		})
	}
}

// slowInitAdapter blocks in Init until released.
type slowInitAdapter struct {
	*adapter.InMemory
	entered, release chan struct{}
}

func (a *slowInitAdapter) Init(context.Context) error {
	a.entered <- struct{}{}
	<-a.release
	return nil
}

// TestRegression_AdapterInitUnderServerLock: a namespace's adapter is created and
// initialised (user code, possibly network I/O for a cluster adapter) while
// Server.mu is held, so every CONNECT, to any namespace, waits for it.
func TestRegression_AdapterInitUnderServerLock(t *testing.T) {
	entered, release := make(chan struct{}, 1), make(chan struct{})
	factory := func(nsp adapter.Namespace) adapter.Adapter {
		if nsp.Name() == "/slow" {
			return &slowInitAdapter{InMemory: adapter.NewInMemoryAdapter(nsp), entered: entered, release: release}
		}
		return adapter.NewInMemory(nsp)
	}
	env := newRoomsEnv(t, &Options{Adapter: factory})
	created := make(chan struct{})
	go func() {
		defer close(created)
		env.srv.Of("/slow")
	}()
	recv(t, entered)
	defer func() {
		close(release)
		recv(t, created)
	}()

	c := env.dial()
	c.send("0")
	reply := make(chan error, 1)
	go func() {
		p, err := c.nextErr()
		if err == nil && p.Type != parser.Connect {
			err = errors.New("not a CONNECT")
		}
		reply <- err
	}()
	select {
	case err := <-reply:
		if err != nil {
			t.Fatal(err)
		}
		recv(t, env.socks)
	case <-time.After(time.Second):
		t.Fatal("CONNECT to / blocked while another namespace's adapter initialises")
	}
}
