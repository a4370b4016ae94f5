package adapter

// MembershipHooks tell an observer (the admin UI, metrics) that a local
// socket joined or left a room, its own room included, as the official
// adapter's "join-room" and "leave-room" events. They are called after the
// change, without the adapter's lock held, on the goroutine that made the
// change: they must be quick, but may call the adapter. Either field may be
// nil.
type MembershipHooks struct {
	Joined func(id SocketID, room Room)
	Left   func(id SocketID, room Room)
}

// SetMembershipHooks installs h, or removes the hooks when h is nil. It may
// be called at any time, concurrently with the other methods; with no
// hooks, joining and leaving rooms costs nothing more. Adapters that embed
// InMemory get it for their local sockets.
func (a *InMemory) SetMembershipHooks(h *MembershipHooks) { a.members.Store(h) }

// notify calls fn for each of rooms, if fn is set.
func (h *MembershipHooks) notify(fn func(SocketID, Room), id SocketID, rooms []Room) {
	if fn == nil {
		return
	}
	for _, r := range rooms {
		fn(id, r)
	}
}
