package adapter

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"sync"
	"testing"

	"github.com/socketio-go/socketio/parser"
)

// fakeNS is an adapter.Namespace that records what the adapter asks of it.
type fakeNS struct {
	mu           sync.Mutex
	infos        map[SocketID]SocketInfo // the sockets SocketInfo knows
	delivered    [][]SocketID            // one entry per Deliver/DeliverWithAck call
	flags        []BroadcastFlags
	disconnected []string // "id/close"
	ackIDs       []int64
	ackCtx       context.Context // of the last DeliverWithAck
	stopAfter    int             // when > 0, Deliver stops iterating after that many ids
}

func newFakeNS() *fakeNS { return &fakeNS{infos: make(map[SocketID]SocketInfo)} }

func (f *fakeNS) Name() string { return "/test" }

func (f *fakeNS) collect(flags BroadcastFlags, ids iter.Seq[SocketID]) []SocketID {
	f.mu.Lock()
	stop := f.stopAfter
	f.mu.Unlock()
	var got []SocketID
	for id := range ids {
		got = append(got, id)
		if stop > 0 && len(got) == stop {
			break
		}
	}
	slices.Sort(got)
	f.mu.Lock()
	f.delivered = append(f.delivered, got)
	f.flags = append(f.flags, flags)
	f.mu.Unlock()
	return got
}

func (f *fakeNS) Deliver(p *parser.Packet, flags BroadcastFlags, ids iter.Seq[SocketID]) {
	f.collect(flags, ids)
}

func (f *fakeNS) DeliverWithAck(ctx context.Context, p *parser.Packet, flags BroadcastFlags, ids iter.Seq[SocketID], onAck func(AckResponse)) int {
	p.ID = 42
	got := f.collect(flags, ids)
	f.mu.Lock()
	f.ackCtx = ctx
	f.ackIDs = append(f.ackIDs, p.ID)
	f.mu.Unlock()
	for _, id := range got {
		onAck(AckResponse{Socket: id, Data: []byte(`["ok"]`)})
	}
	return len(got)
}

func (f *fakeNS) SocketInfo(id SocketID) (SocketInfo, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	info, ok := f.infos[id]
	return info, ok
}

func (f *fakeNS) Disconnect(id SocketID, close bool) {
	f.mu.Lock()
	f.disconnected = append(f.disconnected, fmt.Sprintf("%s/%v", id, close))
	f.mu.Unlock()
}

func (f *fakeNS) ServerSideEvent(p *parser.Packet, ack func(reply *parser.Packet)) {}

func (f *fakeNS) lastDelivered() []SocketID {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.delivered) == 0 {
		return nil
	}
	return f.delivered[len(f.delivered)-1]
}

// newPopulated returns an adapter with:
//
//	s1: s1, a
//	s2: s2, a, b
//	s3: s3, b, c
//	s4: s4
func newPopulated(t *testing.T) (*InMemory, *fakeNS) {
	t.Helper()
	ns := newFakeNS()
	a := NewInMemoryAdapter(ns)
	if err := a.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.AddAll("s1", []Room{"s1", "a"})
	a.AddAll("s2", []Room{"s2", "a", "b"})
	a.AddAll("s3", []Room{"s3", "b", "c"})
	a.AddAll("s4", []Room{"s4"})
	for _, id := range []string{"s1", "s2", "s3", "s4"} {
		ns.infos[id] = SocketInfo{ID: id, Rooms: a.SocketRooms(id), Data: "data-" + id}
	}
	return a, ns
}

