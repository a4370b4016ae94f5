package adapter

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/socketio-go/socketio/parser"
)

// InMemory is the single-server adapter: it keeps the rooms of the local
// sockets in memory. Multi-node adapters embed it for their local part.
//
// A socket's own room (named by its id) is not stored as a room: most
// sockets are only in their own room, and a map per room would cost
// hundreds of bytes per socket.
type InMemory struct {
	nsp Namespace

	mu    sync.RWMutex
	rooms map[Room]map[SocketID]struct{} // members of each room, own rooms excepted
	sids  map[SocketID]membership
	hooks RoomHooks

	events  roomEvents
	members atomic.Pointer[MembershipHooks] // nil: nobody watches
}

// RoomHooks are called when a room gets its first local member (Created)
// or loses its last one (Deleted), with the adapter's lock held, in the
// order the changes happen: they must be quick and must not call the
// adapter. private is true for a socket's own room. A multi-node adapter
// uses them to subscribe to a room's channel only while the room has local
// members.
type RoomHooks struct {
	Created func(room Room, private bool)
	Deleted func(room Room, private bool)
}

// SetRoomHooks installs hooks. Call it before the adapter is used.
func (a *InMemory) SetRoomHooks(h RoomHooks) {
	a.mu.Lock()
	a.hooks = h
	a.mu.Unlock()
}

// membership lists the rooms of one socket.
type membership struct {
	own   bool   // in its own room
	rooms []Room // the other rooms
}

// NewInMemory returns the in-memory adapter of nsp. It is a [Factory].
func NewInMemory(nsp Namespace) Adapter { return NewInMemoryAdapter(nsp) }

// NewInMemoryAdapter returns the in-memory adapter of nsp, with its concrete
// type, for adapters that embed it.
func NewInMemoryAdapter(nsp Namespace) *InMemory {
	return &InMemory{
		nsp:   nsp,
		rooms: make(map[Room]map[SocketID]struct{}),
		sids:  make(map[SocketID]membership),
	}
}

// Namespace returns the namespace the adapter serves.
func (a *InMemory) Namespace() Namespace { return a.nsp }

// Init does nothing.
func (a *InMemory) Init(context.Context) error { return nil }

// Close does nothing.
func (a *InMemory) Close(context.Context) error { return nil }

// ServerCount returns 1.
func (a *InMemory) ServerCount(context.Context) (int, error) { return 1, nil }

// AddAll adds socket id to rooms.
func (a *InMemory) AddAll(id SocketID, rooms []Room) {
	mh := a.members.Load()
	var joined []Room
	if mh != nil {
		// Runs after unlockAndDeliver: membership hooks are called
		// outside the lock, after the room events.
		defer func() { mh.notify(mh.Joined, id, joined) }()
	}
	a.mu.Lock()
	defer a.unlockAndDeliver()
	m := a.sids[id]
	for _, r := range rooms {
		if r == id {
			if !m.own {
				if a.hooks.Created != nil {
					a.hooks.Created(r, true)
				}
				a.emitLocked(CreateRoom, r, "")
				a.emitLocked(JoinRoom, r, id)
				if mh != nil {
					joined = append(joined, r)
				}
			}
			m.own = true
			continue
		}
		if slices.Contains(m.rooms, r) {
			continue
		}
		m.rooms = append(m.rooms, r)
		members := a.rooms[r]
		if members == nil {
			members = make(map[SocketID]struct{}, 1)
			a.rooms[r] = members
			if a.hooks.Created != nil {
				a.hooks.Created(r, false)
			}
			a.emitLocked(CreateRoom, r, "")
		}
		members[id] = struct{}{}
		a.emitLocked(JoinRoom, r, id)
		if mh != nil {
			joined = append(joined, r)
		}
	}
	a.sids[id] = m
}

// Del removes socket id from room.
func (a *InMemory) Del(id SocketID, room Room) {
	mh := a.members.Load()
	left := false
	if mh != nil {
		defer func() {
			if left {
				mh.notify(mh.Left, id, []Room{room})
			}
		}()
	}
	a.mu.Lock()
	defer a.unlockAndDeliver()
	m, ok := a.sids[id]
	if !ok {
		return
	}
	if room == id {
		if m.own {
			a.delOwnLocked(id)
		}
		left = m.own
		m.own = false
	} else if i := slices.Index(m.rooms, room); i >= 0 {
		m.rooms = slices.Delete(m.rooms, i, i+1)
		a.delFromRoomLocked(id, room)
		left = true
	}
	a.sids[id] = m
}

