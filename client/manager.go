package client

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/socketio-go/socketio/engineio/packet"
	"github.com/socketio-go/socketio/internal/eioclient"
	"github.com/socketio-go/socketio/internal/tasks"
	"github.com/socketio-go/socketio/parser"
)

// Manager is one connection to a Socket.IO server (one Engine.IO session
// at a time) and the namespaces multiplexed over it, like the Manager of
// socket.io-client. It opens the connection when the first of its sockets
// connects, reconnects with exponential backoff when the connection is
// lost, joins the namespaces again after a reconnection, and closes the
// connection when no socket is left.
//
// Handlers (of the Manager and of all its sockets) run one at a time, in
// the order the events happened, on a goroutine of the Manager; see the
// package documentation. The methods are safe for concurrent use.
type Manager struct {
	endpoint *url.URL // scheme, host, Options.Path and query
	opts     Options
	ctx      context.Context // ends at Close
	cancel   context.CancelFunc
	tasks    tasks.Group // the connection loop and AuthFunc calls
	disp     dispatcher

	mu      sync.Mutex
	nsps    map[string]*Socket
	running bool // the connection loop is running
	closed  bool
	conn    *mconn // the open connection, nil otherwise
	poke    chan struct{}
	priorWS bool // the last connection used WebSocket (RememberUpgrade)

	onOpen             listeners[func()]
	onClose            listeners[func(DisconnectReason, error)]
	onError            listeners[func(error)]
	onPing             listeners[func()]
	onUpgrade          listeners[func(string)]
	onReconnectAttempt listeners[func(int)]
	onReconnect        listeners[func(int)]
	onReconnectError   listeners[func(error)]
	onReconnectFailed  listeners[func()]
}

// NewManager returns a Manager for the server at rawURL (scheme http,
// https, ws or wss). The URL's query is added to Options.Query; its path
// is ignored (the namespace is chosen with Socket, the Engine.IO path with
// Options.Path). opts may be nil. Nothing is connected until a socket's
// Connect.
//
// Errors: an invalid URL or option value.
func NewManager(rawURL string, opts *Options) (*Manager, error) {
	o, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	u, _, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	for k, vs := range o.Query {
		q[k] = vs
	}
	u.Path, u.RawPath = o.Path, ""
	u.RawQuery = q.Encode()
	u.Fragment = ""
	m := &Manager{
		endpoint: u,
		opts:     o,
		nsps:     make(map[string]*Socket),
		poke:     make(chan struct{}, 1),
	}
	m.disp.logger = o.Logger
	m.disp.limit = o.EventQueueSize
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m, nil
}

// parseURL checks rawURL and splits it into the server URL (without
// path) and the namespace its path names ("/" when none).
func parseURL(rawURL string) (*url.URL, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", fmt.Errorf("socketio/client: %w", err)
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return nil, "", fmt.Errorf("socketio/client: URL %q: scheme must be http, https, ws or wss", rawURL)
	}
	if u.Host == "" {
		return nil, "", fmt.Errorf("socketio/client: URL %q has no host", rawURL)
	}
	nsp := u.Path
	if nsp == "" {
		nsp = "/"
	}
	u.Path, u.RawPath = "", ""
	return u, nsp, nil
}

// Socket returns the socket of namespace nsp ("/" when empty; a leading
// "/" is added when missing), creating it with opts (nil for the
// defaults) on first use. Later calls for the same namespace return the
// same Socket and ignore opts. The socket connects when its Connect is
// called.
func (m *Manager) Socket(nsp string, opts *SocketOptions) *Socket {
	if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.nsps[nsp]; s != nil {
		return s
	}
	s := newSocket(m, nsp, opts)
	m.nsps[nsp] = s
	return s
}

// Transport returns the transport of the open connection ("polling" or
// "websocket"), or "" when there is none.
func (m *Manager) Transport() string {
	m.mu.Lock()
	mc := m.conn
	m.mu.Unlock()
	if mc == nil {
		return ""
	}
	return mc.eio.Transport()
}

