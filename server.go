package socketio

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/internal/h1"
	"github.com/socketio-go/socketio/internal/tasks"
	"github.com/socketio-go/socketio/parser"
)

// Server is a Socket.IO v4 server (protocol v5 on Engine.IO v4). It is an
// http.Handler: mount it at the path your clients use, "/socket.io/" by
// default.
//
// The methods that emit, join or broadcast act on the main namespace "/";
// use Of for the others. All methods are safe for concurrent use.
type Server struct {
	opts           Options
	engine         *engineio.Server
	logger         *slog.Logger
	adapterFactory adapter.Factory
	connectTimeout time.Duration
	maxAttachments int
	eventQueueSize int
	maxAttBytes    int64
	attTimeout     time.Duration
	maxNamespaces  int
	maxPendingAcks int
	writeQueueSize int                      // the engine's, resolved
	recovery       *ConnectionStateRecovery // nil: off
	client         *clientServer            // nil: Options.ServeClient unset
	parser         parser.Parser            // nil: the default JSON parser, encoded inline

	mu       sync.RWMutex
	nsps     map[string]*Namespace
	creating map[string]chan struct{} // namespaces whose adapter is being set up
	parents  []*parentNamespace

	tasks      tasks.Group
	shutdownMu sync.Mutex
	closed     bool          // Shutdown or Close was called
	forced     bool          // Close was called
	httpSrv    *http.Server  // made by the first Serve
	fastSrv    *h1.Server    // serves the listeners, with httpSrv behind it
	lnClosed   chan struct{} // closed once httpSrv's listeners are closed

	hookMu       sync.Mutex
	connErrHooks []func(*http.Request, *engineio.RequestError)
	refusals     sampler // refused HTTP requests
	clientErrs   sampler // invalid events nobody handles

	obs   observerSlot // see Observe
	stats serverStats
}

// NewServer returns a server. A nil opts selects the defaults of the
// official server. It panics if opts holds an invalid value.
func NewServer(opts *Options) *Server {
	if opts == nil {
		opts = &Options{}
	}
	s := &Server{opts: *opts}
	s.stats.started = time.Now()
	// Handler goroutines are reused, as the engine's are: a fresh one per
	// burst of events would grow its stack again each time.
	s.tasks.Idle = 5 * time.Second
	s.opts.Transports = slices.Clone(opts.Transports)
	if opts.RetryDedup != nil {
		rd := *opts.RetryDedup
		if rd.Window < 0 || rd.MaxEntries < 0 {
			panic("socketio: negative value in RetryDedupOptions")
		}
		s.opts.RetryDedup = &rd
	}
	if s.opts.Path == "" {
		s.opts.Path = DefaultPath
	}
	s.logger = opts.Logger
	if s.logger == nil {
		s.logger = slog.Default()
	}
	s.adapterFactory = opts.Adapter
	if _, isJSON := opts.Parser.(parser.JSON); opts.Parser != nil && !isJSON {
		s.parser = opts.Parser
	}
	if r := opts.ConnectionStateRecovery; r != nil {
		rc := *r
		if rc.MaxDisconnectionDuration < 0 || rc.MaxBufferedBytes < 0 || rc.MaxSessions < 0 {
			panic("socketio: negative value in ConnectionStateRecovery")
		}
		rc.MaxDisconnectionDuration = orDefault(rc.MaxDisconnectionDuration, adapter.DefaultMaxDisconnectionDuration)
		rc.MaxBufferedBytes = orDefault(rc.MaxBufferedBytes, adapter.DefaultMaxStoredBytes)
		rc.MaxSessions = orDefault(rc.MaxSessions, adapter.DefaultMaxSessions)
		s.recovery = &rc
		s.opts.ConnectionStateRecovery = &rc
		if s.adapterFactory == nil {
			heartbeat := orDefault(opts.PingInterval, engineio.DefaultPingInterval) + orDefault(opts.PingTimeout, engineio.DefaultPingTimeout)
			s.adapterFactory = adapter.NewSessionAware(adapter.SessionOptions{
				MaxDisconnectionDuration: rc.MaxDisconnectionDuration,
				Retention:                rc.MaxDisconnectionDuration + heartbeat,
				MaxBytes:                 rc.MaxBufferedBytes,
				MaxSessions:              rc.MaxSessions,
			})
		}
	}
	if s.adapterFactory == nil {
		s.adapterFactory = adapter.NewInMemory
	}
	s.connectTimeout = orDefault(opts.ConnectTimeout, DefaultConnectTimeout)
	s.maxAttachments = orDefault(opts.MaxAttachments, DefaultMaxAttachments)
	s.eventQueueSize = orDefault(opts.EventQueueSize, DefaultEventQueueSize)
	s.maxAttBytes = orDefault(opts.MaxAttachmentBytes, DefaultMaxAttachmentBytes)
	s.attTimeout = orDefault(opts.AttachmentTimeout, DefaultAttachmentTimeout)
	s.maxNamespaces = orDefault(opts.MaxNamespaces, DefaultMaxNamespaces)
	s.maxPendingAcks = orDefault(opts.MaxPendingAcks, DefaultMaxPendingAcks)
	if s.connectTimeout < 0 || s.maxAttachments < 0 || s.eventQueueSize < 0 || s.maxAttBytes < 0 ||
		s.attTimeout < 0 || s.maxNamespaces < 0 || s.maxPendingAcks < 0 || opts.MaxConnections < 0 {
		panic("socketio: negative value in Options")
	}
	if opts.ServeClient != nil {
		s.client = &clientServer{fsys: opts.ServeClient, path: s.opts.Path}
		if opts.CORS != nil {
			cors := *opts.CORS
			s.client.cors = &cors
		}
	}
	s.nsps = make(map[string]*Namespace)
	s.creating = make(map[string]chan struct{})
	eo := s.opts.engineOptions()
	eo.Logger = s.logger
	s.engine = engineio.NewServer(eo, engineHandler{s})
	s.writeQueueSize = s.engine.Options().WriteQueueSize
	s.engine.SetHooks(s.engineHooks())
	s.Of("/")
	return s
}

