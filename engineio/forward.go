package engineio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ForwardedHeader is the request header a server adds to a request it
// forwards to the server that owns the session; its value is the node id of
// the forwarding server. A request carrying it is never forwarded again:
// if its session is not found on the server it reaches, it is refused as a
// request with an unknown session id.
const ForwardedHeader = "X-Engineio-Forwarded"

// ErrUnknownNode is the error a [NodeResolver] returns for a node id it does
// not know.
var ErrUnknownNode = errors.New("engineio: unknown node")

// NodeResolver finds the server that owns a session, from the node id
// embedded in its session id (see [ForwardingOptions]).
type NodeResolver interface {
	// ResolveNode returns the base URL of the server whose node id is
	// nodeID: a scheme, a host and a port ("http://10.0.0.7:3000"), and
	// optionally a path prefix put before the path of the forwarded
	// request. An error (ErrUnknownNode for a node it does not know) makes
	// the server answer the request as one with an unknown session id.
	// ctx is the context of the request being forwarded. ResolveNode is
	// called for every forwarded request: cache what is slow to find.
	ResolveNode(ctx context.Context, nodeID string) (string, error)
}

// NodeResolverFunc adapts a function to the [NodeResolver] interface.
type NodeResolverFunc func(ctx context.Context, nodeID string) (string, error)

// ResolveNode returns f(ctx, nodeID).
func (f NodeResolverFunc) ResolveNode(ctx context.Context, nodeID string) (string, error) {
	return f(ctx, nodeID)
}

// StaticResolver is a [NodeResolver] for a fixed set of servers: it maps
// each node id to the base URL of its server.
type StaticResolver map[string]string

// ResolveNode returns the base URL of nodeID, or an error wrapping
// ErrUnknownNode when the map has none.
func (m StaticResolver) ResolveNode(_ context.Context, nodeID string) (string, error) {
	if u, ok := m[nodeID]; ok {
		return u, nil
	}
	return "", fmt.Errorf("%w %q", ErrUnknownNode, nodeID)
}

// ForwardingOptions lets a server run behind a load balancer without sticky
// sessions. The server embeds its node id in the session ids it issues; a
// long-polling request, or a WebSocket upgrade request with a session id,
// that reaches a server which does not own the session is forwarded to the
// owner, found with the Resolver, and the owner's answer is relayed
// (streamed, the WebSocket included). A request for a node the resolver does
// not know, for an owner that does not answer, or already forwarded once
// (see [ForwardedHeader]) is answered as the official server answers an
// unknown session id: HTTP 400 with {"code":1,"message":"Session ID unknown"}.
//
// Every server of the cluster must be mounted on the same path and have the
// same options (transports, CORS, limits).
type ForwardingOptions struct {
	// NodeID identifies the server in the cluster: 1 to 32 characters
	// among A-Z, a-z, 0-9, '-' and '_', unique in the cluster. Session ids
	// become the node id followed by 20 random characters. Required.
	NodeID string
	// Resolver finds the base URL of a server from its node id. Required.
	Resolver NodeResolver
	// Transport sends the forwarded requests. Nil means a transport of the
	// server's own, which uses no proxy, dials within 5s, waits at most
	// PingInterval+PingTimeout+5s for the response headers (a long-polling
	// GET is answered within PingInterval) and is closed with the server.
	Transport http.RoundTripper
}

// sidRandomLen is the length of the random part of a session id.
const sidRandomLen = 20

// maxNodeIDLen is the longest node id accepted.
const maxNodeIDLen = 32