// OnOpen registers fn to run each time a connection opens (before the
// sockets are connected). It returns a function that removes fn.
func (m *Manager) OnOpen(fn func()) (off func()) { return m.onOpen.add(fn, false, false) }

// OnClose registers fn to run each time the connection closes, with the
// reason and the underlying error (nil when none). It returns a function
// that removes fn.
func (m *Manager) OnClose(fn func(reason DisconnectReason, err error)) (off func()) {
	return m.onClose.add(fn, false, false)
}

// OnError registers fn to run when a connection attempt fails. It
// returns a function that removes fn.
func (m *Manager) OnError(fn func(err error)) (off func()) { return m.onError.add(fn, false, false) }

// OnPing registers fn to run for each ping of the server. It returns a
// function that removes fn.
func (m *Manager) OnPing(fn func()) (off func()) { return m.onPing.add(fn, false, false) }

// OnUpgrade registers fn to run when the connection moves to another
// transport ("websocket"). It returns a function that removes fn.
func (m *Manager) OnUpgrade(fn func(transport string)) (off func()) {
	return m.onUpgrade.add(fn, false, false)
}

// OnReconnectAttempt registers fn to run before each reconnection
// attempt, with the attempt number (1, 2, ...). It returns a function that
// removes fn.
func (m *Manager) OnReconnectAttempt(fn func(attempt int)) (off func()) {
	return m.onReconnectAttempt.add(fn, false, false)
}

// OnReconnect registers fn to run when a reconnection attempt succeeded,
// with the number of attempts it took. It returns a function that removes
// fn.
func (m *Manager) OnReconnect(fn func(attempt int)) (off func()) {
	return m.onReconnect.add(fn, false, false)
}

// OnReconnectError registers fn to run when a reconnection attempt
// failed. It returns a function that removes fn.
func (m *Manager) OnReconnectError(fn func(err error)) (off func()) {
	return m.onReconnectError.add(fn, false, false)
}

// OnReconnectFailed registers fn to run when the Manager gives up
// reconnecting after Options.ReconnectionAttempts attempts. It returns a
// function that removes fn.
func (m *Manager) OnReconnectFailed(fn func()) (off func()) {
	return m.onReconnectFailed.add(fn, false, false)
}

// Close disconnects every socket ("io client disconnect", with a
// DISCONNECT packet each when connected), fails their pending
// acknowledgements and queued packets with ErrManagerClosed, closes the
// connection (writing what is queued, waiting at most about one second)
// and waits for the Manager's goroutines, handlers included, to return.
// Called from a handler, it does not wait for the handlers. It also waits
// for AuthFunc calls in progress (their context is cancelled). Close is
// idempotent.
func (m *Manager) Close() {
	m.mu.Lock()
	first := !m.closed
	m.closed = true
	socks := make([]*Socket, 0, len(m.nsps))
	for _, s := range m.nsps {
		socks = append(socks, s)
	}
	m.mu.Unlock()
	if first {
		for _, s := range socks {
			s.disconnect(ErrManagerClosed)
		}
		m.cancel()
	}
	_ = m.tasks.Wait(context.Background())
	if !inDispatcher() {
		_ = m.disp.group.Wait(context.Background())
	}
}

// activate marks s active and makes sure the connection loop runs; if a
// connection is open, s connects at once.
func (m *Manager) activate(s *Socket) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrManagerClosed
	}
	s.mu.Lock()
	s.active = true
	s.mu.Unlock()
	mc := m.conn
	if !m.running {
		m.running = true
		m.tasks.Go(m.run)
	} else {
		m.wake()
	}
	m.mu.Unlock()
	if mc != nil {
		s.onOpen(mc)
	}
	return nil
}

func (m *Manager) wake() {
	select {
	case m.poke <- struct{}{}:
	default:
	}
}

// sockets returns the sockets of the Manager.
func (m *Manager) sockets() []*Socket {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Socket, 0, len(m.nsps))
	for _, s := range m.nsps {
		out = append(out, s)
	}
	return out
}

