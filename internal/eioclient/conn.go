package eioclient

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/socketio-go/socketio/engineio/packet"
	"github.com/socketio-go/socketio/internal/tasks"
)

// Transport names, as they appear in the "transport" query parameter.
const (
	Polling   = "polling"
	WebSocket = "websocket"
)

// DefaultMaxMessageSize is the largest message (WebSocket) or long-polling
// response accepted when Config.MaxMessageSize is zero: 100 MiB, the
// default limit of the Node "ws" package the official Node client uses.
const DefaultMaxMessageSize = 100 << 20

// closeTimeout bounds the flush of queued packets and the close handshake
// of Conn.Close.
const closeTimeout = time.Second

// Reason says why a Conn closed. The values are the strings of
// engine.io-client.
type Reason string

// The reasons a Conn closes.
const (
	// ReasonTransportClose: the server closed the connection (a CLOSE
	// packet, a WebSocket close, a connection reset).
	ReasonTransportClose Reason = "transport close"
	// ReasonTransportError: a request failed, the server answered with an
	// error status or sent something that is not an Engine.IO packet, or a
	// message exceeded the size limit.
	ReasonTransportError Reason = "transport error"
	// ReasonPingTimeout: the server sent no ping for pingInterval +
	// pingTimeout.
	ReasonPingTimeout Reason = "ping timeout"
)

// Errors reported to Handler.OnClose (wrapped).
var (
	// ErrClosed is returned by Send on a closed or closing Conn.
	ErrClosed = errors.New("socketio/client: connection closed")
	// ErrPingTimeout reports a server that stopped sending pings.
	ErrPingTimeout = errors.New("socketio/client: ping timeout")
	// ErrMessageTooBig reports a message or long-polling response larger
	// than Config.MaxMessageSize.
	ErrMessageTooBig = errors.New("socketio/client: message too big")
	// ErrServerClosed reports a CLOSE packet from the server.
	ErrServerClosed = errors.New("socketio/client: transport closed by the server")
)

// Config configures Dial. Dial does not modify it.
type Config struct {
	// URL is the endpoint: scheme http, https, ws or wss, host, path
	// (such as "/socket.io/") and any query parameters of the user. EIO,
	// transport, sid and t are added.
	URL *url.URL
	// Header holds extra request headers for every request and the
	// WebSocket handshake.
	Header http.Header
	// Transports lists the allowed transports in order of preference;
	// the first opens the session. Nil means polling then websocket.
	Transports []string
	// Upgrade allows the upgrade from long-polling to WebSocket when
	// the server offers it and "websocket" is in Transports.
	Upgrade bool
	// PreferWebSocket opens the session with WebSocket when it is one of
	// Transports (socket.io-client's rememberUpgrade after a successful
	// upgrade).
	PreferWebSocket bool
	// HTTPClient sends the long-polling requests. Nil means a client of
	// the Conn's own, using Dialer and TLSConfig, whose idle connections
	// are closed with the Conn. The cookies of its Jar are also sent with
	// the WebSocket handshake.
	HTTPClient *http.Client
	// TLSConfig is used for https and wss URLs (for long-polling only
	// when HTTPClient is nil).
	TLSConfig *tls.Config
	// RetryGet, if set, is asked before a long-polling GET whose
	// connection closed without an answer is sent again; false fails the
	// connection instead. Such a GET may have been answered by the server
	// and the answer lost (a connection cut in flight): resending it would
	// skip what that answer carried, while a new connection lets
	// connection state recovery bring it back. Nil means always resend.
	RetryGet func() bool
	// Dialer opens network connections (for long-polling only when
	// HTTPClient is nil). Nil means a net.Dialer.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
	// MaxMessageSize limits a received WebSocket message and a
	// long-polling response body. Zero means DefaultMaxMessageSize.
	MaxMessageSize int64
	// Compression, if set, offers permessage-deflate on WebSockets. Nil
	// means no offer.
	Compression *Compression
	// Logger receives diagnostics. Nil means none.
	Logger *slog.Logger
}

