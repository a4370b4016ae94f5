package engineio

import (
	"bytes"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/socketio-go/socketio/engineio/packet"
	"github.com/socketio-go/socketio/internal/websocket"
)

var probe = []byte("probe")

// serveUpgrade handles a WebSocket request carrying the sid of a polling
// session: the upgrade dance of the protocol.
func (s *Session) serveUpgrade(w http.ResponseWriter, r *http.Request) {
	srv := s.srv
	s.mu.Lock()
	ok := s.state == stateOpen && s.transport == TransportPolling && !s.upgrading && !s.upgraded && srv.cfg.allowUpgrades
	if ok {
		s.upgrading = true
	}
	s.mu.Unlock()
	ws, err := websocket.Upgrade(w, r, &websocket.UpgradeOptions{ReadLimit: srv.cfg.maxBufferSize})
	if err != nil {
		srv.cfg.logger.Debug("engineio: websocket handshake failed", "err", err, "remote", r.RemoteAddr)
		if ok {
			s.mu.Lock()
			s.upgrading = false
			s.mu.Unlock()
		}
		return
	}
	if !ok {
		// Like the official server: accept the WebSocket, then close it.
		_ = ws.Close(websocket.StatusNoStatus, "")
		return
	}
	s.mu.Lock()
	if s.state != stateOpen {
		s.upgrading = false
		s.mu.Unlock()
		_ = ws.CloseNow()
		return
	}
	s.upgradeWS = ws
	s.mu.Unlock()
	srv.tasks.Go(func() { s.upgradeLoop(ws) })
}

// upgradeLoop runs the upgrade on the new WebSocket: "2probe" is answered
// with "3probe", then "5" switches the session to the WebSocket, which
// becomes its transport. Anything else, or a timeout, drops the WebSocket
// and leaves the session on long-polling.
func (s *Session) upgradeLoop(ws *websocket.Conn) {
	timer := time.AfterFunc(s.srv.cfg.upgradeTimeout, func() { s.abortUpgrade(ws) })
	defer timer.Stop()

	p, ok := s.readUpgradePacket(ws)
	if !ok || p.Type != packet.Ping || !bytes.Equal(p.Data, probe) {
		s.abortUpgrade(ws)
		return
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte("3probe")); err != nil {
		s.abortUpgrade(ws)
		return
	}
	s.mu.Lock()
	if s.upgradeWS != ws {
		s.mu.Unlock()
		_ = ws.CloseNow()
		return
	}
	s.probed = true
	s.kickLocked() // release the pending poll with a noop
	s.mu.Unlock()

	p, ok = s.readUpgradePacket(ws)
	if !ok || p.Type != packet.Upgrade {
		s.abortUpgrade(ws)
		return
	}
	s.mu.Lock()
	if s.upgradeWS != ws || s.state != stateOpen {
		s.mu.Unlock()
		_ = ws.CloseNow()
		return
	}
	timer.Stop()
	s.upgradeWS = nil
	s.upgrading = false
	s.upgraded = true
	s.transport = TransportWebSocket
	// Release a poll still pending (a well-behaved client has none).
	select {
	case s.wake <- struct{}{}:
	default:
	}
	s.ws = ws
	s.kickLocked() // packets queued during the upgrade go out on the WebSocket
	s.mu.Unlock()
	s.readLoop(ws)
}

func (s *Session) readUpgradePacket(ws *websocket.Conn) (packet.Packet, bool) {
	typ, data, err := ws.ReadMessage()
	if err != nil || typ != websocket.TextMessage {
		return packet.Packet{}, false
	}
	p, err := packet.DecodeText(data)
	return p, err == nil
}

func (s *Session) abortUpgrade(ws *websocket.Conn) {
	s.mu.Lock()
	if s.upgradeWS == ws {
		s.upgradeWS = nil
		s.upgrading = false
		s.probed = false
	}
	s.mu.Unlock()
	_ = ws.CloseNow()
}

