package engineio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/socketio-go/socketio/engineio/packet"
)

// Message is one message of a [MessageConn]: an Engine.IO packet in its
// text encoding (such as "4hello"), or the raw bytes of a binary message
// packet.
type Message struct {
	Data   []byte
	Binary bool
}

// MessageConn is a connection of a message-oriented transport that this
// package does not implement itself, such as WebTransport (served by the
// module github.com/socketio-go/socketio/transport/webtransport). The
// transport frames the messages; the server decodes them, runs the
// Engine.IO protocol and writes its packets through WriteMessages. See
// [Server.ServeMessageTransport].
type MessageConn interface {
	// ReadMessage blocks until the next message arrives. The server owns
	// the returned data. It is called from one goroutine at a time, maybe
	// concurrently with WriteMessages. An error ends the connection: one
	// wrapping [ErrMalformedFrame] or [ErrPayloadTooLarge] closes the
	// session with "parse error" (what the official server reports when
	// its stream decoder fails), any other (the peer closed the
	// connection, or it broke) with "transport close".
	ReadMessage() (Message, error)
	// WriteMessages writes msgs in order. It is called from one goroutine
	// at a time, and must not keep msgs or their data after it returns.
	// An error closes the session with "transport error"; it should not
	// block forever on a peer that stopped reading.
	WriteMessages(msgs []Message) error
	// Close closes the connection, making pending and later ReadMessage
	// and WriteMessages calls return. It may be called more than once and
	// concurrently with the other methods. What WriteMessages returned
	// from should still reach the peer where the transport can ensure it.
	Close() error
}

// ErrMalformedFrame is the error a [MessageConn] wraps when the peer sent
// bytes that do not frame a message (such as a zero or impossible length).
var ErrMalformedFrame = errors.New("engineio: malformed frame")

// msgTransport is what a session over a MessageConn keeps: allocated only
// for such sessions (and long-polling sessions upgrading to one), so that
// the others pay one pointer.
type msgTransport struct {
	conn    MessageConn // the session's transport
	upgrade MessageConn // the connection being upgraded to
	name    string      // the transport's name, for an upgrade
}

// msgConns are the connections a closing session drops.
type msgConns [2]MessageConn

func (c msgConns) close() {
	for _, mc := range c {
		if mc != nil {
			_ = mc.Close()
		}
	}
}

