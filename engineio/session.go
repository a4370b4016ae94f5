package engineio

import (
	"crypto/tls"
	"encoding/binary"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/socketio-go/socketio/engineio/packet"
	"github.com/socketio-go/socketio/internal/websocket"
)

type sessionState uint8

// lingerTime is how long a session closed by its long-polling client stays
// registered to answer a GET already on its way.
const lingerTime = time.Second

const (
	stateOpen sessionState = iota
	stateClosing
	stateClosed
)

// Session is one Engine.IO connection (the "socket" of the official server):
// a client identified by its session id, on a long-polling or WebSocket
// transport, which may change once from polling to WebSocket.
//
// Concurrency: a session has one lock guarding its state and its write
// queue. At most one goroutine writes to its WebSocket at a time; it is
// started when packets are queued and exits when the queue is empty.
// Handlers are never called with the lock held.
type Session struct {
	srv *Server
	id  string
	req handshakeRequest

	handler   SessionHandler
	deliverMu sync.Mutex // serialises HandleMessage

	mu        sync.Mutex
	transport string
	ws        *websocket.Conn // the WebSocket transport, once in use
	queue     []packet.Packet // packets waiting to be written
	spare     []packet.Packet // the writer's previous batch, reused

	poll      *pendingPoll    // long-polling: the pending GET, if any (see servePoll)
	upgradeWS *websocket.Conn // the WebSocket being upgraded to
	mt        *msgTransport   // a MessageConn in use or being upgraded to (WebTransport); nil for the others

	// heartbeat: one deadline per session in the server's deadlines,
	// alternately for the next ping and for the pong; for a closing
	// long-polling session, when to give up; for a lingering one, when to
	// unregister it.
	due  int64 // on the deadlines' clock; see deadlines for its locking
	slot int32 // index in the deadlines' heap, -1 when not scheduled; guarded by the deadlines' mutex

	// backlog is how many packets queued by SendBacklog the write queue
	// may hold beyond its limit, until the transport takes the queue.
	backlog int32

	// The flags, together so that they pack into a few words (an idle
	// connection costs what its structs do).
	state        sessionState
	writing      bool // a WebSocket writer goroutine is running
	getActive    bool // long-polling: a GET is pending
	postActive   bool // long-polling: a POST is being read
	pollFinal    byte // long-polling: the packet the pending GET gets when the session closed, or pollAbort
	linger       bool // long-polling: closed by the client with no GET pending: answer one more GET
	upgrading    bool // from the WebSocket handshake to the end of the upgrade
	probed       bool // the probe was answered: polling gets noops
	upgraded     bool
	started      bool // start ran: the session has a deadline
	awaitingPong bool
	eio3         bool   // Engine.IO protocol v3; set by newSession, then constant
	v3b64        uint8  // v3: binary packets in base64, b64Polling and b64WebSocket bits
	closeCode    uint8  // why the session closed, in closeReasons
	jsonp        uint16 // v3 JSONP polling: 1 + the callback index ("j" in the handshake); 0: not JSONP

	// flush barriers (WebSocket): packets queued and written so far, and
	// the channels waiting for a count to be written.
	queued   uint64
	written  uint64
	flushers []flusher

	closeCause error
	done       chan struct{} // made by the first call of Done
}

type flusher struct {
	target uint64
	ch     chan struct{}
}

func newSession(srv *Server, id string, r *http.Request, transport string) *Session {
	s := &Session{
		srv:       srv,
		id:        id,
		req:       keepRequest(r),
		transport: transport,
		due:       srv.deadlines.now() + int64(srv.cfg.pingInterval),
		slot:      -1,
	}
	if srv.cfg.allowEIO3 {
		s.initProtocol(r)
	}
	return s
}

// handshakeRequest is what a session keeps of its handshake request: what
// Request rebuilds, without the request's context, body and URL. The
// strings and the headers are packed into one string (each piece prefixed
// with its length as a uvarint) instead of the request's header map and
// the strings it points into: one allocation of the request's size instead
// of a dozen objects, most of a kilobyte per idle connection.
type handshakeRequest struct {
	packed     string // method, proto, host, requestURI, remoteAddr, path, rawPath, rawQuery, then a key and a value per header value
	headers    int    // number of distinct header keys
	tls        *tls.ConnectionState
	protoMajor uint8
	protoMinor uint8
}