// readLoop reads the session's packets from its WebSocket until the
// connection ends. When the connection is idle and the server has a
// poller, the loop returns instead of blocking: the poller starts it again
// when data arrives, so an idle connection holds no goroutine.
func (s *Session) readLoop(ws *websocket.Conn) {
	poller := s.srv.poller()
	for {
		if poller != nil && !ws.Poll() {
			if poller.Wait(ws, func() { s.readLoop(ws) }) == nil {
				return
			}
		}
		typ, data, err := ws.ReadMessage()
		if err != nil {
			s.transportFailed(ws, err)
			return
		}
		var p packet.Packet
		if typ == websocket.BinaryMessage {
			p = packet.Packet{Type: packet.Message, Binary: true, Data: data}
		} else if p, err = packet.DecodeText(data); err != nil {
			s.closeIfTransport(ws, ReasonParseError, err)
			return
		}
		if !s.handlePacket(p) {
			return
		}
	}
}

// transportFailed closes the session after a read error on ws: a close by
// the peer or a lost connection is "transport close" (as with the official
// server), a protocol violation (an oversized message, invalid UTF-8,
// a malformed frame) "transport error".
func (s *Session) transportFailed(ws *websocket.Conn, err error) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) || errors.Is(err, websocket.ErrConnectionLost) {
		s.closeIfTransport(ws, ReasonTransportClose, err)
		return
	}
	s.closeIfTransport(ws, ReasonTransportError, err)
}

// closeIfTransport closes the session if ws is still its transport.
func (s *Session) closeIfTransport(ws *websocket.Conn, reason CloseReason, cause error) {
	s.mu.Lock()
	if s.ws != ws {
		s.mu.Unlock()
		return
	}
	after := s.closeLocked(reason, cause)
	s.mu.Unlock()
	after()
}

// wsBatch is the scratch space of one writer run.
type wsBatch struct {
	buf  []byte
	msgs []websocket.Message
}

var wsBatchPool = sync.Pool{New: func() any { return new(wsBatch) }}

// writeLoop writes the queued packets to ws, batching whatever accumulated
// into one write, until the queue is empty. On a closing session it then
// sends the close frame and finishes the close.
func (s *Session) writeLoop(ws *websocket.Conn) {
	for {
		s.mu.Lock()
		if s.ws != ws {
			s.writing = false
			s.mu.Unlock()
			return
		}
		if len(s.queue) == 0 {
			s.writing = false
			// Idle: hold no queue memory until the next packet.
			s.queue, s.spare = nil, nil
			if s.state == stateClosing {
				after := s.closeLocked(ReasonForcedClose, nil)
				s.mu.Unlock()
				after()
				return
			}
			s.mu.Unlock()
			return
		}
		batch := s.queue
		s.queue, s.spare = s.spare[:0], nil
		s.backlog = 0
		s.mu.Unlock()

		err := writePackets(ws, batch)

		n := len(batch)
		clear(batch)
		s.mu.Lock()
		s.spare = batch[:0]
		if err == nil {
			s.written += uint64(n)
			s.releaseFlushersLocked()
		}
		s.mu.Unlock()
		if err != nil {
			s.mu.Lock()
			s.writing = false
			s.mu.Unlock()
			s.closeIfTransport(ws, ReasonTransportError, err)
			return
		}
	}
}

// writePackets writes pkts to ws, one frame each, in as few writes as
// possible.
func writePackets(ws *websocket.Conn, pkts []packet.Packet) error {
	b := wsBatchPool.Get().(*wsBatch)
	defer func() {
		clear(b.msgs)
		b.msgs = b.msgs[:0]
		if cap(b.buf) <= 64<<10 {
			b.buf = b.buf[:0]
			wsBatchPool.Put(b)
		}
	}()
	n := 0
	for _, p := range pkts {
		if !p.Binary {
			n += 1 + len(p.Data)
		}
	}
	if cap(b.buf) < n {
		b.buf = make([]byte, 0, n)
	}
	buf := b.buf[:0]
	for _, p := range pkts {
		if p.Binary {
			b.msgs = append(b.msgs, websocket.Message{Type: websocket.BinaryMessage, Data: p.Data})
			continue
		}
		start := len(buf)
		buf = p.AppendText(buf)
		b.msgs = append(b.msgs, websocket.Message{Type: websocket.TextMessage, Data: buf[start:len(buf):len(buf)]})
	}
	b.buf = buf
	return ws.WriteMessages(b.msgs)
}
