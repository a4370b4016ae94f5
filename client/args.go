package client

import (
	"encoding/json"
	"sync/atomic"

	"github.com/socketio-go/socketio/internal/sioargs"
	"github.com/socketio-go/socketio/parser"
)

// Args are the arguments of an event or an acknowledgement. They stay in
// their wire form (JSON, binary attachments aside) until decoded, so that
// arguments passed on unchanged (Spread, Raw) come out as they came in,
// each argument byte for byte (the whitespace between arguments is not
// kept).
type Args struct {
	a sioargs.Args
}

// Len returns the number of arguments.
func (a Args) Len() int { return len(a.a.Elems) }

// Raw returns argument i as raw JSON. Binary values appear as placeholder
// objects {"_placeholder":true,"num":N}; see Attachments. It returns nil
// when there is no argument i (i < 0 or i >= Len()): json.Unmarshal of nil
// fails, as Decode does for a missing argument.
func (a Args) Raw(i int) json.RawMessage {
	if i < 0 || i >= len(a.a.Elems) {
		return nil
	}
	return json.RawMessage(a.a.Elems[i])
}

// String returns the arguments as a JSON array, binary attachments as
// placeholders, for logs and fmt's %v.
func (a Args) String() string {
	return string(a.a.AppendJSON(make([]byte, 0, a.a.JSONLen())))
}

// Attachments returns the binary attachments the placeholders refer to.
func (a Args) Attachments() [][]byte { return a.a.Atts }

// Decode decodes the arguments, in order, into the values dst points to:
// dst[0] gets the first argument, dst[1] the second, and so on. A nil entry
// skips its argument; extra arguments are ignored. Binary attachments
// decode into []byte (at any depth, also inside structs), and into []byte
// values of any-typed destinations. Decoding follows encoding/json
// otherwise.
//
// Errors: ErrInvalidArgs (wrapped) when there are fewer arguments than dst
// entries, or an argument does not fit its destination; the encoding/json
// error stays reachable with errors.As.
func (a Args) Decode(dst ...any) error { return a.a.Decode(ErrInvalidArgs, dst...) }

// Spread returns the arguments as values for Emit or Ack, so that they are
// sent again exactly as they were received, binary attachments included:
// s.Emit("echo", e.Args().Spread()...).
func (a Args) Spread() []any { return a.a.Spread() }

// MarshalJSON returns the arguments as a JSON array. Binary attachments
// appear as placeholders.
func (a Args) MarshalJSON() ([]byte, error) {
	return a.a.AppendJSON(make([]byte, 0, a.a.JSONLen())), nil
}

// EventHandler handles an event received from the server.
type EventHandler func(e *Event)

// Event is one event received from the server.
type Event struct {
	socket *Socket
	conn   *mconn // the connection it arrived on
	name   string
	args   Args
	seq    uint64 // arrival order of an unclaimed event
	turn   turn   // the handlers' task on the Manager's dispatcher
	ackID  int64
	acked  atomic.Bool
}

// Name returns the event name.
func (e *Event) Name() string { return e.name }

// Socket returns the socket that received the event.
func (e *Event) Socket() *Socket { return e.socket }

// Args returns the event's arguments (the name excluded).
func (e *Event) Args() Args { return e.args }

// Decode decodes the arguments into dst. See Args.Decode.
func (e *Event) Decode(dst ...any) error { return e.args.Decode(dst...) }

// Detach lets the next handlers of the Manager (its sockets' events and
// lifecycle callbacks) start while this handler goes on, as they do in
// JavaScript once a handler awaits something: call it before waiting in
// EmitWithAck or another slow operation. Handlers start one at a time in
// order; by default each runs to its end before the next starts. Once
// detached, the handler runs concurrently with the next ones: guard the
// state they share. It does nothing after the first call or once the
// handlers of the event returned.
func (e *Event) Detach() { e.turn.release() }

// HasAck reports whether the server asked for an acknowledgement.
func (e *Event) HasAck() bool { return e.ackID != parser.NoID }

// Ack acknowledges the event with args, encoded like Emit's ([]byte values
// are sent as binary). To answer with the event's own arguments, byte for
// byte, use e.Ack(e.Args().Spread()...).
//
// Errors: ErrNoAck if the server asked for no acknowledgement,
// ErrAlreadyAcked on a second call, an encoding error, or ErrDisconnected
// when the connection the event arrived on is gone (the server forgot the
// event's id).
func (e *Event) Ack(args ...any) error {
	switch {
	case e.ackID == parser.NoID:
		return ErrNoAck
	case e.acked.Swap(true):
		return ErrAlreadyAcked
	}
	p, err := newPacket(parser.Ack, e.socket.nsp, "", args)
	if err != nil {
		return err
	}
	p.ID = e.ackID
	return e.socket.writeOn(e.conn, p)
}

// newPacket encodes an EVENT (event != "") or ACK packet of namespace nsp.
func newPacket(t parser.Type, nsp, event string, args []any) (*parser.Packet, error) {
	values := args
	if t == parser.Event {
		values = make([]any, 0, 1+len(args))
		values = append(values, event)
		values = append(values, args...)
	}
	var atts [][]byte
	data, err := parser.AppendArray(make([]byte, 0, 64), &atts, values...)
	if err != nil {
		return nil, err
	}
	return &parser.Packet{Type: t, Namespace: nsp, ID: parser.NoID, Data: data, Attachments: atts}, nil
}