// handshakeFields is the number of request strings before the headers in
// handshakeRequest.packed.
const handshakeFields = 8

func keepRequest(r *http.Request) handshakeRequest {
	fields := [handshakeFields]string{r.Method, r.Proto, r.Host, r.RequestURI, r.RemoteAddr, r.URL.Path, r.URL.RawPath, r.URL.RawQuery}
	n := 0
	for _, f := range fields {
		n += binary.MaxVarintLen32 + len(f)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			n += 2*binary.MaxVarintLen32 + len(k) + len(v)
		}
	}
	b := make([]byte, 0, n)
	for _, f := range fields {
		b = appendPiece(b, f)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			b = appendPiece(appendPiece(b, k), v)
		}
	}
	return handshakeRequest{
		packed: string(b), headers: len(r.Header), tls: r.TLS,
		protoMajor: uint8(r.ProtoMajor), protoMinor: uint8(r.ProtoMinor),
	}
}

func appendPiece(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// nextPiece splits the first length-prefixed piece off p.
func nextPiece(p string) (piece, rest string) {
	var n uint64
	var shift uint
	i := 0
	for ; i < len(p); i++ {
		c := p[i]
		n |= uint64(c&0x7f) << shift
		shift += 7
		if c < 0x80 {
			i++
			break
		}
	}
	return p[i : i+int(n)], p[i+int(n):]
}

// request rebuilds the request; its strings share the packed string.
func (h *handshakeRequest) request() *http.Request {
	var f [handshakeFields]string
	p := h.packed
	for i := range f {
		f[i], p = nextPiece(p)
	}
	header := make(http.Header, h.headers)
	for p != "" {
		var k, v string
		k, p = nextPiece(p)
		v, p = nextPiece(p)
		header[k] = append(header[k], v)
	}
	return &http.Request{
		Method: f[0], Proto: f[1], Host: f[2], RequestURI: f[3], RemoteAddr: f[4],
		URL:        &url.URL{Path: f[5], RawPath: f[6], RawQuery: f[7]},
		ProtoMajor: int(h.protoMajor), ProtoMinor: int(h.protoMinor),
		Header: header, Body: http.NoBody, TLS: h.tls,
	}
}

// ID returns the session id.
func (s *Session) ID() string { return s.id }

// Request returns the handshake request, rebuilt on each call from what the
// session keeps: method, URL, protocol, host, headers, remote address and
// TLS state. Its body is empty and its context is not tied to any
// connection. Each call returns a new request with its own Header.
func (s *Session) Request() *http.Request { return s.req.request() }

// Transport returns the name of the transport in use: "polling",
// "websocket" or "webtransport".
func (s *Session) Transport() string { return s.transportName() }

func (s *Session) transportName() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transport
}

// Done returns a channel closed when the session is closed.
func (s *Session) Done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done == nil {
		// Made on demand: most sessions are never asked.
		s.done = make(chan struct{})
		if s.state == stateClosed {
			close(s.done)
		}
	}
	return s.done
}

// CloseReason returns why the session closed, or "" while it is open.
func (s *Session) CloseReason() (CloseReason, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return closeReasons[s.closeCode], s.closeCause
}

func (s *Session) openPayload() []byte {
	cfg := s.srv.cfg
	b := make([]byte, 0, 128)
	b = append(b, `{"sid":`...)
	b = appendJSONString(b, s.id)
	b = append(b, `,"upgrades":[`...)
	for i, u := range cfg.upgrades(s.transport) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, u)
	}
	b = append(b, `],"pingInterval":`...)
	b = strconv.AppendInt(b, cfg.pingInterval.Milliseconds(), 10)
	b = append(b, `,"pingTimeout":`...)
	b = strconv.AppendInt(b, cfg.pingTimeout.Milliseconds(), 10)
	b = append(b, `,"maxPayload":`...)
	b = strconv.AppendInt(b, cfg.maxBufferSize, 10)
	return append(b, '}')
}

