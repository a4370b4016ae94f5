package engineio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketio-go/socketio/engineio/packet"
	"github.com/socketio-go/socketio/internal/netpoll"
	"github.com/socketio-go/socketio/internal/tasks"
	"github.com/socketio-go/socketio/internal/websocket"
)

// Handler receives the sessions of a [Server].
type Handler interface {
	// OpenSession is called once for every new session, after the
	// handshake packet was queued and before any message of the session is
	// delivered. It returns the receiver of the session's messages.
	OpenSession(s *Session) SessionHandler
}

// SessionHandler receives the messages and the end of one session.
//
// HandleMessage calls are serialised and come in arrival order. data is owned
// by the callee: the server never reuses it. HandleClose is called exactly
// once. It may run concurrently with the HandleMessage call in progress
// when the session closed (which may itself have closed the session), so
// the handler must guard its state; no message received after the close is
// delivered.
type SessionHandler interface {
	HandleMessage(data []byte, binary bool)
	HandleClose(reason CloseReason, cause error)
}

// Hooks are optional callbacks for observability. Every field may be nil.
// They are called synchronously: keep them fast and do not block.
type Hooks struct {
	// OnConnectionError is called for every request the server refuses.
	OnConnectionError func(r *http.Request, err *RequestError)
	// OnUpgrade is called when a session moved from long-polling to
	// WebSocket (or WebTransport).
	OnUpgrade func(s *Session)
	// OnDrop is called when messages were not queued: a volatile message
	// the transport could not take (slowConsumer false), or messages that
	// overflowed the write queue, which closes the session (slowConsumer
	// true). n counts Engine.IO packets.
	OnDrop func(s *Session, n int, slowConsumer bool)
}

// Server is an Engine.IO v4 server. It is an http.Handler: mount it on the
// path the clients use (for example "/engine.io/").
//
// All methods are safe for concurrent use.
type Server struct {
	cfg     *config
	handler Handler
	hooks   Hooks

	mu       sync.RWMutex
	sessions map[string]*Session

	pollOnce  sync.Once
	netPoller *netpoll.Poller // nil: a goroutine blocks in each WebSocket read

	closing atomic.Bool // no new sessions: Shutdown or Close was called
	// capacityLog is when the next "MaxSessions reached" record may be
	// logged at Warn (UnixNano): at capacity, every handshake is refused.
	capacityLog atomic.Int64
	forced      bool // Close was called; guarded by mu
	tasks       tasks.Group
	done        chan struct{}

	deadlines *deadlines // the sessions' heartbeats and timeouts
	fwd       *forwarder // nil: no forwarding
	bw        batchWriter
}

// NewServer returns a server that hands its sessions to h. A nil opts
// selects the defaults of the official server. NewServer panics if opts
// holds an invalid value.
func NewServer(opts *Options, h Handler) *Server {
	if h == nil {
		panic("engineio: nil Handler")
	}
	s := &Server{
		cfg:      newConfig(opts),
		handler:  h,
		sessions: make(map[string]*Session),
		done:     make(chan struct{}),
		tasks:    tasks.Group{Idle: workerIdle},
	}
	s.deadlines = newDeadlines(&s.tasks, (*Session).onDeadline)
	s.bw.srv = s
	if s.cfg.forwarding != nil {
		s.fwd = newForwarder(s, s.cfg.forwarding)
	}
	return s
}

// workerIdle is how long a goroutine that served a session (a read burst,
// a write burst) waits for the next job. Reusing goroutines spares a busy
// server the growth and copy of a fresh stack per job.
const workerIdle = 5 * time.Second

// SetHooks installs observability hooks. Call it before serving requests.
func (s *Server) SetHooks(h Hooks) { s.hooks = h }

// Options returns the effective options of the server, defaults applied.
// Function-valued fields and the logger are not included.
func (s *Server) Options() Options {
	c := s.cfg
	var transports []string
	if c.polling {
		transports = append(transports, TransportPolling)
	}
	if c.websocket {
		transports = append(transports, TransportWebSocket)
	}
	if c.webtransport {
		transports = append(transports, TransportWebTransport)
	}
	return Options{
		PingInterval:      c.pingInterval,
		PingTimeout:       c.pingTimeout,
		UpgradeTimeout:    c.upgradeTimeout,
		MaxHTTPBufferSize: c.maxBufferSize,
		Transports:        transports,
		DisableUpgrades:   !c.allowUpgrades,
		WriteQueueSize:    c.writeQueueSize,
		PerMessageDeflate: c.perMessageDeflate(),
		HTTPCompression: &HTTPCompressionOptions{
			Disable:   c.httpCompress.disabled,
			Threshold: c.httpCompress.threshold,
			Level:     c.httpCompress.level,
		},
		AllowEIO3: c.allowEIO3,
	}
}

