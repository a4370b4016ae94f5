package client

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketio-go/socketio/internal/sioargs"
	"github.com/socketio-go/socketio/parser"
)

// Socket is the client side of one namespace of a Manager, like the Socket
// of socket.io-client. Its methods are safe for concurrent use.
type Socket struct {
	m    *Manager
	nsp  string
	opts SocketOptions

	mu         sync.Mutex
	active     bool   // connecting or connected; reconnects
	conn       *mconn // the connection it is connected on; nil when disconnected
	connecting *mconn // the connection its CONNECT was sent on
	id         string
	pid        string // private session id (connection state recovery)
	offset     string // offset of the last event (connection state recovery)
	recovered  bool
	nextID     int64
	acks       map[int64]*pendingAck
	sendBuf    []*outPacket // emitted while disconnected
	queue      []*queued    // the retry queue (SocketOptions.Retries)
	waiters    []chan error // Connect calls in progress
	lastErr    error
	connGen    uint64 // counts the connections of the socket

	hmu      sync.Mutex
	events   map[string]*listeners[EventHandler]
	anyIn    listeners[EventHandler]
	anyOut   listeners[func(event string, args []any)]
	connectH listeners[func(gen uint64)]
	// Events of the current connection that found no handler, kept for
	// the first handler registered for them (see On); hmu guards them.
	unclaimed  []*Event
	claimed    []*Event        // unclaimed events a handler was registered for, to run
	registered map[string]bool // event names that ever had a handler
	anyEver    bool            // an OnAny handler was ever registered
	unclaims   uint64          // counts the unclaimed events, for their order
	disconnH   listeners[func(DisconnectReason)]
	connErrorH listeners[func(error)]
}

// pendingAck waits for the acknowledgement of one sent event.
type pendingAck struct {
	// withError: a disconnection fails it (ErrDisconnected) unless its
	// packet is still buffered; otherwise it is silently dropped.
	withError bool
	timer     *time.Timer
	cb        func(Args, error) // called at most once, without locks held
}

// outPacket is an event to send, with what the outgoing listeners need.
type outPacket struct {
	pkt        *parser.Packet
	event      string
	args       []any
	noCompress bool // Compress(false)
}

func newSocket(m *Manager, nsp string, opts *SocketOptions) *Socket {
	s := &Socket{m: m, nsp: nsp, acks: make(map[int64]*pendingAck), events: make(map[string]*listeners[EventHandler])}
	if opts != nil {
		s.opts = *opts
	}
	return s
}

// Namespace returns the namespace of the socket, such as "/" or "/admin".
func (s *Socket) Namespace() string { return s.nsp }

// Manager returns the Manager of the socket.
func (s *Socket) Manager() *Manager { return s.m }

// ID returns the socket id the server gave, or "" when not connected.
func (s *Socket) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// Connected reports whether the socket is connected to its namespace.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn != nil
}

// Active reports whether the socket is connected or will (re)connect by
// itself: Connect was called and neither Disconnect, a refusal by the
// server nor a disconnection by the server happened since.
func (s *Socket) Active() bool { return s.isActive() }

func (s *Socket) isActive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// Recovered reports whether the server restored the session of the
// socket at its last connection (connection state recovery): same id,
// rooms kept, and the events missed while disconnected delivered.
func (s *Socket) Recovered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recovered
}

