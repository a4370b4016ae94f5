package socketio

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/parser"
)

// Handshake describes the request that opened a socket's connection and
// the authentication payload of its CONNECT packet: Headers, Time,
// Address, XDomain, Secure, Issued, URL, Query, Auth (the payload decoded
// into a map) and RawAuth (its exact bytes), as Node's socket.handshake.
// It is an alias, so that adapters share the type: its fields are
// documented at adapter.Handshake (go doc
// github.com/socketio-go/socketio/adapter.Handshake).
type Handshake = adapter.Handshake

type socketState uint8

const (
	socketConnecting socketState = iota
	socketConnected
	socketClosed
)

// EventHandler handles one received event.
type EventHandler func(e *Event)

// namedHandler is an EventHandler registered for one event name.
type namedHandler struct {
	event string
	h     EventHandler
}

type handlerEntry[F any] struct {
	id uint64
	fn F
}

// ackResult is the outcome of an acknowledgement: its arguments or an
// error (ErrDisconnected).
type ackResult struct {
	args Args
	err  error
}

// Socket is the server side of one client's connection to one namespace.
//
// Event handlers, middlewares and the connection and disconnection
// handlers of a socket run one at a time, in the order their packets
// arrived, on a goroutine of the socket's own; different sockets run in
// parallel. Every method is safe for concurrent use.
type Socket struct {
	id        string
	nsp       *Namespace
	conn      *conn
	connected time.Time // when the CONNECT packet arrived
	auth      []byte    // the CONNECT payload, "{}" when none
	ctx       context.Context
	cancel    context.CancelFunc

	dispatcher dispatcher
	dedup      *dedup          // nil unless Options.RetryDedup is set
	rec        *socketRecovery // nil unless connection state recovery is on

	hasOutgoing atomic.Bool // OnAnyOutgoing handlers are set: see syncOutgoingLocked

	mu           sync.Mutex
	state        socketState
	wasConnected bool
	nextHandler  uint64
	handlers     []handlerEntry[namedHandler]
	onDisconnect []handlerEntry[func(DisconnectReason)]
	extra        *socketExtra // nil until one of its fields is set
	acks         map[int64]func(ackResult)
	data         any
}

// socketExtra holds what most sockets never use, allocated on first use so
// that an idle socket stays small.
type socketExtra struct {
	anyHandlers     []handlerEntry[EventHandler]
	outgoing        []handlerEntry[func(event string, args []any)]
	onDisconnecting []handlerEntry[func(DisconnectReason)]
	onError         []handlerEntry[func(error)]
	middlewares     []func(*Event) error
	closedRooms     []string // the rooms the socket was in, once closed
}

// extraLocked returns s.extra, allocating it. s.mu must be held.
func (s *Socket) extraLocked() *socketExtra {
	if s.extra == nil {
		s.extra = new(socketExtra)
	}
	return s.extra
}

// newSocket returns a socket of nsp on c. With a restored session, it is
// that session's socket: same id, data and deduplication state.
func newSocket(nsp *Namespace, c *conn, auth []byte, sess *adapter.Session) *Socket {
	s := &Socket{
		nsp:  nsp,
		conn: c,
	}
	s.connected, s.auth = time.Now(), auth
	s.dispatcher = dispatcher{limit: nsp.srv.eventQueueSize, srv: nsp.srv, onPanic: s.onPanic}
	if sess != nil {
		s.id, s.data = sess.SID, sess.Data
		s.rec = &socketRecovery{pid: sess.PID, recovered: true, session: sess, done: make(chan struct{})}
		if local, ok := sess.Local.(*recoveryLocal); ok {
			s.dedup = local.dedup
			s.rec.prevDone = local.done
		}
	} else {
		s.id = engineio.NewID()
		if c.v3 {
			s.id = c.v3SocketID(nsp.name)
		}
		if nsp.store != nil {
			s.rec = &socketRecovery{pid: newPID(), done: make(chan struct{})}
		}
	}
	if o := nsp.srv.opts.RetryDedup; o != nil && s.dedup == nil {
		s.dedup = newDedup(o)
	}
	if s.dedup != nil {
		s.dedup.owner.Store(s)
	}
	return s
}

