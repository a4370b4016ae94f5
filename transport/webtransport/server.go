// Package webtransport serves Engine.IO (and so Socket.IO) over
// WebTransport, the transport that engine.io 6.5+ and socket.io-client 4.7+
// offer on top of HTTP/3: a [Server] listens on UDP next to the HTTP server
// of an [engineio.Server] (usually the same port number, TCP for HTTP/1.1
// and UDP for HTTP/3) and hands each WebTransport session to the Engine.IO
// server, which runs it like a WebSocket.
//
// Enable the transport in the Engine.IO options, which makes long-polling
// sessions advertise it as an upgrade, then serve it:
//
//	sio := socketio.NewServer(&socketio.Options{Transports: []string{"polling", "websocket", "webtransport"}})
//	wt, err := webtransport.New(sio.Engine(), &webtransport.Options{Addr: ":443", CertFile: "cert.pem", KeyFile: "key.pem"})
//	go wt.ListenAndServe()
//	defer wt.Close()
//
// It lives in its own module because it needs quic-go; the core module
// keeps the standard library as its only dependency.
package webtransport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	wt "github.com/quic-go/webtransport-go"
	"github.com/socketio-go/socketio/engineio"
)

// Default option values.
const (
	DefaultPath         = "/socket.io/"
	DefaultWriteTimeout = 10 * time.Second
	DefaultCloseLinger  = time.Second
)

// Options configures a [Server]. A nil *Options is not valid: the server
// needs a certificate.
type Options struct {
	// Addr is the UDP address ListenAndServe listens on. Empty means
	// ":443". Browsers connect to the host and port of the page's
	// Socket.IO URL, so use the port number of the HTTP server.
	Addr string
	// Path is the path of the Engine.IO endpoint, as mounted on the HTTP
	// server. Empty means "/socket.io/"; the same path without its
	// trailing slash is accepted too.
	Path string
	// TLSConfig holds the server's certificates (HTTP/3 requires TLS 1.3;
	// the ALPN protocol is added). Nil means a configuration loading
	// CertFile and KeyFile.
	TLSConfig *tls.Config
	// CertFile and KeyFile are the PEM files of the certificate and its
	// key, used when TLSConfig is nil.
	CertFile, KeyFile string
	// QUICConfig configures the QUIC connections; nil means quic-go's
	// defaults. Datagrams and partial-delivery resets, which WebTransport
	// requires, are enabled on a copy.
	QUICConfig *quic.Config
	// WriteTimeout bounds one write to a client that stopped reading: the
	// session then closes with "transport error". Zero means 10s.
	WriteTimeout time.Duration
	// CloseLinger is how long a session the server closes waits, after
	// its last packets, for the client to close it, so that those packets
	// are delivered before the WebTransport session ends. Zero means 1s.
	CloseLinger time.Duration
	// Logger receives diagnostics. Nil means no logging.
	Logger *slog.Logger
}

// Server serves Engine.IO sessions over WebTransport. Create it with New;
// its methods are safe for concurrent use.
type Server struct {
	eio          *engineio.Server
	paths        [2]string
	maxPayload   int64
	writeTimeout time.Duration
	linger       time.Duration
	addr         string
	logger       *slog.Logger

	h3 *http3.Server
	wt *wt.Server

	mu      sync.Mutex
	conns   map[*conn]struct{}
	quics   map[*quic.Conn]int // sessions per QUIC connection
	closing bool
	drained chan struct{} // closed when closing and conns is empty
	done    chan struct{} // closed by Close: lingering closes end at once
	tasks   sync.WaitGroup
}

// quicConnKey is the request context key of the QUIC connection.
type quicConnKey struct{}

// ErrServerClosed is returned by Serve and ListenAndServe once the server
// is closed, and by Close and Shutdown on a server already closed.
var ErrServerClosed = errors.New("webtransport: server closed")

