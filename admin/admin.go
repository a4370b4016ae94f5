// Package admin serves the official Socket.IO Admin UI
// (https://admin.socket.io, npm @socket.io/admin-ui 0.5) for a
// socketio.Server: it speaks the protocol of the package's server part,
// instrument(), on an admin namespace ("/admin" by default), so that the
// dashboard shows the server's connections, namespaces, sockets, rooms and
// events, and can make sockets join or leave rooms, disconnect them, or emit
// to them.
//
// Nothing runs unless Instrument is called. It lives in its own module
// because it needs golang.org/x/crypto/bcrypt for the password.
//
// In a cluster, instrument every server: the dashboard connects to one of
// them, what the admin namespace emits reaches the dashboard through the
// adapter whichever server emits it, the socket list is fetched from every
// server (FetchSockets) and actions go through the adapter too.
package admin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/parser"
)

// Defaults of Options.
const (
	DefaultNamespace     = "/admin"
	DefaultStatsInterval = 2 * time.Second
)

var (
	// ErrNoAuth is returned by Instrument when Options sets neither Auth
	// nor NoAuth: the dashboard can disconnect every client, so leaving it
	// open must be a decision.
	ErrNoAuth = errors.New("admin: set Options.Auth, or Options.NoAuth to disable authentication")
	// ErrInvalidHash is returned by Instrument when Options.Auth's
	// PasswordHash is not a bcrypt hash.
	ErrInvalidHash = errors.New("admin: Options.Auth.PasswordHash must be a bcrypt hash")
	// errCredentials is the refusal the dashboard gets; its text is the
	// official one, which the dashboard shows.
	errCredentials = errors.New("invalid credentials")
)

// BasicAuth is a user name and a bcrypt hash of the password, as the
// official auth option {type: "basic", username, password}. A hash can be
// made with golang.org/x/crypto/bcrypt's GenerateFromPassword, or any
// bcrypt tool ("$2a$", "$2b$" or "$2y$" hashes).
type BasicAuth struct {
	Username     string
	PasswordHash string
}

// SessionStore keeps the ids of the sessions the dashboard opened by
// logging in, so that it can reconnect without the password (the official
// store option). Servers of a cluster should share one.
type SessionStore interface {
	// Exists reports whether id was saved.
	Exists(ctx context.Context, id string) (bool, error)
	// Save stores id.
	Save(ctx context.Context, id string) error
}

// Options configures Instrument. The zero value of each field selects the
// default of the official instrument(), except that one of Auth and NoAuth
// must be set.
type Options struct {
	// Namespace is the namespace the dashboard connects to. Zero means
	// "/admin" (namespaceName).
	Namespace string
	// Auth requires the dashboard to log in with this user name and
	// password.
	Auth *BasicAuth
	// NoAuth lets anyone who can reach the server use the dashboard
	// (auth: false).
	NoAuth bool
	// ReadOnly disables the actions (join, leave, disconnect, emit): the
	// dashboard only shows.
	ReadOnly bool
	// ServerID names this server in the dashboard. Zero means the host
	// name.
	ServerID string
	// Production stops the per-socket reports (socket list, connections,
	// rooms, events), which cost a message to the dashboard for each;
	// only the periodic statistics remain (mode: "production"). Zero
	// means development mode, as the official default.
	Production bool
	// StatsInterval is the time between two server_stats messages. Zero
	// means 2s.
	StatsInterval time.Duration
	// Sessions keeps the dashboard's sessions. Nil means in memory (lost
	// at restart, not shared between servers).
	Sessions SessionStore
}

// Admin is an instrumented server. Close stops it.
type Admin struct {
	socketio.NopObserver

	srv      *socketio.Server
	nsp      *socketio.Namespace
	opts     Options
	features []string
	hostname string
	events   eventBuffer

	off atomic.Bool // Close was called

	mu       sync.Mutex
	nsps     map[string]*socketio.Namespace
	conns    map[string][]*socketio.Socket // sockets by connection id, for upgrades
	pending  map[*socketio.Socket]string   // sessions to send once connected
	closed   bool
	done     chan struct{}
	finished chan struct{}
}

