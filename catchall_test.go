package socketio

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/parser"
)

// sockets returns a channel receiving every socket that connects to "/".
func connections(env *testEnv) <-chan *Socket {
	ch := make(chan *Socket, 10)
	env.srv.OnConnection(func(s *Socket) { ch <- s })
	return ch
}

func TestPrependAnyOffAny(t *testing.T) {
	env := newTestEnv(t, nil)
	conns := connections(env)
	c := env.dial()
	c.connect("/", "")
	s := recv(t, conns)

	var mu sync.Mutex
	var calls []string
	record := func(name string) EventHandler {
		return func(e *Event) {
			mu.Lock()
			calls = append(calls, name+":"+e.Name())
			mu.Unlock()
		}
	}
	removeA := s.OnAny(record("A"))
	s.PrependAny(record("B"))
	s.OnAny(record("C"))
	s.PrependAny(record("D"))
	done := make(chan struct{}, 1)
	s.On("sync", func(e *Event) { _ = e.Ack(); done <- struct{}{} })

	round := func(want ...string) {
		t.Helper()
		mu.Lock()
		calls = nil
		mu.Unlock()
		c.send(`21["sync"]`)
		recv(t, done)
		c.next() // the ack
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(calls, want) {
			t.Errorf("calls %v, want %v", calls, want)
		}
	}
	round("D:sync", "B:sync", "A:sync", "C:sync")
	removeA()
	removeA() // a second call does nothing
	round("D:sync", "B:sync", "C:sync")
	s.OffAny()
	round() // the event's own handler still runs
	s.OnAny(record("E"))
	round("E:sync")
}

