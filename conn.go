package socketio

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
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

	dec parser.Decoder // used by HandleMessage only, which is serialised

	mu            sync.Mutex
	sockets       []*Socket // one per namespace, connected or connecting (a slice: there are few)
	closed        bool
	connectTimer  *time.Timer
	attTimer      *time.Timer // set while attachments are awaited
	everConnected bool
}

func newConn(srv *Server, sess *engineio.Session) *conn {
	c := &conn{
		srv:  srv,
		sess: sess,
		dec:  parser.Decoder{MaxAttachments: srv.maxAttachments, MaxAttachmentBytes: srv.maxAttBytes},
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
	var (
		p   *parser.Packet
		err error
	)
	if binary {
		p, err = c.dec.DecodeBinary(data)
	} else {
		p, err = c.dec.DecodeText(data)
	}
	if err != nil {
		c.onParseError(err)
		return
	}
	c.watchAttachments()
	if p != nil {
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
	nsp := c.srv.lookupNamespace(p.Namespace, auth)
	if nsp == nil {
		_ = c.writePacket(&parser.Packet{
			Type:      parser.ConnectError,
			Namespace: p.Namespace,
			ID:        parser.NoID,
			Data:      []byte(`{"message":"Invalid namespace"}`),
		}, false)
		return
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
		return
	}
	if len(c.sockets) >= c.srv.maxNamespaces {
		c.mu.Unlock()
		s.unrestore()
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
	pkts := encodePacket(p)
	return c.send(pkts, volatile)
}

func (c *conn) send(pkts []packet.Packet, volatile bool) error {
	err := c.sess.SendPackets(pkts, volatile)
	if errors.Is(err, engineio.ErrSlowConsumer) {
		return ErrSlowConsumer
	}
	if errors.Is(err, engineio.ErrSessionClosed) {
		return ErrDisconnected
	}
	return err
}

// encodePacket returns the Engine.IO packets carrying p: its text and its
// binary attachments.
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