// Feature names of the config message.
const (
	featureEmit             = "EMIT"
	featureJoin             = "JOIN"
	featureLeave            = "LEAVE"
	featureDisconnect       = "DISCONNECT"
	featureMJoin            = "MJOIN"
	featureMLeave           = "MLEAVE"
	featureMDisconnect      = "MDISCONNECT"
	featureAggregatedEvents = "AGGREGATED_EVENTS"
	featureAllEvents        = "ALL_EVENTS"
)

// Instrument serves the Admin UI protocol on srv: it creates the admin
// namespace, with its authentication middleware, observes the server (see
// socketio.Observer) and emits statistics every Options.StatsInterval
// until Close. The dashboard is then pointed at the server's URL, with the
// server's path ("/socket.io/" by default); for a dashboard served from
// another origin (such as https://admin.socket.io), allow that origin in
// socketio.Options.CORS with Credentials.
func Instrument(srv *socketio.Server, opts Options) (*Admin, error) {
	if opts.Auth == nil && !opts.NoAuth {
		return nil, ErrNoAuth
	}
	if opts.Auth != nil {
		if _, err := bcrypt.Cost([]byte(opts.Auth.PasswordHash)); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidHash, err)
		}
	}
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.StatsInterval <= 0 {
		opts.StatsInterval = DefaultStatsInterval
	}
	if opts.Sessions == nil {
		opts.Sessions = &memorySessions{ids: make(map[string]struct{})}
	}
	host, _ := os.Hostname()
	if opts.ServerID == "" {
		opts.ServerID = host
	}
	a := &Admin{
		srv:      srv,
		opts:     opts,
		hostname: host,
		nsps:     make(map[string]*socketio.Namespace),
		conns:    make(map[string][]*socketio.Socket),
		pending:  make(map[*socketio.Socket]string),
		done:     make(chan struct{}),
		finished: make(chan struct{}),
	}
	if !opts.ReadOnly {
		a.features = []string{featureEmit, featureJoin, featureLeave, featureDisconnect, featureMJoin, featureMLeave, featureMDisconnect}
	}
	a.features = append(a.features, featureAggregatedEvents)
	if !opts.Production {
		a.features = append(a.features, featureAllEvents)
	}
	a.nsp = srv.Of(opts.Namespace)
	if opts.Auth != nil {
		a.nsp.Use(a.authenticate)
	}
	a.nsp.OnConnection(a.onAdminConnection)
	srv.Observe(a)
	go a.statsLoop()
	return a, nil
}

// Close stops the statistics and the reports. The admin namespace stays,
// and so do the dashboards connected to it.
func (a *Admin) Close() {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		<-a.finished
		return
	}
	a.closed = true
	a.off.Store(true)
	close(a.done)
	a.mu.Unlock()
	<-a.finished
}

func (a *Admin) stopped() bool { return a.off.Load() }

// authenticate is the admin namespace's middleware: a session id saved at
// an earlier login, or the user name and password.
func (a *Admin) authenticate(ctx context.Context, s *socketio.Socket) error {
	auth := s.Handshake().Auth
	if id, _ := auth["sessionId"].(string); id != "" {
		ok, err := a.opts.Sessions.Exists(ctx, id)
		if err != nil {
			return fmt.Errorf("admin: session store: %w", err)
		}
		if ok {
			return nil
		}
	}
	user, _ := auth["username"].(string)
	password, _ := auth["password"].(string)
	want := a.opts.Auth
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(want.Username)) == 1
	// Compare the password even for a wrong user name, so that the time
	// taken does not tell which one was wrong.
	pwErr := bcrypt.CompareHashAndPassword([]byte(want.PasswordHash), []byte(password))
	if !userOK || pwErr != nil {
		return errCredentials
	}
	id := randomID()
	if err := a.opts.Sessions.Save(ctx, id); err != nil {
		return fmt.Errorf("admin: session store: %w", err)
	}
	a.mu.Lock()
	a.pending[s] = id
	a.mu.Unlock()
	// Forgotten when the socket connects (onAdminConnection), or when it
	// goes away before.
	context.AfterFunc(s.Context(), func() {
		a.mu.Lock()
		delete(a.pending, s)
		a.mu.Unlock()
	})
	return nil
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// onAdminConnection greets a dashboard: its session id if it logged in,
// the features, the sockets; then it listens for its actions.
func (a *Admin) onAdminConnection(s *socketio.Socket) {
	a.mu.Lock()
	id, ok := a.pending[s]
	delete(a.pending, s)
	a.mu.Unlock()
	if ok {
		_ = s.Emit("session", id)
	}
	if !a.opts.ReadOnly {
		a.registerActions(s)
	}
	_ = s.Emit("config", map[string]any{"supportedFeatures": a.features})
	if !a.opts.Production {
		_ = s.Emit("all_sockets", a.allSockets(s.Context()))
	}
}

