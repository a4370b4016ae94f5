package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors. Callers branch on them with errors.Is.
var (
	// ErrAckTimeout is returned by EmitWithAck when no acknowledgement
	// arrived in time: ctx ended, the Timeout of the call or
	// SocketOptions.AckTimeout expired, or the retries were exhausted. It
	// also matches context.DeadlineExceeded (or context.Canceled when ctx
	// was cancelled).
	ErrAckTimeout = errors.New("socketio/client: operation has timed out")
	// ErrDisconnected is returned by EmitWithAck when the socket
	// disconnected after the event was sent and before it was
	// acknowledged, by Event.Ack on a socket no longer connected, and by
	// Connect when Disconnect was called meanwhile.
	ErrDisconnected = errors.New("socketio/client: socket has been disconnected")
	// ErrReservedEvent is returned when emitting an event whose name is
	// reserved ("connect", "connect_error", "disconnect", "disconnecting",
	// "newListener", "removeListener").
	ErrReservedEvent = errors.New("socketio/client: reserved event name")
	// ErrManagerClosed is returned by the operations of a closed Manager
	// and its sockets.
	ErrManagerClosed = errors.New("socketio/client: manager closed")
	// ErrReconnectFailed is returned by Connect when the Manager gave up
	// after Options.ReconnectionAttempts attempts.
	ErrReconnectFailed = errors.New("socketio/client: reconnection failed")
	// ErrConnectTimeout wraps the error of a connection attempt that did
	// not complete its handshake within Options.Timeout.
	ErrConnectTimeout = errors.New("socketio/client: connect timeout")
	// ErrNoAck is returned by Event.Ack when the server asked for no
	// acknowledgement.
	ErrNoAck = errors.New("socketio/client: event has no acknowledgement")
	// ErrAlreadyAcked is returned by Event.Ack on its second call.
	ErrAlreadyAcked = errors.New("socketio/client: event already acknowledged")
	// ErrInvalidArgs is wrapped by Args.Decode errors.
	ErrInvalidArgs = errors.New("socketio/client: invalid arguments")
	// ErrEventQueueFull is the cause given when the connection is closed
	// because the server sent more events than the handlers could keep up
	// with (Options.EventQueueSize).
	ErrEventQueueFull = errors.New("socketio/client: event queue full")
)

// ackTimeoutError is ErrAckTimeout matching the error that ended ctx too.
func ackTimeoutError(cause error) error {
	return fmt.Errorf("%w: %w", ErrAckTimeout, cause)
}

// ConnectError is the refusal of a namespace connection by the server: the
// CONNECT_ERROR packet {"message":...,"data":...} a middleware produced.
// Connect returns it and the OnConnectError handlers receive it.
type ConnectError struct {
	// Message is the error message ("Invalid namespace" for a namespace
	// the server does not have).
	Message string
	// Data is the raw JSON of the "data" property, nil when absent.
	// Decode it with json.Unmarshal.
	Data json.RawMessage
	// Namespace is the namespace the socket tried to join.
	Namespace string
}

// Error returns Message with the namespace, for example
// `namespace "/admin": Invalid namespace`. Message alone is what the
// official client's err.message holds.
func (e *ConnectError) Error() string {
	if e.Namespace == "" {
		return e.Message
	}
	return "namespace " + strconv.Quote(e.Namespace) + ": " + e.Message
}

// errV2Server is the connect error of a CONNECT reply without sid, the
// sign of a Socket.IO v2 server.
var errV2Server = errors.New("socketio/client: it seems you are trying to reach a Socket.IO server in v2.x with a v3.x client, but they are not compatible")

// ackResult is the outcome of an acknowledgement.
type ackResult struct {
	args Args
	err  error
}

// ctxError returns the error of ctx, context.DeadlineExceeded when ctx did
// not end (a timer of ours expired).
func ctxError(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return context.DeadlineExceeded
}

// DisconnectReason says why a socket was disconnected. The values are
// exactly the strings of socket.io-client 4.x.
type DisconnectReason string

// The reasons a socket is disconnected.
const (
	// ReasonIOServerDisconnect: the server disconnected the socket
	// (socket.disconnect() on the server). The socket does not reconnect
	// by itself; call Connect again.
	ReasonIOServerDisconnect DisconnectReason = "io server disconnect"
	// ReasonIOClientDisconnect: Disconnect or Manager.Close was called.
	ReasonIOClientDisconnect DisconnectReason = "io client disconnect"
	// ReasonPingTimeout: the server sent no ping within pingInterval +
	// pingTimeout.
	ReasonPingTimeout DisconnectReason = "ping timeout"
	// ReasonTransportClose: the connection was closed (by the server, or
	// lost).
	ReasonTransportClose DisconnectReason = "transport close"
	// ReasonTransportError: the connection failed (a request error, an
	// oversized message...).
	ReasonTransportError DisconnectReason = "transport error"
	// ReasonParseError: the server sent something that is not a valid
	// Socket.IO packet, or exceeded a decoding limit.
	ReasonParseError DisconnectReason = "parse error"
)
