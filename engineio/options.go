package engineio

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/socketio-go/socketio/internal/websocket"
)

// Transport names, as used in the "transport" query parameter.
const (
	TransportPolling   = "polling"
	TransportWebSocket = "websocket"
	// TransportWebTransport is served by a message-oriented transport
	// outside this package (see [Server.ServeMessageTransport]); it is off
	// unless listed in Options.Transports.
	TransportWebTransport = "webtransport"
)

// Default option values, the same as the official engine.io 6 server.
const (
	DefaultPingInterval      = 25 * time.Second
	DefaultPingTimeout       = 20 * time.Second
	DefaultUpgradeTimeout    = 10 * time.Second
	DefaultMaxHTTPBufferSize = 1_000_000
	DefaultWriteQueueSize    = 4096
)

// Options configures a [Server]. The zero value of every field selects the
// default of the official engine.io server; a nil *Options selects every
// default. NewServer copies the options: later changes have no effect.
type Options struct {
	// PingInterval is the time between two pings the server sends.
	// Zero means 25s.
	PingInterval time.Duration
	// PingTimeout is how long the server waits for the pong answering a
	// ping before it closes the session with "ping timeout". Zero means 20s.
	PingTimeout time.Duration
	// UpgradeTimeout is how long a transport upgrade may take before the
	// new WebSocket is dropped. Zero means 10s.
	UpgradeTimeout time.Duration
	// MaxHTTPBufferSize is the largest message (WebSocket) or request body
	// (long-polling POST) a client may send, in bytes. It is also advertised
	// as maxPayload in the handshake. Zero means 1e6.
	MaxHTTPBufferSize int64
	// Transports lists the transports clients may use. Nil means
	// polling and websocket. "webtransport" enables WebTransport, served
	// by a separate module (transport/webtransport) through
	// [Server.ServeMessageTransport]; long-polling sessions then advertise
	// it as an upgrade.
	Transports []string
	// DisableUpgrades forbids upgrades from long-polling to WebSocket.
	// False (the default) allows them, as the official server does.
	DisableUpgrades bool
	// AllowRequest, if set, is called for every handshake request. A
	// non-nil error refuses the handshake with HTTP 403 and
	// {"code":4,"message":<err.Error()>}.
	AllowRequest func(r *http.Request) error
	// Cookie, if set, is a template for a cookie set on the handshake
	// response whose value is the session id. Name defaults to "io" and
	// Path to "/" when empty; other fields are used as given (the official
	// server also sets HttpOnly and SameSite=Lax by default; set them here).
	Cookie *http.Cookie
	// CORS configures cross-origin requests. Nil means that requests whose
	// Origin header names another host than the one they were sent to are
	// refused (HTTP 403), on long-polling and on the WebSocket upgrade
	// alike; requests without an Origin header (non-browser clients) are
	// always allowed. See [CORSOptions].
	CORS *CORSOptions
	// WriteQueueSize is the maximum number of packets waiting to be written
	// to one session. When it is full, volatile packets are dropped and any
	// other packet closes the session with "transport error" and
	// [ErrSlowConsumer]. Zero means 4096.
	WriteQueueSize int
	// BlockingReads keeps a goroutine blocked in a read for every
	// WebSocket connection, idle or not. False (the default) lets idle
	// connections wait for data in an event poller (epoll, on Linux)
	// without a goroutine, which saves several KiB per idle connection.
	BlockingReads bool
	// MaxSessions caps the number of open sessions. Zero means no cap. A
	// handshake over the cap is answered with HTTP 503.
	MaxSessions int
	// Forwarding, if set, lets the server run behind a load balancer
	// without sticky sessions: requests for sessions owned by another
	// server of the cluster are forwarded to it. Nil means off: every
	// request of a session must reach the server that opened it, as with
	// the official server. See [ForwardingOptions].
	Forwarding *ForwardingOptions
	// PerMessageDeflate, if set, enables the permessage-deflate WebSocket
	// extension (RFC 7692) for clients that offer it. Nil (the default)
	// means off, as with the official server (perMessageDeflate: false).
	// See [PerMessageDeflateOptions].
	PerMessageDeflate *PerMessageDeflateOptions
	// HTTPCompression configures the compression of long-polling
	// responses. Nil means on, with the official server's defaults: a
	// response of at least 1024 bytes is compressed with gzip or deflate
	// when the request's Accept-Encoding allows it. See
	// [HTTPCompressionOptions].
	HTTPCompression *HTTPCompressionOptions
	// AllowEIO3 accepts clients of Engine.IO protocol v3 (engine.io-client
	// 3.x, used by socket.io-client 2.x), as the official server's
	// allowEIO3 option does: a handshake whose EIO query parameter is not
	// "4" opens a v3 session, where the client sends the pings and the
	// payloads use the v3 encodings. False (the default) refuses them with
	// HTTP 400 and {"code":5,"message":"Unsupported protocol version"}.
	AllowEIO3 bool
	// Logger receives diagnostics. Nil means no logging.
	Logger *slog.Logger
}

