package adapter

import (
	"context"
	"errors"
	"time"

	"github.com/socketio-go/socketio/parser"
)

// Session is what connection state recovery keeps of a socket that
// disconnected, so that its client, coming back with the session's private
// id, gets the same socket back: its id, rooms and data, and every packet it
// missed meanwhile.
type Session struct {
	// PID is the private session id, a secret the client received in its
	// CONNECT reply and sends back to recover the session.
	PID string
	// SID is the socket id, kept across the recovery.
	SID SocketID
	// Rooms are the rooms the socket was in, its own room included.
	Rooms []Room
	// Data is the socket's application data.
	Data any
	// Since is the offset of the last packet stored before the socket first
	// connected: nothing stored up to it was meant for the socket. Attach
	// sets it for a new socket.
	Since string
	// Offset is where the replay of the missed packets starts: the offset
	// the client sent, or Since when the client sent none or an older one.
	// RestoreSession sets it.
	Offset string
	// Local is state of the server that persisted the session (such as the
	// deduplication of retried events), handed back unchanged by adapters
	// that keep sessions in memory. Adapters that store sessions elsewhere
	// may drop it.
	Local any
}

// ErrSessionGone is returned by [SessionStore.Attach] when packets that a
// restored session missed are no longer stored (the store evicted them
// after RestoreSession accepted the session).
var ErrSessionGone = errors.New("adapter: packets missed by the session are no longer stored")

// SessionStore is implemented by adapters that support connection state
// recovery.
//
// Such an adapter stores every recoverable packet it broadcasts — an EVENT
// that asks for no acknowledgement and is not volatile — and appends the
// packet's offset, a JSON string, to the packet's arguments before it is
// delivered, as the official server does: the client sends the last offset
// it received when it reconnects. Each socket must receive the stored packets
// in the order of their offsets.
type SessionStore interface {
	// PersistSession keeps the session of a socket that disconnected for a
	// reason that allows recovery.
	PersistSession(s *Session)
	// RestoreSession takes the session pid out of the store if it has not
	// expired and every packet after offset (or after the session's Since
	// when offset is empty or older) is still stored; it sets the
	// session's Offset. It returns nil, nil when the session cannot be
	// recovered: unknown or expired pid, an offset that was never issued or
	// is too old. It runs on the connection's read path: keep it short.
	RestoreSession(ctx context.Context, pid, offset string) (*Session, error)
	// Attach makes a socket live: it calls attach with the stored packets
	// that s missed (those after s.Offset, when set, sent to its rooms), in
	// order, while no recoverable packet is being delivered, so that the
	// namespace can queue them and register the socket before any newer
	// packet reaches it. For a new socket (Since empty) it sets s.Since.
	// attach must not call back into the adapter's broadcast methods. It
	// returns ErrSessionGone if the missed packets are no longer stored.
	Attach(ctx context.Context, s *Session, attach func(missed []*parser.Packet)) error
}

// LiveSessionStore is implemented by session stores that also keep the
// session of every connected socket, outside the server, so that a client
// whose server died can recover its session on another server of the
// cluster. The store learns of a socket's rooms through the adapter's AddAll,
// Del and DelAll, of the socket itself through Attach (whose Session
// carries its data), and of the rest through these methods.
type LiveSessionStore interface {
	SessionStore
	// UpdateSessionData records the new application data of a connected
	// socket that Attach made live.
	UpdateSessionData(sid SocketID, data any)
	// DropSession forgets the session of socket sid, which disconnected
	// for a reason that ends its session: it must not be recovered.
	DropSession(sid SocketID, pid string)
}

// RecoveryConfigurer is implemented by session stores that need the
// server's connection state recovery settings. When recovery is on, the
// server calls ConfigureRecovery once, before any socket of the namespace
// connects. A store that is not configured adds no offsets: recovery is
// off.
type RecoveryConfigurer interface {
	ConfigureRecovery(maxDisconnectionDuration time.Duration)
}

// SocketReplacer is implemented by the Namespace the server hands its
// adapters. A session store whose client came back on another server while
// this server still holds its old connection (a half-open connection)
// calls ReplaceSocket on the old server: the connection of the local socket
// of session pid is closed (reason "transport replaced"), which keeps its
// session. ReplaceSocket returns once the session is kept (at once if there
// is no such socket), or ctx ended.
type SocketReplacer interface {
	ReplaceSocket(ctx context.Context, pid string)
}