func TestAnyOutgoingSeesEmitsAndBroadcasts(t *testing.T) {
	env := newTestEnv(t, nil)
	conns := connections(env)
	a, b := env.dial(), env.dial()
	a.connect("/", "")
	sa := recv(t, conns)
	b.connect("/", "")
	sb := recv(t, conns)
	sa.Join("room")
	sb.Join("room")

	type out struct {
		who, event, args string
	}
	seen := make(chan out, 20)
	listener := func(who string) func(string, []any) {
		return func(event string, args []any) {
			var parts []string
			for _, v := range args {
				if rv, ok := v.(parser.RawValue); ok {
					parts = append(parts, "raw "+string(rv.JSON))
				} else {
					parts = append(parts, fmt.Sprint(v))
				}
			}
			seen <- out{who, event, strings.Join(parts, ",")}
		}
	}
	removeA1 := sa.OnAnyOutgoing(listener("a1"))
	sa.PrependAnyOutgoing(listener("a0"))
	sb.OnAnyOutgoing(listener("b"))

	expect := func(want ...out) {
		t.Helper()
		var got []out
		for range want {
			got = append(got, recv(t, seen))
		}
		slices.SortStableFunc(got, func(x, y out) int { return strings.Compare(x.who[:1], y.who[:1]) })
		if !slices.Equal(got, want) {
			t.Errorf("outgoing %v, want %v", got, want)
		}
	}

	// A direct emit: the Go values, prepended listener first.
	if err := sa.Emit("direct", 1, "x"); err != nil {
		t.Fatal(err)
	}
	a.next()
	expect(out{"a0", "direct", "1,x"}, out{"a1", "direct", "1,x"})

	// A broadcast to the room: both sockets' listeners, with raw JSON.
	if err := env.srv.To("room").Emit("news", map[string]int{"n": 2}); err != nil {
		t.Fatal(err)
	}
	a.next()
	b.next()
	expect(out{"a0", "news", `raw {"n":2}`}, out{"a1", "news", `raw {"n":2}`}, out{"b", "news", `raw {"n":2}`})

	// socket.broadcast: not the sender.
	if err := sa.Broadcast().Emit("from-a", true); err != nil {
		t.Fatal(err)
	}
	b.next()
	expect(out{"b", "from-a", "raw true"})

	// A broadcast with acks.
	go func() {
		for _, c := range []*tclient{a, b} {
			p := c.next()
			c.send(fmt.Sprintf("3%d[]", p.ID))
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5e9)
	defer cancel()
	if _, err := env.srv.EmitWithAck(ctx, "vote"); err != nil {
		t.Fatal(err)
	}
	expect(out{"a0", "vote", ""}, out{"a1", "vote", ""}, out{"b", "vote", ""})

	// Removing one listener, then all of them.
	removeA1()
	if err := env.srv.Emit("after-remove"); err != nil {
		t.Fatal(err)
	}
	a.next()
	b.next()
	expect(out{"a0", "after-remove", ""}, out{"b", "after-remove", ""})
	sa.OffAnyOutgoing()
	sb.OffAnyOutgoing()
	if err := env.srv.Emit("after-off"); err != nil {
		t.Fatal(err)
	}
	a.next()
	b.next()
	// The emits above were delivered and their listeners ran first (they
	// run on the emitting goroutine): nothing more may arrive.
	select {
	case o := <-seen:
		t.Errorf("outgoing listener called after OffAnyOutgoing: %v", o)
	default:
	}
}

func TestAnyOutgoingWithRecovery(t *testing.T) {
	// With connection state recovery, a socket's own emits are stored like
	// broadcasts, and the listeners see them once, with the offset.
	env := newTestEnv(t, &Options{ConnectionStateRecovery: &ConnectionStateRecovery{}})
	conns := connections(env)
	c := env.dial()
	c.connect("/", "")
	s := recv(t, conns)
	seen := make(chan []any, 5)
	s.OnAnyOutgoing(func(event string, args []any) { seen <- args })
	if err := s.Emit("stored", 7); err != nil {
		t.Fatal(err)
	}
	c.next()
	args := recv(t, seen)
	if len(args) != 2 || string(args[0].(parser.RawValue).JSON) != "7" {
		t.Errorf("args %v, want 7 and the offset", args)
	}
	select {
	case a := <-seen:
		t.Errorf("notified twice: %v", a)
	default:
	}
}

func TestAdapterRoomEvents(t *testing.T) {
	env := newTestEnv(t, nil)
	conns := connections(env)
	src, ok := env.srv.Of("/").Adapter().(adapter.RoomEventSource)
	if !ok {
		t.Fatal("the in-memory adapter is not a RoomEventSource")
	}
	events := make(chan string, 50)
	remove := src.OnRoomEvent(func(e adapter.RoomEvent) {
		s := e.Type.String() + " " + e.Room
		if e.Socket != "" {
			s += " " + e.Socket
		}
		events <- s
	})
	expect := func(want ...string) {
		t.Helper()
		for _, w := range want {
			if got := recv(t, events); got != w {
				t.Errorf("event %q, want %q", got, w)
			}
		}
	}
	a := env.dial()
	a.connect("/", "")
	sa := recv(t, conns)
	expect("create-room "+sa.ID(), "join-room "+sa.ID()+" "+sa.ID())
	b := env.dial()
	b.connect("/", "")
	sb := recv(t, conns)
	expect("create-room "+sb.ID(), "join-room "+sb.ID()+" "+sb.ID())

	sa.Join("r1", "r2")
	expect("create-room r1", "join-room r1 "+sa.ID(), "create-room r2", "join-room r2 "+sa.ID())
	sa.Join("r1") // already in it: nothing
	sb.Join("r1")
	expect("join-room r1 " + sb.ID())
	sa.Leave("r2")
	expect("leave-room r2 "+sa.ID(), "delete-room r2")
	// Rooms joined from another goroutine through the adapter, as a
	// cluster peer would.
	if err := env.srv.In(sb.ID()).SocketsJoin("r3"); err != nil {
		t.Fatal(err)
	}
	expect("create-room r3", "join-room r3 "+sb.ID())

	// Disconnection: own room first, then the others, as the official
	// adapter.
	sa.Disconnect(false)
	expect("leave-room "+sa.ID()+" "+sa.ID(), "delete-room "+sa.ID(), "leave-room r1 "+sa.ID())
	remove()
	// The handler is registered before the close is sent: registered
	// after, it could miss a disconnection that already happened.
	closed := make(chan struct{})
	sb.OnDisconnect(func(DisconnectReason) { close(closed) })
	b.send("1")
	recv(t, closed)
	select {
	case e := <-events:
		t.Errorf("event after the listener was removed: %s", e)
	default:
	}
}

// closeSignal is an in-memory adapter whose Close is reported on a
// channel.
type closeSignal struct {
	*adapter.InMemory
	closed chan string
}

func (a closeSignal) Close(ctx context.Context) error {
	a.closed <- a.Namespace().Name()
	return a.InMemory.Close(ctx)
}

func TestCleanupEmptyChildNamespaces(t *testing.T) {
	for _, cleanup := range []bool{true, false} {
		t.Run(fmt.Sprint("cleanup=", cleanup), func(t *testing.T) {
			closed := make(chan string, 10)
			env := newTestEnv(t, &Options{
				CleanupEmptyChildNamespaces: cleanup,
				Adapter: func(nsp adapter.Namespace) adapter.Adapter {
					return closeSignal{adapter.NewInMemoryAdapter(nsp), closed}
				},
			})
			parent := env.srv.OfRegexp(regexp.MustCompile(`^/dyn-`))
			conns := make(chan *Socket, 10)
			parent.OnConnection(func(s *Socket) { conns <- s })
			env.srv.Of("/static")

			a, b := env.dial(), env.dial()
			a.connect("/dyn-1", "")
			sa := recv(t, conns)
			first := sa.Namespace()
			b.connect("/dyn-1", "")
			recv(t, conns)
			a.connect("/static", "")
			if got := parent.Children(); len(got) != 1 || got[0] != first {
				t.Fatalf("children %v", got)
			}
			left := make(chan struct{})
			sa.OnDisconnect(func(DisconnectReason) { close(left) })
			a.send("1/dyn-1,")
			a.send("1/static,")
			recv(t, left)
			// b is still connected: the namespace stays.
			if got := parent.Children(); len(got) != 1 {
				t.Errorf("children while a socket is left: %v", got)
			}
			b.send("1/dyn-1,")
			if cleanup {
				if got := recv(t, closed); got != "/dyn-1" {
					t.Fatalf("closed adapter of %s", got)
				}
				if got := parent.Children(); len(got) != 0 {
					t.Errorf("children after the last socket left: %v", got)
				}
			}
			// A new connection to the same name: a new namespace when the
			// old one was removed, the same one otherwise.
			a.connect("/dyn-1", "")
			again := recv(t, conns).Namespace()
			if (again != first) != cleanup {
				t.Errorf("new namespace %v, want %v", again != first, cleanup)
			}
			select {
			case n := <-closed:
				t.Errorf("adapter of %s closed", n)
			default:
			}
		})
	}
}
