package socketio

import (
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/parser"
)

// Default option values, the same as the official socket.io 4.x server.
const (
	DefaultPath           = "/socket.io/"
	DefaultConnectTimeout = 45 * time.Second
	DefaultMaxAttachments = 10
	DefaultEventQueueSize = 1024
	// DefaultMaxAttachmentBytes bounds the binary attachments of one
	// incoming packet: ten attachments of the default maximum message size.
	DefaultMaxAttachmentBytes = 10 * 1_000_000
	DefaultAttachmentTimeout  = 30 * time.Second
	DefaultMaxNamespaces      = 100
	DefaultMaxPendingAcks     = 4096
)

// CORSOptions is the cross-origin policy of the server, as the official
// server's cors option: Origins (exact origins, or "*"), AllowOrigin (a
// func deciding for other origins), Credentials, Methods, AllowedHeaders,
// ExposedHeaders and MaxAge. It is an alias, so that the Engine.IO layer
// shares the type: its fields are documented at engineio.CORSOptions (go
// doc github.com/socketio-go/socketio/engineio.CORSOptions).
type CORSOptions = engineio.CORSOptions

// ForwardingOptions lets the servers of a cluster run behind a load
// balancer without sticky sessions; see engineio.ForwardingOptions.
type ForwardingOptions = engineio.ForwardingOptions

// PerMessageDeflateOptions configures the permessage-deflate WebSocket
// extension (the official perMessageDeflate option): Threshold (zero means
// 1024), Level, and whether the server and the client keep their
// compression context between messages (off by default, to keep idle
// connections small). It is an alias; see
// engineio.PerMessageDeflateOptions.
type PerMessageDeflateOptions = engineio.PerMessageDeflateOptions

// HTTPCompressionOptions configures the compression of long-polling
// responses (the official httpCompression option): Disable, Threshold
// (zero means 1024) and Level. It is an alias; see
// engineio.HTTPCompressionOptions.
type HTTPCompressionOptions = engineio.HTTPCompressionOptions

// NodeResolver finds the server that owns a connection from its node id;
// see engineio.NodeResolver.
type NodeResolver = engineio.NodeResolver

// StaticResolver is a NodeResolver for a fixed set of servers: node id to
// base URL; see engineio.StaticResolver.
type StaticResolver = engineio.StaticResolver