func (a *InMemory) delFromRoomLocked(id SocketID, room Room) {
	if members := a.rooms[room]; members != nil {
		delete(members, id)
		a.emitLocked(LeaveRoom, room, id)
		if len(members) == 0 {
			delete(a.rooms, room)
			if a.hooks.Deleted != nil {
				a.hooks.Deleted(room, false)
			}
			a.emitLocked(DeleteRoom, room, "")
		}
	}
}

// delOwnLocked takes socket id out of its own room.
func (a *InMemory) delOwnLocked(id SocketID) {
	if a.hooks.Deleted != nil {
		a.hooks.Deleted(id, true)
	}
	a.emitLocked(LeaveRoom, id, id)
	a.emitLocked(DeleteRoom, id, "")
}

// DelAll removes socket id from every room.
func (a *InMemory) DelAll(id SocketID) {
	mh := a.members.Load()
	var left []Room
	if mh != nil {
		defer func() { mh.notify(mh.Left, id, left) }()
	}
	a.mu.Lock()
	defer a.unlockAndDeliver()
	m := a.sids[id]
	// The events of its own room first, which it joined first: the
	// official adapter leaves rooms in the order they were joined.
	if m.own {
		a.emitLocked(LeaveRoom, id, id)
		a.emitLocked(DeleteRoom, id, "")
	}
	for _, r := range m.rooms {
		a.delFromRoomLocked(id, r)
	}
	if m.own && a.hooks.Deleted != nil {
		a.hooks.Deleted(id, true)
	}
	delete(a.sids, id)
	if mh != nil {
		if m.own {
			left = append(left, id)
		}
		left = append(left, m.rooms...)
	}
}

// SocketRooms returns the rooms of socket id, or nil: its own room first,
// then the others in the order it joined them (as a Node.js server lists
// socket.rooms for a socket that joins rooms once connected).
func (a *InMemory) SocketRooms(id SocketID) []Room {
	a.mu.RLock()
	defer a.mu.RUnlock()
	m, ok := a.sids[id]
	if !ok {
		return nil
	}
	rooms := make([]Room, 0, len(m.rooms)+1)
	if m.own {
		rooms = append(rooms, id)
	}
	return append(rooms, m.rooms...)
}

// Sockets returns the ids of the sockets in any of rooms (of every socket
// when rooms is empty), sorted.
func (a *InMemory) Sockets(rooms []Room) []SocketID {
	var ids []SocketID
	a.forEach(BroadcastOptions{Rooms: rooms}, func(id SocketID) bool {
		ids = append(ids, id)
		return true
	})
	slices.Sort(ids)
	return ids
}

// HasRoom reports whether room has a local member.
func (a *InMemory) HasRoom(room Room) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if _, ok := a.rooms[room]; ok {
		return true
	}
	return a.sids[room].own
}

// Rooms returns the rooms that have members, sorted.
func (a *InMemory) Rooms() []Room {
	a.mu.RLock()
	rooms := make([]Room, 0, len(a.rooms)+len(a.sids))
	for r := range a.rooms {
		rooms = append(rooms, r)
	}
	for id, m := range a.sids {
		if m.own {
			if _, dup := a.rooms[id]; !dup {
				rooms = append(rooms, id)
			}
		}
	}
	a.mu.RUnlock()
	slices.Sort(rooms)
	return rooms
}

// inRoomLocked reports whether socket id is in room r.
func (a *InMemory) inRoomLocked(id SocketID, r Room) bool {
	if r == id {
		return a.sids[id].own
	}
	_, ok := a.rooms[r][id]
	return ok
}

// eachMemberLocked calls fn for the members of room r until it returns
// false; it reports false if fn did.
func (a *InMemory) eachMemberLocked(r Room, fn func(SocketID) bool) bool {
	if m, ok := a.sids[r]; ok && m.own && !fn(r) {
		return false
	}
	for id := range a.rooms[r] {
		if !fn(id) {
			return false
		}
	}
	return true
}