func buildHandshake(c *conn, auth []byte, now time.Time) *Handshake {
	r := c.sess.Request()
	addr := r.RemoteAddr
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	if r.Host != "" && r.Header.Get("Host") == "" {
		// net/http moves the Host header to r.Host; the official
		// handshake has it among the headers. (Request returns headers of
		// the socket's own.)
		r.Header.Set("Host", r.Host)
	}
	h := &Handshake{
		Headers: r.Header,
		Time:    now,
		Address: addr,
		XDomain: r.Header.Get("Origin") != "",
		Secure:  r.TLS != nil,
		Issued:  now.UnixMilli(),
		URL:     r.RequestURI,
		Query:   r.URL.Query(),
		RawAuth: auth,
	}
	_ = json.Unmarshal(auth, &h.Auth)
	return h
}

// ID returns the socket id, which is also the name of the socket's own
// room. It is not the Engine.IO session id.
func (s *Socket) ID() string { return s.id }

// Namespace returns the namespace of the socket.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Handshake describes the connection request and the CONNECT payload. It
// is built on each call (a socket keeps only what it is built from, to stay
// small): keep the result if you need it often.
func (s *Socket) Handshake() *Handshake { return buildHandshake(s.conn, s.auth, s.connected) }

// Request returns the HTTP request that opened the connection (its body is
// empty). It must not be modified.
func (s *Socket) Request() *http.Request { return s.conn.sess.Request() }

// ConnID returns the Engine.IO session id of the socket's connection,
// shared by the sockets of the same client in other namespaces.
func (s *Socket) ConnID() string { return s.conn.sess.ID() }

// Transport returns the transport the connection uses now: "polling",
// "websocket" or "webtransport".
func (s *Socket) Transport() string { return s.conn.sess.Transport() }

// Context returns a context cancelled when the socket disconnects. In
// OnDisconnect handlers it is already cancelled: use another context for
// work done there.
func (s *Socket) Context() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil {
		// Made on first use: most sockets never need one.
		s.ctx, s.cancel = context.WithCancel(context.Background())
		if s.state == socketClosed {
			s.cancel()
		}
	}
	return s.ctx
}

// cancelContext ends the socket's context, if it has one.
func (s *Socket) cancelContext() {
	s.mu.Lock()
	cancel := s.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// Recovered reports whether the socket is a disconnected socket given back
// to its client by connection state recovery: it has the same id, rooms and
// data as before, and the client received the events it missed. See
// ConnectionStateRecovery.
func (s *Socket) Recovered() bool { return s.rec != nil && s.rec.recovered }

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == socketConnected
}

// Data returns the application data attached with SetData: nil until
// SetData is called (Node's socket.data starts as {}; a socket of this
// server with no data is reported as {} to the other servers of a
// cluster). It is the value given to SetData itself, not a copy: when it
// is a pointer, a map or a slice, guard what you change in it, or replace
// it with SetData of a new value instead of changing it.
func (s *Socket) Data() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// SetData attaches application data to the socket (socket.data in the
// official API). FetchSockets reports it: on this server as the same value
// (shared, not copied), from other servers of a cluster as its JSON
// decoded into an any (see RemoteSocket.Data). With connection state
// recovery, the recovered socket gets it back (across servers, in its
// JSON form).
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	s.data = v
	live := s.rec != nil && s.rec.since != "" && s.state != socketClosed
	s.mu.Unlock()
	if live {
		if ls, ok := s.nsp.store.(adapter.LiveSessionStore); ok {
			ls.UpdateSessionData(s.id, v)
		}
	}
}

func (s *Socket) markConnected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != socketConnecting {
		return false
	}
	s.state = socketConnected
	s.wasConnected = true
	return true
}

func (s *Socket) markClosed() {
	s.mu.Lock()
	s.state = socketClosed
	s.mu.Unlock()
	s.cancelContext()
}

// Handler registration.

// addEntry adds fn to the list that list returns (called with s.mu held),
// at its end, or at its start with prepend. It returns the function that
// removes this very entry (a no-op once it is removed).
func addEntry[F any](s *Socket, list func(*Socket) *[]handlerEntry[F], fn F, prepend bool) func() {
	s.mu.Lock()
	s.nextHandler++
	id := s.nextHandler
	l := list(s)
	e := handlerEntry[F]{id: id, fn: fn}
	if prepend {
		// A new slice: dispatch may be iterating over a copy of the old one.
		*l = append([]handlerEntry[F]{e}, *l...)
	} else {
		*l = append(*l, e)
	}
	s.syncOutgoingLocked()
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		list := list(s)
		for i, e := range *list {
			if e.id == id {
				*list = append((*list)[:i:i], (*list)[i+1:]...)
				s.syncOutgoingLocked()
				return
			}
		}
	}
}

