package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/socketio-go/socketio/internal/sioargs"
	"github.com/socketio-go/socketio/parser"
)

// Args are the arguments of an event or an acknowledgement. They stay in
// their wire form (JSON, binary attachments aside) until decoded, so that
// arguments passed on unchanged (Spread, Raw) come out as they came in,
// each argument byte for byte (the whitespace between arguments is not
// kept).
type Args struct{ a sioargs.Args }

func newArgs(data []byte, atts [][]byte) (Args, error) {
	a, err := sioargs.Parse(data, atts)
	return Args{a}, err
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
// Errors: ErrInvalidArgs (wrapped) when there are fewer arguments than
// dst entries, or an argument does not fit its destination; the
// encoding/json error stays reachable with errors.As.
func (a Args) Decode(dst ...any) error { return a.a.Decode(ErrInvalidArgs, dst...) }

// Spread returns the arguments as values for Emit, Ack or a broadcast, so
// that they are sent again exactly as they were received, binary
// attachments included: s.Emit("echo", e.Args().Spread()...).
func (a Args) Spread() []any { return a.a.Spread() }

// MarshalJSON returns the arguments as a JSON array. Binary attachments
// appear as placeholders.
func (a Args) MarshalJSON() ([]byte, error) {
	return a.a.AppendJSON(make([]byte, 0, a.a.JSONLen())), nil
}

// Event is one event received from a client.
type Event struct {
	socket *Socket
	name   string
	args   Args
	ackID  int64
	turn   turn // the event's task on its socket's dispatcher
	acked  atomic.Bool
	dedup  *dedupEntry // set when retries of this event are deduplicated
}

func newEvent(s *Socket, p *parser.Packet) (*Event, error) {
	name, args, err := sioargs.ParseEvent(p.Data, p.Attachments)
	if err != nil {
		return nil, err
	}
	return &Event{socket: s, name: name, args: Args{args}, ackID: p.ID}, nil
}

// Name returns the event name.
func (e *Event) Name() string { return e.name }

// Socket returns the socket that received the event.
func (e *Event) Socket() *Socket { return e.socket }

// Args returns the event's arguments (the name excluded).
func (e *Event) Args() Args { return e.args }

// Decode decodes the arguments into dst. See Args.Decode.
func (e *Event) Decode(dst ...any) error { return e.args.Decode(dst...) }

// Context returns a context cancelled when the socket disconnects. A call
// that waits on the network (EmitWithAck, FetchSockets, a broadcast's
// EmitWithAck, ServerSideEmitWithAck) with this context, or one derived
// from it, lets the socket's next events start while the handler waits, as
// the next events of a Node.js socket run while a handler awaits: see
// Detach.
func (e *Event) Context() context.Context {
	return context.WithValue(e.socket.Context(), turnKey{}, e.turn)
}

// Detach lets the socket's next events start while this handler goes on,
// as they do in Node.js once a handler awaits something. Handlers of a
// socket start one at a time in arrival order; by default each runs to its
// end before the next starts. Call Detach before a slow operation (a
// database query, a call to another service) that the socket's next
// events need not wait for; a handler that waits on the network with
// e.Context() (or a context derived from it) is detached when it starts to
// wait. Once detached, the handler runs concurrently with the socket's
// next handlers: guard the state they share. It does nothing after the
// first call or from another goroutine once the handler returned.
func (e *Event) Detach() { e.turn.release() }

// HasAck reports whether the client asked for an acknowledgement.
func (e *Event) HasAck() bool { return e.ackID != parser.NoID }

// Ack acknowledges the event with args, encoded like Emit's. To answer
// with the event's own arguments, byte for byte, use
// e.Ack(e.Args().Spread()...).
//
// Errors: ErrNoAck if the client asked for no acknowledgement,
// ErrAlreadyAcked on a second call, an encoding error, ErrDisconnected.
func (e *Event) Ack(args ...any) error {
	if !e.HasAck() {
		return ErrNoAck
	}
	if !e.acked.CompareAndSwap(false, true) {
		return ErrAlreadyAcked
	}
	s := e.socket
	if !s.Connected() && e.dedup == nil {
		return ErrDisconnected
	}
	p, err := s.nsp.newPacket(parser.Ack, "", args)
	if err != nil {
		return err
	}
	p.ID = e.ackID
	var (
		reply   *parser.Packet // allocated only when retries are deduplicated
		waiters []int64
	)
	if e.dedup != nil {
		// Retries of this event get the same answer, even when they
		// arrive on the socket that recovered this one's session.
		reply = new(parser.Packet)
		*reply = *p
		waiters = s.dedup.sent(e.dedup, reply)
	}
	err = ErrDisconnected
	if s.Connected() {
		err = s.conn.writePacket(p, false)
	}
	if len(waiters) > 0 {
		to := s.dedup.owner.Load()
		for _, id := range waiters {
			to.replyTo(reply, id)
		}
	}
	return err
}

// ackError is the payload of an acknowledgement that reports an error from
// a typed handler: {"error":"<message>"}.
type ackError struct {
	Error string `json:"error"`
}

// invalidArgsMessage is what a client that asked for an acknowledgement
// receives when its arguments do not fit a typed handler: a short message
// that does not reveal the server's types.
const invalidArgsMessage = "invalid arguments"

// decodeFail reports arguments that do not fit a typed handler: the error
// goes to the OnError handlers and, when the client asked for an
// acknowledgement, the client receives {"error":"invalid arguments"}.
func decodeFail(e *Event, err error) {
	e.socket.callErrorHandlers(fmt.Errorf("event %q: %w", e.name, err))
	if e.HasAck() {
		_ = e.Ack(ackError{Error: invalidArgsMessage})
	}
}

// Handle returns an EventHandler that decodes the first argument into a T
// and calls fn. If the argument does not fit T, fn is not called: the error
// (wrapping ErrInvalidArgs) goes to the socket's OnError handlers and, if
// the client asked for an acknowledgement, the client receives
// {"error":"invalid arguments"} as its argument. If the client asked for
// an acknowledgement of a valid payload, it receives one with no argument
// once fn returned (use HandleAck to answer with a value).
func Handle[T any](fn func(s *Socket, v T)) EventHandler {
	return func(e *Event) {
		var v T
		if err := e.args.Decode(&v); err != nil {
			decodeFail(e, err)
			return
		}
		fn(e.socket, v)
		ackDone(e)
	}
}

// Handle2 is Handle for events with two arguments.
func Handle2[A, B any](fn func(s *Socket, a A, b B)) EventHandler {
	return func(e *Event) {
		var a A
		var b B
		if err := e.args.Decode(&a, &b); err != nil {
			decodeFail(e, err)
			return
		}
		fn(e.socket, a, b)
		ackDone(e)
	}
}

// ackDone acknowledges, with no argument, an event whose client asked for
// an acknowledgement that the handler could not give.
func ackDone(e *Event) {
	if e.HasAck() && !e.acked.Load() {
		if err := e.Ack(); err != nil && !errors.Is(err, ErrAlreadyAcked) {
			e.socket.callErrorHandlers(fmt.Errorf("event %q: ack: %w", e.name, err))
		}
	}
}

// answer acknowledges e with fn's result: resp, or {"error":"<err>"}.
func answer[Resp any](e *Event, resp Resp, err error) {
	if !e.HasAck() {
		return
	}
	if err != nil {
		_ = e.Ack(ackError{Error: err.Error()})
		return
	}
	if err := e.Ack(resp); err != nil {
		e.socket.callErrorHandlers(fmt.Errorf("event %q: ack: %w", e.name, err))
	}
}

// HandleAck returns an EventHandler for an event with one argument that
// expects an acknowledgement: fn's result is the acknowledgement's
// argument. If fn returns an error, the client receives
// {"error":"<err.Error()>"} instead: return errors meant for the client. If
// the argument does not fit Req, fn is not called, the client receives
// {"error":"invalid arguments"} and the decoding error goes to the socket's
// OnError handlers. ctx is the event's context (Event.Context): cancelled
// when the socket disconnects, and waiting on the network with it lets the
// socket's next events start.
func HandleAck[Req, Resp any](fn func(ctx context.Context, s *Socket, req Req) (Resp, error)) EventHandler {
	return func(e *Event) {
		var req Req
		if err := e.args.Decode(&req); err != nil {
			decodeFail(e, err)
			return
		}
		resp, err := fn(e.Context(), e.socket, req)
		answer(e, resp, err)
	}
}

// HandleAck0 is HandleAck for an event with no argument but the
// acknowledgement, such as socket.emit("getState", cb): arguments the
// client sends anyway are ignored.
func HandleAck0[Resp any](fn func(ctx context.Context, s *Socket) (Resp, error)) EventHandler {
	return func(e *Event) {
		resp, err := fn(e.Context(), e.socket)
		answer(e, resp, err)
	}
}

// HandleAck2 is HandleAck for an event with two arguments and the
// acknowledgement, such as socket.emit("say", room, text, cb).
func HandleAck2[A, B, Resp any](fn func(ctx context.Context, s *Socket, a A, b B) (Resp, error)) EventHandler {
	return func(e *Event) {
		var a A
		var b B
		if err := e.args.Decode(&a, &b); err != nil {
			decodeFail(e, err)
			return
		}
		resp, err := fn(e.Context(), e.socket, a, b)
		answer(e, resp, err)
	}
}