// forEach calls yield for every local socket selected by opts, each once,
// while holding the read lock, until yield returns false.
func (a *InMemory) forEach(opts BroadcastOptions, yield func(SocketID) bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	excluded := func(id SocketID) bool {
		for _, r := range opts.Except {
			if a.inRoomLocked(id, r) {
				return true
			}
		}
		return false
	}
	visit := func(id SocketID) bool { return excluded(id) || yield(id) }
	switch len(opts.Rooms) {
	case 0:
		for id := range a.sids {
			if !visit(id) {
				return
			}
		}
	case 1:
		a.eachMemberLocked(opts.Rooms[0], visit)
	default:
		seen := make(map[SocketID]struct{})
		for _, r := range opts.Rooms {
			if !a.eachMemberLocked(r, func(id SocketID) bool {
				if _, dup := seen[id]; dup {
					return true
				}
				seen[id] = struct{}{}
				return visit(id)
			}) {
				return
			}
		}
	}
}

// selected returns the ids forEach would yield, as a slice, so that the
// caller can act on them without holding the lock.
func (a *InMemory) selected(opts BroadcastOptions) []SocketID {
	var ids []SocketID
	a.forEach(opts, func(id SocketID) bool {
		ids = append(ids, id)
		return true
	})
	return ids
}

// Broadcast delivers p to the local sockets selected by opts.
func (a *InMemory) Broadcast(p *parser.Packet, opts BroadcastOptions) error {
	if len(opts.Rooms) == 0 && len(opts.Except) == 0 {
		// Every local socket: the namespace knows them (each socket is
		// added here before the namespace lists it, and removed after).
		if d, ok := a.nsp.(AllDeliverer); ok {
			d.DeliverAll(p, opts.Flags)
			return nil
		}
	}
	a.nsp.Deliver(p, opts.Flags, func(yield func(SocketID) bool) { a.forEach(opts, yield) })
	return nil
}

// BroadcastWithAck delivers p to the local sockets selected by opts and
// reports their acknowledgements.
func (a *InMemory) BroadcastWithAck(ctx context.Context, p *parser.Packet, opts BroadcastOptions, onCount func(int), onAck func(AckResponse)) error {
	n := a.nsp.DeliverWithAck(ctx, p, opts.Flags, func(yield func(SocketID) bool) { a.forEach(opts, yield) }, onAck)
	onCount(n)
	return nil
}

// FetchSockets describes the local sockets selected by opts.
func (a *InMemory) FetchSockets(_ context.Context, opts BroadcastOptions) ([]SocketInfo, error) {
	ids := a.selected(opts)
	infos := make([]SocketInfo, 0, len(ids))
	for _, id := range ids {
		if info, ok := a.nsp.SocketInfo(id); ok {
			infos = append(infos, info)
		}
	}
	return infos, nil
}

// AddSockets makes the local sockets selected by opts join rooms.
func (a *InMemory) AddSockets(opts BroadcastOptions, rooms []Room) error {
	for _, id := range a.selected(opts) {
		a.AddAll(id, rooms)
	}
	return nil
}

// DelSockets makes the local sockets selected by opts leave rooms.
func (a *InMemory) DelSockets(opts BroadcastOptions, rooms []Room) error {
	for _, id := range a.selected(opts) {
		for _, r := range rooms {
			a.Del(id, r)
		}
	}
	return nil
}

// DisconnectSockets disconnects the local sockets selected by opts.
func (a *InMemory) DisconnectSockets(opts BroadcastOptions, close bool) error {
	for _, id := range a.selected(opts) {
		a.nsp.Disconnect(id, close)
	}
	return nil
}

// ServerSideEmit does nothing: there are no other servers.
func (a *InMemory) ServerSideEmit(context.Context, *parser.Packet) error { return nil }

// ServerSideEmitWithAck expects no answer: there are no other servers.
func (a *InMemory) ServerSideEmitWithAck(context.Context, *parser.Packet) ([]AckResponse, error) {
	return nil, nil
}