// syncOutgoingLocked records whether the socket has outgoing listeners,
// which broadcasts check without taking s.mu. s.mu must be held.
func (s *Socket) syncOutgoingLocked() {
	s.hasOutgoing.Store(s.extra != nil && len(s.extra.outgoing) > 0)
}

func fns[F any](list []handlerEntry[F]) []F {
	out := make([]F, len(list))
	for i, e := range list {
		out[i] = e.fn
	}
	return out
}

// On adds a handler for an event. Several handlers may handle the same
// event; they run in the order they were added. It returns a function that
// removes the handler.
func (s *Socket) On(event string, h EventHandler) (remove func()) {
	// A slice, not a map: a socket has few handlers, and a small slice is
	// a fraction of the size of a map.
	return addEntry(s, func(s *Socket) *[]handlerEntry[namedHandler] { return &s.handlers }, namedHandler{event, h}, false)
}

// OnAny adds a catch-all handler called for every received event, before
// the handlers of that event, after the catch-all handlers added before it.
// It returns the function that removes this handler (the official
// socket.offAny(listener)); OffAny removes them all.
func (s *Socket) OnAny(h EventHandler) (remove func()) {
	return addEntry(s, anyList, h, false)
}

// PrependAny is OnAny, but h runs before the catch-all handlers added so
// far (socket.prependAny).
func (s *Socket) PrependAny(h EventHandler) (remove func()) {
	return addEntry(s, anyList, h, true)
}

// OffAny removes every catch-all handler added by OnAny and PrependAny
// (socket.offAny() without argument). To remove one, call the function
// that OnAny or PrependAny returned.
func (s *Socket) OffAny() {
	s.mu.Lock()
	if s.extra != nil {
		s.extra.anyHandlers = nil
	}
	s.mu.Unlock()
}

func anyList(s *Socket) *[]handlerEntry[EventHandler] { return &s.extraLocked().anyHandlers }

func outgoingList(s *Socket) *[]handlerEntry[func(string, []any)] {
	return &s.extraLocked().outgoing
}

// OnAnyOutgoing adds a handler called for every event sent to this socket,
// with the event name and arguments, after the outgoing handlers added
// before it, as the official socket.onAnyOutgoing:
//   - for Emit and EmitWithAck on the socket, args are the values given to
//     them, and the handler runs before the packet is queued;
//   - for events that reach the socket through its namespace's adapter —
//     broadcasts (namespace or server Emit, To, Except..., also from other
//     servers of a cluster), and with connection state recovery on, the
//     socket's own Emit, which is stored like a broadcast, as in the
//     official server — args are parser.RawValue values holding each
//     argument's JSON exactly as sent (with the recovery offset as the last
//     argument when there is one), so that they can be decoded with
//     json.Unmarshal or emitted again; the handler runs after the packet
//     was queued for every recipient, on the goroutine that broadcast.
//
// Handlers must not modify args, which are shared by the sockets of a
// broadcast. It returns the function that removes this handler;
// OffAnyOutgoing removes them all.
func (s *Socket) OnAnyOutgoing(h func(event string, args []any)) (remove func()) {
	return addEntry(s, outgoingList, h, false)
}

// PrependAnyOutgoing is OnAnyOutgoing, but h runs before the outgoing
// handlers added so far (socket.prependAnyOutgoing).
func (s *Socket) PrependAnyOutgoing(h func(event string, args []any)) (remove func()) {
	return addEntry(s, outgoingList, h, true)
}

// OffAnyOutgoing removes every handler added by OnAnyOutgoing and
// PrependAnyOutgoing (socket.offAnyOutgoing() without argument). To
// remove one, call the function they returned.
func (s *Socket) OffAnyOutgoing() {
	s.mu.Lock()
	if s.extra != nil {
		s.extra.outgoing = nil
	}
	s.syncOutgoingLocked()
	s.mu.Unlock()
}