// Connect connects the socket to its namespace, opening the Manager's
// connection if needed, and waits until the server accepted it. ctx bounds
// the wait only: once connected, the socket stays connected, and
// reconnects after a connection loss, until Disconnect or Manager.Close.
// Failed connection attempts are retried (see Options) until ctx ends.
//
// Errors: a *ConnectError when the server refused the connection (a
// middleware error, or "Invalid namespace"); the AuthFunc error; ctx's
// error (wrapping the last connection error, if any) when ctx ended first;
// the connection error when reconnection is disabled; ErrReconnectFailed
// when the attempts are exhausted; ErrManagerClosed; ErrDisconnected when
// Disconnect was called meanwhile. After an error the socket is not active.
func (s *Socket) Connect(ctx context.Context) error {
	ch := make(chan error, 1)
	s.mu.Lock()
	if s.conn != nil {
		s.mu.Unlock()
		return nil
	}
	s.waiters = append(s.waiters, ch)
	s.lastErr = nil
	s.mu.Unlock()
	if err := s.m.activate(s); err != nil {
		s.removeWaiter(ch)
		return err
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
	}
	s.mu.Lock()
	s.waiters = slices.DeleteFunc(s.waiters, func(c chan error) bool { return c == ch })
	lastErr := s.lastErr
	connected := s.conn != nil
	s.mu.Unlock()
	select {
	case err := <-ch:
		return err
	default:
	}
	if connected {
		return nil
	}
	s.Disconnect()
	if lastErr != nil {
		return fmt.Errorf("socketio/client: connect %s: %w: %w", s.nsp, ctx.Err(), lastErr)
	}
	return fmt.Errorf("socketio/client: connect %s: %w", s.nsp, ctx.Err())
}

func (s *Socket) removeWaiter(ch chan error) {
	s.mu.Lock()
	s.waiters = slices.DeleteFunc(s.waiters, func(c chan error) bool { return c == ch })
	s.mu.Unlock()
}

// Disconnect leaves the namespace: it sends a DISCONNECT packet when
// connected, runs the OnDisconnect handlers with "io client disconnect",
// fails the acknowledgements awaited for sent events with ErrDisconnected
// and stops reconnecting. Packets emitted while disconnected stay buffered
// for a later Connect. When it was the last socket of its Manager, the
// connection is closed. Disconnect is idempotent.
func (s *Socket) Disconnect() { s.disconnect(ErrDisconnected) }

// disconnect implements Disconnect; waitErr is given to the Connect calls
// in progress. With ErrManagerClosed, everything pending fails too.
func (s *Socket) disconnect(waitErr error) {
	closing := errors.Is(waitErr, ErrManagerClosed)
	s.mu.Lock()
	mc := s.conn
	wasActive := s.active
	s.active = false
	s.connecting = nil
	waiters := s.waiters
	s.waiters = nil
	var failed []*pendingAck
	if mc != nil {
		_ = mc.write(&parser.Packet{Type: parser.Disconnect, Namespace: s.nsp, ID: parser.NoID})
		s.conn, s.id = nil, ""
		failed = s.clearAcks(false)
	}
	var dropped []*queued
	if closing {
		failed = append(failed, s.clearAcks(true)...)
		s.sendBuf = nil
		dropped = s.queue
		s.queue = nil
	}
	s.mu.Unlock()
	for _, w := range waiters {
		w <- waitErr
	}
	for _, a := range failed {
		a.cb(Args{}, waitErr)
	}
	for _, q := range dropped {
		if q.done != nil {
			q.done(Args{}, ErrManagerClosed)
		}
	}
	if mc != nil {
		emit(&s.m.disp, &s.disconnH, func(f func(DisconnectReason)) { f(ReasonIOClientDisconnect) })
	}
	if wasActive {
		s.m.wake()
	}
}

// clearAcks removes the acknowledgements a disconnection ends: those
// expecting an error, unless their packet is still buffered (all with
// all), which it returns, and the silent ones of the retry queue. Called
// with s.mu held.
func (s *Socket) clearAcks(all bool) []*pendingAck {
	var failed []*pendingAck
	for id, a := range s.acks {
		if !all && s.buffered(id) {
			continue
		}
		delete(s.acks, id)
		if a.timer != nil {
			a.timer.Stop()
		}
		if a.withError {
			failed = append(failed, a)
		}
	}
	return failed
}

func (s *Socket) buffered(id int64) bool {
	for _, o := range s.sendBuf {
		if o.pkt.ID == id {
			return true
		}
	}
	return false
}