// Options configures a [Server]. The zero value of every field selects the
// default of the official socket.io 4.x server; a nil *Options selects every
// default. NewServer copies the options: later changes have no effect, and
// an invalid value makes NewServer panic.
type Options struct {
	// Path is where ListenAndServe mounts the server. Zero means
	// "/socket.io/". When you mount the Server on your own mux, use the
	// same path in the client.
	Path string
	// PingInterval is the time between two pings. Zero means 25s.
	PingInterval time.Duration
	// PingTimeout is how long the server waits for a pong before it
	// closes the connection with "ping timeout". Zero means 20s.
	PingTimeout time.Duration
	// UpgradeTimeout bounds an upgrade from long-polling to WebSocket.
	// Zero means 10s.
	UpgradeTimeout time.Duration
	// MaxHTTPBufferSize is the largest message (WebSocket) or request body
	// (long-polling) a client may send, in bytes. Zero means 1e6. A larger
	// WebSocket message closes the connection (close code 1009); a larger
	// POST is answered 413; both close the connection with
	// "transport error".
	MaxHTTPBufferSize int64
	// Transports lists the allowed transports, "polling", "websocket"
	// and/or "webtransport". Nil means polling and websocket.
	// "webtransport" also needs the transport/webtransport module's
	// server, on UDP next to the HTTP server.
	Transports []string
	// DisableUpgrades forbids upgrading from long-polling to WebSocket.
	DisableUpgrades bool
	// AllowRequest, if set, accepts or refuses each handshake request: a
	// non-nil error refuses it with HTTP 403 and the error's text.
	AllowRequest func(r *http.Request) error
	// Cookie, if set, is the template of a cookie holding the Engine.IO
	// session id, set on the handshake response. See engineio.Options.
	Cookie *http.Cookie
	// CORS is the cross-origin policy. Nil means that browser pages of
	// other origins cannot connect (neither by long-polling nor by
	// WebSocket); clients that send no Origin header always can.
	CORS *CORSOptions
	// PerMessageDeflate, if set, compresses WebSocket messages of at
	// least its threshold for clients that offer permessage-deflate (as
	// browsers and socket.io-client do). Nil means off, as in the official
	// server. Emits with Compress(false) are sent uncompressed.
	PerMessageDeflate *PerMessageDeflateOptions
	// HTTPCompression configures the gzip/deflate compression of
	// long-polling responses of at least 1024 bytes. Nil means on, as in
	// the official server; a response is compressed unless every packet
	// in it was emitted with Compress(false).
	HTTPCompression *HTTPCompressionOptions
	// ConnectTimeout closes a connection that has not joined any namespace
	// within this delay. Zero means 45s.
	ConnectTimeout time.Duration
	// MaxAttachments is the maximum number of binary attachments of one
	// incoming packet. Zero means 10. A packet with more closes the
	// connection.
	MaxAttachments int
	// MaxAttachmentBytes is the maximum total size of the binary
	// attachments of one incoming packet. Zero means 10e6. More closes the
	// connection.
	MaxAttachmentBytes int64
	// AttachmentTimeout is how long the server waits for the announced
	// binary attachments of a packet before it closes the connection. Zero
	// means 30s.
	AttachmentTimeout time.Duration
	// MaxNamespaces is the maximum number of namespaces one connection may
	// join. Zero means 100. A CONNECT over the limit is refused with a
	// connect_error "Too many namespaces".
	MaxNamespaces int
	// MaxPendingAcks is the maximum number of acknowledgements one socket
	// may be waiting for (EmitWithAck). Zero means 4096. Over it,
	// EmitWithAck fails with ErrTooManyPendingAcks.
	MaxPendingAcks int
	// MaxConnections caps the number of open connections (Engine.IO
	// sessions). Zero means no cap. A handshake over the cap is answered
	// with HTTP 503.
	MaxConnections int
	// WriteQueueSize is the maximum number of packets waiting to be sent to
	// one connection. When it is full, volatile packets are dropped and any
	// other packet closes the connection with "transport error" (a slow
	// consumer). Zero means 4096.
	WriteQueueSize int
	// EventQueueSize is the maximum number of received events waiting for
	// their handlers on one socket. A client that sends more events than
	// its handlers can process is disconnected with "transport error".
	// Zero means 1024.
	EventQueueSize int
	// RetryDedup, if set, deduplicates events that clients with retries
	// send again, so that a handler runs once per event. Nil means off.
	// See RetryDedupOptions.
	RetryDedup *RetryDedupOptions
	// ConnectionStateRecovery, if set, turns on connection state
	// recovery: a client that lost its connection gets its socket back,
	// with every event it missed. Nil means off, as in the official
	// server. See ConnectionStateRecovery.
	ConnectionStateRecovery *ConnectionStateRecovery
	// Forwarding, if set, lets the servers of a cluster run behind a load
	// balancer without sticky sessions: a long-polling request (or a
	// WebSocket upgrade) of a connection opened on another server is
	// forwarded to that server. Nil means off: every request of a
	// connection must reach the server that opened it (sticky sessions),
	// as with the official server. The adapter (Redis...) is still what
	// carries broadcasts between the servers. See ForwardingOptions.
	Forwarding *ForwardingOptions
	// Parser is the Socket.IO codec spoken with every client, such as
	// msgpackparser.Parser{} (socket.io-msgpack-parser). Nil means
	// parser.JSON{}, the default codec of the official packages. Clients
	// must use the same one.
	Parser parser.Parser
	// CleanupEmptyChildNamespaces removes a child namespace of OfFunc or
	// OfRegexp once its last socket has left (its adapter is closed); a
	// later connection creates it anew. False keeps child namespaces
	// forever, as the official server does by default.
	CleanupEmptyChildNamespaces bool
	// Adapter creates the adapter of each namespace. Nil means the
	// in-memory, single-server adapter (adapter.SessionAware when
	// ConnectionStateRecovery is set).
	Adapter adapter.Factory
	// ServeClient, if set, serves the official browser client under Path
	// (/socket.io/socket.io.min.js and the other files ClientHandler
	// serves; any request path that ends with Path and the file name, so
	// that a mount below a prefix works) from this file system, typically the dist directory of an
	// npm-installed socket.io-client: os.DirFS("node_modules/socket.io-client/dist").
	// Nil means off. (The Node server serves its own copy by default; this
	// module ships none.) The CORS policy applies to these files too.
	ServeClient fs.FS
	// AllowEIO3 accepts Socket.IO v2 clients (socket.io-client 2.x:
	// Engine.IO protocol v3, Socket.IO protocol v4), as the official
	// server's allowEIO3 option does. False (the default) refuses them,
	// with HTTP 400 and {"code":5,"message":"Unsupported protocol
	// version"}. Such a client is connected to the main namespace at once;
	// the query string it appends to another namespace is its auth
	// (Handshake().Auth); its socket ids are the session id, prefixed with
	// the namespace and "#" outside the main namespace; a middleware error
	// reaches it as the ConnectError's Data, or else as its message.
	// Connection state recovery does not apply to them.
	AllowEIO3 bool
	// Logger receives diagnostics. Nil means slog.Default(), as net/http
	// logs to the standard logger; to log nothing, use
	// slog.New(slog.DiscardHandler). Panics in middlewares and handlers
	// are logged at Error with their stack; refused requests (see
	// Server.OnConnectionError) and socket errors that no OnError handler
	// takes (arguments that do not fit a typed handler, an event refused
	// by a socket middleware) at Warn, at most one record of each kind
	// every 10 s, the others at Debug, so that a server under attack does
	// not flood its log.
	Logger *slog.Logger
}

func (o *Options) engineOptions() *engineio.Options {
	return &engineio.Options{
		PingInterval:      o.PingInterval,
		PingTimeout:       o.PingTimeout,
		UpgradeTimeout:    o.UpgradeTimeout,
		MaxHTTPBufferSize: o.MaxHTTPBufferSize,
		Transports:        o.Transports,
		DisableUpgrades:   o.DisableUpgrades,
		AllowRequest:      o.AllowRequest,
		Cookie:            o.Cookie,
		CORS:              o.CORS,
		WriteQueueSize:    o.WriteQueueSize,
		MaxSessions:       o.MaxConnections,
		Forwarding:        o.Forwarding,
		PerMessageDeflate: o.PerMessageDeflate,
		HTTPCompression:   o.HTTPCompression,
		AllowEIO3:         o.AllowEIO3,
		Logger:            o.Logger,
	}
}