// OnDisconnecting adds a handler called when the socket disconnects, before
// OnDisconnect handlers; Rooms still returns the rooms the socket was in.
func (s *Socket) OnDisconnecting(h func(reason DisconnectReason)) (remove func()) {
	return addEntry(s, func(s *Socket) *[]handlerEntry[func(DisconnectReason)] { return &s.extraLocked().onDisconnecting }, h, false)
}

// OnDisconnect adds a handler called when the socket disconnects.
func (s *Socket) OnDisconnect(h func(reason DisconnectReason)) (remove func()) {
	return addEntry(s, func(s *Socket) *[]handlerEntry[func(DisconnectReason)] { return &s.onDisconnect }, h, false)
}

// OnError adds a handler for errors: a socket middleware refusing an event,
// arguments that do not fit a typed handler, an invalid packet.
func (s *Socket) OnError(h func(err error)) (remove func()) {
	return addEntry(s, func(s *Socket) *[]handlerEntry[func(error)] { return &s.extraLocked().onError }, h, false)
}

// Use adds a middleware run for every received event before its handlers.
// An error stops the event and goes to the OnError handlers.
func (s *Socket) Use(mw func(e *Event) error) {
	s.mu.Lock()
	x := s.extraLocked()
	x.middlewares = append(x.middlewares, mw)
	s.mu.Unlock()
}

// Receiving.

// onPacket handles a packet for this socket. It runs on the connection's
// read path: events are queued for the dispatcher, acknowledgements are
// resolved here, so that a handler waiting for one never blocks its
// delivery.
func (s *Socket) onPacket(p *parser.Packet) {
	switch p.Type {
	case parser.Event, parser.BinaryEvent:
		e, err := newEvent(s, p)
		if err != nil {
			s.conn.onParseError(err)
			return
		}
		if s.dedup != nil && e.HasAck() {
			if reply, retry := s.dedup.check(e); retry {
				if reply != nil {
					s.replyTo(reply, e.ackID)
				}
				return
			}
		}
		if !s.dispatcher.push(func() { s.dispatch(e) }) {
			s.nsp.srv.logger.Warn("socketio: event queue full, closing the connection", "sid", s.id)
			s.conn.sess.Abort(fmt.Errorf("socketio: event queue of socket %s full", s.id))
		}
	case parser.Ack, parser.BinaryAck:
		args, err := newArgs(p.Data, p.Attachments)
		if err != nil {
			s.conn.onParseError(err)
			return
		}
		s.mu.Lock()
		fn := s.acks[p.ID]
		delete(s.acks, p.ID)
		s.mu.Unlock()
		if fn != nil {
			fn(ackResult{args: args})
		}
	case parser.Disconnect:
		s.onClose(ReasonClientNamespaceDisconnect, nil)
	}
}

func (s *Socket) dispatch(e *Event) {
	e.turn = s.dispatcher.current()
	s.mu.Lock()
	if !s.wasConnected {
		// The connection was refused: its events are not handled.
		s.mu.Unlock()
		return
	}
	// Events received before a disconnection are handled, after it: the
	// disconnection handlers are queued behind them.
	var (
		mws  []func(*Event) error
		anys []EventHandler
	)
	if x := s.extra; x != nil {
		mws = append(mws, x.middlewares...)
		anys = fns(x.anyHandlers)
	}
	var hs []EventHandler
	for _, h := range s.handlers {
		if h.fn.event == e.name {
			hs = append(hs, h.fn.h)
		}
	}
	s.mu.Unlock()
	for _, mw := range mws {
		if err := mw(e); err != nil {
			s.callErrorHandlers(err)
			return
		}
	}
	for _, h := range anys {
		h(e)
	}
	for _, h := range hs {
		h(e)
	}
}

// emitError hands err to the OnError handlers, on the dispatcher.
func (s *Socket) emitError(err error) {
	s.dispatcher.pushForce(func() { s.callErrorHandlers(err) })
}

func (s *Socket) callErrorHandlers(err error) {
	s.mu.Lock()
	var hs []func(error)
	if x := s.extra; x != nil {
		hs = fns(x.onError)
	}
	s.mu.Unlock()
	if len(hs) == 0 {
		// Nobody handles it: say it, but a client sending invalid events in
		// a loop gets one record per sampleInterval.
		s.nsp.srv.logSampled(&s.nsp.srv.clientErrs, slog.LevelWarn, "socketio: socket error (no OnError handler)", "sid", s.id, "nsp", s.nsp.name, "err", err)
	}
	for _, h := range hs {
		h(err)
	}
}