// validNodeID reports whether id can be embedded in session ids: the
// base64url alphabet keeps the ids URL- and cookie-safe.
func validNodeID(id string) bool {
	if id == "" || len(id) > maxNodeIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// nodeOf returns the node id embedded in sid, or "" when it has none.
func nodeOf(sid string) string {
	if len(sid) <= sidRandomLen {
		return ""
	}
	return sid[:len(sid)-sidRandomLen]
}

// forwarder relays the requests of sessions owned by other servers.
type forwarder struct {
	srv      *Server
	self     string
	resolver NodeResolver
	rt       http.RoundTripper
	own      *http.Transport // the transport the server made, or nil

	draining atomic.Bool // Shutdown started: no keep-alive, no new pipe

	mu     sync.Mutex
	closed bool  // Close was called: nothing new is forwarded
	all    gauge // forwarded requests in flight
	piped  gauge // forwarded WebSocket upgrades in flight

	cutAllCtx context.Context // canceled by Close: cuts every forward
	cutAll    context.CancelFunc
	pipes     context.Context // canceled by Shutdown: cuts the WebSocket pipes
	cutPipes  context.CancelFunc
}

// gauge counts requests in flight; guarded by forwarder.mu.
type gauge struct {
	n    int
	idle chan struct{} // closed when n drops to 0, if someone waits
}

func (g *gauge) done() {
	g.n--
	if g.n == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
}

func newForwarder(s *Server, o *ForwardingOptions) *forwarder {
	f := &forwarder{srv: s, self: o.NodeID, resolver: o.Resolver, rt: o.Transport}
	if f.rt == nil {
		c := s.cfg
		f.own = &http.Transport{
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       30 * time.Second,
			ResponseHeaderTimeout: c.pingInterval + c.pingTimeout + 5*time.Second,
		}
		f.rt = f.own
	}
	f.cutAllCtx, f.cutAll = context.WithCancel(context.Background())
	f.pipes, f.cutPipes = context.WithCancel(f.cutAllCtx)
	return f
}

// serve forwards r to the owner of sid and reports true, or reports false
// when this server owns sid (or sid names no node) and must serve r itself.
func (f *forwarder) serve(w http.ResponseWriter, r *http.Request, sid string, isUpgrade bool) bool {
	owner := nodeOf(sid)
	if owner == "" || owner == f.self {
		return false
	}
	s := f.srv
	if from := r.Header.Get(ForwardedHeader); from != "" {
		s.refuse(w, r, isUpgrade, newRequestError(CodeUnknownSID, "sid "+strconv.Quote(sid)+" of node "+strconv.Quote(owner)+" forwarded by "+strconv.Quote(from)+": no second hop"))
		return true
	}
	limit := s.cfg.maxBufferSize
	if !isUpgrade && r.Method == http.MethodPost {
		if r.ContentLength > limit {
			s.cfg.logger.Debug("engineio: POST body too large", "sid", sid, "length", r.ContentLength)
			if r.ContentLength <= maxDiscard {
				_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxDiscard))
			}
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return true
		}
		// A body must arrive within pingTimeout, as on the owner.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.pingTimeout))
		r.Body = http.MaxBytesReader(w, r.Body, limit)
	} else if !isUpgrade {
		// A long poll outlives any write timeout of the http.Server.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	}

	cut := f.begin(isUpgrade)
	if cut == nil {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return true
	}
	defer f.end(isUpgrade)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(cut, cancel)()

	base, err := f.resolver.ResolveNode(ctx, owner)
	if err != nil {
		s.cfg.logger.Debug("engineio: cannot forward", "sid", sid, "node", owner, "err", err)
		s.refuse(w, r, isUpgrade, newRequestError(CodeUnknownSID, fmt.Sprintf("sid %q: node %q: %v", sid, owner, err)))
		return true
	}
	target, err := url.Parse(base)
	if err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
		s.cfg.logger.Warn("engineio: bad base URL from the NodeResolver", "node", owner, "url", base, "err", err)
		s.refuse(w, r, isUpgrade, newRequestError(CodeUnknownSID, fmt.Sprintf("sid %q: node %q: bad base URL %q", sid, owner, base)))
		return true
	}
	rp := &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { f.rewrite(pr, target) },
		Transport:     f.rt,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				w.WriteHeader(http.StatusRequestEntityTooLarge)
				return
			}
			if r.Context().Err() == nil {
				s.cfg.logger.Warn("engineio: forwarding failed", "sid", sid, "node", owner, "url", base, "err", err)
			}
			s.refuse(w, r, isUpgrade, newRequestError(CodeUnknownSID, fmt.Sprintf("sid %q: node %q: %v", sid, owner, err)))
		},
	}
	rp.ServeHTTP(w, r.WithContext(ctx))
	return true
}

// rewrite makes the request sent to the owner: same method, path (as the
// client sent it, before any prefix stripping), query, headers and host,
// plus X-Forwarded-* and ForwardedHeader.
func (f *forwarder) rewrite(pr *httputil.ProxyRequest, target *url.URL) {
	in, out := pr.In, pr.Out
	path, rawPath := in.URL.Path, in.URL.RawPath
	if in.RequestURI != "" {
		if u, err := url.ParseRequestURI(in.RequestURI); err == nil {
			path, rawPath = u.Path, u.RawPath
		}
	}
	out.URL.Scheme = target.Scheme
	out.URL.Host = target.Host
	prefix := strings.TrimSuffix(target.Path, "/")
	out.URL.Path = prefix + path
	out.URL.RawPath = ""
	if rawPath != "" {
		out.URL.RawPath = strings.TrimSuffix(target.EscapedPath(), "/") + rawPath
	}
	// The owner checks the Origin against the Host the client used.
	out.Host = in.Host
	pr.SetXForwarded()
	out.Header.Set(ForwardedHeader, f.self)
	if f.draining.Load() {
		out.Close = true // keep no idle connection once shutting down
	}
}

// begin registers a forward and returns the context whose end cuts it, or
// nil when the server no longer forwards such a request.
func (f *forwarder) begin(upgrade bool) context.Context {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || (upgrade && f.draining.Load()) {
		return nil
	}
	f.all.n++
	if upgrade {
		f.piped.n++
		return f.pipes
	}
	return f.cutAllCtx
}

func (f *forwarder) end(upgrade bool) {
	f.mu.Lock()
	f.all.done()
	if upgrade {
		f.piped.done()
	}
	f.mu.Unlock()
	if f.draining.Load() && f.own != nil {
		f.own.CloseIdleConnections()
	}
}

// wait waits until g drops to zero, or ctx ends.
func (f *forwarder) wait(ctx context.Context, g *gauge) error {
	f.mu.Lock()
	if g.n == 0 {
		f.mu.Unlock()
		return nil
	}
	if g.idle == nil {
		g.idle = make(chan struct{})
	}
	idle := g.idle
	f.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// shutdown starts a Shutdown: the WebSocket pipes are cut (as the
// server's own WebSockets are closed), no new one is forwarded, and it
// waits for them to return, or ctx to end. Long-polling requests are still
// forwarded, so that the sessions of the other servers survive while the
// load balancer still sends requests here; they end with the http.Server,
// as any other request, and keep no idle connection.
func (f *forwarder) shutdown(ctx context.Context) error {
	f.draining.Store(true)
	f.cutPipes()
	if f.own != nil {
		f.own.CloseIdleConnections()
	}
	return f.wait(ctx, &f.piped)
}

// close cuts every forward in flight, refuses new ones and waits for those
// in flight to return.
func (f *forwarder) close() {
	f.draining.Store(true)
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.cutAll()
	_ = f.wait(context.Background(), &f.all) // every forward was cut: they return at once
	if f.own != nil {
		f.own.CloseIdleConnections()
	}
}