// Compression configures the permessage-deflate WebSocket extension the
// client offers; see websocket.CompressionOptions.
type Compression struct {
	// Threshold is the size below which messages are sent uncompressed;
	// zero means 1024, negative compresses every message.
	Threshold int
	// Level is the compress/flate level; zero means the default.
	Level int
}

// Handler receives the events of a Conn. Its functions are called one at
// a time, in order, from the Conn's goroutines; they must not block for
// long (queue work elsewhere) and may call any method of the Conn. Nil
// functions are skipped.
type Handler struct {
	// OnMessage receives each message packet: text (Data without the
	// type digit) or binary (Binary set).
	OnMessage func(p packet.Packet)
	// OnPing is called for each ping of the server, after the pong was
	// queued.
	OnPing func()
	// OnUpgrade is called when the session moved to another transport.
	OnUpgrade func(transport string)
	// OnClose is called once when the Conn closes by itself (not after
	// Close), after the last OnMessage.
	OnClose func(reason Reason, err error)
}

// Handshake is the content of the server's OPEN packet.
type Handshake struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"` // milliseconds
	PingTimeout  int64    `json:"pingTimeout"`  // milliseconds
	MaxPayload   int64    `json:"maxPayload"`   // bytes; 0 when absent
}

func parseHandshake(p packet.Packet) (Handshake, error) {
	var hs Handshake
	if p.Type != packet.Open || p.Binary {
		return hs, fmt.Errorf("socketio/client: handshake: expected an OPEN packet, got %v", p.Type)
	}
	if err := json.Unmarshal(p.Data, &hs); err != nil {
		return hs, fmt.Errorf("socketio/client: handshake: %w", err)
	}
	if hs.SID == "" || hs.PingInterval <= 0 || hs.PingTimeout <= 0 || hs.MaxPayload < 0 {
		return hs, fmt.Errorf("socketio/client: handshake: invalid OPEN packet %q", p.Data)
	}
	return hs, nil
}

// transport is one way of exchanging packets with the server.
type transport interface {
	name() string
	// send writes pkts: over long-polling, it returns once the server
	// accepted the POST; over WebSocket, once the frames were written.
	send(ctx context.Context, pkts []packet.Packet) error
	// close ends the transport; graceful first tells the server.
	close(graceful bool)
}

const (
	stateOpen = iota
	stateClosing
	stateClosed
)

// Conn is an open Engine.IO session. Its methods are safe for concurrent
// use.
type Conn struct {
	cfg     Config
	h       Handler
	hs      Handshake
	logger  *slog.Logger
	maxMsg  int64
	httpc   *http.Client
	ownHTTP *http.Transport // closed with the Conn; nil when the user's client is used

	ctx    context.Context // ends when the Conn is closed
	cancel context.CancelFunc
	tasks  tasks.Group
	done   chan struct{}
	once   sync.Once

	mu        sync.Mutex
	state     int
	tr        transport
	buf       []packet.Packet
	upgrading bool
	writing   bool
	flushed   chan struct{} // closed by the writer when buf drains; nil when nobody waits
	wake      chan struct{}
	pingTimer *time.Timer

	// writeMu is held by the writer for each write and by an upgrade
	// while it swaps the transport, so that no write straddles the swap.
	writeMu sync.Mutex

	// recvMu serialises the Handler calls.
	recvMu  sync.Mutex
	stopped bool // no Handler call after this; guarded by recvMu
}