// orDefault returns v, or def when v is zero.
func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// engineHandler receives the Engine.IO sessions of a Server.
type engineHandler struct{ s *Server }

func (h engineHandler) OpenSession(sess *engineio.Session) engineio.SessionHandler {
	h.s.connOpened(sess.ID(), sess.Transport())
	c := newConn(h.s, sess)
	if c.v3 {
		// A v2 client joins the main namespace without a CONNECT.
		c.connectMain()
	}
	return c
}

// ServeHTTP serves the Engine.IO and Socket.IO protocols, and the browser
// client's files when Options.ServeClient is set.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.client != nil && s.client.try(w, r) {
		return
	}
	s.engine.ServeHTTP(w, r)
}

// Engine returns the underlying Engine.IO server.
func (s *Server) Engine() *engineio.Server { return s.engine }

// Adapter returns the adapter of the main namespace (io.of("/").adapter).
func (s *Server) Adapter() adapter.Adapter { return s.Of("/").Adapter() }

// Of returns the namespace with the given name ("/" is the main one),
// creating it if needed. A name without a leading slash gets one.
func (s *Server) Of(name string) *Namespace {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	return s.namespace(name, nil)
}

// namespace returns the namespace name, creating it (as a child of parent,
// if not nil) when it does not exist. The adapter of a new namespace is
// created and initialised without holding the server lock: a slow
// adapter delays only the callers that need that namespace.
func (s *Server) namespace(name string, parent *ParentNamespace) *Namespace {
	for {
		s.mu.RLock()
		nsp, wait := s.nsps[name], s.creating[name]
		s.mu.RUnlock()
		if nsp != nil {
			return nsp
		}
		if wait != nil {
			<-wait
			continue
		}
		s.mu.Lock()
		if s.nsps[name] != nil || s.creating[name] != nil {
			s.mu.Unlock()
			continue
		}
		done := make(chan struct{})
		s.creating[name] = done
		s.mu.Unlock()

		nsp = newNamespace(s, name)
		nsp.parent = parent

		s.mu.Lock()
		s.nsps[name] = nsp
		delete(s.creating, name)
		o := s.observer() // under s.mu: see Observe
		s.mu.Unlock()
		close(done)
		s.namespaceCreated(o, nsp)
		return nsp
	}
}

// OfFunc declares dynamic namespaces: when a client connects to a namespace
// that does not exist yet, match is asked whether to create it (auth is the
// raw CONNECT payload, "{}" when there is none). The returned
// ParentNamespace applies its middlewares and handlers to every namespace
// it creates.
func (s *Server) OfFunc(match func(name string, auth []byte) bool) *ParentNamespace {
	p := &parentNamespace{match: match}
	p.ParentNamespace = &ParentNamespace{p: p, s: s}
	s.mu.Lock()
	s.parents = append(s.parents, p)
	s.mu.Unlock()
	return p.ParentNamespace
}

// OfRegexp declares dynamic namespaces whose names match re. See OfFunc.
func (s *Server) OfRegexp(re *regexp.Regexp) *ParentNamespace {
	return s.OfFunc(func(name string, _ []byte) bool { return re.MatchString(name) })
}