// stopIfIdle stops the loop when the Manager is closed or has no active
// socket. It reports whether the loop must return.
func (m *Manager) stopIfIdle() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		for _, s := range m.nsps {
			if s.isActive() {
				return false
			}
		}
	}
	m.running = false
	return true
}

// stop ends the loop although sockets are active: reconnection is
// disabled or gave up. A later Connect starts it again.
func (m *Manager) stop() {
	m.mu.Lock()
	m.running = false
	m.mu.Unlock()
}

// run is the connection loop: connect, wait for the connection to end,
// wait the backoff delay, reconnect, as Manager.open/reconnect of
// socket.io-client.
func (m *Manager) run() {
	b := newBackoff(&m.opts)
	reconnecting := false
	for {
		if reconnecting {
			if m.opts.ReconnectionAttempts > 0 && b.attempts >= m.opts.ReconnectionAttempts {
				emit(&m.disp, &m.onReconnectFailed, func(f func()) { f() })
				m.failWaiters(ErrReconnectFailed)
				m.stop()
				return
			}
			if !m.sleep(b.duration()) {
				return
			}
			n := b.attempts
			emit(&m.disp, &m.onReconnectAttempt, func(f func(int)) { f(n) })
		}
		if m.stopIfIdle() {
			return
		}
		mc, err := m.dial()
		if err != nil {
			if m.ctx.Err() != nil {
				m.stop()
				return
			}
			m.connectFailed(err, reconnecting)
			if m.opts.DisableReconnection {
				m.failWaiters(err)
				m.stop()
				return
			}
			reconnecting = true
			continue
		}
		attempts := 0
		if reconnecting {
			attempts = b.attempts
		}
		m.setConn(mc, attempts)
		b.reset()
		reconnecting = false
		m.waitConn(mc)
		if m.stopIfIdle() {
			return
		}
		if m.opts.DisableReconnection {
			m.failWaiters(fmt.Errorf("%w: %s", ErrDisconnected, mc.reason))
			m.stop()
			return
		}
		reconnecting = true
	}
}

// sleep waits d. It reports false when the loop must stop instead.
func (m *Manager) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return true
		case <-m.ctx.Done():
			m.stop()
			return false
		case <-m.poke:
			if m.stopIfIdle() {
				return false
			}
		}
	}
}

// dial opens a new connection within Options.Timeout.
func (m *Manager) dial() (*mconn, error) {
	ctx := m.ctx
	if m.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, m.opts.Timeout)
		defer cancel()
	}
	m.mu.Lock()
	preferWS := m.opts.RememberUpgrade && m.priorWS
	m.mu.Unlock()
	mc := newMconn(m)
	eio, err := eioclient.Dial(ctx, eioclient.Config{
		URL:             m.endpoint,
		Header:          m.opts.ExtraHeaders,
		Transports:      m.opts.Transports,
		Upgrade:         !m.opts.DisableUpgrade,
		PreferWebSocket: preferWS,
		HTTPClient:      m.opts.HTTPClient,
		TLSConfig:       m.opts.TLSConfig,
		Dialer:          m.opts.Dialer,
		MaxMessageSize:  m.opts.MaxMessageSize,
		Compression:     wsCompression(m.opts.PerMessageDeflate),
		Logger:          m.opts.Logger,
		RetryGet:        m.noRecovery,
	}, eioclient.Handler{
		OnMessage: mc.onMessage,
		OnPing:    mc.onPing,
		OnUpgrade: mc.onUpgrade,
		OnClose:   mc.onEngineClose,
	})
	if err != nil {
		mc.cancel()
		m.mu.Lock()
		m.priorWS = false
		m.mu.Unlock()
		if errors.Is(err, context.DeadlineExceeded) && m.ctx.Err() == nil {
			err = fmt.Errorf("%w: %w", ErrConnectTimeout, err)
		}
		return nil, err
	}
	mc.setEngine(eio)
	return mc, nil
}