// start installs the handler, arms the heartbeat and, for a session opened
// over WebSocket, starts reading and writing.
func (s *Session) start(h SessionHandler, ws *websocket.Conn) {
	s.mu.Lock()
	s.handler = h
	if s.state == stateClosed {
		// The server shut down meanwhile.
		reason, cause := closeReasons[s.closeCode], s.closeCause
		s.mu.Unlock()
		if ws != nil {
			_ = ws.Close(websocket.StatusNoStatus, "")
		}
		h.HandleClose(reason, cause)
		return
	}
	s.started = true
	s.srv.deadlines.set(s, s.due) // the first ping is due pingInterval after the handshake
	if ws != nil {
		s.ws = ws
		s.kickLocked()
		s.srv.tasks.Go(func() { s.readLoop(ws) })
	}
	s.mu.Unlock()
}

// Send queues a message for the client. It never blocks. A volatile message
// is dropped (without error) when the transport cannot take it right now. A
// message that does not fit in the write queue closes the session with
// ReasonTransportError and ErrSlowConsumer, and Send returns
// ErrSlowConsumer. Send returns ErrSessionClosed after the session closed or
// while it is closing.
func (s *Session) Send(data []byte, binary, volatile bool) error {
	return s.SendPackets([]packet.Packet{{Type: packet.Message, Binary: binary, Data: data}}, volatile)
}

// SendPackets queues several packets atomically: they are written in order,
// with no other packet between them, or not at all. data slices are not
// copied and must not be modified afterwards; the same slices may be given to
// many sessions (a broadcast encodes once).
func (s *Session) SendPackets(pkts []packet.Packet, volatile bool) error {
	return s.sendPackets(pkts, volatile, false)
}

// SendBroadcast is SendPackets for packets that go to many sessions at
// once. On a WebSocket whose writer is idle, the packets are written by
// the server's batch writer, one goroutine for many sessions (no wake-up
// per recipient), which lets the goroutines already runnable go first:
// when broadcasts follow each other, the next ones are then queued
// before it writes, and each connection gets several in one write
// instead of one write per packet (the system call is most of the cost
// of a delivery). A packet for one session, such as an acknowledgement,
// should use SendPackets, whose writer does not wait.
func (s *Session) SendBroadcast(pkts []packet.Packet, volatile bool) error {
	return s.sendPackets(pkts, volatile, true)
}

func (s *Session) sendPackets(pkts []packet.Packet, volatile, lazy bool) error {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return ErrSessionClosed
	}
	if volatile && !s.writableLocked() {
		s.mu.Unlock()
		if h := s.srv.hooks.OnDrop; h != nil {
			h(s, len(pkts), false)
		}
		return nil
	}
	if len(s.queue)+len(pkts) > s.srv.cfg.writeQueueSize+int(s.backlog) {
		queued := len(s.queue)
		after := s.closeLocked(ReasonTransportError, ErrSlowConsumer)
		s.mu.Unlock()
		// The drop is reported before the close it causes.
		if h := s.srv.hooks.OnDrop; h != nil {
			h(s, len(pkts), true)
		}
		// The sender may hold locks (a broadcast iterating a room): close
		// on another goroutine so that the handler never runs under them.
		s.srv.tasks.Go(after)
		s.srv.cfg.logger.Warn("engineio: closing slow consumer", "sid", s.id, "queued", queued)
		return ErrSlowConsumer
	}
	for _, p := range pkts {
		s.pushLocked(p)
	}
	if s.poll.detached() {
		// A detached poll is answered here, as the floor does: no
		// goroutine to wake (a non-blocking write; see Detach).
		p, a, ok := s.takePollLocked()
		s.mu.Unlock()
		if ok {
			s.answerDetached(p, a)
		}
		return nil
	}
	s.wakeLocked(lazy)
	s.mu.Unlock()
	return nil
}