// lookupNamespace finds or, through a parent namespace, creates the
// namespace name. It returns nil if there is none.
func (s *Server) lookupNamespace(name string, auth []byte) *Namespace {
	s.mu.RLock()
	nsp := s.nsps[name]
	parents := s.parents
	s.mu.RUnlock()
	if nsp != nil {
		return nsp
	}
	for _, p := range parents {
		if !p.match(name, auth) {
			continue
		}
		return s.namespace(name, p.ParentNamespace)
	}
	return nil
}

// Main namespace shortcuts.

// Use adds a connection middleware to the main namespace. See
// Namespace.Use.
func (s *Server) Use(mw Middleware) { s.Of("/").Use(mw) }

// OnConnection adds a connection handler to the main namespace. See
// Namespace.OnConnection.
func (s *Server) OnConnection(fn func(*Socket)) { s.Of("/").OnConnection(fn) }

// Emit sends an event to every socket of the main namespace.
func (s *Server) Emit(event string, args ...any) error { return s.Of("/").Emit(event, args...) }

// To selects the sockets of the main namespace in the given rooms.
func (s *Server) To(rooms ...string) *BroadcastOperator { return s.Of("/").To(rooms...) }

// In is To.
func (s *Server) In(rooms ...string) *BroadcastOperator { return s.Of("/").In(rooms...) }

// Except selects the sockets of the main namespace not in the given rooms.
func (s *Server) Except(rooms ...string) *BroadcastOperator { return s.Of("/").Except(rooms...) }

// Local restricts a broadcast to the sockets connected to this server.
func (s *Server) Local() *BroadcastOperator { return s.Of("/").Local() }

// Volatile marks a broadcast as droppable for sockets that cannot take it
// right now.
func (s *Server) Volatile() *BroadcastOperator { return s.Of("/").Volatile() }

// EmitWithAck sends an event to every socket of the main namespace and
// collects their acknowledgements. See BroadcastOperator.EmitWithAck.
func (s *Server) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return s.Of("/").EmitWithAck(ctx, event, args...)
}

// Compress sets the compress flag of a broadcast to the main namespace. See
// Namespace.Compress.
func (s *Server) Compress(compress bool) *BroadcastOperator { return s.Of("/").Compress(compress) }

// Sockets returns the sockets connected to the main namespace on this
// server.
func (s *Server) Sockets() []*Socket { return s.Of("/").Sockets() }

// Socket returns the socket of the main namespace connected to this server
// with this id, or nil (io.sockets.sockets.get(id) in the official API).
func (s *Server) Socket(id string) *Socket { return s.Of("/").Socket(id) }

// FetchSockets describes the sockets of the main namespace.
func (s *Server) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return s.Of("/").FetchSockets(ctx)
}

// SocketsJoin makes every socket of the main namespace join rooms.
func (s *Server) SocketsJoin(rooms ...string) error { return s.Of("/").SocketsJoin(rooms...) }

// SocketsLeave makes every socket of the main namespace leave rooms.
func (s *Server) SocketsLeave(rooms ...string) error { return s.Of("/").SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket of the main namespace.
func (s *Server) DisconnectSockets(close bool) error { return s.Of("/").DisconnectSockets(close) }

// ListenAndServe listens on the TCP address addr and serves the Socket.IO
// server at Options.Path until Shutdown or Close is called, then returns
// ErrServerClosed. Shutdown and Close close the listener before anything
// else, so that clients reconnecting at once reach the next process, not
// this one. For anything more (TLS, other routes, timeouts), mount the
// Server on your own http.Server instead; see Shutdown for the order.
func (s *Server) ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Serve is ListenAndServe on an existing listener. It may be called for
// several listeners; Shutdown and Close close them all.
func (s *Server) Serve(ln net.Listener) error {
	s.shutdownMu.Lock()
	if s.closed {
		s.shutdownMu.Unlock()
		_ = ln.Close()
		return ErrServerClosed
	}
	if s.httpSrv == nil {
		mux := http.NewServeMux()
		mux.Handle(s.opts.Path, s)
		s.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		lnClosed := make(chan struct{})
		s.lnClosed = lnClosed
		s.httpSrv.RegisterOnShutdown(func() { close(lnClosed) })
		// Long-polling requests for the path skip net/http's per-request
		// machinery; the rest (other paths, HTTP/2, odd requests) is
		// net/http's. See internal/h1.
		s.fastSrv = &h1.Server{Path: s.opts.Path, Handler: s, Fallback: s.httpSrv, ReadHeaderTimeout: 10 * time.Second}
	}
	fs := s.fastSrv
	s.shutdownMu.Unlock()
	err := fs.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return ErrServerClosed
	}
	return err
}