// connectFailed reports a failed connection attempt to the handlers.
func (m *Manager) connectFailed(err error, reconnecting bool) {
	emit(&m.disp, &m.onError, func(f func(error)) { f(err) })
	for _, s := range m.sockets() {
		s.onConnectFailure(err)
	}
	if reconnecting {
		emit(&m.disp, &m.onReconnectError, func(f func(error)) { f(err) })
	}
}

// failWaiters fails the Connect calls in progress when the loop stops.
func (m *Manager) failWaiters(err error) {
	for _, s := range m.sockets() {
		s.failConnect(err)
	}
}

// setConn publishes an open connection, reports it (OnOpen, then
// OnReconnect when it took attempts), and connects the active sockets.
func (m *Manager) setConn(mc *mconn, attempts int) {
	m.mu.Lock()
	m.conn = mc
	m.mu.Unlock()
	emit(&m.disp, &m.onOpen, func(f func()) { f() })
	if attempts > 0 {
		emit(&m.disp, &m.onReconnect, func(f func(int)) { f(attempts) })
	}
	for _, s := range m.sockets() {
		s.onOpen(mc)
	}
}

// waitConn waits for mc to end, closing it when the Manager is closed or
// idle, then disconnects the sockets connected over it.
func (m *Manager) waitConn(mc *mconn) {
	done := false
	for !done {
		select {
		case <-mc.closed:
			done = true
		case <-m.ctx.Done():
			mc.close()
			done = true
		case <-m.poke:
			m.mu.Lock()
			idle := true
			for _, s := range m.nsps {
				if s.isActive() {
					idle = false
					break
				}
			}
			m.mu.Unlock()
			if idle {
				mc.close()
				done = true
			}
		}
	}
	<-mc.eio.Done()
	m.mu.Lock()
	if m.conn == mc {
		m.conn = nil
	}
	// Like engine.io-client's priorWebsocketSuccess: WebSocket worked,
	// unless it failed with an error.
	m.priorWS = mc.eio.Transport() == TransportWebSocket && mc.reason != ReasonTransportError
	m.mu.Unlock()
	reason, err := mc.reason, mc.err
	emit(&m.disp, &m.onClose, func(f func(DisconnectReason, error)) { f(reason, err) })
	for _, s := range m.sockets() {
		s.onClose(mc, reason)
	}
}

// engine is what the Manager needs of an Engine.IO connection
// (*eioclient.Conn; a fake in tests).
type engine interface {
	Send(pkts ...packet.Packet) error
	Close()
	Done() <-chan struct{}
	Transport() string
	Writable() bool
}

// mconn is one Engine.IO connection as the Manager sees it.
type mconn struct {
	m      *Manager
	dec    parser.PacketDecoder // owned by the read path
	ctx    context.Context      // ends with the connection
	cancel context.CancelFunc
	closed chan struct{} // closed once reason is set

	mu   sync.Mutex
	eio  engine
	once sync.Once
	// reason and err are set once, before closed is closed.
	reason DisconnectReason
	err    error
}

func newMconn(m *Manager) *mconn {
	mc := &mconn{m: m, closed: make(chan struct{})}
	mc.dec = m.opts.Parser.NewDecoder(parser.Limits{MaxAttachments: m.opts.MaxAttachments, MaxAttachmentBytes: m.opts.MaxMessageSize})
	mc.ctx, mc.cancel = context.WithCancel(m.ctx)
	return mc
}

// setEngine attaches the Engine.IO connection once Dial returned; if the
// connection already failed (in a handler called during Dial), it is
// closed.
func (mc *mconn) setEngine(e engine) {
	mc.mu.Lock()
	mc.eio = e
	mc.mu.Unlock()
	select {
	case <-mc.closed:
		e.Close()
	default:
	}
}

// end records why the connection ended, once.
func (mc *mconn) end(reason DisconnectReason, err error) bool {
	first := false
	mc.once.Do(func() {
		first = true
		mc.reason, mc.err = reason, err
		mc.cancel()
		close(mc.closed)
	})
	return first
}