// SendBacklog queues packets like SendPackets, but beyond the limit of the
// write queue: until the transport takes the queue, the limit applies to
// what is queued after them. It is for a burst the session must take whole,
// such as the packets a recovered client missed; volatile packets sent
// meanwhile are dropped as when the transport is busy.
func (s *Session) SendBacklog(pkts []packet.Packet) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen {
		return ErrSessionClosed
	}
	s.backlog += int32(min(len(pkts), 1<<30))
	for _, p := range pkts {
		s.enqueueLocked(p)
	}
	return nil
}

// Writable reports whether the transport would take a packet at once:
// a pending long-polling GET, or a WebSocket (or WebTransport) with
// nothing queued and no write in progress. It is the condition under
// which a volatile packet is sent (the official transport's writable).
func (s *Session) Writable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == stateOpen && s.writableLocked()
}

// writableLocked reports whether the transport can take a packet right now
// (the condition under which a volatile packet is sent).
func (s *Session) writableLocked() bool {
	if s.ws != nil || s.msgConnLocked() != nil {
		return !s.writing && len(s.queue) == 0
	}
	return s.getActive && !s.probed
}

// enqueueLocked appends p to the write queue, bypassing its limit, and makes
// sure a writer will pick it up.
func (s *Session) enqueueLocked(p packet.Packet) {
	s.pushLocked(p)
	s.kickLocked()
}

// pushLocked appends p to the write queue, bypassing its limit.
func (s *Session) pushLocked(p packet.Packet) {
	if s.queue == nil {
		s.queue = getQueue()
	}
	s.queue = append(s.queue, p)
	s.queued++
}

// Flush returns a channel closed once every packet queued so far was
// written to the WebSocket, or the session closed. On long-polling, where a
// packet waits for the client's next request, the channel is closed at
// once.
func (s *Session) Flush() <-chan struct{} {
	ch := make(chan struct{})
	s.mu.Lock()
	defer s.mu.Unlock()
	if (s.ws == nil && s.msgConnLocked() == nil) || s.state == stateClosed || s.written >= s.queued {
		close(ch)
		return ch
	}
	s.flushers = append(s.flushers, flusher{target: s.queued, ch: ch})
	return ch
}

// releaseFlushersLocked closes the flush channels whose packets were
// written (all of them when the session is closed).
func (s *Session) releaseFlushersLocked() {
	if len(s.flushers) == 0 {
		return
	}
	kept := s.flushers[:0]
	for _, f := range s.flushers {
		if s.state == stateClosed || f.target <= s.written {
			close(f.ch)
		} else {
			kept = append(kept, f)
		}
	}
	clear(s.flushers[len(kept):])
	s.flushers = kept
	if len(kept) == 0 {
		s.flushers = nil // most sessions flush once, at connect: keep nothing
	}
}

// kickLocked starts the WebSocket writer or wakes the pending poll.
func (s *Session) kickLocked() { s.wakeLocked(false) }

// wakeLocked starts the WebSocket writer, one that first lets the runnable
// goroutines go when lazy is set (see SendBroadcast), or wakes the pending
// poll.
func (s *Session) wakeLocked(lazy bool) {
	if s.kickMsgLocked() {
		return
	}
	if s.ws != nil {
		if !s.writing && (len(s.queue) > 0 || s.state == stateClosing) {
			s.writing = true
			// No closure: a shallow queue starts the writer for nearly
			// every packet (one per broadcast), and a func value bound
			// to s would be an allocation each time.
			switch {
			case lazy && s.state == stateOpen && !s.eio3 && s.ws.CanTryWrite():
				s.srv.bw.add(s)
			case lazy:
				s.srv.tasks.GoRunner((*wsLazyWriter)(s))
			default:
				s.srv.tasks.GoRunner((*wsWriter)(s))
			}
		}
		return
	}
	s.signalPollLocked()
}