// namespaces returns the namespaces of the server.
func (a *Admin) namespaces() []*socketio.Namespace {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*socketio.Namespace, 0, len(a.nsps))
	for _, n := range a.nsps {
		out = append(out, n)
	}
	return out
}

// namespace returns the namespace name if it exists: the dashboard's
// actions never create one.
func (a *Admin) namespace(name string) *socketio.Namespace {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.nsps[name]
}

// allSockets describes the sockets of every namespace, on every server.
func (a *Admin) allSockets(ctx context.Context) []map[string]any {
	out := []map[string]any{}
	for _, n := range a.namespaces() {
		socks, err := n.FetchSockets(ctx)
		if err != nil {
			continue
		}
		for _, rs := range socks {
			out = append(out, serializeRemote(n, rs))
		}
	}
	return out
}

// registerActions handles the dashboard's actions, as the official server
// does for Socket.IO v4: each applies to the sockets of a namespace, or of
// a room of it (the filter), on every server.
func (a *Admin) registerActions(s *socketio.Socket) {
	s.On("emit", func(e *socketio.Event) {
		var nsp, filter, ev string
		args := e.Args()
		if args.Len() < 3 || json.Unmarshal(args.Raw(0), &nsp) != nil || json.Unmarshal(args.Raw(2), &ev) != nil {
			return
		}
		_ = json.Unmarshal(args.Raw(1), &filter) // null: the whole namespace
		if op := a.operator(nsp, filter); op != nil {
			_ = op.Emit(ev, args.Spread()[3:]...)
		}
	})
	roomAction := func(apply func(op *socketio.BroadcastOperator, room string) error) socketio.EventHandler {
		return func(e *socketio.Event) {
			var nsp, room, filter string
			args := e.Args()
			if args.Len() < 2 || json.Unmarshal(args.Raw(0), &nsp) != nil || json.Unmarshal(args.Raw(1), &room) != nil {
				return
			}
			if args.Len() > 2 {
				_ = json.Unmarshal(args.Raw(2), &filter)
			}
			if op := a.operator(nsp, filter); op != nil {
				_ = apply(op, room)
			}
		}
	}
	s.On("join", roomAction(func(op *socketio.BroadcastOperator, room string) error { return op.SocketsJoin(room) }))
	s.On("leave", roomAction(func(op *socketio.BroadcastOperator, room string) error { return op.SocketsLeave(room) }))
	s.On("_disconnect", func(e *socketio.Event) {
		var (
			nsp, filter string
			closeConn   bool
		)
		args := e.Args()
		if args.Len() < 2 || json.Unmarshal(args.Raw(0), &nsp) != nil {
			return
		}
		_ = json.Unmarshal(args.Raw(1), &closeConn)
		if args.Len() > 2 {
			_ = json.Unmarshal(args.Raw(2), &filter)
		}
		if op := a.operator(nsp, filter); op != nil {
			_ = op.DisconnectSockets(closeConn)
		}
	})
}

// operator selects the sockets of namespace nsp, or of room filter in it.
func (a *Admin) operator(nsp, filter string) *socketio.BroadcastOperator {
	n := a.namespace(nsp)
	if n == nil {
		return nil
	}
	if filter != "" {
		return n.In(filter)
	}
	return n.Except() // every socket
}

// statsLoop emits server_stats at once, then every StatsInterval.
func (a *Admin) statsLoop() {
	defer close(a.finished)
	t := time.NewTicker(a.opts.StatsInterval)
	defer t.Stop()
	a.emitStats()
	for {
		select {
		case <-t.C:
			a.emitStats()
		case <-a.done:
			return
		case <-a.srv.Engine().Done():
			return
		}
	}
}

// serverStats is the server_stats message.
type serverStats struct {
	ServerID            string           `json:"serverId"`
	Hostname            string           `json:"hostname"`
	PID                 int              `json:"pid"`
	Uptime              float64          `json:"uptime"`
	ClientsCount        int              `json:"clientsCount"`
	PollingClientsCount int              `json:"pollingClientsCount"`
	AggregatedEvents    []aggEvent       `json:"aggregatedEvents"`
	Namespaces          []namespaceStats `json:"namespaces"`
}

