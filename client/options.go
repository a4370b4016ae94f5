package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/socketio-go/socketio/internal/eioclient"
	"github.com/socketio-go/socketio/parser"
)

// Default option values, those of socket.io-client 4.x.
const (
	DefaultPath                 = "/socket.io/"
	DefaultReconnectionDelay    = time.Second
	DefaultReconnectionDelayMax = 5 * time.Second
	DefaultRandomizationFactor  = 0.5
	DefaultTimeout              = 20 * time.Second
	DefaultMaxMessageSize       = 100 << 20 // the default limit of the Node "ws" package
	DefaultMaxAttachments       = 10
	DefaultEventQueueSize       = 4096
)

// Transport names for Options.Transports.
const (
	TransportPolling   = "polling"
	TransportWebSocket = "websocket"
)

// PerMessageDeflateOptions configures the permessage-deflate WebSocket
// extension of a client (socket.io-client's perMessageDeflate option).
type PerMessageDeflateOptions struct {
	// Disable stops the client from offering the extension
	// (perMessageDeflate: false).
	Disable bool
	// Threshold is the size in bytes below which messages are sent
	// uncompressed. Zero means 1024; a negative value compresses every
	// message.
	Threshold int
	// Level is the compress/flate level (-2 to 9). Zero means
	// flate.DefaultCompression.
	Level int
}

// Options configures a [Manager]. The zero value of every field selects
// the default of socket.io-client 4.x; a nil *Options selects every
// default. NewManager copies the options: later changes have no effect.
type Options struct {
	// Path is the Engine.IO path on the server. Zero means "/socket.io/".
	// A trailing slash is added when missing.
	Path string
	// Transports lists the allowed transports, TransportPolling and/or
	// TransportWebSocket, in order: the first one opens the connection.
	// Nil means polling then websocket (upgrade).
	Transports []string
	// DisableUpgrade keeps a connection opened with long-polling on
	// long-polling (socket.io-client's upgrade: false).
	DisableUpgrade bool
	// RememberUpgrade opens the next connection of the Manager directly
	// with WebSocket when the previous one was upgraded to (or opened
	// with) WebSocket.
	RememberUpgrade bool
	// Query holds extra query parameters sent with every request.
	Query url.Values
	// ExtraHeaders holds extra request headers sent with every request
	// and the WebSocket handshake (as socket.io-client does in Node).
	ExtraHeaders http.Header
	// TLSConfig is the TLS configuration for https and wss URLs. Nil
	// means the default configuration. With HTTPClient set, it is used
	// for WebSocket only.
	TLSConfig *tls.Config
	// HTTPClient sends the long-polling requests. Nil means a client per
	// connection built from Dialer and TLSConfig (no proxy), whose idle
	// connections are closed with the connection; a client given here
	// stays the caller's. The cookies of its Jar are also sent with the
	// WebSocket handshake (sticky sessions behind a load balancer).
	HTTPClient *http.Client
	// Dialer opens the network connections (long-polling only when
	// HTTPClient is nil). Nil means a net.Dialer.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)

	// DisableReconnection turns automatic reconnection off.
	DisableReconnection bool
	// ReconnectionAttempts is the number of reconnection attempts before
	// giving up (OnReconnectFailed). Zero means no limit.
	ReconnectionAttempts int
	// ReconnectionDelay is the delay before the first reconnection
	// attempt; it doubles with each attempt. Zero means 1s.
	ReconnectionDelay time.Duration
	// ReconnectionDelayMax caps the reconnection delay. Zero means 5s.
	ReconnectionDelayMax time.Duration
	// RandomizationFactor is the jitter of the reconnection delay: each
	// delay is moved up or down by a random fraction of at most this
	// factor. Zero means 0.5; a negative value means no jitter. It must
	// not exceed 1.
	RandomizationFactor float64
	// Timeout bounds each connection attempt (the Engine.IO handshake).
	// Zero means 20s; a negative value means no timeout.
	Timeout time.Duration

	// MaxMessageSize is the largest message (WebSocket) or long-polling
	// response the client accepts; a larger one closes the connection
	// with "transport error". Zero means 100 MiB.
	MaxMessageSize int64
	// PerMessageDeflate configures the permessage-deflate WebSocket
	// extension, which the client offers to the server. Nil means offered,
	// with socket.io-client's default in Node (perMessageDeflate:
	// {threshold: 1024}): messages of at least 1024 bytes are compressed
	// if the server accepts. Neither side is asked to keep its
	// compression context between messages.
	PerMessageDeflate *PerMessageDeflateOptions
	// MaxAttachments is the largest number of binary attachments of one
	// received packet; more closes the connection with "parse error".
	// Zero means 10.
	MaxAttachments int
	// EventQueueSize is the largest number of received events waiting for
	// their handlers. A server sending faster than the handlers run
	// beyond this makes the client close the connection with "transport
	// error" (and reconnect). Zero means 4096.
	EventQueueSize int

	// Parser is the Socket.IO codec, which must be the server's, such as
	// msgpackparser.Parser{} for a server using socket.io-msgpack-parser.
	// Nil means parser.JSON{}, the default codec of the official packages.
	Parser parser.Parser

	// ForceNew makes Pool create a new Manager for each socket.
	ForceNew bool
	// DisableMultiplex makes Pool create a new Manager for each socket
	// (socket.io-client's multiplex: false).
	DisableMultiplex bool

	// Logger receives diagnostics (handler panics with their stack at
	// Error, dropped packets, failed upgrades). Nil means slog.Default();
	// to log nothing, use slog.New(slog.DiscardHandler).
	Logger *slog.Logger
}

