package socketio

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/engineio/packet"
	"github.com/socketio-go/socketio/parser"
)

// conn is one Engine.IO session seen by Socket.IO: it decodes packets and
// routes them to the namespace sockets multiplexed on the session.
type conn struct {
	srv  *Server
	sess *engineio.Session

	dec     parser.PacketDecoder // used by HandleMessage only, which is serialised
	inBytes int                  // bytes of the packet being decoded (HandleMessage only)

	mu            sync.Mutex
	sockets       []*Socket // one per namespace, connected or connecting (a slice: there are few)
	closed        bool
	connectTimer  *time.Timer
	attTimer      *time.Timer // set while attachments are awaited
	everConnected bool
	v3            bool // a Socket.IO protocol v4 client (Engine.IO v3 session); constant

	// hold is set from the queueing of a CONNECT packet until that packet
	// was written (see Namespace.connect): what the connection sends
	// meanwhile waits in it, in order. Its list is guarded by mu.
	hold atomic.Pointer[connHold]
}

// connHold is what a connection sent while its CONNECT packet was on its
// way.
type connHold struct {
	pkts []packet.Packet // in the order they were sent
}

func newConn(srv *Server, sess *engineio.Session) *conn {
	c := &conn{
		srv:  srv,
		sess: sess,
		v3:   sess.Protocol() == 3,
	}
	limits := parser.Limits{MaxAttachments: srv.maxAttachments, MaxAttachmentBytes: srv.maxAttBytes}
	if srv.parser != nil {
		c.dec = srv.parser.NewDecoder(limits)
	} else {
		c.dec = parser.JSON{}.NewDecoder(limits)
	}
	c.mu.Lock()
	c.connectTimer = time.AfterFunc(srv.connectTimeout, c.onConnectTimeout)
	c.mu.Unlock()
	return c
}

func (c *conn) onConnectTimeout() {
	c.srv.tasks.Add()
	defer c.srv.tasks.Done()
	c.mu.Lock()
	idle := !c.everConnected && len(c.sockets) == 0
	c.mu.Unlock()
	if idle {
		c.srv.logger.Debug("socketio: no namespace joined in time, closing", "sid", c.sess.ID())
		c.close()
	}
}

// HandleMessage decodes one Engine.IO message.
func (c *conn) HandleMessage(data []byte, binary bool) {
	p, err := c.dec.Decode(data, binary)
	if err != nil {
		c.onParseError(err)
		return
	}
	c.watchAttachments()
	c.inBytes += len(data)
	if p != nil {
		c.packetReceived(p.Type)
		c.handlePacket(p)
	}
}

// watchAttachments arms the attachment deadline when the decoder waits for
// the binary attachments of a packet, and disarms it when it does not.
func (c *conn) watchAttachments() {
	pending := c.dec.Pending()
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case pending && c.attTimer == nil:
		c.attTimer = time.AfterFunc(c.srv.attTimeout, c.onAttachmentTimeout)
	case !pending && c.attTimer != nil:
		c.attTimer.Stop()
		c.attTimer = nil
	}
}

func (c *conn) onAttachmentTimeout() {
	c.srv.tasks.Add()
	defer c.srv.tasks.Done()
	c.onParseError(errors.New("socketio: binary attachments did not arrive in time"))
}

// onParseError reacts to an invalid Socket.IO packet like the official
// server: the sockets get the error, and the connection is closed ("forced
// close").
func (c *conn) onParseError(err error) {
	c.srv.logger.Debug("socketio: invalid packet, closing the connection", "sid", c.sess.ID(), "err", err)
	c.mu.Lock()
	socks := c.socketList()
	c.mu.Unlock()
	for _, s := range socks {
		s.emitError(fmt.Errorf("socketio: invalid packet: %w", err))
	}
	c.releaseHeld()
	c.sess.Close()
}

func (c *conn) socketList() []*Socket {
	return slices.Clone(c.sockets)
}

// socketOf returns the socket of namespace nsp; c.mu must be held.
func (c *conn) socketOf(nsp string) *Socket {
	for _, s := range c.sockets {
		if s.nsp.name == nsp {
			return s
		}
	}
	return nil
}

