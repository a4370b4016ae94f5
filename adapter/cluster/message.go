// Package cluster implements the protocol the official socket.io-adapter's
// ClusterAdapter speaks between the servers of a cluster (socket.io-adapter
// 2.5: the sharded Redis adapter, the Redis Streams adapter and the
// PostgreSQL adapter use it), on top of a broker-specific [Transport].
//
// An [Adapter] is an adapter.Adapter: it keeps the rooms of the local
// sockets (an adapter.InMemory, or an adapter.SessionAware when connection
// state recovery is on), publishes the operations that concern other
// servers, and applies those it receives. A [Transport] only moves
// [Message] values: it encodes them for its broker ([AppendJSON] and
// [DecodeJSON] write and read the JSON form of the official adapters) and
// hands what it receives to [Adapter.OnMessage].
//
// Messages from the broker are untrusted input: a message that does not
// decode, or does not fit its type, is dropped and logged, never a panic.
package cluster

import (
	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/parser"
)

// MessageType is the type of a message between servers, as numbered by
// socket.io-adapter's ClusterAdapter.
type MessageType int

// The message types.
const (
	InitialHeartbeat         MessageType = 1
	Heartbeat                MessageType = 2
	Broadcast                MessageType = 3
	SocketsJoin              MessageType = 4
	SocketsLeave             MessageType = 5
	DisconnectSockets        MessageType = 6
	FetchSockets             MessageType = 7
	FetchSocketsResponse     MessageType = 8
	ServerSideEmit           MessageType = 9
	ServerSideEmitResponse   MessageType = 10
	BroadcastClientCount     MessageType = 11
	BroadcastAck             MessageType = 12
	AdapterClose             MessageType = 13
	maxMessageType                       = AdapterClose
	emitterUID                           = "emitter" // the uid of messages sent by an emitter process
	defaultRequestsTimeoutMs             = 5000
)

// IsResponse reports whether t answers a request (it goes to the
// requester's own channel).
func (t MessageType) IsResponse() bool {
	switch t {
	case FetchSocketsResponse, ServerSideEmitResponse, BroadcastClientCount, BroadcastAck:
		return true
	}
	return false
}

// MayCarryBinary reports whether a message of type t may hold binary
// values (the official adapters then switch to MessagePack).
func (t MessageType) MayCarryBinary() bool {
	switch t {
	case Broadcast, BroadcastAck, FetchSocketsResponse, ServerSideEmit, ServerSideEmitResponse:
		return true
	}
	return false
}

// Message is one message between the servers of a cluster. Which fields
// are used depends on Type:
//
//	Broadcast              Packet (an EVENT), Opts, RequestID when acknowledgements are asked
//	SocketsJoin/Leave      Opts, Rooms
//	DisconnectSockets      Opts, Close
//	FetchSockets           Opts, RequestID
//	FetchSocketsResponse   RequestID, Sockets
//	ServerSideEmit         Packet (Data: [event, args...]), RequestID when answers are asked
//	ServerSideEmitResponse RequestID, Packet (Data: the one-element array of the answer)
//	BroadcastClientCount   RequestID, ClientCount
//	BroadcastAck           RequestID, Packet (Data: the one-element array of the answer)
//
// Packet data are raw JSON with binary values as placeholders referring to
// Packet.Attachments (the parser.Packet form).
type Message struct {
	Type MessageType
	UID  string // the sending server's adapter
	NSP  string

	Packet      *parser.Packet
	Opts        adapter.BroadcastOptions
	RequestID   string
	Rooms       []string
	Close       bool
	ClientCount int
	Sockets     []adapter.SocketInfo

	// Local is for the transport of the adapter that publishes the
	// message (an adapter built on Adapter may pass it state, with
	// Adapter.Publish); it is never encoded.
	Local any
}

// HasBinary reports whether the message holds binary values.
func (m *Message) HasBinary() bool {
	if m.Packet != nil && len(m.Packet.Attachments) > 0 {
		return true
	}
	for _, s := range m.Sockets {
		if containsBinary(s.Data) {
			return true
		}
	}
	return false
}

func containsBinary(v any) bool {
	switch v := v.(type) {
	case []byte:
		return true
	case []any:
		for _, e := range v {
			if containsBinary(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range v {
			if containsBinary(e) {
				return true
			}
		}
	}
	return false
}
