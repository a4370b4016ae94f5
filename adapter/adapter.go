// Package adapter defines how a Socket.IO namespace finds the sockets a
// broadcast is for, locally and, with a multi-node adapter, on the other
// servers of a cluster.
//
// An [Adapter] keeps the room membership of one namespace and implements
// the namespace operations that may span servers: broadcast (with or without
// acknowledgements), fetching, joining, leaving and disconnecting the sockets
// of some rooms, and server-side events. It reaches the local sockets only
// through the narrow [Namespace] interface, so an adapter never sees HTTP,
// Engine.IO or the socketio package.
//
// [NewInMemory] is the default, single-server adapter. Multi-node adapters
// (Redis, Postgres, NATS) implement the same interface, usually by wrapping
// an in-memory adapter for the local part.
package adapter

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"net/url"
	"time"

	"github.com/socketio-go/socketio/parser"
)

// SocketID identifies a socket within a namespace.
type SocketID = string

// Room is the name of a room. Every socket is in the room named by its id.
type Room = string

// ErrClosed is returned by operations on a closed adapter.
var ErrClosed = errors.New("adapter: closed")

// BroadcastFlags modify how a broadcast is delivered.
type BroadcastFlags struct {
	// Local restricts the broadcast to the sockets of this server.
	Local bool
	// Volatile packets may be dropped when a socket cannot take them now.
	Volatile bool
	// NoCompress is set by Compress(false): the packets are sent without
	// compression (permessage-deflate, long-polling compression). The
	// zero value compresses, as the official compress flag defaults to
	// true.
	NoCompress bool
	// Timeout is the acknowledgement timeout of a broadcast with
	// acknowledgements, when it has one; carried to the other nodes of a
	// cluster.
	Timeout time.Duration
}

// BroadcastOptions select the recipients of a broadcast: the sockets in any
// of Rooms (every socket of the namespace when Rooms is empty) that are in
// none of Except.
type BroadcastOptions struct {
	Rooms  []Room
	Except []Room
	Flags  BroadcastFlags
}

// AckResponse is one socket's answer to a broadcast with acknowledgements.
type AckResponse struct {
	// Socket is the id of the socket that answered.
	Socket SocketID
	// Data is the raw JSON array of the acknowledgement's arguments,
	// binary placeholders included.
	Data []byte
	// Attachments are the binary attachments referenced by Data.
	Attachments [][]byte
	// Err is set when the socket disconnected before it answered.
	Err error
}

// Handshake describes the request that opened a socket's connection. Its
// JSON form is the one the official server uses.
type Handshake struct {
	// Headers of the handshake request.
	Headers http.Header `json:"headers"`
	// Time the socket connected.
	Time time.Time `json:"time"`
	// Address is the remote address of the client.
	Address string `json:"address"`
	// XDomain reports whether the request had an Origin header.
	XDomain bool `json:"xdomain"`
	// Secure reports whether the connection used TLS.
	Secure bool `json:"secure"`
	// Issued is Time in milliseconds since the Unix epoch.
	Issued int64 `json:"issued"`
	// URL is the request URI of the handshake.
	URL string `json:"url"`
	// Query holds the query parameters of the handshake.
	Query url.Values `json:"query"`
	// Auth is the authentication payload the client sent with its CONNECT
	// packet, decoded. Nil when the client sent none.
	Auth map[string]any `json:"auth"`
	// RawAuth is the authentication payload exactly as received, "{}" when
	// the client sent none.
	RawAuth []byte `json:"-"`
}

// SocketInfo describes a socket, local or on another server.
type SocketInfo struct {
	ID        SocketID
	Rooms     []Room
	Handshake *Handshake
	// Data is the socket's application data (Socket.SetData).
	Data any
}