func (s *Server) isClosed() bool {
	s.shutdownMu.Lock()
	defer s.shutdownMu.Unlock()
	return s.closed
}

// Shutdown stops the server gracefully. In order, it:
//
//  1. closes the listeners of ListenAndServe and Serve (and the idle
//     connections), so that clients reconnecting at once reach the next
//     process; handshakes that still arrive are refused with 503;
//  2. disconnects every socket with "server shutting down";
//  3. closes every connection: a WebSocket gets what was queued for it,
//     then a close frame, as from the official server's io.close(); a
//     pending long-polling GET ends without a response, as when the
//     official server's process exits, because the CLOSE packet io.close()
//     answers makes python-socketio give up instead of reconnecting;
//  4. closes the adapters and waits until the HTTP requests in flight and
//     every goroutine the server started (handlers included) have
//     returned, or ctx ends.
//
// When the Server is mounted on your own http.Server, call
// http.Server.Shutdown and have it start this Shutdown once its listeners
// are closed: http.Server.Shutdown neither closes WebSockets nor releases
// long-polls, and waits for the latter.
//
//	drained := make(chan error, 1)
//	hs.RegisterOnShutdown(func() { drained <- io.Shutdown(ctx) })
//	err := hs.Shutdown(ctx)
//	err = errors.Join(err, <-drained)
//
// It returns ErrServerClosed if the server was already shut down.
func (s *Server) Shutdown(ctx context.Context) error { return s.shutdown(ctx, true) }

// Close is Shutdown without the grace: the listeners are closed, then
// every connection at once, without flushing. Clients see what Shutdown
// causes and reconnect the same way. It still waits for the server's
// goroutines (handlers included) to return. It may follow a Shutdown whose
// ctx ended, to finish closing what that left open. Mounted on your own
// http.Server, call it from a RegisterOnShutdown hook as shown for
// Shutdown.
func (s *Server) Close() error { return s.shutdown(context.Background(), false) }

func (s *Server) shutdown(ctx context.Context, graceful bool) error {
	s.shutdownMu.Lock()
	already, forced := s.closed, s.forced
	s.closed = true
	if !graceful {
		s.forced = true
	}
	hs, lnClosed := s.fastSrv, s.lnClosed
	s.shutdownMu.Unlock()
	if (graceful && already) || (!graceful && forced) {
		return ErrServerClosed
	}
	s.mu.RLock()
	nsps := make([]*Namespace, 0, len(s.nsps))
	for _, nsp := range s.nsps {
		nsps = append(nsps, nsp)
	}
	s.mu.RUnlock()
	if already {
		// Close after a Shutdown that timed out: finish the job.
		err := s.engine.Close()
		if hs != nil {
			_ = hs.Close()
		}
		return s.waitTasks(ctx, err)
	}
	// First stop accepting. http.Server.Shutdown closes the listeners,
	// runs its shutdown hooks (one closes lnClosed), then waits for the
	// requests in flight, among them the long-polls released below. Close
	// gives it a done context: it closes the listeners and returns.
	var httpDone chan error
	if hs != nil {
		hctx := ctx
		if !graceful {
			c, cancel := context.WithCancel(context.Background())
			cancel()
			hctx = c
		}
		httpDone = make(chan error, 1)
		go func() { httpDone <- hs.Shutdown(hctx) }()
		<-lnClosed
	}
	for _, nsp := range nsps {
		for _, sock := range nsp.localSockets() {
			sock.onClose(ReasonServerShuttingDown, nil)
		}
	}
	var err error
	if graceful {
		err = s.engine.Shutdown(ctx)
	} else {
		err = s.engine.Close()
	}
	for _, nsp := range nsps {
		if cerr := nsp.adapter.Close(ctx); cerr != nil && err == nil {
			err = cerr
		}
	}
	if hs != nil {
		herr := <-httpDone
		if graceful && herr != nil && err == nil {
			err = herr
		}
		if !graceful {
			_ = hs.Close()
		}
	}
	return s.waitTasks(ctx, err)
}

// waitTasks ends a shutdown: it waits for the server's goroutines, ends the
// idle ones, and returns err (the engine's ErrServerClosed aside) or else
// the first error of the waits.
func (s *Server) waitTasks(ctx context.Context, err error) error {
	if werr := s.tasks.Wait(ctx); werr != nil && err == nil {
		err = werr
	}
	if werr := s.tasks.Stop(ctx); werr != nil && err == nil {
		err = werr
	}
	if errors.Is(err, engineio.ErrServerClosed) {
		err = nil
	}
	return err
}