// PerMessageDeflateOptions configures the permessage-deflate WebSocket
// extension. Messages of at least Threshold bytes are sent compressed
// unless the packet asked otherwise ([packet.Packet].NoCompress, set by
// Socket.IO's Compress(false)); compressed messages received are inflated
// up to MaxHTTPBufferSize, beyond which the connection is closed with
// status 1009.
//
// Unlike the official server, neither side keeps its compression context
// between messages unless asked: an idle connection then holds no
// compression memory, while context takeover costs about 0.8 MiB per
// connection (a compress/flate writer and a 32 KiB history).
type PerMessageDeflateOptions struct {
	// Threshold is the size in bytes below which messages are sent
	// uncompressed. Zero means 1024, the official default; a negative
	// value compresses every message.
	Threshold int
	// Level is the compress/flate level. Zero means
	// flate.DefaultCompression (zlib's default, as the official server).
	Level int
	// ServerContextTakeover lets the server keep its compression context
	// between messages (no server_no_context_takeover in the answer,
	// unless the client asks for it). False (the default) negotiates
	// server_no_context_takeover.
	ServerContextTakeover bool
	// ClientContextTakeover lets the client keep its compression context
	// (the server then keeps a 32 KiB history per connection). False (the
	// default) negotiates client_no_context_takeover.
	ClientContextTakeover bool
}

// HTTPCompressionOptions configures the compression of long-polling
// responses (the official httpCompression option). A response is compressed
// when it is at least Threshold bytes long, the request's Accept-Encoding
// accepts gzip or deflate (gzip is preferred), and at least one of its
// packets did not ask for no compression; it then carries a
// Content-Encoding header.
type HTTPCompressionOptions struct {
	// Disable turns compression off (the official httpCompression: false).
	Disable bool
	// Threshold is the size in bytes below which responses are sent
	// uncompressed. Zero means 1024.
	Threshold int
	// Level is the compress/flate level. Zero means
	// flate.DefaultCompression.
	Level int
}

// CORSOptions is the cross-origin policy of the server. It sets the CORS
// headers of long-polling responses and answers preflight requests, and the
// same policy decides whether a WebSocket upgrade from a browser page of
// another origin is accepted.
type CORSOptions struct {
	// Origins lists the allowed origins, e.g. "https://example.com". The
	// single entry "*" allows every origin.
	Origins []string
	// AllowOrigin, if set, decides for origins not found in Origins.
	AllowOrigin func(origin string) bool
	// Credentials sets Access-Control-Allow-Credentials: true. It cannot be
	// combined with the "*" origin (NewServer panics): a server never allows
	// credentials for an arbitrary origin.
	Credentials bool
	// Methods lists the methods allowed in a preflight answer. Nil means
	// GET, HEAD, PUT, PATCH, POST, DELETE.
	Methods []string
	// AllowedHeaders lists the request headers allowed in a preflight
	// answer. Nil means the headers the preflight request asked for.
	AllowedHeaders []string
	// ExposedHeaders lists the response headers exposed to the page.
	ExposedHeaders []string
	// MaxAge is how long a preflight answer may be cached. Zero means the
	// header is not sent.
	MaxAge time.Duration
}

// config is the validated copy of Options with defaults applied.
type config struct {
	pingInterval   time.Duration
	pingTimeout    time.Duration
	upgradeTimeout time.Duration
	maxBufferSize  int64
	polling        bool
	websocket      bool
	webtransport   bool
	allowUpgrades  bool
	allowRequest   func(*http.Request) error
	cookie         *http.Cookie
	cors           *corsPolicy
	writeQueueSize int
	maxSessions    int
	blockingReads  bool
	forwarding     *ForwardingOptions            // nil: off
	wsCompression  *websocket.CompressionOptions // nil: off
	httpCompress   httpCompression
	allowEIO3      bool
	logger         *slog.Logger
}