// Namespace is what an adapter sees of the namespace it serves: its local
// sockets. The socketio package implements it.
type Namespace interface {
	// Name returns the namespace name, e.g. "/" or "/chat".
	Name() string
	// Deliver sends p to the local sockets yielded by ids, encoding it
	// once for all of them. It must not call back into the adapter.
	Deliver(p *parser.Packet, flags BroadcastFlags, ids iter.Seq[SocketID])
	// DeliverWithAck is Deliver for a packet that asks every recipient
	// for an acknowledgement. The namespace assigns p.ID. onAck is called
	// once for every socket the packet reached, with its answer or with
	// Err set if it disconnected first, unless ctx ends before: the
	// sockets then stop waiting. It returns the number of sockets the
	// packet reached.
	DeliverWithAck(ctx context.Context, p *parser.Packet, flags BroadcastFlags, ids iter.Seq[SocketID], onAck func(AckResponse)) int
	// SocketInfo describes a local socket. ok is false if there is none
	// with this id.
	SocketInfo(id SocketID) (info SocketInfo, ok bool)
	// Disconnect disconnects a local socket; with close, its whole
	// connection is closed.
	Disconnect(id SocketID, close bool)
	// ServerSideEvent hands p, an EVENT packet another server sent with
	// ServerSideEmit, to the namespace's handlers. ack is nil when the
	// sender waits for no answer; otherwise it is called at most once,
	// with an ACK packet holding the answer's arguments.
	ServerSideEvent(p *parser.Packet, ack func(reply *parser.Packet))
}

// AllDeliverer is implemented by a Namespace that can deliver a packet to
// all of its local sockets without being given their ids. The in-memory
// adapter (and the adapters embedding it) uses it for a broadcast with
// neither rooms nor exceptions, such as io.emit: it then spares a lookup of
// every recipient by id.
type AllDeliverer interface {
	// DeliverAll is Deliver to every local socket of the namespace.
	DeliverAll(p *parser.Packet, flags BroadcastFlags)
}

// Factory creates the adapter of a namespace.
type Factory func(nsp Namespace) Adapter

// Adapter keeps the rooms of one namespace and runs the operations that may
// involve other servers. All methods are safe for concurrent use. Methods
// that only touch local state (AddAll, Del, DelAll, SocketRooms, Sockets,
// Rooms) never block on the network.
type Adapter interface {
	// Init starts the adapter (for example subscribes to a pub/sub
	// channel). It is called once, before any other method.
	Init(ctx context.Context) error
	// Close stops the adapter and tells the cluster this server is
	// leaving. It is idempotent.
	Close(ctx context.Context) error
	// ServerCount returns the number of servers in the cluster,
	// this one included.
	ServerCount(ctx context.Context) (int, error)

	// AddAll adds a local socket to rooms.
	AddAll(id SocketID, rooms []Room)
	// Del removes a local socket from a room.
	Del(id SocketID, room Room)
	// DelAll removes a local socket from all its rooms.
	DelAll(id SocketID)
	// SocketRooms returns the rooms of a local socket (nil if unknown).
	SocketRooms(id SocketID) []Room
	// Sockets returns the ids of the local sockets in any of rooms, or of
	// every local socket when rooms is empty.
	Sockets(rooms []Room) []SocketID
	// Rooms returns the names of the rooms that have local members.
	Rooms() []Room

	// Broadcast sends p to the sockets selected by opts, on every server
	// unless opts.Flags.Local.
	Broadcast(p *parser.Packet, opts BroadcastOptions) error
	// BroadcastWithAck sends p to the sockets selected by opts and asks
	// each for an acknowledgement. onCount is called once per server with
	// the number of sockets reached there; onAck is called for every
	// answer. Both may be called after BroadcastWithAck returned, from
	// other goroutines, until ctx ends, after which the adapter stops
	// waiting for answers.
	BroadcastWithAck(ctx context.Context, p *parser.Packet, opts BroadcastOptions, onCount func(n int), onAck func(AckResponse)) error

	// FetchSockets describes the sockets selected by opts.
	FetchSockets(ctx context.Context, opts BroadcastOptions) ([]SocketInfo, error)
	// AddSockets makes the sockets selected by opts join rooms.
	AddSockets(opts BroadcastOptions, rooms []Room) error
	// DelSockets makes the sockets selected by opts leave rooms.
	DelSockets(opts BroadcastOptions, rooms []Room) error
	// DisconnectSockets disconnects the sockets selected by opts.
	DisconnectSockets(opts BroadcastOptions, close bool) error

	// ServerSideEmit sends p, an EVENT packet [name, args...], to the
	// other servers of the cluster, which hand it to their namespace's
	// ServerSideEvent.
	ServerSideEmit(ctx context.Context, p *parser.Packet) error
	// ServerSideEmitWithAck is ServerSideEmit asking each other server for
	// an answer. It returns the answers (Data is the JSON array of an
	// answer's arguments; Socket is empty) once every server answered, or
	// those received with an error when ctx ends first or a server does
	// not answer in time.
	ServerSideEmitWithAck(ctx context.Context, p *parser.Packet) ([]AckResponse, error)
}