// Close closes the session after the packets already queued were written,
// with reason "forced close". It does not wait. It reports whether the
// transport can close right away: true on WebSocket or when a long-polling
// GET is pending, false when the close waits for the client's next GET.
func (s *Session) Close() (immediate bool) {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return true
	}
	immediate = s.ws != nil || s.getActive || s.msgConnLocked() != nil
	s.state = stateClosing
	var abort *websocket.Conn
	if s.upgradeWS != nil {
		abort = s.upgradeWS
		s.upgradeWS = nil
		s.upgrading = false
		s.probed = false
	}
	abortMsg := s.dropMsgUpgradeLocked()
	if s.ws == nil {
		// Long-polling: the pending (or next) GET carries the queued
		// packets and the close packet. If none comes, give up after a
		// while like the official server.
		if s.started {
			s.srv.deadlines.set(s, s.srv.deadlines.now()+int64(s.srv.cfg.pingInterval+s.srv.cfg.pingTimeout))
		}
	}
	s.kickLocked()
	s.mu.Unlock()
	if abort != nil {
		_ = abort.CloseNow()
	}
	if abortMsg != nil {
		_ = abortMsg.Close()
	}
	return immediate
}

// expireIfLate closes the session if its pong deadline has passed, whether
// or not its timer has fired yet. It reports whether the session is closed.
func (s *Session) expireIfLate() bool {
	s.mu.Lock()
	if s.state == stateOpen && s.awaitingPong && s.srv.deadlines.now() >= s.due {
		after := s.closeLocked(ReasonPingTimeout, ErrPingTimeout)
		s.mu.Unlock()
		after()
		return true
	}
	closed := s.state == stateClosed
	s.mu.Unlock()
	return closed && !s.lingering()
}

func (s *Session) lingering() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.linger
}

// endLinger unregisters a session kept registered after its close.
func (s *Session) endLinger() {
	s.mu.Lock()
	linger := s.linger
	s.linger = false
	if linger {
		s.srv.deadlines.cancel(s)
	}
	s.mu.Unlock()
	if linger {
		s.srv.removeSession(s)
	}
}

// Abort closes the session at once, without flushing, with reason
// "transport error" and the given cause.
func (s *Session) Abort(cause error) {
	s.closeWith(ReasonTransportError, cause)
}

// pollAbort as pollFinal: the pending GET ends without a response.
const pollAbort = 0

// shutdownClose closes the session for a server shutdown or close. A
// long-polling session closes at once (what was queued for it is dropped,
// as by the official server) and its pending GET ends without a response,
// as when the official server's process exits: a CLOSE packet would tell
// some clients (python-socketio) that the close was deliberate, and they
// would not reconnect. A WebSocket session closes after flushing what was
// queued when graceful, at once otherwise.
func (s *Session) shutdownClose(graceful bool) {
	s.mu.Lock()
	if s.ws == nil && s.transport == TransportPolling {
		if s.state == stateClosed {
			// Closed by its client and lingering: keep the noop for
			// the GET on its way.
			s.mu.Unlock()
			return
		}
		after := s.closeLocked(ReasonForcedClose, nil)
		s.pollFinal = pollAbort
		s.mu.Unlock()
		after()
		return
	}
	s.mu.Unlock()
	if graceful {
		s.Close()
	} else {
		s.closeWith(ReasonForcedClose, nil)
	}
}

// closeWith closes the session at once.
func (s *Session) closeWith(reason CloseReason, cause error) {
	s.mu.Lock()
	after := s.closeLocked(reason, cause)
	s.mu.Unlock()
	after()
}

func noop() {}

