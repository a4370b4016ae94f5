package socketio

import (
	"context"
	"errors"
	"fmt"

	"github.com/socketio-go/socketio/parser"
)

// Sentinel errors. Callers branch on them with errors.Is.
var (
	// ErrAckTimeout is returned by EmitWithAck when ctx ends before the
	// acknowledgement arrives. It also matches context.DeadlineExceeded or
	// context.Canceled, whichever ended ctx.
	ErrAckTimeout = errors.New("socketio: operation has timed out")
	// ErrDisconnected is returned when the socket is, or becomes,
	// disconnected before an operation completes.
	ErrDisconnected = errors.New("socketio: socket disconnected")
	// ErrReservedEvent is returned when emitting an event whose name is
	// reserved by the protocol ("connect", "connect_error", "disconnect",
	// "disconnecting", "newListener", "removeListener").
	ErrReservedEvent = errors.New("socketio: reserved event name")
	// ErrServerClosed is returned by Shutdown and Close on a server already
	// shut down, and by ListenAndServe after Shutdown or Close.
	ErrServerClosed = errors.New("socketio: server closed")
	// ErrAlreadyAcked is returned by Event.Ack when the event was already
	// acknowledged.
	ErrAlreadyAcked = errors.New("socketio: event already acknowledged")
	// ErrNoAck is returned by Event.Ack when the client did not ask for an
	// acknowledgement.
	ErrNoAck = errors.New("socketio: event has no acknowledgement")
	// ErrSlowConsumer is the cause given when a socket's connection is
	// closed because it does not read what the server sends fast enough.
	ErrSlowConsumer = errors.New("socketio: write queue full (slow consumer)")
	// ErrInvalidArgs is wrapped by the error of a typed handler whose
	// arguments do not fit its types.
	ErrInvalidArgs = errors.New("socketio: invalid arguments")
	// ErrTooManyPendingAcks is returned by EmitWithAck when the socket
	// already waits for Options.MaxPendingAcks acknowledgements.
	ErrTooManyPendingAcks = errors.New("socketio: too many pending acknowledgements")
)

// ackTimeoutError is ErrAckTimeout that also matches the context error.
func ackTimeoutError(ctx context.Context) error {
	return fmt.Errorf("%w: %w", ErrAckTimeout, ctx.Err())
}

// ConnectError refuses a connection from a namespace middleware. The
// client receives a CONNECT_ERROR packet {"message":Message,"data":Data}
// and emits "connect_error" with an Error whose message is Message and whose
// data property is Data.
//
// A middleware returning any other error refuses the connection the same
// way, with the error's text as message and no data.
type ConnectError struct {
	Message string
	Data    any
}

// Error returns Message.
func (e *ConnectError) Error() string { return e.Message }

// connectErrorPayload builds the CONNECT_ERROR payload for err:
// {"message":...} with "data" when there is some.
func connectErrorPayload(err error) ([]byte, error) {
	var ce *ConnectError
	if !errors.As(err, &ce) {
		ce = &ConnectError{Message: err.Error()}
	}
	b := append(make([]byte, 0, 64), `{"message":`...)
	b, perr := parser.AppendValue(b, ce.Message, nil)
	if perr != nil {
		return nil, perr
	}
	if ce.Data != nil {
		b = append(b, `,"data":`...)
		if b, perr = parser.AppendValue(b, ce.Data, nil); perr != nil {
			return nil, perr
		}
	}
	return append(b, '}'), nil
}