// SessionCount returns the number of open sessions.
func (s *Server) SessionCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.sessions)
}

// Session returns the open session with the given id, or nil.
func (s *Server) Session(id string) *Session {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.sessions[id]
}

// Done returns a channel closed when the server starts shutting down.
func (s *Server) Done() <-chan struct{} { return s.done }

// ServeHTTP handles Engine.IO requests: handshakes, long-polling GETs and
// POSTs, and WebSocket upgrades.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cfg := s.cfg
	isUpgrade := websocket.IsWebSocketUpgrade(r)
	if !isUpgrade && cfg.cors.preflight(w, r) {
		return
	}
	q := r.URL.RawQuery
	transport := queryValue(q, "transport")
	if !cfg.allowsTransport(transport) {
		s.refuse(w, r, isUpgrade, newRequestError(CodeUnknownTransport, "transport "+strconv.Quote(transport)))
		return
	}
	if !s.originAllowed(w, r, isUpgrade) {
		return
	}
	if sid := queryValue(q, "sid"); sid != "" {
		if s.fwd != nil && s.fwd.serve(w, r, sid, isUpgrade) {
			return
		}
		sess := s.Session(sid)
		if sess != nil && sess.expireIfLate() {
			sess = nil
		}
		if sess == nil {
			s.refuse(w, r, isUpgrade, newRequestError(CodeUnknownSID, "sid "+strconv.Quote(sid)))
			return
		}
		if s.cfg.allowEIO3 && sess.protocolMismatch(q) {
			s.refuse(w, r, isUpgrade, newRequestError(CodeBadRequest, "protocol mismatch"))
			return
		}
		if isUpgrade && transport == TransportWebSocket {
			sess.serveUpgrade(w, r)
			return
		}
		if isUpgrade || sess.transportName() != transport {
			s.refuse(w, r, isUpgrade, newRequestError(CodeBadRequest, "transport mismatch"))
			return
		}
		cfg.cors.setHeaders(w.Header(), r)
		switch r.Method {
		case http.MethodGet:
			sess.servePoll(w, r)
		case http.MethodPost:
			sess.servePost(w, r)
		default:
			// The official server answers 500 here.
			w.WriteHeader(http.StatusInternalServerError)
		}
		reuseRequest(w)
		return
	}
	if r.Method != http.MethodGet {
		s.refuse(w, r, isUpgrade, newRequestError(CodeBadHandshakeMethod, "method "+r.Method))
		return
	}
	if (transport == TransportWebSocket) != isUpgrade {
		s.refuse(w, r, isUpgrade, newRequestError(CodeBadRequest, "transport handshake error"))
		return
	}
	if s.closing.Load() {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	if s.cfg.maxSessions > 0 && s.SessionCount() >= s.cfg.maxSessions {
		level := slog.LevelDebug
		if now, next := time.Now().UnixNano(), s.capacityLog.Load(); now >= next && s.capacityLog.CompareAndSwap(next, now+int64(10*time.Second)) {
			level = slog.LevelWarn // once per 10 s at most
		}
		s.cfg.logger.Log(r.Context(), level, "engineio: handshake refused: MaxSessions reached", "max", s.cfg.maxSessions)
		http.Error(w, "server at capacity", http.StatusServiceUnavailable)
		return
	}
	if cfg.allowRequest != nil {
		if err := cfg.allowRequest(r); err != nil {
			e := newRequestError(CodeForbidden, err.Error())
			e.Message = err.Error()
			s.refuse(w, r, isUpgrade, e)
			return
		}
	}
	if eio := queryValue(q, "EIO"); eio != "4" && !cfg.allowEIO3 {
		s.refuse(w, r, isUpgrade, newRequestError(CodeUnsupportedVersion, "EIO "+strconv.Quote(eio)))
		return
	}
	if isUpgrade {
		s.handshakeWebSocket(w, r)
	} else {
		s.handshakePolling(w, r)
	}
}

// headerValue is h.Get(key) for a key in canonical form (every key this
// package looks up), without canonicalizing it again.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// queryValue returns the first value of key in the raw query, as
// url.ParseQuery(raw).Get(key) would, without building the map: a pair
// holding a semicolon or an invalid escape is skipped like ParseQuery
// skips it. The common case (nothing escaped) does not allocate.
func queryValue(raw, key string) string {
	// Every client's query has nothing escaped and no semicolon: then no
	// pair needs a look for them.
	escaped := strings.IndexByte(raw, '%') >= 0 || strings.IndexByte(raw, '+') >= 0
	semicolons := strings.IndexByte(raw, ';') >= 0
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || semicolons && strings.IndexByte(pair, ';') >= 0 {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if escaped && strings.ContainsAny(k, "%+") {
			var err error
			if k, err = url.QueryUnescape(k); err != nil {
				continue
			}
		}
		if k != key {
			continue
		}
		if escaped && strings.ContainsAny(v, "%+") {
			var err error
			if v, err = url.QueryUnescape(v); err != nil {
				continue
			}
		}
		return v
	}
	return ""
}