func (s *Socket) onPanic(v any, stack []byte) {
	s.nsp.srv.logger.Error("socketio: handler panic, closing the connection", "sid", s.id, "nsp", s.nsp.name, "panic", fmt.Sprint(v), "stack", string(stack))
	s.conn.sess.Abort(fmt.Errorf("socketio: handler panic: %v", v))
}

// Acknowledgements.

// registerAck registers an acknowledgement callback: ErrDisconnected once
// the socket closed, ErrTooManyPendingAcks if limit (when above 0) are
// pending already (checked with the registration, so that concurrent
// emits cannot pass it together).
func (s *Socket) registerAck(id int64, fn func(ackResult), limit int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == socketClosed {
		return ErrDisconnected
	}
	if limit > 0 && len(s.acks) >= limit {
		return ErrTooManyPendingAcks
	}
	if s.acks == nil {
		s.acks = make(map[int64]func(ackResult))
	}
	s.acks[id] = fn
	return nil
}

// unregisterAck forgets an acknowledgement callback. It reports whether
// the callback was still registered (and will now never be called).
func (s *Socket) unregisterAck(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.acks[id]
	delete(s.acks, id)
	return ok
}

// Sending.

// Emit sends an event to the client. Arguments are encoded as JSON, except
// []byte values (at any depth), which are sent as binary attachments.
//
// Errors: ErrReservedEvent for a reserved name, an encoding error,
// ErrDisconnected if the socket is disconnected, ErrSlowConsumer if the
// connection's write queue is full (the connection is then closed).
func (s *Socket) Emit(event string, args ...any) error { return s.emit(event, args, false, false) }

func (s *Socket) emit(event string, args []any, volatile, uncompressed bool) error {
	stored := s.rec != nil && !volatile
	if !s.Connected() && !(stored && s.sessionKept()) {
		return ErrDisconnected
	}
	p, err := s.nsp.newEventPacket(event, args)
	if err != nil {
		return err
	}
	if stored {
		// The adapter delivers it, which notifies the outgoing handlers
		// (the official server does the same).
		//
		// Stored like a broadcast to the socket's own room, as the
		// official server does, so that a recovered client gets it; this
		// also holds while the socket is away with its session kept.
		return s.nsp.adapter.Broadcast(p, adapter.BroadcastOptions{Rooms: []string{s.id}, Flags: adapter.BroadcastFlags{NoCompress: uncompressed}})
	}
	s.notifyOutgoing(event, args)
	return s.conn.writePacketFlags(p, volatile, uncompressed)
}

// sessionKept reports whether the socket disconnected and its session was
// kept for recovery.
func (s *Socket) sessionKept() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == socketClosed && s.rec.persisted
}

func (s *Socket) notifyOutgoing(event string, args []any) {
	s.mu.Lock()
	if s.extra == nil || len(s.extra.outgoing) == 0 {
		s.mu.Unlock()
		return
	}
	hs := fns(s.extra.outgoing)
	s.mu.Unlock()
	for _, h := range hs {
		h(event, args)
	}
}

// EmitWithAck sends an event and waits for the client's acknowledgement,
// returning its arguments.
//
// There is no default timeout: it waits until the acknowledgement arrives,
// ctx ends (the error then matches ErrAckTimeout and ctx.Err()), or the
// socket disconnects (ErrDisconnected).
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	return s.emitWithAck(ctx, event, args, false, false)
}

func (s *Socket) emitWithAck(ctx context.Context, event string, args []any, volatile, uncompressed bool) (Args, error) {
	p, err := s.nsp.newEventPacket(event, args)
	if err != nil {
		return Args{}, err
	}
	p.ID = s.nsp.nextAckID()
	ch := make(chan ackResult, 1)
	if err := s.registerAck(p.ID, func(r ackResult) { ch <- r }, s.nsp.srv.maxPendingAcks); err != nil {
		return Args{}, err
	}
	s.notifyOutgoing(event, args)
	start := s.nsp.srv.observing()
	if err := s.conn.writePacketFlags(p, volatile, uncompressed); err != nil {
		s.unregisterAck(p.ID)
		return Args{}, err
	}
	releaseTurn(ctx)
	select {
	case r := <-ch:
		s.nsp.ackDone(event, start, r.err)
		return r.args, r.err
	case <-ctx.Done():
		s.unregisterAck(p.ID)
		err := ackTimeoutError(ctx)
		s.nsp.ackDone(event, start, err)
		return Args{}, err
	}
}

