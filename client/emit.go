package client

import (
	"context"
	"slices"
	"time"

	"github.com/socketio-go/socketio/parser"
)

// Emitter emits events with modifiers: a timeout for the acknowledgement,
// or volatility. It is immutable: each modifier returns a new Emitter.
// Get one from Socket.Timeout or Socket.Volatile.
type Emitter struct {
	s          *Socket
	timeout    time.Duration
	hasTimeout bool
	volatile   bool
	noCompress bool
}

// Timeout returns an Emitter whose EmitWithAck fails with ErrAckTimeout
// when no acknowledgement arrived within d (with SocketOptions.Retries,
// the delay of each try). d <= 0 means no timeout, overriding
// SocketOptions.AckTimeout.
func (s *Socket) Timeout(d time.Duration) *Emitter { return (&Emitter{s: s}).Timeout(d) }

// Volatile returns an Emitter whose events are dropped instead of
// buffered when the socket is not connected or the transport is not
// writable at once (a long-polling POST in flight, an upgrade in
// progress). Volatile events bypass the retry queue.
func (s *Socket) Volatile() *Emitter { return (&Emitter{s: s}).Volatile() }

// Compress returns an Emitter whose events are sent without compression
// when compress is false (socket.io-client's socket.compress(false)): no
// permessage-deflate for their WebSocket messages. Events are compressed
// by default (above the PerMessageDeflate threshold). Not applied to
// events sent through the retry queue (SocketOptions.Retries).
func (s *Socket) Compress(compress bool) *Emitter { return (&Emitter{s: s}).Compress(compress) }

// Compress returns a copy of e with the compress flag. See Socket.Compress.
func (e *Emitter) Compress(compress bool) *Emitter {
	c := *e
	c.noCompress = !compress
	return &c
}

// Timeout returns a copy of e with the acknowledgement timeout d. See
// Socket.Timeout.
func (e *Emitter) Timeout(d time.Duration) *Emitter {
	c := *e
	c.timeout, c.hasTimeout = d, true
	return &c
}

// Volatile returns a volatile copy of e. See Socket.Volatile.
func (e *Emitter) Volatile() *Emitter {
	c := *e
	c.volatile = true
	return &c
}

func (e *Emitter) ackTimeout() time.Duration {
	if e.hasTimeout {
		return max(e.timeout, 0)
	}
	return e.s.opts.AckTimeout
}

// Emit sends the event name with args; see Socket.Emit.
func (e *Emitter) Emit(event string, args ...any) error {
	s := e.s
	o, err := s.newOut(event, args)
	if err != nil {
		return err
	}
	o.noCompress = e.noCompress
	if s.opts.Retries > 0 && !e.volatile {
		s.enqueue(&queued{out: o, timeout: e.ackTimeout(), ackID: parser.NoID})
		return nil
	}
	s.send(o, e.volatile)
	return nil
}

// EmitWithAck sends the event name with args and waits for the server's
// acknowledgement; see Socket.EmitWithAck.
func (e *Emitter) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	s := e.s
	o, err := s.newOut(event, args)
	if err != nil {
		return Args{}, err
	}
	o.noCompress = e.noCompress
	ch := make(chan ackResult, 1)
	done := func(a Args, err error) { ch <- ackResult{a, err} }
	if s.opts.Retries > 0 && !e.volatile {
		q := &queued{out: o, timeout: e.ackTimeout(), ackID: parser.NoID, done: done}
		s.enqueue(q)
		select {
		case r := <-ch:
			return r.args, r.err
		case <-ctx.Done():
			s.dequeue(q)
			select {
			case r := <-ch:
				return r.args, r.err
			default:
			}
			return Args{}, ackTimeoutError(ctx.Err())
		}
	}
	if d := e.ackTimeout(); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	s.mu.Lock()
	id := s.nextID
	s.nextID++
	s.acks[id] = &pendingAck{withError: true, cb: done}
	s.mu.Unlock()
	o.pkt.ID = id
	s.send(o, e.volatile)
	select {
	case r := <-ch:
		return r.args, r.err
	case <-ctx.Done():
	}
	s.mu.Lock()
	delete(s.acks, id)
	s.sendBuf = slices.DeleteFunc(s.sendBuf, func(b *outPacket) bool { return b == o })
	s.mu.Unlock()
	select {
	case r := <-ch:
		return r.args, r.err
	default:
	}
	return Args{}, ackTimeoutError(ctxError(ctx))
}

// Emit sends the event name with args to the server. Arguments are
// encoded like encoding/json does, except that every []byte (at any depth)
// is sent as a binary attachment, and values obtained from
// Args.Spread are sent as received.
//
// When the socket is not connected, the event is buffered and sent once
// it (re)connects, unless it is volatile. With SocketOptions.Retries, it
// goes through the retry queue instead. The OnAnyOutgoing handlers run
// when it is written.
//
// Errors: ErrReservedEvent, an encoding error, ErrManagerClosed. Emit
// never blocks on the network.
func (s *Socket) Emit(event string, args ...any) error {
	return (&Emitter{s: s}).Emit(event, args...)
}

// Send emits the event "message" with args.
func (s *Socket) Send(args ...any) error { return s.Emit("message", args...) }