// Dial opens an Engine.IO session with the first transport of
// cfg.Transports (or WebSocket with cfg.PreferWebSocket), performing the
// handshake within ctx, and returns it open. ctx does not bound the
// returned Conn. When the session opened with long-polling and the server
// offers WebSocket, the upgrade runs in the background.
func Dial(ctx context.Context, cfg Config, h Handler) (*Conn, error) {
	if cfg.URL == nil {
		return nil, errors.New("socketio/client: no URL")
	}
	transports := cfg.Transports
	if transports == nil {
		transports = []string{Polling, WebSocket}
	}
	if len(transports) == 0 {
		return nil, errors.New("socketio/client: no transports available")
	}
	for _, t := range transports {
		if t != Polling && t != WebSocket {
			return nil, fmt.Errorf("socketio/client: unknown transport %q", t)
		}
	}
	cfg.Transports = transports
	c := &Conn{
		cfg:    cfg,
		h:      h,
		logger: cfg.Logger,
		maxMsg: cfg.MaxMessageSize,
		httpc:  cfg.HTTPClient,
		done:   make(chan struct{}),
		wake:   make(chan struct{}, 1),
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.maxMsg <= 0 {
		c.maxMsg = DefaultMaxMessageSize
	}
	if c.httpc == nil {
		c.ownHTTP = &http.Transport{
			DialContext:         cfg.Dialer,
			TLSClientConfig:     cfg.TLSConfig,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
		}
		c.httpc = &http.Client{Transport: c.ownHTTP}
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())

	first := transports[0]
	if cfg.PreferWebSocket && slices.Contains(transports, WebSocket) {
		first = WebSocket
	}
	var (
		tr    transport
		extra []packet.Packet
		err   error
	)
	if first == Polling {
		tr, extra, err = c.openPolling(ctx)
	} else {
		tr, err = c.openWebSocket(ctx)
	}
	if err != nil {
		c.cancel()
		if c.ownHTTP != nil {
			c.ownHTTP.CloseIdleConnections()
		}
		close(c.done)
		return nil, err
	}
	c.tr = tr
	c.resetPing()
	c.tasks.Go(c.writeLoop)
	switch t := tr.(type) {
	case *polling:
		c.tasks.Go(func() { t.loop(extra) })
		if cfg.Upgrade && slices.Contains(c.hs.Upgrades, WebSocket) && slices.Contains(transports, WebSocket) {
			c.tasks.Go(c.probe)
		}
	case *wsTransport:
		c.tasks.Go(t.loop)
	}
	return c, nil
}

// ID returns the session id.
func (c *Conn) ID() string { return c.hs.SID }

// Handshake returns the server's handshake.
func (c *Conn) Handshake() Handshake { return c.hs }

// Transport returns the name of the current transport.
func (c *Conn) Transport() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tr.name()
}

// Writable reports whether a packet sent now would be written at once:
// the Conn is open, no upgrade is swapping the transport and, over
// long-polling, no POST is in flight. Volatile packets are dropped when it
// is false.
func (c *Conn) Writable() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateOpen || c.upgrading {
		return false
	}
	_, ws := c.tr.(*wsTransport)
	return ws || (!c.writing && len(c.buf) == 0)
}

// Done returns a channel closed when the Conn is closed and all its
// goroutines have returned.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Send queues pkts, in order and without interleaving with other Send
// calls, for the writer. It never blocks. It fails with ErrClosed once the
// Conn is closing.
func (c *Conn) Send(pkts ...packet.Packet) error {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return ErrClosed
	}
	c.buf = append(c.buf, pkts...)
	c.mu.Unlock()
	c.kick()
	return nil
}

