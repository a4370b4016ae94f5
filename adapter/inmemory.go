package adapter

import (
	"context"
	"slices"
	"sync"

	"github.com/socketio-go/socketio/parser"
)

// InMemory is the single-server adapter: it keeps the rooms of the local
// sockets in memory. Multi-node adapters embed it for their local part.
type InMemory struct {
	nsp Namespace

	mu    sync.RWMutex
	rooms map[Room]map[SocketID]struct{}
	sids  map[SocketID]map[Room]struct{}
}

// NewInMemory returns the in-memory adapter of nsp. It is a [Factory].
func NewInMemory(nsp Namespace) Adapter { return NewInMemoryAdapter(nsp) }

// NewInMemoryAdapter returns the in-memory adapter of nsp, with its concrete
// type, for adapters that embed it.
func NewInMemoryAdapter(nsp Namespace) *InMemory {
	return &InMemory{
		nsp:   nsp,
		rooms: make(map[Room]map[SocketID]struct{}),
		sids:  make(map[SocketID]map[Room]struct{}),
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
	a.mu.Lock()
	defer a.mu.Unlock()
	mine := a.sids[id]
	if mine == nil {
		mine = make(map[Room]struct{}, len(rooms))
		a.sids[id] = mine
	}
	for _, r := range rooms {
		mine[r] = struct{}{}
		members := a.rooms[r]
		if members == nil {
			members = make(map[SocketID]struct{}, 1)
			a.rooms[r] = members
		}
		members[id] = struct{}{}
	}
}

// Del removes socket id from room.
func (a *InMemory) Del(id SocketID, room Room) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if mine := a.sids[id]; mine != nil {
		delete(mine, room)
	}
	a.delFromRoomLocked(id, room)
}

func (a *InMemory) delFromRoomLocked(id SocketID, room Room) {
	if members := a.rooms[room]; members != nil {
		delete(members, id)
		if len(members) == 0 {
			delete(a.rooms, room)
		}
	}
}

// DelAll removes socket id from every room.
func (a *InMemory) DelAll(id SocketID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for r := range a.sids[id] {
		a.delFromRoomLocked(id, r)
	}
	delete(a.sids, id)
}

// SocketRooms returns the rooms of socket id, sorted, or nil.
func (a *InMemory) SocketRooms(id SocketID) []Room {
	a.mu.RLock()
	defer a.mu.RUnlock()
	mine, ok := a.sids[id]
	if !ok {
		return nil
	}
	rooms := make([]Room, 0, len(mine))
	for r := range mine {
		rooms = append(rooms, r)
	}
	slices.Sort(rooms)
	return rooms
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

// Rooms returns the rooms that have members, sorted.
func (a *InMemory) Rooms() []Room {
	a.mu.RLock()
	rooms := make([]Room, 0, len(a.rooms))
	for r := range a.rooms {
		rooms = append(rooms, r)
	}
	a.mu.RUnlock()
	slices.Sort(rooms)
	return rooms
}

// forEach calls yield for every local socket selected by opts, each once,
// while holding the read lock, until yield returns false.
func (a *InMemory) forEach(opts BroadcastOptions, yield func(SocketID) bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var except map[SocketID]struct{}
	switch len(opts.Except) {
	case 0:
	case 1:
		except = a.rooms[opts.Except[0]]
	default:
		except = make(map[SocketID]struct{})
		for _, r := range opts.Except {
			for id := range a.rooms[r] {
				except[id] = struct{}{}
			}
		}
	}
	switch len(opts.Rooms) {
	case 0:
		for id := range a.sids {
			if _, skip := except[id]; !skip && !yield(id) {
				return
			}
		}
	case 1:
		for id := range a.rooms[opts.Rooms[0]] {
			if _, skip := except[id]; !skip && !yield(id) {
				return
			}
		}
	default:
		seen := make(map[SocketID]struct{})
		for _, r := range opts.Rooms {
			for id := range a.rooms[r] {
				if _, dup := seen[id]; dup {
					continue
				}
				seen[id] = struct{}{}
				if _, skip := except[id]; !skip && !yield(id) {
					return
				}
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
func (a *InMemory) ServerSideEmit(context.Context, []byte) error { return nil }