// ServeMessageTransport handles a request that opens a connection of the
// message-oriented transport named transport (only
// [TransportWebTransport] exists, enabled by listing it in
// Options.Transports).
//
// It first checks the request: the transport is enabled, the Origin
// header is valid and allowed by the CORS policy (as for a WebSocket), the
// server is not shutting down, and the query, which the official client
// leaves empty, names no other protocol version than 4 (EIO) and no
// unknown session (sid). A refused request is answered on w with the
// status and JSON body of a refused long-polling request (see
// [Hooks].OnConnectionError; 503 during a shutdown), and accept is not
// called.
//
// Otherwise it calls accept, which completes the transport's handshake on w
// and returns the connection, or an error (logged at Debug); ctx ends
// UpgradeTimeout after the request arrived. The connection's first message
// must then arrive before that deadline and be an open packet, as the
// official server requires: with no data, it opens a new session,
// answered with the usual open packet, if the server is not full and
// Options.AllowRequest accepts the request; with data {"sid":"<id>"}, it
// upgrades the long-polling session with that id (the "2probe", "3probe",
// "5" exchange follows, as on a WebSocket). Anything else (another
// packet, an unknown session, one already upgraded or upgrading, a
// timeout) closes the connection.
//
// ServeMessageTransport returns once the connection was handed to a
// session or closed; the session's goroutines belong to the server, which
// closes the connection when the session ends.
func (s *Server) ServeMessageTransport(w http.ResponseWriter, r *http.Request, transport string, accept func(ctx context.Context) (MessageConn, error)) {
	cfg := s.cfg
	if transport != TransportWebTransport || !cfg.webtransport {
		s.refuse(w, r, false, newRequestError(CodeUnknownTransport, "transport "+strconv.Quote(transport)))
		return
	}
	if !s.originAllowed(w, r, false) {
		return
	}
	// The official client sends no query (its WebTransport URL is the
	// bare path); one that does must mean protocol 4 and a live session.
	q := r.URL.RawQuery
	if eio := queryValue(q, "EIO"); eio != "" && eio != "4" {
		s.refuse(w, r, false, newRequestError(CodeUnsupportedVersion, "EIO "+strconv.Quote(eio)))
		return
	}
	if sid := queryValue(q, "sid"); sid != "" && s.Session(sid) == nil {
		s.refuse(w, r, false, newRequestError(CodeUnknownSID, "sid "+strconv.Quote(sid)))
		return
	}
	if s.closing.Load() {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), cfg.upgradeTimeout)
	defer cancel()
	c, err := accept(ctx)
	if err != nil {
		cfg.logger.Debug("engineio: "+transport+" handshake failed", "err", err, "remote", r.RemoteAddr)
		return
	}
	first, ok := readFirstMessage(ctx, c)
	if !ok {
		cfg.logger.Debug("engineio: "+transport+": no open packet", "remote", r.RemoteAddr)
		_ = c.Close()
		return
	}
	if len(first.Data) == 0 {
		if err := s.checkNewSession(r); err != nil {
			cfg.logger.Debug("engineio: "+transport+" session refused", "err", err, "remote", r.RemoteAddr)
			if h := s.hooks.OnConnectionError; h != nil && err.Code == CodeForbidden {
				h(r, err)
			}
			_ = c.Close()
			return
		}
		s.openMessageSession(r, transport, c)
		return
	}
	var open struct {
		SID *string `json:"sid"`
	}
	if json.Unmarshal(first.Data, &open) != nil || open.SID == nil {
		_ = c.Close()
		return
	}
	sess := s.Session(*open.SID)
	if sess == nil || sess.expireIfLate() {
		_ = c.Close()
		return
	}
	sess.serveMessageUpgrade(transport, c)
}

// checkNewSession applies the checks of a handshake to a new session over
// a MessageConn: the server is not shutting down or full, and
// Options.AllowRequest accepts the request (the official server runs no
// such check for WebTransport; this one runs it as for a WebSocket).
func (s *Server) checkNewSession(r *http.Request) *RequestError {
	if s.closing.Load() {
		return &RequestError{Code: CodeBadRequest, Message: "server shutting down"}
	}
	if s.cfg.maxSessions > 0 && s.SessionCount() >= s.cfg.maxSessions {
		return &RequestError{Code: CodeBadRequest, Message: "server at capacity", Context: "MaxSessions reached"}
	}
	if s.cfg.allowRequest != nil {
		if err := s.cfg.allowRequest(r); err != nil {
			e := newRequestError(CodeForbidden, err.Error())
			e.Message = err.Error()
			return e
		}
	}
	return nil
}

// readFirstMessage reads the open packet a connection starts with, until
// ctx ends (the connection is then closed).
func readFirstMessage(ctx context.Context, c MessageConn) (packet.Packet, bool) {
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	m, err := c.ReadMessage()
	if !stop() || err != nil || m.Binary {
		return packet.Packet{}, false
	}
	p, err := packet.DecodeText(m.Data)
	if err != nil || p.Type != packet.Open {
		return packet.Packet{}, false
	}
	return p, true
}