// originAllowed refuses the request, and reports false, when its Origin
// header is not a valid header value or the CORS policy does not allow it.
func (s *Server) originAllowed(w http.ResponseWriter, r *http.Request, isUpgrade bool) bool {
	if origin := headerValue(r.Header, "Origin"); invalidHeaderValue(origin) {
		s.refuse(w, r, isUpgrade, newRequestError(CodeBadRequest, "invalid origin header"))
		return false
	}
	if !s.cfg.cors.allowed(r) {
		s.refuse(w, r, isUpgrade, newRequestError(CodeForbidden, "origin "+strconv.Quote(r.Header.Get("Origin"))+" not allowed"))
		return false
	}
	return true
}

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, isUpgrade bool, e *RequestError) {
	s.cfg.logger.Debug("engineio: request refused", "code", e.Code, "context", e.Context, "remote", r.RemoteAddr)
	if h := s.hooks.OnConnectionError; h != nil {
		h(r, e)
	}
	if isUpgrade {
		writeUpgradeError(w, e)
		return
	}
	s.cfg.cors.setHeaders(w.Header(), r)
	writeRequestError(w, e)
}

func (s *Server) setCookie(h http.Header, sid string) {
	if s.cfg.cookie == nil {
		return
	}
	c := *s.cfg.cookie
	c.Value = sid
	if v := c.String(); v != "" {
		h.Add("Set-Cookie", v)
	}
}

func (s *Server) handshakePolling(w http.ResponseWriter, r *http.Request) {
	sess := s.newSession(r, TransportPolling, nil)
	if sess == nil {
		http.Error(w, "server shutting down or at capacity", http.StatusServiceUnavailable)
		return
	}
	s.cfg.cors.setHeaders(w.Header(), r)
	s.setCookie(w.Header(), sess.id)
	sess.servePoll(w, r)
}

func (s *Server) handshakeWebSocket(w http.ResponseWriter, r *http.Request) {
	id := s.newSessionID()
	var hdr http.Header
	if s.cfg.cookie != nil {
		hdr = make(http.Header)
		s.setCookie(hdr, id)
	}
	ws, err := websocket.Upgrade(w, r, &websocket.UpgradeOptions{ResponseHeader: hdr, ReadLimit: s.cfg.maxBufferSize, Compression: s.cfg.wsCompression})
	if err != nil {
		s.cfg.logger.Debug("engineio: websocket handshake failed", "err", err, "remote", r.RemoteAddr)
		return
	}
	sess := s.newSessionWithID(id, r, TransportWebSocket, ws)
	if sess == nil {
		_ = ws.Close(websocket.StatusGoingAway, "")
		return
	}
}

// newSession registers a session, queues its open packet and hands it to
// the Handler. ws is the connection of a session opened over WebSocket.
func (s *Server) newSession(r *http.Request, transport string, ws *websocket.Conn) *Session {
	return s.newSessionWithID(s.newSessionID(), r, transport, ws)
}

func (s *Server) newSessionWithID(id string, r *http.Request, transport string, ws *websocket.Conn) *Session {
	sess := newSession(s, id, r, transport)
	s.mu.Lock()
	if s.closing.Load() || (s.cfg.maxSessions > 0 && len(s.sessions) >= s.cfg.maxSessions) {
		s.mu.Unlock()
		return nil
	}
	s.sessions[id] = sess
	s.mu.Unlock()

	sess.mu.Lock()
	sess.enqueueLocked(packet.Packet{Type: packet.Open, Data: sess.openPayload()})
	sess.mu.Unlock()
	h := s.handler.OpenSession(sess)
	sess.start(h, ws)
	return sess
}

func (s *Server) removeSession(sess *Session) {
	s.mu.Lock()
	if s.sessions[sess.id] == sess {
		delete(s.sessions, sess.id)
	}
	s.mu.Unlock()
}