// On registers h for the event name and returns a function that removes
// it. Several handlers may be registered for one event; they run in
// registration order, after the OnAny handlers.
func (s *Socket) On(event string, h EventHandler) (off func()) { return s.on(event, h, false) }

// Once is On for a single call.
func (s *Socket) Once(event string, h EventHandler) (off func()) { return s.on(event, h, true) }

func (s *Socket) on(event string, h EventHandler, once bool) func() {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	l := s.events[event]
	if l == nil {
		l = &listeners[EventHandler]{}
		s.events[event] = l
	}
	off := l.add(h, once, false)
	if s.registered == nil {
		s.registered = make(map[string]bool)
	}
	s.registered[event] = true
	s.claimLocked(func(e *Event) bool { return e.name == event })
	return off
}

// maxUnclaimed bounds the events kept for handlers registered late.
const maxUnclaimed = 32

// claimLocked moves the unclaimed events that match to the claimed ones,
// which run before the next event (or on their own if none comes), in the
// order they arrived. s.hmu is held.
func (s *Socket) claimLocked(match func(*Event) bool) {
	kept := s.unclaimed[:0]
	n := len(s.claimed)
	for _, e := range s.unclaimed {
		if match(e) {
			s.claimed = append(s.claimed, e)
		} else {
			kept = append(kept, e)
		}
	}
	clear(s.unclaimed[len(kept):])
	s.unclaimed = kept
	if len(s.claimed) > n {
		slices.SortStableFunc(s.claimed, func(a, b *Event) int { return cmp.Compare(a.seq, b.seq) })
		s.m.disp.do(func() { s.runClaimed(nil) })
	}
}

// Off removes every handler of the event name.
func (s *Socket) Off(event string) {
	s.hmu.Lock()
	delete(s.events, event)
	s.hmu.Unlock()
}

// OnAny registers h for every event, before the handlers of the event
// itself, and returns a function that removes it.
func (s *Socket) OnAny(h EventHandler) (off func()) { return s.onAny(h, false) }

// PrependAny is OnAny, h running before the OnAny handlers registered
// earlier.
func (s *Socket) PrependAny(h EventHandler) (off func()) { return s.onAny(h, true) }

func (s *Socket) onAny(h EventHandler, prepend bool) func() {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	off := s.anyIn.add(h, false, prepend)
	s.anyEver = true
	s.claimLocked(func(*Event) bool { return true })
	return off
}

// OffAny removes every OnAny handler.
func (s *Socket) OffAny() { s.anyIn.clear() }

// OnAnyOutgoing registers h to run for every event sent to the server,
// with the event name and the arguments given to Emit, when the packet is
// written (for a buffered packet, at the reconnection). It returns a
// function that removes h.
func (s *Socket) OnAnyOutgoing(h func(event string, args []any)) (off func()) {
	return s.anyOut.add(h, false, false)
}

// PrependAnyOutgoing is OnAnyOutgoing, h running first.
func (s *Socket) PrependAnyOutgoing(h func(event string, args []any)) (off func()) {
	return s.anyOut.add(h, false, true)
}

// OffAnyOutgoing removes every OnAnyOutgoing handler.
func (s *Socket) OffAnyOutgoing() { s.anyOut.clear() }

// OnConnect registers fn to run each time the socket connects (after a
// reconnection too). It returns a function that removes fn.
//
// fn also runs for the current connection when the socket is connected
// as it is registered, so that an OnConnect registered right after
// Connect returned runs for that first connection, as a
// socket.on("connect") registered right after io() does: fn runs once per
// connection whenever it is registered.
func (s *Socket) OnConnect(fn func()) (off func()) {
	var (
		last    atomic.Uint64 // the connection fn last ran for
		removed atomic.Bool
	)
	run := func(gen uint64) {
		if !removed.Load() && last.Swap(gen) != gen {
			fn()
		}
	}
	s.mu.Lock()
	remove := s.connectH.add(run, false, false)
	gen, connected := s.connGen, s.conn != nil
	if connected {
		// Queued under s.mu: before the handlers of a disconnection.
		s.m.disp.do(func() { run(gen) })
	}
	s.mu.Unlock()
	return func() {
		removed.Store(true)
		remove()
	}
}