// normalize returns a copy of o with every default filled in, or an error
// for an invalid value.
func (o *Options) normalize() (Options, error) {
	var n Options
	if o != nil {
		n = *o
		if o.Transports != nil {
			n.Transports = append(make([]string, 0, len(o.Transports)), o.Transports...)
		}
		n.Query = cloneValues(o.Query)
		n.ExtraHeaders = o.ExtraHeaders.Clone()
	}
	if n.Path == "" {
		n.Path = DefaultPath
	}
	if !strings.HasPrefix(n.Path, "/") {
		n.Path = "/" + n.Path
	}
	if !strings.HasSuffix(n.Path, "/") {
		n.Path += "/"
	}
	if n.Transports == nil {
		n.Transports = []string{TransportPolling, TransportWebSocket}
	}
	if len(n.Transports) == 0 {
		return n, fmt.Errorf("socketio/client: no transport in Options.Transports")
	}
	for _, t := range n.Transports {
		if t != TransportPolling && t != TransportWebSocket {
			return n, fmt.Errorf("socketio/client: unknown transport %q", t)
		}
	}
	if n.ReconnectionAttempts < 0 {
		return n, fmt.Errorf("socketio/client: negative ReconnectionAttempts")
	}
	if n.ReconnectionDelay <= 0 {
		n.ReconnectionDelay = DefaultReconnectionDelay
	}
	if n.ReconnectionDelayMax <= 0 {
		n.ReconnectionDelayMax = DefaultReconnectionDelayMax
	}
	switch {
	case n.RandomizationFactor == 0:
		n.RandomizationFactor = DefaultRandomizationFactor
	case n.RandomizationFactor < 0:
		n.RandomizationFactor = 0
	case n.RandomizationFactor > 1:
		return n, fmt.Errorf("socketio/client: RandomizationFactor %v above 1", n.RandomizationFactor)
	}
	if n.Timeout == 0 {
		n.Timeout = DefaultTimeout
	}
	if n.MaxMessageSize <= 0 {
		n.MaxMessageSize = DefaultMaxMessageSize
	}
	if n.Parser == nil {
		n.Parser = parser.JSON{}
	}
	if n.MaxAttachments <= 0 {
		n.MaxAttachments = DefaultMaxAttachments
	}
	if n.EventQueueSize <= 0 {
		n.EventQueueSize = DefaultEventQueueSize
	}
	if n.Logger == nil {
		n.Logger = slog.Default()
	}
	return n, nil
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// AuthFunc returns the CONNECT payload of a socket: it is called before
// each connection and reconnection of the socket, with a context that ends
// when the underlying connection closes. The value must encode to a JSON
// object (or be nil). An error refuses to connect: the socket stops and
// Connect returns it.
type AuthFunc func(ctx context.Context) (any, error)

// SocketOptions configures a [Socket]. A nil *SocketOptions selects every
// default.
type SocketOptions struct {
	// Auth is the CONNECT payload, sent on each (re)connection: any value
	// that encodes to a JSON object (a map, a struct...), the
	// handshake.auth of the server. Nil means none. Ignored when AuthFunc
	// is set.
	Auth any
	// AuthFunc, if set, computes the CONNECT payload before each
	// (re)connection, for tokens that expire.
	AuthFunc AuthFunc
	// AckTimeout is the default timeout of EmitWithAck (overridden by
	// Timeout). Zero means none: only the context bounds the wait.
	AckTimeout time.Duration
	// Retries, when positive, sends every non-volatile event through a
	// queue, one at a time, each expecting an acknowledgement, and sends
	// it again (up to Retries more times) when no acknowledgement arrives
	// within the timeout: at-least-once delivery, as socket.io-client's
	// retries option.
	Retries int
}

// wsCompression returns the WebSocket compression the client offers.
func wsCompression(o *PerMessageDeflateOptions) *eioclient.Compression {
	if o == nil {
		return &eioclient.Compression{}
	}
	if o.Disable {
		return nil
	}
	return &eioclient.Compression{Threshold: o.Threshold, Level: o.Level}
}