func (c *Conn) kick() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Close closes the Conn: it writes the queued packets (waiting at most
// about one second), tells the server (a CLOSE packet over long-polling, a
// close frame over WebSocket) and stops. It does not wait: use Done. The
// Handler's OnClose is not called unless the Conn had already failed.
// Close is idempotent.
func (c *Conn) Close() {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	c.state = stateClosing
	var flushed chan struct{}
	if len(c.buf) > 0 || c.writing {
		c.flushed = make(chan struct{})
		flushed = c.flushed
	}
	c.mu.Unlock()
	c.tasks.Go(func() {
		if flushed != nil {
			t := time.NewTimer(closeTimeout)
			select {
			case <-flushed:
			case <-t.C:
			case <-c.ctx.Done():
			}
			t.Stop()
		}
		c.mu.Lock()
		tr := c.tr
		c.mu.Unlock()
		if c.ctx.Err() == nil {
			tr.close(true)
		}
		c.finish("", nil, false)
	})
}

// fail closes the Conn after a failure and reports it to OnClose.
func (c *Conn) fail(reason Reason, err error) { c.finish(reason, err, true) }

// finish closes the Conn once: it stops the goroutines and the transport,
// and calls OnClose (when notify is set) after the last Handler call.
func (c *Conn) finish(reason Reason, err error, notify bool) {
	c.once.Do(func() {
		c.mu.Lock()
		if c.state == stateClosing {
			notify = false // Close was called: its caller knows
		}
		c.state = stateClosed
		tr := c.tr
		if c.pingTimer != nil {
			c.pingTimer.Stop()
		}
		if c.flushed != nil {
			close(c.flushed)
			c.flushed = nil
		}
		c.mu.Unlock()
		c.cancel()
		tr.close(false)
		if notify {
			c.logger.Debug("socketio/client: connection closed", "sid", c.hs.SID, "reason", string(reason), "err", err)
		}
		c.tasks.Go(func() {
			c.recvMu.Lock()
			c.stopped = true
			c.recvMu.Unlock()
			if notify && c.h.OnClose != nil {
				c.h.OnClose(reason, err)
			}
		})
		go func() {
			_ = c.tasks.Wait(context.Background())
			if c.ownHTTP != nil {
				c.ownHTTP.CloseIdleConnections()
			}
			close(c.done)
		}()
	})
}

// resetPing (re)starts the heartbeat deadline: pingInterval + pingTimeout
// from now.
func (c *Conn) resetPing() {
	d := time.Duration(c.hs.PingInterval+c.hs.PingTimeout) * time.Millisecond
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateClosed {
		return
	}
	if c.pingTimer == nil {
		c.pingTimer = time.AfterFunc(d, func() {
			c.fail(ReasonPingTimeout, fmt.Errorf("%w: no ping within %v", ErrPingTimeout, d))
		})
		return
	}
	c.pingTimer.Reset(d)
}

// deliver handles one received packet. It reports false when the Conn is
// closed and the reader must stop.
func (c *Conn) deliver(p packet.Packet) bool {
	c.recvMu.Lock()
	defer c.recvMu.Unlock()
	if c.stopped || c.ctx.Err() != nil {
		return false
	}
	switch p.Type {
	case packet.Message:
		if c.h.OnMessage != nil {
			c.h.OnMessage(p)
		}
	case packet.Ping:
		_ = c.Send(packet.Packet{Type: packet.Pong, Data: p.Data})
		c.resetPing()
		if c.h.OnPing != nil {
			c.h.OnPing()
		}
	case packet.Close:
		c.fail(ReasonTransportClose, ErrServerClosed)
		return false
	}
	// Pong, noop, upgrade and a late open are ignored, as by
	// engine.io-client.
	return c.ctx.Err() == nil
}

// writeLoop writes the queued packets whenever there are some, one batch
// at a time.
func (c *Conn) writeLoop() {
	for {
		select {
		case <-c.wake:
		case <-c.ctx.Done():
			return
		}
		for c.writeBatch() {
		}
	}
}

// writeBatch writes the next batch. It reports whether there may be more.
func (c *Conn) writeBatch() bool {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.mu.Lock()
	if c.upgrading || len(c.buf) == 0 || c.state == stateClosed {
		c.writing = false
		if len(c.buf) == 0 && c.flushed != nil {
			close(c.flushed)
			c.flushed = nil
		}
		c.mu.Unlock()
		return false
	}
	tr := c.tr
	pkts := c.takeWritable()
	c.writing = true
	c.mu.Unlock()
	if err := tr.send(c.ctx, pkts); err != nil {
		reason := ReasonTransportError
		if tr.name() == WebSocket {
			reason = ReasonTransportClose
		}
		c.fail(reason, err)
		return false
	}
	return true
}

// takeWritable removes from the queue and returns the packets of the next
// write. Over long-polling, a batch stays within the server's maxPayload
// (a single larger packet is sent alone), as engine.io-client does.
func (c *Conn) takeWritable() []packet.Packet {
	n := len(c.buf)
	if _, ok := c.tr.(*polling); ok && c.hs.MaxPayload > 0 && n > 1 {
		size := 0
		for i := range c.buf {
			size += packet.PayloadLen(c.buf[i : i+1])
			if i > 0 {
				size++ // separator
				if int64(size) > c.hs.MaxPayload {
					n = i
					break
				}
			}
		}
	}
	pkts := slices.Clone(c.buf[:n])
	c.buf = slices.Delete(c.buf, 0, n)
	if len(c.buf) == 0 {
		c.buf = nil
	}
	return pkts
}