// closeLocked marks the session closed and releases its resources. It
// returns what must run after s.mu is released: closing connections and
// calling the handler.
func (s *Session) closeLocked(reason CloseReason, cause error) (after func()) {
	if s.state == stateClosed {
		return noop
	}
	graceful := s.state == stateClosing && reason == ReasonForcedClose
	s.state = stateClosed
	s.closeCode, s.closeCause = closeCode(reason), cause
	s.releaseFlushersLocked()
	s.srv.deadlines.cancel(s)
	if s.done != nil {
		close(s.done)
	}
	ws, upgradeWS := s.ws, s.upgradeWS
	s.ws, s.upgradeWS = nil, nil
	msgConns := s.detachMsgLocked()
	if !graceful {
		clear(s.queue)
		s.queue = s.queue[:0]
	}
	if reason == ReasonTransportClose {
		s.pollFinal = '0' + byte(packet.Noop)
	} else {
		s.pollFinal = '0' + byte(packet.Close)
	}
	// A long-polling client that closes with a POST usually has a GET in
	// flight, which may reach the server just after the POST: keep the
	// session registered for a moment so that this GET gets its noop
	// instead of an error.
	s.linger = reason == ReasonTransportClose && ws == nil && !s.getActive && s.transport == TransportPolling && s.started
	if s.linger {
		s.srv.deadlines.set(s, s.srv.deadlines.now()+int64(lingerTime))
	}
	// A detached poll is answered once s.mu is released, as a waiting
	// one wakes then: a caller may still set pollFinal (shutdownClose).
	detached := s.poll.detached()
	if !detached {
		s.signalPollLocked()
	}
	h := s.handler
	linger := s.linger
	return func() {
		if detached {
			s.releasePoll()
		}
		if !linger {
			s.srv.removeSession(s)
		}
		if ws != nil {
			s.srv.unwatch(ws)
			// Like the official server: a close frame without a status
			// code (the client sees 1005).
			_ = ws.Close(websocket.StatusNoStatus, "")
		}
		if upgradeWS != nil {
			_ = upgradeWS.CloseNow()
		}
		msgConns.close()
		if cause != nil {
			s.srv.cfg.logger.Debug("engineio: session closed", "sid", s.id, "reason", string(reason), "cause", cause)
		}
		if h != nil {
			h.HandleClose(reason, cause)
		}
	}
}

// onDeadline drives the heartbeat, the close timeout of a closing polling
// session and the end of a lingering one. The deadlines call it when s.due
// has passed.
func (s *Session) onDeadline() {
	s.mu.Lock()
	if s.srv.deadlines.scheduled(s) {
		// Given a new deadline since this one expired.
		s.mu.Unlock()
		return
	}
	switch {
	case s.state == stateClosing:
		after := s.closeLocked(ReasonForcedClose, nil)
		s.mu.Unlock()
		after()
	case s.state != stateOpen:
		linger := s.linger
		s.linger = false
		s.mu.Unlock()
		if linger {
			s.srv.removeSession(s)
		}
	case s.awaitingPong:
		after := s.closeLocked(ReasonPingTimeout, ErrPingTimeout)
		s.mu.Unlock()
		after()
	default:
		// Deadlines are absolute, so that a late timer does not give
		// the client more time than the protocol says.
		s.awaitingPong = true
		s.srv.deadlines.set(s, s.due+int64(s.srv.cfg.pingTimeout))
		s.enqueueLocked(packet.Packet{Type: packet.Ping})
		s.mu.Unlock()
	}
}

func (s *Session) onPong() {
	s.mu.Lock()
	if s.state == stateOpen && s.awaitingPong {
		s.awaitingPong = false
		s.srv.deadlines.set(s, s.srv.deadlines.now()+int64(s.srv.cfg.pingInterval))
	}
	s.mu.Unlock()
}

// handlePacket processes one packet received on the active transport. It
// reports whether the transport should keep reading.
func (s *Session) handlePacket(p packet.Packet) bool {
	switch p.Type {
	case packet.Pong:
		if s.eio3 {
			s.closeWith(ReasonTransportError, ErrInvalidHeartbeat)
			return false
		}
		s.onPong()
	case packet.Ping:
		if s.eio3 {
			s.onPingV3()
			break
		}
		s.closeWith(ReasonTransportError, ErrInvalidHeartbeat)
		return false
	case packet.Close:
		s.closeWith(ReasonTransportClose, nil)
		return false
	case packet.Message:
		s.deliverMu.Lock()
		s.mu.Lock()
		open := s.state == stateOpen
		s.mu.Unlock()
		if open {
			s.handler.HandleMessage(p.Data, p.Binary)
		}
		s.deliverMu.Unlock()
	}
	// Open, Upgrade and Noop are ignored, as by the official server.
	return true
}