// OnDisconnect registers fn to run each time the connected socket
// disconnects, with the reason. It returns a function that removes fn.
func (s *Socket) OnDisconnect(fn func(reason DisconnectReason)) (off func()) {
	return s.disconnH.add(fn, false, false)
}

// OnConnectError registers fn to run when a connection attempt of the
// socket fails: err is a *ConnectError when the server refused it (the
// socket then stops), otherwise the error of the connection attempt (the
// Manager retries). It returns a function that removes fn.
func (s *Socket) OnConnectError(fn func(err error)) (off func()) {
	return s.connErrorH.add(fn, false, false)
}

// onOpen sends the CONNECT packet of an active socket over mc, once per
// connection.
func (s *Socket) onOpen(mc *mconn) {
	s.mu.Lock()
	if !s.active || s.conn != nil || s.connecting == mc {
		s.mu.Unlock()
		return
	}
	s.connecting = mc
	s.mu.Unlock()
	if s.opts.AuthFunc == nil {
		s.sendConnect(mc, s.opts.Auth)
		return
	}
	s.m.tasks.Go(func() {
		auth, err := s.opts.AuthFunc(mc.ctx)
		if err != nil {
			if mc.ctx.Err() == nil {
				s.refused(fmt.Errorf("socketio/client: auth: %w", err))
			}
			return
		}
		s.sendConnect(mc, auth)
	})
}

// sendConnect sends CONNECT with the auth payload, plus pid and offset
// when the server enabled connection state recovery.
func (s *Socket) sendConnect(mc *mconn, auth any) {
	var data []byte
	if auth != nil {
		var err error
		data, err = parser.AppendValue(nil, auth, nil)
		if err == nil && (len(data) == 0 || data[0] != '{') {
			if string(data) == "null" {
				data = nil
			} else {
				err = fmt.Errorf("auth is %s, not a JSON object", data)
			}
		}
		if err != nil {
			s.refused(fmt.Errorf("socketio/client: auth: %w", err))
			return
		}
	}
	s.mu.Lock()
	if s.connecting != mc {
		s.mu.Unlock()
		return
	}
	if s.pid != "" {
		b := []byte(`{"pid":`)
		b, _ = parser.AppendValue(b, s.pid, nil)
		if s.offset != "" {
			b = append(b, `,"offset":`...)
			b, _ = parser.AppendValue(b, s.offset, nil)
		}
		if inner := bytes.TrimSpace(data); len(inner) > 2 {
			b = append(b, ',')
			b = append(b, inner[1:len(inner)-1]...)
		}
		data = append(b, '}')
	}
	s.mu.Unlock()
	_ = mc.write(&parser.Packet{Type: parser.Connect, Namespace: s.nsp, ID: parser.NoID, Data: data})
}

// onPacket handles a packet for this namespace, on the read path.
func (s *Socket) onPacket(mc *mconn, p *parser.Packet) {
	if !s.isActive() {
		return
	}
	switch p.Type {
	case parser.Connect:
		s.onConnectPacket(mc, p)
	case parser.Event, parser.BinaryEvent:
		s.onEvent(mc, p)
	case parser.Ack, parser.BinaryAck:
		s.onAck(p)
	case parser.Disconnect:
		s.onServerDisconnect(mc)
	case parser.ConnectError:
		s.onConnectErrorPacket(p)
	}
}