// Volatile returns an emitter whose events may be dropped if the
// connection cannot take them right now.
func (s *Socket) Volatile() *SocketEmitter { return &SocketEmitter{s: s, volatile: true} }

// Compress returns an emitter with the compress flag set: Compress(false)
// sends the events without compression (see Options.PerMessageDeflate and
// Options.HTTPCompression). Events are compressed by default.
func (s *Socket) Compress(compress bool) *SocketEmitter {
	return &SocketEmitter{s: s, uncompressed: !compress}
}

// SocketEmitter emits to one socket with flags. See Socket.Volatile.
type SocketEmitter struct {
	s            *Socket
	volatile     bool
	uncompressed bool
}

// Volatile returns the emitter with the volatile flag set
// (socket.compress(false).volatile).
func (e *SocketEmitter) Volatile() *SocketEmitter {
	c := *e
	c.volatile = true
	return &c
}

// Compress returns the emitter with the compress flag set
// (socket.volatile.compress(false)).
func (e *SocketEmitter) Compress(compress bool) *SocketEmitter {
	c := *e
	c.uncompressed = !compress
	return &c
}

// Emit is Socket.Emit with the emitter's flags.
func (e *SocketEmitter) Emit(event string, args ...any) error {
	return e.s.emit(event, args, e.volatile, e.uncompressed)
}

// To is Socket.To with the emitter's flags, as socket.volatile.to(room)
// in the official API: s.Volatile().To("room").Emit(...) is
// s.To("room").Volatile().Emit(...).
func (e *SocketEmitter) To(rooms ...string) *BroadcastOperator {
	return e.flags(e.s.To(rooms...))
}

// Except is Socket.Except with the emitter's flags.
func (e *SocketEmitter) Except(rooms ...string) *BroadcastOperator {
	return e.flags(e.s.Except(rooms...))
}

// Broadcast is Socket.Broadcast with the emitter's flags
// (socket.volatile.broadcast).
func (e *SocketEmitter) Broadcast() *BroadcastOperator { return e.flags(e.s.Broadcast()) }

func (e *SocketEmitter) flags(b *BroadcastOperator) *BroadcastOperator {
	if e.volatile {
		b = b.Volatile()
	}
	if e.uncompressed {
		b = b.Compress(false)
	}
	return b
}

// EmitWithAck is Socket.EmitWithAck with the emitter's flags.
func (e *SocketEmitter) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	return e.s.emitWithAck(ctx, event, args, e.volatile, e.uncompressed)
}

// Rooms.

// Join adds the socket to rooms. It may be called from a connection
// middleware, before the socket is connected; it does nothing once the
// socket is disconnected.
func (s *Socket) Join(rooms ...string) {
	// Under the id's room lock: a socket that closes leaves its rooms at
	// once, and a recovered socket with the same id never loses rooms to
	// this one.
	l := s.nsp.roomLock(s.id)
	l.Lock()
	defer l.Unlock()
	if s.closed() {
		return
	}
	s.nsp.adapter.AddAll(s.id, rooms)
}

func (s *Socket) closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == socketClosed
}

// Leave removes the socket from rooms. It does nothing once the socket is
// disconnected.
func (s *Socket) Leave(rooms ...string) {
	l := s.nsp.roomLock(s.id)
	l.Lock()
	defer l.Unlock()
	if s.closed() {
		return
	}
	for _, r := range rooms {
		s.nsp.adapter.Del(s.id, r)
	}
}

// Rooms returns the rooms the socket is in: its own room (its id) first,
// then the others in the order it joined them. In OnDisconnecting and
// OnDisconnect handlers it returns the rooms the socket was in.
func (s *Socket) Rooms() []string {
	if !s.closed() {
		return s.nsp.adapter.SocketRooms(s.id)
	}
	// A close in progress records the rooms under the room lock.
	l := s.nsp.roomLock(s.id)
	l.Lock()
	defer l.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	var rooms []string
	if s.extra != nil {
		rooms = append(rooms, s.extra.closedRooms...)
	}
	return rooms
}