// openMessageSession opens a session on c: registers it, writes its open
// packet, hands it to the Handler and starts reading.
func (s *Server) openMessageSession(r *http.Request, transport string, c MessageConn) {
	id := s.newSessionID()
	sess := newSession(s, id, r, transport)
	sess.mt = &msgTransport{conn: c, name: transport}
	s.mu.Lock()
	if s.closing.Load() || (s.cfg.maxSessions > 0 && len(s.sessions) >= s.cfg.maxSessions) {
		s.mu.Unlock()
		_ = c.Close()
		return
	}
	s.sessions[id] = sess
	s.mu.Unlock()

	sess.mu.Lock()
	sess.enqueueLocked(packet.Packet{Type: packet.Open, Data: sess.openPayload()})
	sess.mu.Unlock()
	h := s.handler.OpenSession(sess)
	sess.start(h, nil)
	sess.mu.Lock()
	if sess.state != stateClosed {
		// Started under the lock while the session is open: a close
		// (which closes c, ending the loop) comes after, and so does the
		// server's wait for its goroutines.
		s.tasks.Go(func() { sess.msgReadLoop(c) })
	}
	sess.mu.Unlock()
}

// serveMessageUpgrade starts the upgrade of a long-polling session to c.
func (s *Session) serveMessageUpgrade(transport string, c MessageConn) {
	s.mu.Lock()
	if s.state != stateOpen || s.transport != TransportPolling || s.upgrading || s.upgraded || !s.srv.cfg.allowUpgrades || s.eio3 {
		s.mu.Unlock()
		_ = c.Close()
		return
	}
	s.upgrading = true
	if s.mt == nil {
		s.mt = &msgTransport{}
	}
	s.mt.upgrade, s.mt.name = c, transport
	s.srv.tasks.Go(func() { s.msgUpgradeLoop(c) })
	s.mu.Unlock()
}

// msgUpgradeLoop runs the upgrade on c, as upgradeLoop does on a WebSocket:
// "2probe" is answered with "3probe", then "5" makes c the session's
// transport. Anything else, or a timeout, drops c and leaves the session
// on long-polling.
func (s *Session) msgUpgradeLoop(c MessageConn) {
	timer := time.AfterFunc(s.srv.cfg.upgradeTimeout, func() { s.abortMsgUpgrade(c) })
	defer timer.Stop()

	p, ok := readMessagePacket(c)
	if !ok || p.Type != packet.Ping || !bytes.Equal(p.Data, probe) {
		s.abortMsgUpgrade(c)
		return
	}
	if err := c.WriteMessages([]Message{{Data: []byte("3probe")}}); err != nil {
		s.abortMsgUpgrade(c)
		return
	}
	s.mu.Lock()
	if s.mt.upgrade != c {
		s.mu.Unlock()
		_ = c.Close()
		return
	}
	s.probed = true
	s.kickLocked() // release the pending poll with a noop
	s.mu.Unlock()

	p, ok = readMessagePacket(c)
	if !ok || p.Type != packet.Upgrade {
		s.abortMsgUpgrade(c)
		return
	}
	s.mu.Lock()
	if s.mt.upgrade != c || s.state != stateOpen {
		s.mu.Unlock()
		_ = c.Close()
		return
	}
	timer.Stop()
	s.mt.upgrade, s.mt.conn = nil, c
	s.upgrading = false
	s.upgraded = true
	s.transport = s.mt.name
	s.signalPollLocked() // release a poll still pending
	s.kickLocked()       // packets queued during the upgrade go out on c
	s.mu.Unlock()
	if h := s.srv.hooks.OnUpgrade; h != nil {
		h(s)
	}
	s.msgReadLoop(c)
}

func readMessagePacket(c MessageConn) (packet.Packet, bool) {
	m, err := c.ReadMessage()
	if err != nil || m.Binary {
		return packet.Packet{}, false
	}
	p, err := packet.DecodeText(m.Data)
	return p, err == nil
}

// abortMsgUpgrade drops c if it is still being upgraded to.
func (s *Session) abortMsgUpgrade(c MessageConn) {
	s.mu.Lock()
	if s.mt.upgrade == c {
		s.mt.upgrade = nil
		s.upgrading = false
		s.probed = false
	}
	s.mu.Unlock()
	_ = c.Close()
}

// dropMsgUpgradeLocked ends an upgrade to a MessageConn in progress and
// returns the connection to close, or nil.
func (s *Session) dropMsgUpgradeLocked() MessageConn {
	if s.mt == nil || s.mt.upgrade == nil {
		return nil
	}
	c := s.mt.upgrade
	s.mt.upgrade = nil
	s.upgrading = false
	s.probed = false
	return c
}