func (s *Socket) onConnectPacket(mc *mconn, p *parser.Packet) {
	var d struct {
		SID string `json:"sid"`
		PID string `json:"pid"`
	}
	if p.Data != nil {
		_ = json.Unmarshal(p.Data, &d)
	}
	if d.SID == "" {
		s.refused(errV2Server)
		return
	}
	s.mu.Lock()
	if !s.active || s.conn != nil {
		s.mu.Unlock()
		return
	}
	s.conn, s.connecting = mc, nil
	s.connGen++
	gen := s.connGen
	s.id = d.SID
	s.recovered = d.PID != "" && d.PID == s.pid
	s.pid = d.PID
	var sent []*outPacket
	for _, o := range s.sendBuf {
		if mc.writeFlags(o.pkt, o.noCompress) != nil {
			break
		}
		sent = append(sent, o)
	}
	s.sendBuf = slices.Delete(s.sendBuf, 0, len(sent))
	if len(s.sendBuf) == 0 {
		s.sendBuf = nil
	}
	if q := s.drainQueue(true); q != nil {
		sent = append(sent, q)
	}
	waiters := s.waiters
	s.waiters = nil
	s.mu.Unlock()
	// Queued before Connect returns, so that the handlers of what the
	// caller does next come after these.
	s.m.disp.do(func() {
		for _, o := range sent {
			s.notifyOut(o)
		}
		s.connectH.each(&s.m.disp, func(f func(uint64)) { f(gen) })
	})
	for _, w := range waiters {
		w <- nil
	}
}

func (s *Socket) onEvent(mc *mconn, p *parser.Packet) {
	name, args, err := sioargs.ParseEvent(p.Data, p.Attachments)
	if err != nil {
		mc.fail(ReasonParseError, err)
		return
	}
	e := &Event{socket: s, conn: mc, name: name, args: Args{args}, ackID: p.ID}
	s.mu.Lock()
	if mc != s.conn && mc != s.connecting {
		// The rest of a connection that is over: a recovery will bring
		// what it missed again, from the offset of the last event handed
		// to the dispatcher.
		s.mu.Unlock()
		return
	}
	// Events may precede the CONNECT reply (those a recovered session
	// missed): they are handled before the connection handlers, as the
	// official client does.
	if !s.m.disp.push(func() { s.emitEvent(e) }, true) {
		s.mu.Unlock()
		mc.fail(ReasonTransportError, ErrEventQueueFull)
		return
	}
	// The offset moves only with an event that will be handled, so that a
	// recovery resumes right after it: nothing is lost, nothing repeated.
	if s.pid != "" && p.ID == parser.NoID && len(args.Elems) > 0 {
		var off string
		if last := args.Elems[len(args.Elems)-1]; len(last) > 0 && last[0] == '"' && json.Unmarshal(last, &off) == nil {
			s.offset = off
		}
	}
	s.mu.Unlock()
}

// emitEvent runs the handlers of e, on the dispatcher. An event for which
// no handler was ever registered is kept (the first maxUnclaimed of a
// connection) for the first handler registered for it: handlers registered
// right after Connect returned get the events sent on connection.
func (s *Socket) emitEvent(e *Event) {
	s.hmu.Lock()
	if !s.anyEver && !s.registered[e.name] {
		if len(s.unclaimed) < maxUnclaimed {
			s.unclaims++
			e.seq = s.unclaims
			s.unclaimed = append(s.unclaimed, e)
		}
		s.hmu.Unlock()
		return
	}
	s.hmu.Unlock()
	s.runClaimed(e)
}

// runClaimed runs the handlers of the claimed events, which arrived
// earlier, then those of e (if not nil).
func (s *Socket) runClaimed(e *Event) {
	s.hmu.Lock()
	claimed := s.claimed
	s.claimed = nil
	s.hmu.Unlock()
	for _, c := range claimed {
		s.runHandlers(c)
	}
	if e != nil {
		s.runHandlers(e)
	}
}

// runHandlers runs the handlers of e.
func (s *Socket) runHandlers(e *Event) {
	e.turn = s.m.disp.current()
	s.anyIn.each(&s.m.disp, func(h EventHandler) { h(e) })
	s.hmu.Lock()
	l := s.events[e.name]
	s.hmu.Unlock()
	if l != nil {
		l.each(&s.m.disp, func(h EventHandler) { h(e) })
	}
}