// New returns a server handing its sessions to eio, which must list
// engineio.TransportWebTransport in its Options.Transports. It fails when
// the certificate cannot be loaded or the transport is not enabled.
func New(eio *engineio.Server, opts *Options) (*Server, error) {
	if opts == nil {
		opts = &Options{}
	}
	eo := eio.Options()
	enabled := false
	for _, t := range eo.Transports {
		enabled = enabled || t == engineio.TransportWebTransport
	}
	if !enabled {
		return nil, errors.New("webtransport: the Engine.IO server does not list \"webtransport\" in Options.Transports")
	}
	var tlsConf *tls.Config
	switch {
	case opts.TLSConfig != nil:
		tlsConf = opts.TLSConfig.Clone()
	case opts.CertFile != "" && opts.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(opts.CertFile, opts.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("webtransport: loading the certificate: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}}
	default:
		return nil, errors.New("webtransport: no certificate: set Options.TLSConfig or CertFile and KeyFile")
	}
	path := opts.Path
	if path == "" {
		path = DefaultPath
	}
	s := &Server{
		eio:          eio,
		paths:        [2]string{path, strings.TrimSuffix(path, "/")},
		maxPayload:   eo.MaxHTTPBufferSize,
		writeTimeout: opts.WriteTimeout,
		linger:       opts.CloseLinger,
		addr:         opts.Addr,
		logger:       opts.Logger,
		conns:        make(map[*conn]struct{}),
		quics:        make(map[*quic.Conn]int),
		drained:      make(chan struct{}),
		done:         make(chan struct{}),
	}
	if s.writeTimeout <= 0 {
		s.writeTimeout = DefaultWriteTimeout
	}
	if s.linger <= 0 {
		s.linger = DefaultCloseLinger
	}
	if s.addr == "" {
		s.addr = ":443"
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	qc := &quic.Config{}
	if opts.QUICConfig != nil {
		qc = opts.QUICConfig.Clone()
	}
	qc.EnableDatagrams = true
	qc.EnableStreamResetPartialDelivery = true
	s.h3 = &http3.Server{
		TLSConfig:  http3.ConfigureTLSConfig(tlsConf),
		QUICConfig: qc,
		Handler:    http.HandlerFunc(s.serveHTTP),
		Logger:     s.logger,
		ConnContext: func(ctx context.Context, c *quic.Conn) context.Context {
			return context.WithValue(ctx, quicConnKey{}, c)
		},
	}
	wt.ConfigureHTTP3Server(s.h3)
	s.wt = &wt.Server{
		H3: s.h3,
		// The Engine.IO server applies its CORS policy (as for a
		// WebSocket) before the session is accepted.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return s, nil
}

// ListenAndServe listens on Options.Addr (UDP) and serves until Close. It
// returns ErrServerClosed after Close, or the error that stopped it.
func (s *Server) ListenAndServe() error {
	addr, err := net.ResolveUDPAddr("udp", s.addr)
	if err != nil {
		return fmt.Errorf("webtransport: %w", err)
	}
	pc, err := net.ListenUDP("udp", addr)
	if err != nil {
		return fmt.Errorf("webtransport: %w", err)
	}
	defer pc.Close()
	return s.Serve(pc)
}

// Serve serves WebTransport on pc until Close, which does not close pc.
// It returns ErrServerClosed after Close, or the error that stopped it.
func (s *Server) Serve(pc net.PacketConn) error {
	s.mu.Lock()
	closing := s.closing
	if !closing {
		s.tasks.Add(1)
	}
	s.mu.Unlock()
	if closing {
		return ErrServerClosed
	}
	defer s.tasks.Done()
	err := s.wt.Serve(pc)
	if s.isClosing() {
		return ErrServerClosed
	}
	return fmt.Errorf("webtransport: %w", err)
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// serveHTTP handles the HTTP/3 requests: WebTransport sessions on the
// Engine.IO path.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != s.paths[0] && r.URL.Path != s.paths[1] {
		http.NotFound(w, r)
		return
	}
	if s.isClosing() {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	s.eio.ServeMessageTransport(w, r, engineio.TransportWebTransport, func(ctx context.Context) (engineio.MessageConn, error) {
		sess, err := s.wt.Upgrade(w, r)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return nil, fmt.Errorf("webtransport: upgrade: %w", err)
		}
		// The client opens one bidirectional stream for its packets.
		str, err := sess.AcceptStream(ctx)
		if err != nil {
			_ = sess.CloseWithError(0, "")
			return nil, fmt.Errorf("webtransport: no stream: %w", err)
		}
		qc, _ := r.Context().Value(quicConnKey{}).(*quic.Conn)
		c := newConn(s, sess, str, qc)
		if !s.track(c) {
			_ = sess.CloseWithError(0, "")
			return nil, ErrServerClosed
		}
		return c, nil
	})
}

// track registers c; it fails once the server is closing.
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = struct{}{}
	if c.quic != nil {
		s.quics[c.quic]++
	}
	return true
}

// forget unregisters c, once its session is closed.
func (s *Server) forget(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; !ok {
		return
	}
	delete(s.conns, c)
	if q := c.quic; q != nil {
		// The QUIC connection goes with its last session: browsers open
		// one per session, and some keep it open (and the server's
		// resources with it) long after the session ended.
		if s.quics[q]--; s.quics[q] <= 0 {
			delete(s.quics, q)
			_ = q.CloseWithError(0, "")
		}
	}
	if s.closing && len(s.conns) == 0 {
		select {
		case <-s.drained:
		default:
			close(s.drained)
		}
	}
}

// Shutdown stops accepting sessions (new ones are answered 503) and waits
// until the sessions still open have ended, as the Engine.IO server's
// Shutdown or Close ends them, or until ctx ends; then it closes the
// server as Close does. Call it after the Engine.IO server's Shutdown.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.closing = true
	if len(s.conns) == 0 {
		close(s.drained)
	}
	s.mu.Unlock()
	var err error
	select {
	case <-s.drained:
	case <-ctx.Done():
		err = ctx.Err()
	}
	return errors.Join(err, s.close())
}

// Close closes the server at once: the QUIC connections are closed (their
// sessions end with "transport close"), and Close returns when every
// goroutine the server started has returned.
func (s *Server) Close() error {
	s.mu.Lock()
	already := s.closing
	s.closing = true
	if !already && len(s.conns) == 0 {
		close(s.drained)
	}
	s.mu.Unlock()
	if already {
		select {
		case <-s.done:
			return ErrServerClosed
		default:
		}
	}
	return s.close()
}

func (s *Server) close() error {
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return ErrServerClosed
	default:
	}
	close(s.done)
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.abort()
	}
	err := s.wt.Close()
	s.tasks.Wait()
	if err != nil {
		return fmt.Errorf("webtransport: %w", err)
	}
	return nil
}
