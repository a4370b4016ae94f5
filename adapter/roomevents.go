package adapter

import (
	"slices"
	"sync"
	"sync/atomic"
)

// RoomEventType is the kind of a [RoomEvent]. Its String is the name of
// the event of the official in-memory adapter.
type RoomEventType uint8

// The room events, as the official in-memory adapter emits them.
const (
	CreateRoom RoomEventType = iota + 1 // "create-room": a room got its first local member
	DeleteRoom                          // "delete-room": a room lost its last local member
	JoinRoom                            // "join-room": a socket joined a room
	LeaveRoom                           // "leave-room": a socket left a room
)

func (t RoomEventType) String() string {
	switch t {
	case CreateRoom:
		return "create-room"
	case DeleteRoom:
		return "delete-room"
	case JoinRoom:
		return "join-room"
	case LeaveRoom:
		return "leave-room"
	}
	return "RoomEventType(" + string('0'+rune(t)) + ")"
}

// RoomEvent is a change of the local rooms of an adapter. Socket is set
// for JoinRoom and LeaveRoom. As in the official adapter, a socket's own
// room (named by its id) is a room like the others: a socket that connects
// creates and joins it, one that disconnects leaves and deletes it.
type RoomEvent struct {
	Type   RoomEventType
	Room   Room
	Socket SocketID
}

// RoomEventSource is implemented by adapters that report the changes of
// their local rooms: [InMemory] and the adapters that embed it
// ([SessionAware], the cluster adapters). The events are those of the
// official in-memory adapter's "create-room", "delete-room", "join-room"
// and "leave-room" events; with a multi-node adapter, they describe this
// server's sockets only, as in the official adapters.
type RoomEventSource interface {
	// OnRoomEvent adds a listener and returns the function that removes
	// it. Listeners are called one at a time, in the order the changes
	// happened, on a goroutine that changed rooms, after the adapter
	// released its lock: they may call the adapter (a join from a listener
	// is reported after the current event's listeners return).
	OnRoomEvent(fn func(RoomEvent)) (remove func())
}

var _ RoomEventSource = (*InMemory)(nil)

// roomEvents holds the listeners and the queue of undelivered events.
type roomEvents struct {
	active atomic.Bool // listeners are set: the adapter queues events

	mu        sync.Mutex
	listeners []roomListener
	nextID    uint64
	queue     []RoomEvent
	draining  bool
}

type roomListener struct {
	id uint64
	fn func(RoomEvent)
}

// OnRoomEvent adds a listener of the adapter's room events. See
// [RoomEventSource].
func (a *InMemory) OnRoomEvent(fn func(RoomEvent)) (remove func()) {
	e := &a.events
	e.mu.Lock()
	e.nextID++
	id := e.nextID
	e.listeners = append(e.listeners, roomListener{id, fn})
	e.active.Store(true)
	e.mu.Unlock()
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if i := slices.IndexFunc(e.listeners, func(l roomListener) bool { return l.id == id }); i >= 0 {
			e.listeners = slices.Delete(slices.Clone(e.listeners), i, i+1)
		}
		e.active.Store(len(e.listeners) > 0)
	}
}

// emitLocked queues an event; a.mu must be held, so that events are queued
// in the order of the changes.
func (a *InMemory) emitLocked(t RoomEventType, room Room, id SocketID) {
	if !a.events.active.Load() {
		return
	}
	e := &a.events
	e.mu.Lock()
	e.queue = append(e.queue, RoomEvent{Type: t, Room: room, Socket: id})
	e.mu.Unlock()
}

// unlockAndDeliver releases a.mu, then delivers the queued events unless
// another goroutine (or a listener up the stack) is already delivering.
func (a *InMemory) unlockAndDeliver() {
	a.mu.Unlock()
	if !a.events.active.Load() {
		return
	}
	e := &a.events
	e.mu.Lock()
	if e.draining {
		e.mu.Unlock()
		return
	}
	e.draining = true
	for len(e.queue) > 0 {
		ev := e.queue[0]
		e.queue = e.queue[1:]
		ls := e.listeners
		e.mu.Unlock()
		for _, l := range ls {
			l.fn(ev)
		}
		e.mu.Lock()
	}
	e.queue = nil
	e.draining = false
	e.mu.Unlock()
}