// EmitWithAck sends the event name with args, asking for an
// acknowledgement, and returns its arguments. It waits until the
// acknowledgement arrives, ctx ends, SocketOptions.AckTimeout (or the
// Timeout of the Emitter) expires, or the socket disconnects after sending
// the event. An event emitted while disconnected is buffered and keeps
// waiting for the reconnection.
//
// With SocketOptions.Retries, the event goes through the retry queue:
// each try waits for the timeout, and the event is sent again up to
// Retries times (at-least-once delivery); a disconnection counts as a
// failed try when there is a timeout, and the event is sent again after
// the reconnection.
//
// Errors: ErrAckTimeout (also matching the context error), ErrDisconnected,
// ErrReservedEvent, an encoding error, ErrManagerClosed.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	return (&Emitter{s: s}).EmitWithAck(ctx, event, args...)
}

// newOut encodes an event.
func (s *Socket) newOut(event string, args []any) (*outPacket, error) {
	if parser.IsReservedEvent(event) {
		return nil, ErrReservedEvent
	}
	s.m.mu.Lock()
	closed := s.m.closed
	s.m.mu.Unlock()
	if closed {
		return nil, ErrManagerClosed
	}
	p, err := newPacket(parser.Event, s.nsp, event, args)
	if err != nil {
		return nil, err
	}
	return &outPacket{pkt: p, event: event, args: args}, nil
}

// send writes o when connected, buffers it otherwise; a volatile packet
// is dropped when it cannot be written at once.
func (s *Socket) send(o *outPacket, volatile bool) {
	s.mu.Lock()
	mc := s.conn
	if volatile && (mc == nil || !mc.writable()) {
		s.mu.Unlock()
		s.m.opts.Logger.Debug("socketio/client: volatile event dropped", "event", o.event)
		return
	}
	if mc != nil && mc.writeFlags(o.pkt, o.noCompress) == nil {
		s.mu.Unlock()
		s.m.disp.do(func() { s.notifyOut(o) })
		return
	}
	if !volatile {
		s.sendBuf = append(s.sendBuf, o)
	}
	s.mu.Unlock()
}

// queued is an event of the retry queue.
type queued struct {
	out     *outPacket
	timeout time.Duration
	tries   int
	pending bool  // sent, waiting for the acknowledgement
	ackID   int64 // id of the current try
	done    func(Args, error)
}

func (s *Socket) enqueue(q *queued) {
	s.mu.Lock()
	s.queue = append(s.queue, q)
	o := s.drainQueue(false)
	s.mu.Unlock()
	if o != nil {
		s.m.disp.do(func() { s.notifyOut(o) })
	}
}

// dequeue removes q, whose caller gave up, from the queue.
func (s *Socket) dequeue(q *queued) {
	s.mu.Lock()
	i := slices.Index(s.queue, q)
	var o *outPacket
	if i >= 0 {
		s.queue = slices.Delete(s.queue, i, i+1)
		if a := s.acks[q.ackID]; a != nil && q.pending {
			delete(s.acks, q.ackID)
			if a.timer != nil {
				a.timer.Stop()
			}
		}
		if i == 0 {
			o = s.drainQueue(false)
		}
	}
	s.mu.Unlock()
	if o != nil {
		s.m.disp.do(func() { s.notifyOut(o) })
	}
}

// drainQueue sends the head of the retry queue when connected and it is
// not already waiting for its acknowledgement (or force, after a
// reconnection). It returns the packet sent, for the outgoing handlers.
// Called with s.mu held.
func (s *Socket) drainQueue(force bool) *outPacket {
	if s.conn == nil || len(s.queue) == 0 {
		return nil
	}
	q := s.queue[0]
	if q.pending && !force {
		return nil
	}
	if a := s.acks[q.ackID]; a != nil {
		delete(s.acks, q.ackID)
		if a.timer != nil {
			a.timer.Stop()
		}
	}
	q.pending = true
	q.tries++
	id := s.nextID
	s.nextID++
	q.ackID = id
	a := &pendingAck{withError: q.timeout > 0, cb: func(args Args, err error) { s.onQueueAck(q, args, err) }}
	if q.timeout > 0 {
		a.timer = time.AfterFunc(q.timeout, func() { s.expireAck(id) })
	}
	s.acks[id] = a
	p := *q.out.pkt
	p.ID = id
	_ = s.conn.write(&p)
	return q.out
}

// expireAck fails the acknowledgement id after its timeout.
func (s *Socket) expireAck(id int64) {
	s.mu.Lock()
	a := s.acks[id]
	delete(s.acks, id)
	s.mu.Unlock()
	if a != nil {
		a.cb(Args{}, ackTimeoutError(context.DeadlineExceeded))
	}
}

// onQueueAck is the outcome of one try of q: on success or after the last
// try, q leaves the queue and its caller gets the result; otherwise q is
// sent again. Then the next event of the queue goes.
func (s *Socket) onQueueAck(q *queued, args Args, err error) {
	s.mu.Lock()
	if len(s.queue) == 0 || s.queue[0] != q {
		s.mu.Unlock()
		return
	}
	finish := err == nil || q.tries > s.opts.Retries
	if finish {
		s.queue = slices.Delete(s.queue, 0, 1)
	}
	q.pending = false
	o := s.drainQueue(false)
	s.mu.Unlock()
	if finish && q.done != nil {
		q.done(args, err)
	}
	if o != nil {
		s.m.disp.do(func() { s.notifyOut(o) })
	}
}