func (s *Socket) notifyOut(o *outPacket) {
	s.anyOut.each(&s.m.disp, func(h func(string, []any)) { h(o.event, o.args) })
}

func (s *Socket) onAck(p *parser.Packet) {
	args, err := sioargs.Parse(p.Data, p.Attachments)
	if err != nil {
		return
	}
	s.mu.Lock()
	a := s.acks[p.ID]
	if a != nil {
		delete(s.acks, p.ID)
		if a.timer != nil {
			a.timer.Stop()
		}
	}
	s.mu.Unlock()
	if a != nil {
		a.cb(Args{args}, nil)
	}
}

// onServerDisconnect handles a DISCONNECT from the server: the socket
// stops ("io server disconnect").
func (s *Socket) onServerDisconnect(mc *mconn) {
	s.mu.Lock()
	s.active = false
	s.mu.Unlock()
	s.onClose(mc, ReasonIOServerDisconnect)
	s.m.wake()
}

func (s *Socket) onConnectErrorPacket(p *parser.Packet) {
	ce := &ConnectError{Namespace: s.nsp}
	var d struct {
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	if len(p.Data) > 0 && p.Data[0] == '"' {
		_ = json.Unmarshal(p.Data, &ce.Message)
	} else if json.Unmarshal(p.Data, &d) == nil {
		ce.Message = d.Message
		if len(d.Data) > 0 && string(d.Data) != "null" {
			ce.Data = d.Data
		}
	}
	s.refused(ce)
}

// refused stops the socket after a refusal (CONNECT_ERROR, AuthFunc or
// auth encoding error) and reports err.
func (s *Socket) refused(err error) {
	s.mu.Lock()
	s.active = false
	s.connecting = nil
	waiters := s.waiters
	s.waiters = nil
	s.mu.Unlock()
	emit(&s.m.disp, &s.connErrorH, func(f func(error)) { f(err) })
	for _, w := range waiters {
		w <- err
	}
	s.m.wake()
}

// onConnectFailure reports a failed connection attempt of the Manager to
// a socket waiting to connect.
func (s *Socket) onConnectFailure(err error) {
	s.mu.Lock()
	if !s.active || s.conn != nil {
		s.mu.Unlock()
		return
	}
	s.lastErr = err
	s.mu.Unlock()
	emit(&s.m.disp, &s.connErrorH, func(f func(error)) { f(err) })
}

// failConnect fails the Connect calls in progress, when the Manager stops
// trying; the sockets waiting stop.
func (s *Socket) failConnect(err error) {
	s.mu.Lock()
	waiters := s.waiters
	s.waiters = nil
	if len(waiters) > 0 && s.conn == nil {
		s.active = false
		s.connecting = nil
	}
	s.mu.Unlock()
	for _, w := range waiters {
		w <- err
	}
}

// onClose disconnects the socket when mc, its connection, ended.
func (s *Socket) onClose(mc *mconn, reason DisconnectReason) {
	s.mu.Lock()
	if s.connecting == mc {
		s.connecting = nil
	}
	if s.conn != mc {
		s.mu.Unlock()
		return
	}
	s.conn, s.id = nil, ""
	failed := s.clearAcks(false)
	s.mu.Unlock()
	for _, a := range failed {
		a.cb(Args{}, fmt.Errorf("%w (%s)", ErrDisconnected, reason))
	}
	// After the events of the connection, which are queued before: what
	// nobody claimed is dropped with the connection.
	s.m.disp.do(func() {
		s.hmu.Lock()
		clear(s.unclaimed)
		s.unclaimed = nil
		s.hmu.Unlock()
	})
	emit(&s.m.disp, &s.disconnH, func(f func(DisconnectReason)) { f(reason) })
}

// writeOn writes p if the socket is still connected over mc.
func (s *Socket) writeOn(mc *mconn, p *parser.Packet) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil || s.conn != mc {
		return ErrDisconnected
	}
	if err := mc.write(p); err != nil {
		return ErrDisconnected
	}
	return nil
}