func newConfig(o *Options) *config {
	if o == nil {
		o = &Options{}
	}
	c := &config{
		pingInterval:   o.PingInterval,
		pingTimeout:    o.PingTimeout,
		upgradeTimeout: o.UpgradeTimeout,
		maxBufferSize:  o.MaxHTTPBufferSize,
		allowUpgrades:  !o.DisableUpgrades,
		allowRequest:   o.AllowRequest,
		writeQueueSize: o.WriteQueueSize,
		maxSessions:    o.MaxSessions,
		allowEIO3:      o.AllowEIO3,
		blockingReads:  o.BlockingReads,
		logger:         o.Logger,
	}
	if c.pingInterval == 0 {
		c.pingInterval = DefaultPingInterval
	}
	if c.pingTimeout == 0 {
		c.pingTimeout = DefaultPingTimeout
	}
	if c.upgradeTimeout == 0 {
		c.upgradeTimeout = DefaultUpgradeTimeout
	}
	if c.maxBufferSize == 0 {
		c.maxBufferSize = DefaultMaxHTTPBufferSize
	}
	if c.writeQueueSize == 0 {
		c.writeQueueSize = DefaultWriteQueueSize
	}
	if c.pingInterval < 0 || c.pingTimeout < 0 || c.upgradeTimeout < 0 || c.maxBufferSize < 0 || c.writeQueueSize < 0 || c.maxSessions < 0 {
		panic("engineio: negative value in Options")
	}
	transports := o.Transports
	if transports == nil {
		transports = []string{TransportPolling, TransportWebSocket}
	}
	for _, t := range transports {
		switch t {
		case TransportPolling:
			c.polling = true
		case TransportWebSocket:
			c.websocket = true
		case TransportWebTransport:
			c.webtransport = true
		default:
			panic(fmt.Sprintf("engineio: unknown transport %q in Options.Transports", t))
		}
	}
	if !c.polling && !c.websocket && !c.webtransport {
		panic("engineio: Options.Transports is empty")
	}
	if o.Cookie != nil {
		ck := *o.Cookie
		if ck.Name == "" {
			ck.Name = "io"
		}
		if ck.Path == "" {
			ck.Path = "/"
		}
		c.cookie = &ck
	}
	c.cors = newCORSPolicy(o.CORS)
	if d := o.PerMessageDeflate; d != nil {
		if !validLevel(d.Level) {
			panic(fmt.Sprintf("engineio: invalid PerMessageDeflate.Level %d", d.Level))
		}
		c.wsCompression = &websocket.CompressionOptions{
			Threshold:                 d.Threshold,
			Level:                     d.Level,
			CompressContextTakeover:   d.ServerContextTakeover,
			DecompressContextTakeover: d.ClientContextTakeover,
		}
	}
	c.httpCompress = newHTTPCompression(o.HTTPCompression)
	if f := o.Forwarding; f != nil {
		if !validNodeID(f.NodeID) {
			panic(fmt.Sprintf("engineio: ForwardingOptions.NodeID %q: want 1 to %d characters among A-Z, a-z, 0-9, '-' and '_'", f.NodeID, maxNodeIDLen))
		}
		if f.Resolver == nil {
			panic("engineio: ForwardingOptions.Resolver is nil")
		}
		fc := *f
		c.forwarding = &fc
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// upgrades returns the upgrades advertised to a session opened on transport.
func (c *config) upgrades(transport string) []string {
	if transport != TransportPolling || !c.allowUpgrades {
		return nil
	}
	switch {
	case c.websocket && c.webtransport:
		return []string{TransportWebSocket, TransportWebTransport}
	case c.websocket:
		return []string{TransportWebSocket}
	case c.webtransport:
		return []string{TransportWebTransport}
	}
	return nil
}

func (c *config) allowsTransport(t string) bool {
	return (t == TransportPolling && c.polling) || (t == TransportWebSocket && c.websocket)
}

var defaultCORSMethods = []string{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"}