func (c *conn) handlePacket(p *parser.Packet) {
	if c.v3 && p.Type == parser.Connect {
		p = v3Connect(p) // "/nsp?query": the namespace, and the query as auth
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	s := c.socketOf(p.Namespace)
	c.mu.Unlock()
	switch {
	case s == nil && p.Type == parser.Connect:
		c.connect(p)
	case s != nil && p.Type != parser.Connect && p.Type != parser.ConnectError:
		s.onPacket(p)
	default:
		// A packet for a namespace the client has not joined, or a second
		// CONNECT: the official server closes the connection.
		c.srv.logger.Debug("socketio: packet in invalid state, closing", "sid", c.sess.ID(), "type", p.Type.String(), "nsp", p.Namespace)
		c.close()
	}
}

func (c *conn) connect(p *parser.Packet) {
	if c.srv.isClosed() {
		return // shutting down: the connection is about to close
	}
	auth := p.Data
	if len(auth) == 0 {
		auth = []byte("{}")
	}
	var nsp *Namespace
	for {
		nsp = c.srv.lookupNamespace(p.Namespace, auth)
		if nsp == nil {
			_ = c.writePacket(&parser.Packet{
				Type:      parser.ConnectError,
				Namespace: p.Namespace,
				ID:        parser.NoID,
				Data:      []byte(`{"message":"Invalid namespace"}`),
			}, false)
			return
		}
		if nsp.beginConnect() {
			break // else an empty child namespace was just removed: create it again
		}
	}
	var sess *adapter.Session
	if nsp.store != nil {
		sess = nsp.restore(c, auth)
	}
	s := newSocket(nsp, c, bytes.Clone(auth), sess)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		s.unrestore()
		nsp.endConnect()
		return
	}
	if len(c.sockets) >= c.srv.maxNamespaces {
		c.mu.Unlock()
		s.unrestore()
		nsp.endConnect()
		_ = c.writePacket(&parser.Packet{
			Type:      parser.ConnectError,
			Namespace: p.Namespace,
			ID:        parser.NoID,
			Data:      []byte(`{"message":"Too many namespaces"}`),
		}, false)
		return
	}
	c.sockets = append(c.sockets, s)
	c.mu.Unlock()
	nsp.connect(s)
}

// connected is called when a socket of the connection joined its
// namespace.
func (c *conn) connected() {
	c.mu.Lock()
	c.everConnected = true
	c.stopConnectTimerLocked()
	c.mu.Unlock()
}

func (c *conn) stopConnectTimerLocked() {
	if c.connectTimer != nil {
		c.connectTimer.Stop()
		c.connectTimer = nil // a stopped timer still takes memory
	}
}

// remove forgets a socket that left its namespace.
func (c *conn) remove(s *Socket) {
	c.mu.Lock()
	if i := slices.Index(c.sockets, s); i >= 0 {
		c.sockets = slices.Delete(c.sockets, i, i+1)
	}
	c.mu.Unlock()
}

// writePacket encodes p and queues it on the session.
func (c *conn) writePacket(p *parser.Packet, volatile bool) error {
	pkts, err := c.srv.encode(p)
	if err != nil {
		return err
	}
	err = c.send(pkts, volatile)
	if err == nil {
		c.srv.packetsSent(p.Type, pkts, 1)
	}
	return err
}

func (c *conn) send(pkts []packet.Packet, volatile bool) error {
	return c.queue(pkts, volatile, false)
}

// broadcast is send for one recipient of a broadcast: see
// engineio.Session.SendBroadcast.
func (c *conn) broadcast(pkts []packet.Packet, volatile bool) error {
	return c.queue(pkts, volatile, true)
}

// queue is send, or broadcast with batch set: held while the connection
// holds what it sends (see holdSends), queued on the session otherwise.
func (c *conn) queue(pkts []packet.Packet, volatile, batch bool) error {
	if c.hold.Load() != nil {
		if held, err := c.held(pkts, volatile); held {
			return err
		}
	}
	return sendErr(c.sessSend(pkts, volatile, batch))
}

// sessSend queues pkts on the session, through its batch writer if batch
// is set.
func (c *conn) sessSend(pkts []packet.Packet, volatile, batch bool) error {
	if batch {
		return c.sess.SendBroadcast(pkts, volatile)
	}
	return c.sess.SendPackets(pkts, volatile)
}