type namespaceStats struct {
	Name         string `json:"name"`
	SocketsCount int    `json:"socketsCount"`
}

func (a *Admin) emitStats() {
	st := a.srv.Stats()
	msg := serverStats{
		ServerID:            a.opts.ServerID,
		Hostname:            a.hostname,
		PID:                 os.Getpid(),
		Uptime:              time.Since(st.Started).Seconds(),
		ClientsCount:        st.Connections,
		PollingClientsCount: st.PollingConnections,
		AggregatedEvents:    a.events.take(),
		Namespaces:          make([]namespaceStats, 0, len(st.Namespaces)),
	}
	for _, n := range st.Namespaces {
		msg.Namespaces = append(msg.Namespaces, namespaceStats{Name: n.Name, SocketsCount: n.Sockets})
	}
	_ = a.nsp.Emit("server_stats", msg)
}

// jsTime formats t as JSON.stringify(new Date()) does.
func jsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func now() string { return jsTime(time.Now()) }

// The socketio.Observer methods: what the dashboard is told.

// NamespaceCreated implements socketio.Observer.
func (a *Admin) NamespaceCreated(n *socketio.Namespace) {
	a.mu.Lock()
	a.nsps[n.Name()] = n
	a.mu.Unlock()
}

// ConnOpened implements socketio.Observer.
func (a *Admin) ConnOpened(string, string) {
	if !a.off.Load() {
		a.events.add("rawConnection", "", 1)
	}
}

// ConnClosed implements socketio.Observer.
func (a *Admin) ConnClosed(id string, reason socketio.DisconnectReason) {
	if !a.off.Load() {
		a.events.add("rawDisconnection", string(reason), 1)
	}
	a.mu.Lock()
	delete(a.conns, id)
	a.mu.Unlock()
}

// ConnUpgraded implements socketio.Observer.
func (a *Admin) ConnUpgraded(id string) {
	if a.opts.Production || a.stopped() {
		return
	}
	a.mu.Lock()
	socks := append([]*socketio.Socket(nil), a.conns[id]...)
	a.mu.Unlock()
	for _, s := range socks {
		_ = a.nsp.Emit("socket_updated", map[string]any{"id": s.ID(), "nsp": s.Namespace().Name(), "transport": "websocket"})
	}
}

// PacketReceived implements socketio.Observer.
func (a *Admin) PacketReceived(_ parser.Type, bytes int) {
	if !a.off.Load() {
		a.events.add2("packetsIn", 1, "bytesIn", bytes)
	}
}

// PacketsSent implements socketio.Observer.
func (a *Admin) PacketsSent(_ parser.Type, n, bytes int) {
	if !a.off.Load() {
		a.events.add2("packetsOut", n, "bytesOut", bytes)
	}
}

// SocketConnect implements socketio.Observer.
func (a *Admin) SocketConnect(s *socketio.Socket, _ time.Time, _ time.Duration, err error) {
	if err != nil {
		a.mu.Lock()
		delete(a.pending, s)
		a.mu.Unlock()
		return
	}
	if a.opts.Production || a.stopped() {
		return
	}
	a.mu.Lock()
	a.conns[s.ConnID()] = append(a.conns[s.ConnID()], s)
	a.mu.Unlock()
	n := s.Namespace()
	_ = a.nsp.Emit("socket_connected", serializeLocal(n, s, s.Rooms()), now())
	if n == a.nsp {
		return
	}
	name, id := n.Name(), s.ID()
	s.OnAny(func(e *socketio.Event) {
		if a.stopped() {
			return
		}
		args := append([]any{e.Name()}, e.Args().Spread()...)
		_ = a.nsp.Emit("event_received", name, id, args, now())
	})
	s.OnAnyOutgoing(func(event string, args []any) {
		if a.stopped() {
			return
		}
		_ = a.nsp.Emit("event_sent", name, id, append([]any{event}, args...), now())
	})
}