// fail ends the connection from the client side after a failure.
func (mc *mconn) fail(reason DisconnectReason, err error) {
	if mc.end(reason, err) {
		mc.m.opts.Logger.Debug("socketio/client: closing the connection", "reason", string(reason), "err", err)
		mc.mu.Lock()
		e := mc.eio
		mc.mu.Unlock()
		if e != nil {
			e.Close()
		}
	}
}

// close ends the connection on purpose (Manager closed or idle).
func (mc *mconn) close() { mc.fail(ReasonIOClientDisconnect, nil) }

func (mc *mconn) onEngineClose(reason eioclient.Reason, err error) {
	mc.end(DisconnectReason(reason), err)
}

func (mc *mconn) onPing() {
	emit(&mc.m.disp, &mc.m.onPing, func(f func()) { f() })
}

func (mc *mconn) onUpgrade(transport string) {
	emit(&mc.m.disp, &mc.m.onUpgrade, func(f func(string)) { f(transport) })
}

// onMessage decodes a message of the Engine.IO connection and routes the
// packet to its socket. It runs on the connection's read path.
func (mc *mconn) onMessage(p packet.Packet) {
	pk, err := mc.dec.Decode(p.Data, p.Binary)
	if err != nil {
		mc.fail(ReasonParseError, err)
		return
	}
	if pk == nil {
		return
	}
	mc.m.mu.Lock()
	s := mc.m.nsps[pk.Namespace]
	mc.m.mu.Unlock()
	if s != nil {
		s.onPacket(mc, pk)
	}
}

// write sends p, encoded by the parser: with the default one, its text,
// then each attachment as a binary message.
func (mc *mconn) write(p *parser.Packet) error { return mc.writeFlags(p, false) }

// writeFlags is write, with the messages marked uncompressed when
// noCompress is set (Compress(false)).
func (mc *mconn) writeFlags(p *parser.Packet, noCompress bool) error {
	var msgs []packet.Packet
	if _, isJSON := mc.m.opts.Parser.(parser.JSON); isJSON {
		msgs = make([]packet.Packet, 1, 1+len(p.Attachments))
		msgs[0] = packet.Packet{Type: packet.Message, Data: p.AppendText(nil), NoCompress: noCompress}
		for _, b := range p.Attachments {
			msgs = append(msgs, packet.Packet{Type: packet.Message, Binary: true, Data: b, NoCompress: noCompress})
		}
	} else {
		enc, err := mc.m.opts.Parser.Encode(make([]parser.Message, 0, 1+len(p.Attachments)), p)
		if err != nil {
			return fmt.Errorf("socketio/client: encoding a %v packet: %w", p.Type, err)
		}
		msgs = make([]packet.Packet, len(enc))
		for i, m := range enc {
			msgs[i] = packet.Packet{Type: packet.Message, Binary: m.Binary, Data: m.Data, NoCompress: noCompress}
		}
	}
	mc.mu.Lock()
	e := mc.eio
	mc.mu.Unlock()
	if e == nil {
		return eioclient.ErrClosed
	}
	return e.Send(msgs...)
}

// writable reports whether a volatile packet would be written at once.
func (mc *mconn) writable() bool {
	mc.mu.Lock()
	e := mc.eio
	mc.mu.Unlock()
	return e != nil && e.Writable()
}

// noRecovery reports whether none of the Manager's sockets can recover its
// session (connection state recovery): a lost long-polling answer is then
// better asked again than made into a reconnection, which would lose more.
func (m *Manager) noRecovery() bool {
	m.mu.Lock()
	socks := make([]*Socket, 0, len(m.nsps))
	for _, s := range m.nsps {
		socks = append(socks, s)
	}
	m.mu.Unlock()
	for _, s := range socks {
		s.mu.Lock()
		pid := s.pid
		s.mu.Unlock()
		if pid != "" {
			return false
		}
	}
	return true
}