// detachMsgLocked takes the session's MessageConns away, for closing.
func (s *Session) detachMsgLocked() msgConns {
	if s.mt == nil {
		return msgConns{}
	}
	c := msgConns{s.mt.conn, s.mt.upgrade}
	s.mt.conn, s.mt.upgrade = nil, nil
	return c
}

// msgConnLocked returns the MessageConn the session uses, or nil.
func (s *Session) msgConnLocked() MessageConn {
	if s.mt == nil {
		return nil
	}
	return s.mt.conn
}

// kickMsgLocked starts the writer of a session on a MessageConn. It
// reports whether the session is on one.
func (s *Session) kickMsgLocked() bool {
	if s.msgConnLocked() == nil {
		return false
	}
	if !s.writing && (len(s.queue) > 0 || s.state == stateClosing) {
		s.writing = true
		s.srv.tasks.GoRunner((*msgWriter)(s))
	}
	return true
}

// msgReadLoop reads the session's packets from c until it fails.
func (s *Session) msgReadLoop(c MessageConn) {
	for {
		m, err := c.ReadMessage()
		if err != nil {
			reason := ReasonTransportClose
			if errors.Is(err, ErrMalformedFrame) || errors.Is(err, ErrPayloadTooLarge) {
				reason = ReasonParseError
			}
			s.closeIfMsgConn(c, reason, err)
			return
		}
		var p packet.Packet
		if m.Binary {
			p = packet.Packet{Type: packet.Message, Binary: true, Data: m.Data}
		} else if p, err = packet.DecodeText(m.Data); err != nil {
			s.closeIfMsgConn(c, ReasonParseError, err)
			return
		}
		if !s.handlePacket(p) {
			return
		}
	}
}

// closeIfMsgConn closes the session if c is still its transport.
func (s *Session) closeIfMsgConn(c MessageConn, reason CloseReason, cause error) {
	s.mu.Lock()
	if s.msgConnLocked() != c {
		s.mu.Unlock()
		return
	}
	after := s.closeLocked(reason, cause)
	s.mu.Unlock()
	after()
}

// msgWriter is a Session as the tasks.Runner of its MessageConn writer.
type msgWriter Session

// Run runs the session's writer.
func (w *msgWriter) Run() { (*Session)(w).msgWriteLoop() }

// msgWriteLoop is writeLoop for a MessageConn: it writes the queued
// packets, batching what accumulated, until the queue is empty; on a
// closing session it then finishes the close.
func (s *Session) msgWriteLoop() {
	s.mu.Lock()
	c := s.msgConnLocked()
	for {
		if c == nil || s.msgConnLocked() != c {
			s.writing = false
			s.mu.Unlock()
			return
		}
		if len(s.queue) == 0 {
			s.writerIdleUnlock()
			return
		}
		batch := s.takeQueueLocked()
		s.mu.Unlock()

		err := writeMessagePackets(c, batch)

		n := len(batch)
		clear(batch)
		s.mu.Lock()
		s.spare = batch[:0]
		if err != nil {
			s.writing = false
			s.mu.Unlock()
			s.closeIfMsgConn(c, ReasonTransportError, err)
			return
		}
		s.written += uint64(n)
		s.releaseFlushersLocked()
	}
}

// msgBatch is the scratch space of one writeMessagePackets call.
type msgBatch = packetBatch[Message]

var msgBatchPool = sync.Pool{New: func() any { return new(msgBatch) }}

// writeMessagePackets writes pkts to c in one call: text packets in their
// text encoding, binary ones as their raw data.
func writeMessagePackets(c MessageConn, pkts []packet.Packet) error {
	b := msgBatchPool.Get().(*msgBatch)
	defer b.release(&msgBatchPool)
	return c.WriteMessages(b.encode(pkts, func(p *packet.Packet, data []byte) Message {
		return Message{Data: data, Binary: p.Binary}
	}))
}