// SocketDisconnected implements socketio.Observer.
func (a *Admin) SocketDisconnected(s *socketio.Socket, reason socketio.DisconnectReason) {
	a.mu.Lock()
	list := a.conns[s.ConnID()]
	for i, x := range list {
		if x == s {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(a.conns, s.ConnID())
	} else {
		a.conns[s.ConnID()] = list
	}
	closed := a.closed
	a.mu.Unlock()
	if a.opts.Production || closed {
		return
	}
	_ = a.nsp.Emit("socket_disconnected", s.Namespace().Name(), s.ID(), string(reason), now())
}

// RoomJoined implements socketio.Observer.
func (a *Admin) RoomJoined(n *socketio.Namespace, id, room string) {
	if a.opts.Production || a.stopped() {
		return
	}
	_ = a.nsp.Emit("room_joined", n.Name(), room, id, now())
}

// RoomLeft implements socketio.Observer.
func (a *Admin) RoomLeft(n *socketio.Namespace, id, room string) {
	if a.opts.Production || a.stopped() {
		return
	}
	_ = a.nsp.Emit("room_left", n.Name(), room, id, now())
}

// Serialization of sockets, as the official serialize().

func serializeLocal(n *socketio.Namespace, s *socketio.Socket, rooms []string) map[string]any {
	return map[string]any{
		"id":        s.ID(),
		"clientId":  clientID(s.ConnID()),
		"transport": s.Transport(),
		"nsp":       n.Name(),
		"data":      socketData(s.Data()),
		"handshake": handshake(s.Handshake()),
		"rooms":     nonNil(rooms),
	}
}

// serializeRemote describes a fetched socket: with the connection details
// when it is on this server; from another server, those that a Node.js
// server with instrument() keeps in data._admin, if any.
func serializeRemote(n *socketio.Namespace, rs *socketio.RemoteSocket) map[string]any {
	if s := n.Socket(rs.ID()); s != nil {
		return serializeLocal(n, s, rs.Rooms())
	}
	m := map[string]any{
		"id":        rs.ID(),
		"nsp":       n.Name(),
		"data":      socketData(rs.Data()),
		"handshake": handshake(rs.Handshake()),
		"rooms":     nonNil(rs.Rooms()),
	}
	if d, ok := rs.Data().(map[string]any); ok {
		if ad, ok := d["_admin"].(map[string]any); ok {
			m["clientId"], m["transport"] = ad["clientId"], ad["transport"]
		}
	}
	return m
}

func clientID(connID string) string {
	if len(connID) > 12 {
		return connID[:12]
	}
	return connID
}

func nonNil(rooms []string) []string {
	if rooms == nil {
		return []string{}
	}
	return rooms
}

// socketData is the socket's data as the dashboard shows it: {} when
// unset, without the _admin field a Node.js server adds.
func socketData(d any) any {
	switch v := d.(type) {
	case nil:
		return map[string]any{}
	case map[string]any:
		if _, ok := v["_admin"]; ok {
			c := make(map[string]any, len(v))
			for k, x := range v {
				if k != "_admin" {
					c[k] = x
				}
			}
			return c
		}
	}
	return d
}

// handshake is the handshake as Node.js has it: lower-case header names
// with single values, single query values, the time as Date.toString().
// The auth payload is left out, as the official server does.
func handshake(h *socketio.Handshake) map[string]any {
	if h == nil {
		return map[string]any{}
	}
	headers := make(map[string]string, len(h.Headers))
	for k, v := range h.Headers {
		headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	query := make(map[string]string, len(h.Query))
	for k, v := range h.Query {
		if len(v) > 0 {
			query[k] = v[0]
		}
	}
	address := h.Address
	if v := headers["cf-connecting-ip"]; v != "" {
		address = v
	} else if v := headers["x-forwarded-for"]; v != "" {
		address = v
	}
	return map[string]any{
		"address": address,
		"headers": headers,
		"query":   query,
		"issued":  h.Issued,
		"secure":  h.Secure,
		"time":    h.Time.Format("Mon Jan 02 2006 15:04:05 GMT-0700 (MST)"),
		"url":     h.URL,
		"xdomain": h.XDomain,
	}
}

// memorySessions is the default SessionStore.
type memorySessions struct {
	mu  sync.Mutex
	ids map[string]struct{}
}

func (m *memorySessions) Exists(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.ids[id]
	return ok, nil
}

func (m *memorySessions) Save(_ context.Context, id string) error {
	m.mu.Lock()
	m.ids[id] = struct{}{}
	m.mu.Unlock()
	return nil
}