// Shutdown stops accepting new sessions (handshakes get 503), closes
// every open session and waits until every goroutine the server started has
// returned, or ctx ends. A WebSocket gets what was queued for it, then a
// close frame; a long-polling session closes at once and its pending GET
// ends without a response, as when the official server's process exits, so
// that every client library reconnects (a CLOSE packet would make some of
// them stop). If ctx ends first, the sessions still open are closed at once
// and Shutdown returns ctx.Err(); Close can then be used to wait for the
// rest. It returns ErrServerClosed when the server was already shut down.
//
// Mounted on an http.Server, the server keeps its listener open: close it
// first, so that reconnecting clients reach the next process rather than
// this one. http.Server.Shutdown closes its listeners, then calls the
// functions given to RegisterOnShutdown, then waits for the requests in
// flight, which include the long-polls only this Shutdown releases:
//
//	hs.RegisterOnShutdown(func() { drained <- eio.Shutdown(ctx) })
//	err := hs.Shutdown(ctx)
//	<-drained
func (s *Server) Shutdown(ctx context.Context) error {
	return s.shutdown(ctx, true)
}

// Close closes every session at once, without flushing (pending
// long-polling GETs end without a response, as in Shutdown), and waits
// until every goroutine the server started has returned. It may follow a
// Shutdown that timed out. It returns ErrServerClosed when the server was
// already closed. Mounted on an http.Server, call it from a
// RegisterOnShutdown hook as shown for Shutdown.
func (s *Server) Close() error {
	return s.shutdown(context.Background(), false)
}

func (s *Server) shutdown(ctx context.Context, graceful bool) error {
	s.mu.Lock()
	already := s.closing.Load()
	if !already {
		s.closing.Store(true)
		close(s.done)
	}
	if (graceful && already) || (!graceful && s.forced) {
		s.mu.Unlock()
		return ErrServerClosed
	}
	if !graceful {
		s.forced = true
	}
	sessions := make([]*Session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	if s.fwd != nil && !graceful {
		s.fwd.close()
	}
	for _, sess := range sessions {
		sess.shutdownClose(graceful)
		sess.endLinger()
	}
	if graceful {
		for _, sess := range sessions {
			select {
			case <-sess.Done():
				continue
			case <-ctx.Done():
			}
			break
		}
		if s.fwd != nil && ctx.Err() == nil {
			_ = s.fwd.shutdown(ctx)
		}
		if ctx.Err() != nil {
			if s.fwd != nil {
				s.fwd.close()
			}
			for _, sess := range sessions {
				sess.closeWith(ReasonForcedClose, nil)
			}
			s.closePoller()
			s.deadlines.close()
			_ = s.tasks.Stop(ctx) // ends the idle goroutines; ctx is done
			return ctx.Err()
		}
	}
	s.deadlines.close()
	err := s.tasks.Wait(ctx)
	s.closePoller()
	if serr := s.tasks.Stop(ctx); err == nil {
		err = serr
	}
	return err
}

// poller returns the poller that watches idle WebSocket connections, or
// nil when reads block a goroutine per connection (BlockingReads, or no
// poller on this platform).
func (s *Server) poller() *netpoll.Poller {
	if s.cfg.blockingReads {
		return nil
	}
	s.pollOnce.Do(func() {
		p, err := netpoll.New(s.tasks.Go)
		if err != nil {
			s.cfg.logger.Debug("engineio: no poller, one goroutine per WebSocket read", "err", err)
			return
		}
		s.mu.Lock()
		s.netPoller = p
		s.mu.Unlock()
	})
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.netPoller
}

// unwatch stops watching ws, before it is closed.
func (s *Server) unwatch(ws *websocket.Conn) {
	s.mu.RLock()
	p := s.netPoller
	s.mu.RUnlock()
	if p != nil {
		p.Cancel(ws)
	}
}

// closePoller stops the poller, once every session is closed.
func (s *Server) closePoller() {
	s.pollOnce.Do(func() {}) // no poller may start after this
	s.mu.Lock()
	p := s.netPoller
	s.netPoller = nil
	s.mu.Unlock()
	if p != nil {
		_ = p.Close()
	}
}

// newSessionID returns the id of a new session: the node id, when
// forwarding is on, then a random id.
func (s *Server) newSessionID() string {
	if f := s.cfg.forwarding; f != nil {
		return f.NodeID + newSessionID()
	}
	return newSessionID()
}

// newSessionID returns 120 random bits, encoded in 20 URL-safe characters
// like the ids of the official server.
func newSessionID() string {
	var b [15]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewID returns a new random identifier of 120 bits in 20 URL-safe
// characters, the format the official server uses for session and socket
// ids.
func NewID() string { return newSessionID() }

// invalidHeaderValue reports whether v holds a character that is not
// allowed in an HTTP header value (the check the official server applies to
// the Origin header).
func invalidHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return true
		}
	}
	return false
}
