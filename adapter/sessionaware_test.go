package adapter

import (
	"context"
	"fmt"
	"iter"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/leakcheck"
	"github.com/socketio-go/socketio/parser"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

// fakeClock is a settable clock for the expiry tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newSessionAware returns a SessionAware adapter on a fake namespace, with a
// fake clock, closed at the end of the test.
func newSessionAware(t *testing.T, opts SessionOptions) (*SessionAware, *fakeNS, *fakeClock) {
	t.Helper()
	ns := newFakeNS()
	a := NewSessionAwareAdapter(ns, opts)
	clock := &fakeClock{t: time.Unix(1_000_000, 0)}
	a.now = clock.now
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	return a, ns, clock
}

func event(data string) *parser.Packet {
	return &parser.Packet{Type: parser.Event, Namespace: "/test", ID: parser.NoID, Data: []byte(data)}
}

// lastArg returns the last element of a JSON array of strings and numbers.
func lastArg(t *testing.T, data []byte) string {
	t.Helper()
	elems, err := parser.SplitArray(nil, data)
	if err != nil || len(elems) == 0 {
		t.Fatalf("not an array: %s", data)
	}
	return strings.Trim(string(elems[len(elems)-1]), `"`)
}

// attach makes a socket live through Attach and returns the data of the
// packets it missed.
func attach(t *testing.T, a *SessionAware, s *Session) []string {
	t.Helper()
	var got []string
	if err := a.Attach(context.Background(), s, func(missed []*parser.Packet) {
		for _, p := range missed {
			got = append(got, string(p.Data))
		}
	}); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	return got
}

func TestAppendOffset(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`["a"]`, `["a","X.1"]`},
		{`["a",1,{"b":[2]}]`, `["a",1,{"b":[2]},"X.1"]`},
		{`[]`, `["X.1"]`},
		{`[ ]`, `[ "X.1"]`},
		{`["a" ]`, `["a" ,"X.1"]`},
		{`{}`, `{}`},
	} {
		if got := string(AppendOffset([]byte(c.in), "X.1")); got != c.want {
			t.Errorf("AppendOffset(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestSessionAwareStoresRecoverablePackets(t *testing.T) {
	a, ns, _ := newSessionAware(t, SessionOptions{})
	a.AddAll("s1", []Room{"s1"})

	p := event(`["news",1]`)
	if err := a.Broadcast(p, BroadcastOptions{}); err != nil {
		t.Fatal(err)
	}
	off := lastArg(t, p.Data)
	if !strings.HasPrefix(off, a.tag+".") {
		t.Fatalf("offset %q, data %s", off, p.Data)
	}
	if got := ns.lastDelivered(); len(got) != 1 || got[0] != "s1" {
		t.Fatalf("delivered to %v", got)
	}

	// Not stored, no offset: volatile, with an ack id, not an event.
	for name, c := range map[string]struct {
		p    *parser.Packet
		opts BroadcastOptions
	}{
		"volatile": {event(`["v"]`), BroadcastOptions{Flags: BroadcastFlags{Volatile: true}}},
		"ack id":   {&parser.Packet{Type: parser.Event, ID: 7, Data: []byte(`["x"]`)}, BroadcastOptions{}},
		"ack":      {&parser.Packet{Type: parser.Ack, ID: 7, Data: []byte(`["x"]`)}, BroadcastOptions{}},
	} {
		before := string(c.p.Data)
		if err := a.Broadcast(c.p, c.opts); err != nil {
			t.Fatal(err)
		}
		if string(c.p.Data) != before {
			t.Errorf("%s: data changed to %s", name, c.p.Data)
		}
	}
	if n, _ := a.Stored(); n != 1 {
		t.Fatalf("%d packets stored, want 1", n)
	}

	// Binary attachments are copied: the caller may reuse its buffer.
	buf := []byte{1, 2, 3}
	bp := &parser.Packet{Type: parser.BinaryEvent, ID: parser.NoID, Data: []byte(`["bin",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{buf}}
	_ = a.Broadcast(bp, BroadcastOptions{})
	buf[0] = 9
	if bp.Attachments[0][0] != 1 {
		t.Fatal("stored attachment shares the caller's buffer")
	}
}

func TestSessionAwareRestore(t *testing.T) {
	a, _, _ := newSessionAware(t, SessionOptions{})
	// s1 connects, in rooms a and b.
	s := &Session{PID: "pid1", SID: "s1", Rooms: []Room{"s1", "a", "b"}}
	attach(t, a, s)
	if s.Since == "" {
		t.Fatal("Attach did not set Since")
	}
	send := func(data string, opts BroadcastOptions) string {
		p := event(data)
		_ = a.Broadcast(p, opts)
		return string(p.Data)
	}
	first := send(`["all",1]`, BroadcastOptions{})
	off := lastArg(t, []byte(first))
	a.PersistSession(s)

	// Sent while s1 is away.
	var want []string
	want = append(want, send(`["all",2]`, BroadcastOptions{}))
	want = append(want, send(`["a and b"]`, BroadcastOptions{Rooms: []Room{"a", "b"}})) // once, not twice
	send(`["c"]`, BroadcastOptions{Rooms: []Room{"c"}})
	want = append(want, send(`["direct"]`, BroadcastOptions{Rooms: []Room{"s1"}}))
	send(`["other"]`, BroadcastOptions{Rooms: []Room{"s2"}})
	send(`["all but b"]`, BroadcastOptions{Except: []Room{"b"}})
	send(`["a but s1"]`, BroadcastOptions{Rooms: []Room{"a"}, Except: []Room{"s1"}})
	want = append(want, send(`["c or a"]`, BroadcastOptions{Rooms: []Room{"c", "a"}}))

	for _, bad := range []struct{ pid, off string }{
		{"nope", off},                                    // unknown pid
		{"pid1", "garbage"},                              // never issued
		{"pid1", "other.1"},                              // another adapter's
		{"pid1", a.tag + ".zzzz"},                        // not issued yet
		{"pid1", a.tag + ".01"},                          // not in canonical form
		{"pid1", a.tag + ".-1"},                          // not a number
		{"pid1", a.tag + ".1" + strings.Repeat("0", 30)}, // overflows
	} {
		got, err := a.RestoreSession(context.Background(), bad.pid, bad.off)
		if err != nil || got != nil {
			t.Fatalf("RestoreSession(%q, %q) = %+v, %v; want nil", bad.pid, bad.off, got, err)
		}
	}
	got, err := a.RestoreSession(context.Background(), "pid1", off)
	if err != nil || got == nil {
		t.Fatalf("RestoreSession: %v, %v", got, err)
	}
	if got.SID != "s1" || got.Offset != off {
		t.Fatalf("restored %+v", got)
	}
	if again, _ := a.RestoreSession(context.Background(), "pid1", off); again != nil {
		t.Fatal("a session was restored twice")
	}
	missed := attach(t, a, got)
	if fmt.Sprint(missed) != fmt.Sprint(want) {
		t.Fatalf("missed:\n%v\nwant:\n%v", missed, want)
	}
}

func TestSessionAwareOffsetBounds(t *testing.T) {
	a, _, _ := newSessionAware(t, SessionOptions{})
	send := func(data string) string {
		p := event(data)
		_ = a.Broadcast(p, BroadcastOptions{})
		return string(p.Data)
	}
	early := lastArg(t, []byte(send(`["before s1"]`)))
	s := &Session{PID: "p", SID: "s1", Rooms: []Room{"s1"}}
	attach(t, a, s)
	after := send(`["after s1"]`)
	a.PersistSession(s)

	// No offset: the client received nothing; it missed all since it
	// connected, not what was sent before.
	got, _ := a.RestoreSession(context.Background(), "p", "")
	if got == nil {
		t.Fatal("no recovery without an offset")
	}
	if missed := attach(t, a, got); len(missed) != 1 || missed[0] != after {
		t.Fatalf("missed %v, want [%s]", missed, after)
	}
	// An offset older than the session (left from an earlier session of
	// the client) does not replay what came before the session.
	a.PersistSession(got)
	got, _ = a.RestoreSession(context.Background(), "p", early)
	if got == nil {
		t.Fatal("no recovery with an older offset")
	}
	if missed := attach(t, a, got); len(missed) != 1 || missed[0] != after {
		t.Fatalf("missed %v, want [%s]", missed, after)
	}
}

func TestSessionAwareByteLimit(t *testing.T) {
	a, _, _ := newSessionAware(t, SessionOptions{MaxBytes: 5 * (StoredPacketOverhead + 20)})
	s := &Session{PID: "p", SID: "s1", Rooms: []Room{"s1"}}
	attach(t, a, s)
	p := event(`["x",0]`)
	_ = a.Broadcast(p, BroadcastOptions{})
	off := lastArg(t, p.Data)
	a.PersistSession(s)
	got, _ := a.RestoreSession(context.Background(), "p", off)
	if got == nil {
		t.Fatal("not restored")
	}
	// More than the limit is sent between RestoreSession and Attach.
	for i := range 10 {
		_ = a.Broadcast(event(fmt.Sprintf(`["x",%d]`, i+1)), BroadcastOptions{})
	}
	n, size := a.Stored()
	if n == 0 || n > 5 || size > a.opts.MaxBytes {
		t.Fatalf("stored %d packets, %d bytes, over the limit %d", n, size, a.opts.MaxBytes)
	}
	if err := a.Attach(context.Background(), got, func([]*parser.Packet) { t.Error("attach called") }); err != ErrSessionGone {
		t.Fatalf("Attach = %v, want ErrSessionGone", err)
	}
	// The offset is now too old for RestoreSession too.
	a.PersistSession(got)
	if again, _ := a.RestoreSession(context.Background(), "p", off); again != nil {
		t.Fatal("restored although packets it missed were dropped")
	}
}

func TestSessionAwareExpiry(t *testing.T) {
	a, _, clock := newSessionAware(t, SessionOptions{MaxDisconnectionDuration: time.Minute, Retention: 2 * time.Minute})
	s := &Session{PID: "p", SID: "s1", Rooms: []Room{"s1"}}
	attach(t, a, s)
	p := event(`["x"]`)
	_ = a.Broadcast(p, BroadcastOptions{})
	off := lastArg(t, p.Data)
	a.PersistSession(s)

	clock.add(time.Minute)
	if got, _ := a.RestoreSession(context.Background(), "p", off); got != nil {
		t.Fatal("expired session restored")
	}
	if a.SessionCount() != 0 {
		t.Fatal("expired session kept")
	}
	// Packets outlive sessions by the retention, then go on the next
	// store.
	clock.add(59 * time.Second)
	_ = a.Broadcast(event(`["y"]`), BroadcastOptions{})
	if n, _ := a.Stored(); n != 2 {
		t.Fatalf("%d packets stored, want 2", n)
	}
	clock.add(2 * time.Second)
	_ = a.Broadcast(event(`["z"]`), BroadcastOptions{})
	if n, _ := a.Stored(); n != 2 {
		t.Fatalf("%d packets stored, want 2 (the first expired)", n)
	}
}

func TestSessionAwareMaxSessions(t *testing.T) {
	a, _, _ := newSessionAware(t, SessionOptions{MaxSessions: 3})
	var sessions []*Session
	for i := range 5 {
		s := &Session{PID: fmt.Sprint("p", i), SID: fmt.Sprint("s", i)}
		attach(t, a, s)
		sessions = append(sessions, s)
	}
	for _, s := range sessions {
		a.PersistSession(s)
	}
	if n := a.SessionCount(); n != 3 {
		t.Fatalf("%d sessions kept, want 3", n)
	}
	for i, s := range sessions {
		got, _ := a.RestoreSession(context.Background(), s.PID, "")
		if (got != nil) != (i >= 2) {
			t.Errorf("session %d restored: %v", i, got != nil)
		}
	}
}

// TestSessionAwareSweep checks that the timer drops expired packets and
// sessions when nothing else happens.
func TestSessionAwareSweep(t *testing.T) {
	a := NewSessionAwareAdapter(newFakeNS(), SessionOptions{MaxDisconnectionDuration: 20 * time.Millisecond, Retention: 40 * time.Millisecond})
	defer a.Close(context.Background())
	s := &Session{PID: "p", SID: "s1"}
	attach(t, a, s)
	_ = a.Broadcast(event(`["x"]`), BroadcastOptions{})
	a.PersistSession(s)
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, _ := a.Stored()
		if n == 0 && a.SessionCount() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5s: %d packets, %d sessions", n, a.SessionCount())
		}
		time.Sleep(5 * time.Millisecond)
	}
	a.tmu.Lock()
	armed := a.armed
	a.tmu.Unlock()
	if armed {
		t.Fatal("timer still armed with nothing stored")
	}
}

// TestSessionAwareAttachOrdering checks that a socket attached while
// broadcasts go on receives, through its missed packets and then the live
// deliveries, every packet after its offset once, in order.
func TestSessionAwareAttachOrdering(t *testing.T) {
	ns := &orderNS{fakeNS: newFakeNS(), live: map[SocketID]bool{}, got: map[SocketID][]string{}}
	a := NewSessionAwareAdapter(ns, SessionOptions{})
	defer a.Close(context.Background())
	ns.a = a

	s := &Session{PID: "p", SID: "s1", Rooms: []Room{"s1"}}
	a.AddAll("s1", s.Rooms)
	_ = a.Attach(context.Background(), s, func([]*parser.Packet) { ns.setLive("s1", true) })
	first := event(`["e",0]`)
	_ = a.Broadcast(first, BroadcastOptions{})
	ns.setLive("s1", false)
	a.PersistSession(s)

	const total = 2000
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range total / 2 {
				_ = a.Broadcast(event(fmt.Sprintf(`["e",%d]`, 1+w*total+i)), BroadcastOptions{})
			}
		}()
	}
	got, _ := a.RestoreSession(context.Background(), "p", lastArg(t, first.Data))
	if got == nil {
		t.Fatal("not restored")
	}
	_ = a.Attach(context.Background(), got, func(missed []*parser.Packet) {
		for _, p := range missed {
			ns.record("s1", p)
		}
		ns.setLive("s1", true)
	})
	wg.Wait()
	offs := ns.offsets("s1")
	if len(offs) != total+1 {
		t.Fatalf("received %d packets, want %d", len(offs), total+1)
	}
	seen := map[string]bool{}
	prev := uint64(0)
	for _, o := range offs {
		seq, ok := a.parseOffset(o)
		if !ok || seen[o] || seq <= prev {
			t.Fatalf("offset %s after %d (duplicate %v)", o, prev, seen[o])
		}
		seen[o], prev = true, seq
	}
}

// orderNS records, per live socket, the packets delivered to it.
type orderNS struct {
	*fakeNS
	a    *SessionAware
	mu   sync.Mutex
	live map[SocketID]bool
	got  map[SocketID][]string
}

func (n *orderNS) setLive(id SocketID, live bool) {
	n.mu.Lock()
	n.live[id] = live
	n.mu.Unlock()
}

func (n *orderNS) record(id SocketID, p *parser.Packet) {
	n.mu.Lock()
	n.got[id] = append(n.got[id], string(p.Data))
	n.mu.Unlock()
}

func (n *orderNS) Deliver(p *parser.Packet, _ BroadcastFlags, ids iter.Seq[SocketID]) {
	for id := range ids {
		n.mu.Lock()
		live := n.live[id]
		n.mu.Unlock()
		if live {
			n.record(id, p)
		}
	}
}

func (n *orderNS) offsets(id SocketID) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, d := range n.got[id] {
		elems, _ := parser.SplitArray(nil, []byte(d))
		out = append(out, strings.Trim(string(elems[len(elems)-1]), `"`))
	}
	return out
}

// BenchmarkAttachMissed measures a recovery that missed 10 events, with
// few or many events stored for other rooms: the cost follows what the
// socket missed, not what is stored.
func BenchmarkAttachMissed(b *testing.B) {
	for _, elsewhere := range []int{0, 10_000, 100_000} {
		b.Run(fmt.Sprintf("stored-elsewhere=%d", elsewhere), func(b *testing.B) {
			a := NewSessionAwareAdapter(newFakeNS(), SessionOptions{MaxBytes: 1 << 40})
			defer a.Close(context.Background())
			s := &Session{PID: "p", SID: "s1", Rooms: []Room{"s1", "mine"}}
			if err := a.Attach(context.Background(), s, func([]*parser.Packet) {}); err != nil {
				b.Fatal(err)
			}
			for i := range elsewhere + 10 {
				room := fmt.Sprint("other-", i%100)
				if i%(elsewhere/10+1) == 0 {
					room = "mine"
				}
				_ = a.Broadcast(event(`["x",1]`), BroadcastOptions{Rooms: []Room{room}})
			}
			s.Offset = s.Since
			missed := 0
			b.ReportAllocs()
			for b.Loop() {
				_ = a.Attach(context.Background(), s, func(m []*parser.Packet) { missed = len(m) })
			}
			if missed < 10 {
				b.Fatalf("%d missed", missed)
			}
		})
	}
}

// FuzzRestoreSession feeds client-chosen pids and offsets to
// RestoreSession: it never panics, and gives a session only for its own pid
// and an offset that was issued.
func FuzzRestoreSession(f *testing.F) {
	f.Add("pid", "")
	f.Add("pid", "T.1")
	f.Add("pid", "T.0")
	f.Add("pid", "T.zz")
	f.Add("pid", "T.-1")
	f.Add("nope", "T.1")
	f.Add("pid", "T.")
	f.Add("pid", ".1")
	f.Fuzz(func(t *testing.T, pid, offset string) {
		a := NewSessionAwareAdapter(newFakeNS(), SessionOptions{MaxBytes: 10 * StoredPacketOverhead})
		defer a.Close(context.Background())
		a.tag = "T"
		s := &Session{PID: "pid", SID: "s1", Rooms: []Room{"s1"}}
		if err := a.Attach(context.Background(), s, func([]*parser.Packet) {}); err != nil {
			t.Fatal(err)
		}
		for range 20 { // more than MaxBytes holds: the oldest go
			_ = a.Broadcast(event(`["x"]`), BroadcastOptions{})
		}
		a.PersistSession(s)
		got, err := a.RestoreSession(context.Background(), pid, offset)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil {
			return
		}
		if pid != "pid" {
			t.Fatalf("restored with pid %q", pid)
		}
		if offset != "" {
			seq, ok := a.parseOffset(offset)
			if !ok || seq > a.seq || seq+1 < a.firstLocked() {
				t.Fatalf("restored from offset %q", offset)
			}
		}
		if err := a.Attach(context.Background(), got, func([]*parser.Packet) {}); err != nil {
			t.Fatalf("Attach after RestoreSession: %v", err)
		}
	})
}

// BenchmarkStoredEventMemory reports the live heap a stored event costs
// (heap-B/event) next to what MaxBytes counts for it (counted-B/event), for
// small events to 1,000 rooms: the count must not understate the memory.
func BenchmarkStoredEventMemory(b *testing.B) {
	const n = 100_000
	for range b.N {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m0)
		a := NewSessionAwareAdapter(newFakeNS(), SessionOptions{MaxBytes: 1 << 40})
		for i := range n {
			p := event(fmt.Sprintf(`["msg",%d,%d]`, i%1000, i))
			_ = a.Broadcast(p, BroadcastOptions{Rooms: []Room{fmt.Sprint("room-", i%1000)}})
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		_, counted := a.Stored()
		b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/n, "heap-B/event")
		b.ReportMetric(float64(counted)/n, "counted-B/event")
		runtime.KeepAlive(a)
		_ = a.Close(context.Background())
	}
}
