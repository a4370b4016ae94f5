package engineio

import (
	"bytes"
	"errors"
	"net/http"
	"runtime"
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
		s.setWebSocketB64(r)
	}
	s.mu.Unlock()
	ws, err := websocket.Upgrade(w, r, &websocket.UpgradeOptions{ReadLimit: srv.cfg.maxBufferSize, Compression: srv.cfg.wsCompression})
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
	s.signalPollLocked()
	s.ws = ws
	s.kickLocked() // packets queued during the upgrade go out on the WebSocket
	s.mu.Unlock()
	if h := s.srv.hooks.OnUpgrade; h != nil {
		h(s)
	}
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
		if s.eio3 {
			p, err = decodeFrameV3(typ, data)
		} else if typ == websocket.BinaryMessage {
			p = packet.Packet{Type: packet.Message, Binary: true, Data: data}
		} else {
			p, err = packet.DecodeText(data)
		}
		if err != nil {
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
type wsBatch = packetBatch[websocket.Message]

var wsBatchPool = sync.Pool{New: func() any { return new(wsBatch) }}

// wsWriter is a Session as the tasks.Runner of its WebSocket writer.
type wsWriter Session

// Run runs the session's writer.
func (w *wsWriter) Run() { (*Session)(w).writeLoop() }

// wsLazyWriter is a Session as the tasks.Runner of a WebSocket writer
// started by SendBroadcast.
type wsLazyWriter Session

// Run yields to the goroutines already runnable, such as the one that
// queues the next broadcast, then runs the session's writer.
func (w *wsLazyWriter) Run() {
	runtime.Gosched()
	(*Session)(w).writeLoop()
}

// writeLoop writes the queued packets to the session's WebSocket, batching
// whatever accumulated into one write, until the queue is empty. On a
// closing session it then sends the close frame and finishes the close.
// It stops if the session loses its WebSocket.
func (s *Session) writeLoop() {
	var ws *websocket.Conn // the transport written to
	first := true
	s.mu.Lock()
	for {
		// s.mu is held here: taken once per batch written, the same
		// lock after a write records it and looks for more.
		if ws == nil {
			ws = s.ws
		}
		if ws == nil || s.ws != ws {
			s.writing = false
			s.mu.Unlock()
			return
		}
		if first {
			// What the batch writer left buffered in the WebSocket, if
			// anything, goes first. Then every packet queued but no
			// longer in the queue is on the socket.
			first = false
			s.mu.Unlock()
			err := ws.Flush()
			s.mu.Lock()
			if err != nil {
				s.writing = false
				s.mu.Unlock()
				s.closeIfTransport(ws, ReasonTransportError, err)
				return
			}
			s.written = s.queued - uint64(len(s.queue))
			s.releaseFlushersLocked()
			continue
		}
		if len(s.queue) == 0 {
			s.writerIdleUnlock()
			return
		}
		batch := s.takeQueueLocked()
		s.mu.Unlock()

		var err error
		if s.eio3 {
			err = writePacketsV3(ws, batch, s.v3b64&b64WebSocket != 0)
		} else {
			err = writePackets(ws, batch)
		}

		n := len(batch)
		clear(batch)
		s.mu.Lock()
		s.spare = batch[:0]
		if err != nil {
			s.writing = false
			s.mu.Unlock()
			s.closeIfTransport(ws, ReasonTransportError, err)
			return
		}
		s.written += uint64(n)
		s.releaseFlushersLocked()
	}
}

// maxPooledQueue is the capacity above which an idle session's queue array
// is left to the garbage collector instead of being pooled.
const maxPooledQueue = 64

// queuePool holds the emptied queue arrays of idle sessions (in boxes, so
// that putting one does not allocate); boxPool holds the empty boxes.
var queuePool, boxPool sync.Pool

// getQueue returns an empty queue array from the pool, or nil.
func getQueue() []packet.Packet {
	bp, _ := queuePool.Get().(*[]packet.Packet)
	if bp == nil {
		return nil
	}
	q := *bp
	*bp = nil
	boxPool.Put(bp)
	return q[:0]
}

// putQueue pools q's array, cleared, if it is worth keeping.
func putQueue(q []packet.Packet) {
	if cap(q) == 0 || cap(q) > maxPooledQueue {
		return
	}
	q = q[:cap(q)]
	clear(q) // no references to packets' data
	bp, _ := boxPool.Get().(*[]packet.Packet)
	if bp == nil {
		bp = new([]packet.Packet)
	}
	*bp = q[:0]
	queuePool.Put(bp)
}

// writerIdleUnlock ends a writer run that found the queue empty: the
// writer goes idle, and a closing session finishes its close. It unlocks
// s.mu, which the caller holds.
func (s *Session) writerIdleUnlock() {
	s.writing = false
	s.idleQueueLocked()
	if s.state == stateClosing {
		after := s.closeLocked(ReasonForcedClose, nil)
		s.mu.Unlock()
		after()
		return
	}
	s.mu.Unlock()
}

// takeQueueLocked returns the queued packets for a writer, which gives the
// array back as s.spare once written, and starts an empty queue.
func (s *Session) takeQueueLocked() []packet.Packet {
	batch := s.queue
	s.queue, s.spare = s.spare[:0], nil
	s.backlog = 0
	return batch
}

// idleQueueLocked releases the queue arrays of a session whose writer
// goes idle: it holds no queue memory until the next packet. The array
// goes back to a pool rather than to the garbage collector: with shallow
// queues the writer idles after nearly every packet, and the next one
// would allocate.
func (s *Session) idleQueueLocked() {
	if cap(s.spare) >= cap(s.queue) {
		putQueue(s.spare)
	} else {
		putQueue(s.queue)
	}
	s.queue, s.spare = nil, nil
}

// tryWritable reports whether pkts are few and small enough for the batch
// writer's non-blocking write.
func tryWritable(pkts []packet.Packet) bool {
	if len(pkts) > maxTryWritePackets {
		return false
	}
	n := 0
	for i := range pkts {
		n += 1 + len(pkts[i].Data)
	}
	return n <= websocket.MaxTryWrite
}

// maxTryWritePackets is the most packets the batch writer writes to a
// session at once.
const maxTryWritePackets = 16

// writePackets writes pkts to ws, one frame each, in as few writes as
// possible.
func writePackets(ws *websocket.Conn, pkts []packet.Packet) error {
	return framePackets(ws, pkts, false, nil, nil)
}

// tryWritePackets writes pkts to ws like writePackets, with
// websocket.Conn.TryWriteMessages: see there for the results.
func tryWritePackets(ws *websocket.Conn, pkts []packet.Packet) (accepted, pending bool, err error) {
	err = framePackets(ws, pkts, true, &accepted, &pending)
	return accepted, pending, err
}

// framePackets frames pkts, one message each, and hands them to ws with
// WriteMessages, or with TryWriteMessages when try is set, whose results
// it stores in *accepted and *pending.
func framePackets(ws *websocket.Conn, pkts []packet.Packet, try bool, accepted, pending *bool) error {
	b := wsBatchPool.Get().(*wsBatch)
	defer b.release(&wsBatchPool)
	msgs := b.encode(pkts, func(p *packet.Packet, data []byte) websocket.Message {
		t := websocket.TextMessage
		if p.Binary {
			t = websocket.BinaryMessage
		}
		return websocket.Message{Type: t, Data: data, Uncompressed: p.NoCompress}
	})
	if try {
		var err error
		*accepted, *pending, err = ws.TryWriteMessages(msgs)
		return err
	}
	return ws.WriteMessages(msgs)
}

// packetBatch is scratch space for handing packets to a message-oriented
// transport: the text packets encoded one after another in buf, and one
// message of type M per packet.
type packetBatch[M any] struct {
	buf  []byte
	msgs []M
}

// encode makes one message per packet with mk, given the packet and its
// data: its text encoding, or for a binary packet its raw data. The
// messages and their data are valid until release.
func (b *packetBatch[M]) encode(pkts []packet.Packet, mk func(p *packet.Packet, data []byte) M) []M {
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
	for i := range pkts {
		p := &pkts[i]
		if p.Binary {
			b.msgs = append(b.msgs, mk(p, p.Data))
			continue
		}
		start := len(buf)
		buf = p.AppendText(buf)
		b.msgs = append(b.msgs, mk(p, buf[start:len(buf):len(buf)]))
	}
	b.buf = buf
	return b.msgs
}

// release empties b and puts it back in pool, unless its buffer grew
// large.
func (b *packetBatch[M]) release(pool *sync.Pool) {
	clear(b.msgs)
	b.msgs = b.msgs[:0]
	if cap(b.buf) <= 64<<10 {
		b.buf = b.buf[:0]
		pool.Put(b)
	}
}