func (s *Socket) operator() *BroadcastOperator {
	return &BroadcastOperator{nsp: s.nsp, except: []string{s.id}}
}

// To selects, for a broadcast, the sockets in any of rooms, except this
// one.
func (s *Socket) To(rooms ...string) *BroadcastOperator { return s.operator().To(rooms...) }

// In is To.
func (s *Socket) In(rooms ...string) *BroadcastOperator { return s.operator().In(rooms...) }

// Except selects, for a broadcast, every socket of the namespace but this
// one and those in any of rooms.
func (s *Socket) Except(rooms ...string) *BroadcastOperator { return s.operator().Except(rooms...) }

// Broadcast selects every socket of the namespace except this one.
func (s *Socket) Broadcast() *BroadcastOperator { return s.operator() }

// Local is Broadcast restricted to this server.
func (s *Socket) Local() *BroadcastOperator { return s.operator().Local() }

// Disconnecting.

// Disconnect disconnects the socket from its namespace: the client gets a
// DISCONNECT packet and will not reconnect on its own ("io server
// disconnect"). With close, the whole connection is closed, disconnecting
// the client's sockets in every namespace.
func (s *Socket) Disconnect(close bool) {
	if !s.Connected() {
		return
	}
	if close {
		s.conn.disconnectAll()
		return
	}
	s.close(ReasonServerNamespaceDisconnect, nil, true)
}

// onClose disconnects the socket: it leaves its rooms, pending
// acknowledgements fail, and the disconnection handlers are queued.
func (s *Socket) onClose(reason DisconnectReason, cause error) { s.close(reason, cause, false) }

// close is onClose; with sendDisconnect, the client gets a DISCONNECT
// packet, queued as the socket leaves the namespace so that no broadcast
// follows it.
func (s *Socket) close(reason DisconnectReason, cause error, sendDisconnect bool) {
	// The socket leaves its rooms under the id's room lock (see Join), and
	// its session is kept only once it left them: a recovered socket with
	// the same id joins them afterwards.
	l := s.nsp.roomLock(s.id)
	l.Lock()
	s.mu.Lock()
	if s.state == socketClosed {
		s.mu.Unlock()
		l.Unlock()
		return
	}
	wasConnected := s.state == socketConnected
	s.state = socketClosed
	acks := s.acks
	s.acks = nil
	s.mu.Unlock()
	var rooms []string
	if wasConnected {
		rooms = s.nsp.adapter.SocketRooms(s.id)
		s.mu.Lock()
		s.extraLocked().closedRooms = rooms
		s.mu.Unlock()
	}
	s.conn.remove(s)
	var bye *parser.Packet
	if sendDisconnect {
		bye = &parser.Packet{Type: parser.Disconnect, Namespace: s.nsp.name, ID: parser.NoID}
	}
	// Always: a middleware may have joined rooms before a refusal.
	s.nsp.remove(s, bye)
	l.Unlock()
	var persisted chan struct{}
	if wasConnected {
		persisted = s.persist(reason, rooms)
	}
	if s.rec != nil {
		// A recovery that found this socket waits for this: its session
		// is kept by now, or will not be.
		s.nsp.forgetPID(s)
		close(s.rec.done)
	}
	// Once the context is done, the socket has left its rooms.
	s.cancelContext()
	for _, fn := range acks {
		fn(ackResult{err: ErrDisconnected})
	}
	if !wasConnected {
		return
	}
	if o := s.nsp.srv.observer(); o != nil {
		o.SocketDisconnected(s, reason)
	}
	if cause != nil {
		s.nsp.srv.logger.Debug("socketio: socket disconnected", "sid", s.id, "nsp", s.nsp.name, "reason", string(reason), "cause", cause)
	}
	s.dispatcher.pushForce(func() {
		s.mu.Lock()
		var before []func(DisconnectReason)
		if s.extra != nil {
			before = fns(s.extra.onDisconnecting)
		}
		after := fns(s.onDisconnect)
		s.mu.Unlock()
		if persisted != nil {
			// Even if a handler panics: the recovered socket waits for it.
			defer close(persisted)
		}
		for _, h := range before {
			h(reason)
		}
		for _, h := range after {
			h(reason)
		}
	})
}
