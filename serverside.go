package socketio

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/socketio-go/socketio/internal/sioargs"
	"github.com/socketio-go/socketio/parser"
)

// ServerEvent is an event another server of the cluster sent with
// ServerSideEmit (io.serverSideEmit in the official API).
type ServerEvent struct {
	name  string
	args  Args
	ack   func(reply *parser.Packet) // nil: the sender wants no answer
	acked atomic.Bool
	nsp   *Namespace
}

// Name returns the event name.
func (e *ServerEvent) Name() string { return e.name }

// Args returns the event's arguments.
func (e *ServerEvent) Args() Args { return e.args }

// Decode decodes the arguments into dst. See Args.Decode.
func (e *ServerEvent) Decode(dst ...any) error { return e.args.Decode(dst...) }

// HasAck reports whether the sender waits for an answer
// (ServerSideEmitWithAck).
func (e *ServerEvent) HasAck() bool { return e.ack != nil }

// Ack answers the sender. Only the first argument reaches it: the official
// adapters carry one value per server, and so does this one, so that Go and
// Node servers answer each other alike.
//
// Errors: ErrNoAck if the sender wants no answer, ErrAlreadyAcked on a
// second call, an encoding error.
func (e *ServerEvent) Ack(args ...any) error {
	if e.ack == nil {
		return ErrNoAck
	}
	if !e.acked.CompareAndSwap(false, true) {
		return ErrAlreadyAcked
	}
	reply, err := e.nsp.newPacket(parser.Ack, "", args[:min(len(args), 1)])
	if err != nil {
		return err
	}
	e.ack(reply)
	return nil
}

// serverEvents holds the server-side event handlers of a namespace and runs
// them one at a time, in arrival order.
type serverEvents struct {
	mu       sync.Mutex
	next     uint64
	handlers []handlerEntry[namedServerHandler]
	disp     dispatcher
}

type namedServerHandler struct {
	event string
	h     func(*ServerEvent)
}

// OnServerSideEmit adds a handler for an event that other servers of the
// cluster send with ServerSideEmit. Several handlers may handle the same
// event; they run in the order they were added, one event at a time, in
// the order the events arrived. It returns a function that removes the
// handler.
func (n *Namespace) OnServerSideEmit(event string, h func(e *ServerEvent)) (remove func()) {
	se := &n.serverEvents
	se.mu.Lock()
	se.next++
	id := se.next
	se.handlers = append(se.handlers, handlerEntry[namedServerHandler]{id: id, fn: namedServerHandler{event, h}})
	se.mu.Unlock()
	return func() {
		se.mu.Lock()
		defer se.mu.Unlock()
		se.handlers = slices.DeleteFunc(se.handlers, func(e handlerEntry[namedServerHandler]) bool { return e.id == id })
	}
}

// onServerSideEmit hands an event from another server to the handlers.
func (n *Namespace) onServerSideEmit(p *parser.Packet, ack func(reply *parser.Packet)) {
	name, args, err := sioargs.ParseEvent(p.Data, p.Attachments)
	if err != nil {
		n.srv.logger.Warn("socketio: invalid server-side event from the cluster, dropped", "nsp", n.name, "err", err)
		return
	}
	e := &ServerEvent{name: name, args: Args{args}, ack: ack, nsp: n}
	se := &n.serverEvents
	if !se.disp.push(func() {
		se.mu.Lock()
		var hs []func(*ServerEvent)
		for _, h := range se.handlers {
			if h.fn.event == name {
				hs = append(hs, h.fn.h)
			}
		}
		se.mu.Unlock()
		for _, h := range hs {
			h(e)
		}
	}) {
		n.srv.logger.Warn("socketio: server-side event queue full, event dropped", "nsp", n.name, "event", name)
	}
}

// ServerSideEmit sends an event to the other servers of the cluster: their
// OnServerSideEmit handlers receive it; this server's do not, nor does any
// client. With a single-server adapter it does nothing.
//
// Errors: ErrReservedEvent, an encoding error, or the adapter's error.
func (n *Namespace) ServerSideEmit(event string, args ...any) error {
	p, err := n.newEventPacket(event, args)
	if err != nil {
		return err
	}
	start := n.srv.observing()
	return n.adapterDone("serverSideEmit", start, n.adapter.ServerSideEmit(context.Background(), p))
}

// ServerSideEmitWithAck is ServerSideEmit asking every other server for an
// answer (see ServerEvent.Ack). It waits until each answered, and returns
// the answers, one Args of one value per server. When ctx ends first, it
// returns those received with an error matching ErrAckTimeout; when a
// server does not answer within the adapter's own timeout, with the
// adapter's error. With a single-server adapter it returns no answer at
// once.
func (n *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	p, err := n.newEventPacket(event, args)
	if err != nil {
		return nil, err
	}
	releaseTurn(ctx)
	start := n.srv.observing()
	answers, err := n.adapter.ServerSideEmitWithAck(ctx, p)
	err = n.adapterDone("serverSideEmitWithAck", start, err)
	out := make([]Args, 0, len(answers))
	for _, r := range answers {
		a, aerr := newArgs(r.Data, r.Attachments)
		if aerr != nil {
			n.srv.logger.Warn("socketio: invalid server-side answer from the cluster, dropped", "nsp", n.name, "err", aerr)
			continue
		}
		out = append(out, a)
	}
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w: %w", ackTimeoutError(ctx), err)
	}
	return out, err
}

// ServerSideEmit sends an event to the main namespace of the other servers
// of the cluster. See Namespace.ServerSideEmit.
func (s *Server) ServerSideEmit(event string, args ...any) error {
	return s.Of("/").ServerSideEmit(event, args...)
}

// ServerSideEmitWithAck is ServerSideEmit waiting for an answer from each
// other server. See Namespace.ServerSideEmitWithAck.
func (s *Server) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return s.Of("/").ServerSideEmitWithAck(ctx, event, args...)
}

// OnServerSideEmit adds a handler for the events other servers send to the
// main namespace with ServerSideEmit. See Namespace.OnServerSideEmit.
func (s *Server) OnServerSideEmit(event string, h func(e *ServerEvent)) (remove func()) {
	return s.Of("/").OnServerSideEmit(event, h)
}