func TestInMemoryRooms(t *testing.T) {
	a, _ := newPopulated(t)
	if got, want := a.Rooms(), []Room{"a", "b", "c", "s1", "s2", "s3", "s4"}; !slices.Equal(got, want) {
		t.Fatalf("Rooms = %v, want %v", got, want)
	}
	if got, want := a.SocketRooms("s3"), []Room{"s3", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("SocketRooms(s3) = %v, want %v", got, want)
	}
	if got := a.SocketRooms("nobody"); got != nil {
		t.Fatalf("SocketRooms(unknown) = %v, want nil", got)
	}
	// Adding a room twice is a no-op.
	a.AddAll("s1", []Room{"a", "a"})
	if got, want := a.Sockets([]Room{"a"}), []SocketID{"s1", "s2"}; !slices.Equal(got, want) {
		t.Fatalf("Sockets(a) = %v, want %v", got, want)
	}

	a.Del("s3", "c") // last member: the room goes away
	if got, want := a.Rooms(), []Room{"a", "b", "s1", "s2", "s3", "s4"}; !slices.Equal(got, want) {
		t.Fatalf("Rooms after Del = %v, want %v", got, want)
	}
	a.Del("s3", "never-joined")
	a.Del("nobody", "a")
	if got, want := a.SocketRooms("s3"), []Room{"s3", "b"}; !slices.Equal(got, want) {
		t.Fatalf("SocketRooms(s3) after Del = %v, want %v", got, want)
	}

	a.DelAll("s2")
	if got := a.SocketRooms("s2"); got != nil {
		t.Fatalf("SocketRooms(s2) after DelAll = %v", got)
	}
	if got, want := a.Sockets(nil), []SocketID{"s1", "s3", "s4"}; !slices.Equal(got, want) {
		t.Fatalf("Sockets(all) after DelAll = %v, want %v", got, want)
	}
	if got, want := a.Sockets([]Room{"a", "b"}), []SocketID{"s1", "s3"}; !slices.Equal(got, want) {
		t.Fatalf("Sockets(a,b) = %v, want %v", got, want)
	}
	a.DelAll("nobody")

	for _, id := range []string{"s1", "s3", "s4"} {
		a.DelAll(id)
	}
	if got := a.Rooms(); len(got) != 0 {
		t.Fatalf("Rooms after everyone left = %v", got)
	}
	// Nothing is left behind in the maps.
	if len(a.rooms) != 0 || len(a.sids) != 0 {
		t.Fatalf("maps not empty: rooms %v sids %v", a.rooms, a.sids)
	}
	if n, err := a.ServerCount(context.Background()); n != 1 || err != nil {
		t.Fatalf("ServerCount = %d, %v", n, err)
	}
	if err := a.ServerSideEmit(context.Background(), &parser.Packet{Type: parser.Event, ID: parser.NoID, Data: []byte(`["x"]`)}); err != nil {
		t.Fatalf("ServerSideEmit: %v", err)
	}
	if r, err := a.ServerSideEmitWithAck(context.Background(), &parser.Packet{Type: parser.Event, ID: parser.NoID, Data: []byte(`["x"]`)}); r != nil || err != nil {
		t.Fatalf("ServerSideEmitWithAck = %v, %v", r, err)
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if a.Namespace().Name() != "/test" {
		t.Fatal("Namespace")
	}
}

// TestInMemoryLeaveOwnRoom: a socket that left every room, its own
// included, is still a socket of the namespace (as in socket.io-adapter).
func TestInMemoryLeaveOwnRoom(t *testing.T) {
	a := NewInMemoryAdapter(newFakeNS())
	a.AddAll("x", []Room{"x"})
	a.Del("x", "x")
	if got := a.SocketRooms("x"); got == nil || len(got) != 0 {
		t.Fatalf("SocketRooms = %#v, want empty non-nil", got)
	}
	if got := a.Sockets(nil); !slices.Equal(got, []SocketID{"x"}) {
		t.Fatalf("Sockets(all) = %v", got)
	}
	if got := a.Rooms(); len(got) != 0 {
		t.Fatalf("Rooms = %v", got)
	}
}

func TestInMemoryBroadcastSelection(t *testing.T) {
	tests := []struct {
		name   string
		rooms  []Room
		except []Room
		want   []SocketID
	}{
		{"all", nil, nil, []SocketID{"s1", "s2", "s3", "s4"}},
		{"one room", []Room{"a"}, nil, []SocketID{"s1", "s2"}},
		{"union without duplicates", []Room{"a", "b"}, nil, []SocketID{"s1", "s2", "s3"}},
		{"same room twice", []Room{"b", "b"}, nil, []SocketID{"s2", "s3"}},
		{"unknown room", []Room{"zzz"}, nil, nil},
		{"unknown and known", []Room{"zzz", "c"}, nil, []SocketID{"s3"}},
		{"all except one room", nil, []Room{"a"}, []SocketID{"s3", "s4"}},
		{"all except two rooms", nil, []Room{"a", "c"}, []SocketID{"s4"}},
		{"all except a socket", nil, []Room{"s4"}, []SocketID{"s1", "s2", "s3"}},
		{"room except overlapping room", []Room{"b"}, []Room{"a"}, []SocketID{"s3"}},
		{"union except", []Room{"a", "b"}, []Room{"s2", "c"}, []SocketID{"s1"}},
		{"except unknown", []Room{"a"}, []Room{"zzz"}, []SocketID{"s1", "s2"}},
		{"everything excluded", []Room{"a"}, []Room{"a"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, ns := newPopulated(t)
			flags := BroadcastFlags{Volatile: true, NoCompress: true}
			opts := BroadcastOptions{Rooms: tt.rooms, Except: tt.except, Flags: flags}
			if err := a.Broadcast(&parser.Packet{Type: parser.Event, Namespace: "/test", ID: parser.NoID, Data: []byte(`["x"]`)}, opts); err != nil {
				t.Fatal(err)
			}
			if got := ns.lastDelivered(); !slices.Equal(got, tt.want) {
				t.Errorf("Broadcast delivered to %v, want %v", got, tt.want)
			}
			if ns.flags[0] != flags {
				t.Errorf("flags %+v, want %+v", ns.flags[0], flags)
			}

			// BroadcastWithAck selects the same sockets and reports
			// the count and every answer.
			var counts []int
			var answered []SocketID
			p := &parser.Packet{Type: parser.Event, Namespace: "/test", ID: parser.NoID, Data: []byte(`["x"]`)}
			type ctxKey struct{}
			ctx := context.WithValue(context.Background(), ctxKey{}, tt.name)
			err := a.BroadcastWithAck(ctx, p, opts,
				func(n int) { counts = append(counts, n) },
				func(r AckResponse) { answered = append(answered, r.Socket) })
			if err != nil {
				t.Fatal(err)
			}
			if got := ns.lastDelivered(); !slices.Equal(got, tt.want) {
				t.Errorf("BroadcastWithAck delivered to %v, want %v", got, tt.want)
			}
			if len(counts) != 1 || counts[0] != len(tt.want) {
				t.Errorf("onCount calls %v, want [%d]", counts, len(tt.want))
			}
			slices.Sort(answered)
			if !slices.Equal(answered, tt.want) {
				t.Errorf("answers from %v, want %v", answered, tt.want)
			}
			if ns.ackCtx == nil || ns.ackCtx.Value(ctxKey{}) != tt.name {
				t.Errorf("DeliverWithAck did not get the broadcast's ctx")
			}
			if p.ID != 42 {
				t.Errorf("packet id %d: the namespace assigns it", p.ID)
			}

			// The same selection drives the other operations.
			if got := a.Sockets(tt.rooms); len(tt.except) == 0 && !slices.Equal(got, tt.want) {
				t.Errorf("Sockets(%v) = %v, want %v", tt.rooms, got, tt.want)
			}
			infos, err := a.FetchSockets(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			var fetched []SocketID
			for _, info := range infos {
				fetched = append(fetched, info.ID)
				if info.Data != "data-"+info.ID {
					t.Errorf("info %+v", info)
				}
			}
			slices.Sort(fetched)
			if !slices.Equal(fetched, tt.want) {
				t.Errorf("FetchSockets = %v, want %v", fetched, tt.want)
			}
		})
	}
}

// TestInMemoryDeliverMayStopEarly: the iterator given to Deliver honours a
// consumer that stops (range-over-func contract).
func TestInMemoryDeliverMayStopEarly(t *testing.T) {
	a, ns := newPopulated(t)
	ns.stopAfter = 2
	if err := a.Broadcast(&parser.Packet{Type: parser.Event, ID: parser.NoID, Data: []byte(`["x"]`)}, BroadcastOptions{Rooms: []Room{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
	if got := ns.lastDelivered(); len(got) != 2 {
		t.Fatalf("delivered %v, want 2 ids", got)
	}
	// And the read lock was released: writers proceed.
	a.AddAll("s5", []Room{"s5"})
}

func TestInMemoryRemoteOperations(t *testing.T) {
	a, ns := newPopulated(t)

	// FetchSockets skips ids the namespace does not know any more.
	delete(ns.infos, "s2")
	infos, err := a.FetchSockets(context.Background(), BroadcastOptions{Rooms: []Room{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].ID != "s1" || !slices.Equal(infos[0].Rooms, []Room{"s1", "a"}) {
		t.Fatalf("FetchSockets = %+v", infos)
	}

	// AddSockets: the sockets in b (s2, s3) but not in c (s3) join x, y.
	if err := a.AddSockets(BroadcastOptions{Rooms: []Room{"b"}, Except: []Room{"c"}}, []Room{"x", "y"}); err != nil {
		t.Fatal(err)
	}
	if got, want := a.SocketRooms("s2"), []Room{"s2", "a", "b", "x", "y"}; !slices.Equal(got, want) {
		t.Fatalf("s2 rooms %v, want %v", got, want)
	}
	if got, want := a.SocketRooms("s3"), []Room{"s3", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("s3 rooms %v, want %v", got, want)
	}

	// Everyone joins z, then those in a leave z and x.
	if err := a.AddSockets(BroadcastOptions{}, []Room{"z"}); err != nil {
		t.Fatal(err)
	}
	if got, want := a.Sockets([]Room{"z"}), []SocketID{"s1", "s2", "s3", "s4"}; !slices.Equal(got, want) {
		t.Fatalf("z members %v, want %v", got, want)
	}
	if err := a.DelSockets(BroadcastOptions{Rooms: []Room{"a"}}, []Room{"z", "x"}); err != nil {
		t.Fatal(err)
	}
	if got, want := a.Sockets([]Room{"z"}), []SocketID{"s3", "s4"}; !slices.Equal(got, want) {
		t.Fatalf("z members after DelSockets %v, want %v", got, want)
	}
	if got, want := a.SocketRooms("s2"), []Room{"s2", "a", "b", "y"}; !slices.Equal(got, want) {
		t.Fatalf("s2 rooms %v, want %v", got, want)
	}
	if slices.Contains(a.Rooms(), "x") {
		t.Fatalf("room x has no members left but is listed: %v", a.Rooms())
	}

	// DisconnectSockets goes through the namespace, with the close flag.
	if err := a.DisconnectSockets(BroadcastOptions{Rooms: []Room{"c"}}, false); err != nil {
		t.Fatal(err)
	}
	if err := a.DisconnectSockets(BroadcastOptions{Except: []Room{"b", "s4"}}, true); err != nil {
		t.Fatal(err)
	}
	if want := []string{"s3/false", "s1/true"}; !slices.Equal(ns.disconnected, want) {
		t.Fatalf("disconnected %v, want %v", ns.disconnected, want)
	}
}

// TestInMemoryConcurrent runs every operation at once, for the race
// detector, and checks that the maps end up empty.
func TestInMemoryConcurrent(t *testing.T) {
	ns := newFakeNS()
	a := NewInMemoryAdapter(ns)
	const workers, rounds = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				id := fmt.Sprintf("w%d-%d", w, i%5)
				a.AddAll(id, []Room{id, "common", fmt.Sprintf("r%d", i%3)})
				_ = a.Broadcast(&parser.Packet{Type: parser.Event, ID: parser.NoID, Data: []byte(`["x"]`)},
					BroadcastOptions{Rooms: []Room{"common", "r1"}, Except: []Room{"r2"}})
				_ = a.BroadcastWithAck(context.Background(), &parser.Packet{Type: parser.Event, ID: parser.NoID, Data: []byte(`["x"]`)},
					BroadcastOptions{}, func(int) {}, func(AckResponse) {})
				_ = a.Sockets([]Room{"common"})
				_ = a.SocketRooms(id)
				_ = a.Rooms()
				_ = a.AddSockets(BroadcastOptions{Rooms: []Room{"r0"}}, []Room{"joined"})
				_ = a.DelSockets(BroadcastOptions{Rooms: []Room{"joined"}}, []Room{"joined"})
				_, _ = a.FetchSockets(context.Background(), BroadcastOptions{Rooms: []Room{"r1"}})
				a.Del(id, "common")
				if i%2 == 0 {
					a.DelAll(id)
				}
			}
		}()
	}
	wg.Wait()
	for _, id := range a.Sockets(nil) {
		a.DelAll(id)
	}
	if len(a.rooms) != 0 || len(a.sids) != 0 {
		t.Fatalf("maps not empty after DelAll of everyone: %d rooms, %d sids", len(a.rooms), len(a.sids))
	}
}

func TestRoomHooks(t *testing.T) {
	a := NewInMemoryAdapter(newFakeNS())
	var events []string
	a.SetRoomHooks(RoomHooks{
		Created: func(r Room, private bool) {
			if !private {
				events = append(events, "+"+r)
			} else {
				events = append(events, "+own:"+r)
			}
		},
		Deleted: func(r Room, private bool) {
			if !private {
				events = append(events, "-"+r)
			} else {
				events = append(events, "-own:"+r)
			}
		},
	})
	a.AddAll("s1", []Room{"s1", "a"})
	a.AddAll("s2", []Room{"s2", "a", "b"})
	if !a.HasRoom("a") || !a.HasRoom("s1") || a.HasRoom("c") {
		t.Fatal("HasRoom")
	}
	a.Del("s1", "a")
	a.DelAll("s2")
	if got := fmt.Sprint(events); got != "[+own:s1 +a +own:s2 +b -a -b -own:s2]" {
		t.Fatalf("events %v", got)
	}
	if a.HasRoom("s1") != true || a.HasRoom("s2") {
		t.Fatal("HasRoom of own rooms")
	}
}

// allNS is a fakeNS that can deliver to all of its sockets at once.
type allNS struct {
	*fakeNS
	all int // DeliverAll calls
}

func (n *allNS) DeliverAll(p *parser.Packet, flags BroadcastFlags) {
	n.mu.Lock()
	n.all++
	n.mu.Unlock()
}

// A broadcast with neither rooms nor exceptions goes to a namespace's
// DeliverAll when it has one; any selection still yields the ids.
func TestInMemoryBroadcastAll(t *testing.T) {
	ns := &allNS{fakeNS: newFakeNS()}
	a := NewInMemoryAdapter(ns)
	a.AddAll("s1", []Room{"s1", "a"})
	a.AddAll("s2", []Room{"s2"})
	p := &parser.Packet{Type: parser.Event, Namespace: "/test"}
	if err := a.Broadcast(p, BroadcastOptions{}); err != nil {
		t.Fatal(err)
	}
	if ns.all != 1 || len(ns.delivered) != 0 {
		t.Fatalf("DeliverAll calls %d, Deliver calls %d; want 1 and 0", ns.all, len(ns.delivered))
	}
	for _, opts := range []BroadcastOptions{{Rooms: []Room{"a"}}, {Except: []Room{"a"}}} {
		if err := a.Broadcast(p, opts); err != nil {
			t.Fatal(err)
		}
	}
	if ns.all != 1 || len(ns.delivered) != 2 {
		t.Fatalf("DeliverAll calls %d, Deliver calls %d; want 1 and 2", ns.all, len(ns.delivered))
	}
	if got := ns.delivered[1]; !slices.Equal(got, []SocketID{"s2"}) {
		t.Fatalf("except a delivered to %v", got)
	}
}