// held keeps pkts until release if the connection holds what it sends
// (see holdSends), and reports whether it did; err is then the send's
// error. A volatile packet is dropped meanwhile (the transport cannot take
// it right now). What would not fit in the session's write queue releases
// the hold first, so that the queue's limit applies as without it.
func (c *conn) held(pkts []packet.Packet, volatile bool) (bool, error) {
	if volatile {
		// (Not under mu: the observer is the user's code. A release
		// meanwhile changes nothing: a volatile packet may be dropped.)
		if o := c.srv.observer(); o != nil {
			o.Dropped(c.sess.ID(), len(pkts), false)
		}
		return true, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.hold.Load()
	if h == nil {
		return false, nil // released meanwhile: sent after what was held
	}
	if len(h.pkts)+len(pkts) > c.srv.writeQueueSize {
		if err := c.releaseLocked(); err != nil {
			return true, err
		}
		return false, nil
	}
	h.pkts = append(h.pkts, pkts...)
	return true, nil
}

// holdSends makes the connection keep what it sends until release(h). It
// is called right after a CONNECT packet was queued, under the namespace
// lock (a broadcast that reaches the socket after it is held too), so that
// the connection handlers can start at once, while the CONNECT is being
// written: the rooms they join first are joined well before the client can
// act on its CONNECT, as with the official server, whose handlers run in
// the tick that sends it. What they send follows the CONNECT in a write of
// its own (some clients, such as the Node "ws" package used by the
// protocol test suites, hand two frames read together to the application
// before it can react to the first). It returns nil if the connection
// holds already (another namespace is connecting: that release sends this
// CONNECT too, in order).
func (c *conn) holdSends() *connHold {
	h := &connHold{}
	if !c.hold.CompareAndSwap(nil, h) {
		return nil
	}
	return h
}

// release sends what h held, in order, and ends it, unless it ended
// already (the write queue's limit or a close released it early).
func (c *conn) release(h *connHold) {
	c.mu.Lock()
	if c.hold.Load() == h {
		_ = c.releaseLocked()
	}
	c.mu.Unlock()
}

// paced waits for flushed, a channel of sess.Flush (also closed when the
// session closes), then for connectPacing if the session is still open.
func (c *conn) paced(flushed <-chan struct{}) {
	<-flushed
	if reason, _ := c.sess.CloseReason(); reason == "" {
		time.Sleep(connectPacing)
	}
}

// releaseHeld ends any hold at once, before the connection closes.
func (c *conn) releaseHeld() {
	if c.hold.Load() == nil {
		return
	}
	c.mu.Lock()
	_ = c.releaseLocked()
	c.mu.Unlock()
}

// releaseLocked is release with c.mu held: senders wait on it, and so come
// after what was held. It returns the error of the first send that failed
// (the session closed, or closed it as a slow consumer); what follows it
// is dropped with the session.
func (c *conn) releaseLocked() error {
	h := c.hold.Load()
	if h == nil {
		return nil
	}
	c.hold.Store(nil)
	if len(h.pkts) == 0 {
		return nil
	}
	// In one call: the transport takes them together (a pending poll
	// answers with all of them, as it would have without the hold).
	return sendErr(c.sess.SendPackets(h.pkts, false))
}

// sendErr maps the engine's send errors to ours.
func sendErr(err error) error {
	if errors.Is(err, engineio.ErrSlowConsumer) {
		return ErrSlowConsumer
	}
	if errors.Is(err, engineio.ErrSessionClosed) {
		return ErrDisconnected
	}
	return err
}

// encode returns the Engine.IO packets carrying p, encoded with the
// server's parser. A broadcast calls it once for all its recipients.
func (s *Server) encode(p *parser.Packet) ([]packet.Packet, error) {
	if s.parser == nil {
		return encodePacket(p), nil
	}
	msgs, err := s.parser.Encode(make([]parser.Message, 0, 1+len(p.Attachments)), p)
	if err != nil {
		return nil, fmt.Errorf("socketio: encoding a %v packet: %w", p.Type, err)
	}
	pkts := make([]packet.Packet, len(msgs))
	for i, m := range msgs {
		pkts[i] = packet.Packet{Type: packet.Message, Binary: m.Binary, Data: m.Data}
	}
	return pkts, nil
}

// encodePacket returns the Engine.IO packets carrying p with the default
// JSON parser: its text and its binary attachments (parser.JSON.Encode,
// without the intermediate slice).
func encodePacket(p *parser.Packet) []packet.Packet {
	text := p.AppendText(make([]byte, 0, len(p.Data)+len(p.Namespace)+24))
	pkts := make([]packet.Packet, 1+len(p.Attachments))
	pkts[0] = packet.Packet{Type: packet.Message, Data: text}
	for i, a := range p.Attachments {
		pkts[i+1] = packet.Packet{Type: packet.Message, Binary: true, Data: a}
	}
	return pkts
}

// close closes the whole connection from the server side. Like the
// official server, its sockets are disconnected with "forced close" when
// the transport closes right away, and "forced server close" when a
// long-polling client must first come back for the close packet.
func (c *conn) close() {
	c.releaseHeld() // what the connection sent goes before the close
	reason := ReasonForcedServerClose
	if c.sess.Close() {
		reason = ReasonForcedClose
	}
	c.onClose(reason, nil)
}

// replace closes the connection of a client that recovered a session of
// it on a new connection: its sockets are disconnected with
// ReasonTransportReplaced, which keeps their sessions, before the transport
// is closed without a goodbye (the client is gone).
func (c *conn) replace() {
	c.onClose(ReasonTransportReplaced, errReplaced)
	c.sess.Abort(errReplaced)
}

// disconnectAll disconnects every socket ("server namespace disconnect",
// with a DISCONNECT packet each) and closes the connection.
func (c *conn) disconnectAll() {
	c.mu.Lock()
	socks := c.socketList()
	c.mu.Unlock()
	for _, s := range socks {
		s.Disconnect(false)
	}
	c.close()
}

// HandleClose is called by the Engine.IO session when it closed.
func (c *conn) HandleClose(reason engineio.CloseReason, cause error) {
	c.srv.connClosed(c.sess.ID(), c.sess.Transport(), DisconnectReason(reason))
	c.onClose(DisconnectReason(reason), cause)
}

func (c *conn) onClose(reason DisconnectReason, cause error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	socks := c.socketList()
	c.sockets = nil
	c.stopConnectTimerLocked()
	if c.attTimer != nil {
		c.attTimer.Stop()
		c.attTimer = nil
	}
	c.mu.Unlock()
	for _, s := range socks {
		s.onClose(reason, cause)
	}
}

// packetReceived reports a decoded packet and the bytes it took.
func (c *conn) packetReceived(t parser.Type) {
	n := c.inBytes
	c.inBytes = 0
	if o := c.srv.observer(); o != nil {
		o.PacketReceived(t, n)
	}
}
