package socketio

import (
	"context"
	"errors"
	"iter"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/engineio/packet"
	"github.com/socketio-go/socketio/internal/sioargs"
	"github.com/socketio-go/socketio/parser"
)

// adapterInitTimeout bounds the initialisation of a namespace's adapter.
const adapterInitTimeout = 30 * time.Second

// connectPacing is the pause between writing a CONNECT packet and sending
// what the connection handlers sent (see conn.holdSends).
const connectPacing = time.Millisecond

// Middleware runs when a socket connects to a namespace, before the
// connection handlers. Returning an error refuses the connection: the
// client gets a connect_error with the error's message (and, for a
// *ConnectError, its Data). ctx is cancelled if the client goes away
// meanwhile.
type Middleware func(ctx context.Context, s *Socket) error

// Namespace is a communication channel multiplexed on the connections of a
// server ("/" is the main one). Sockets connect to namespaces; broadcasts
// and rooms are per namespace.
type Namespace struct {
	srv     *Server
	name    string
	adapter adapter.Adapter
	store   adapter.SessionStore // the adapter, when recovery is on and it supports it
	parent  *ParentNamespace
	ackIDs  atomic.Int64

	serverEvents serverEvents

	// roomLocks serialise, per socket id, what changes the id's rooms: a
	// socket's Join and Leave and its close, and the recovery of a socket
	// with the same id.
	roomLocks [32]sync.Mutex

	mu           sync.RWMutex
	connecting   int                // sockets between CONNECT and their registration or refusal
	removed      bool               // an empty child namespace removed from the server (CleanupEmptyChildNamespaces)
	sockets      map[string]*Socket // connected sockets by id
	pids         map[string]*Socket // connected sockets by pid, when recovery is on
	middlewares  []Middleware
	onConnection []func(*Socket)
}

func newNamespace(srv *Server, name string) *Namespace {
	n := &Namespace{srv: srv, name: name, sockets: make(map[string]*Socket)}
	n.serverEvents.disp = dispatcher{limit: srv.eventQueueSize, srv: srv}
	n.adapter = srv.adapterFactory(nsHost{n})
	ctx, cancel := context.WithTimeout(context.Background(), adapterInitTimeout)
	defer cancel()
	if err := n.adapter.Init(ctx); err != nil {
		srv.logger.Error("socketio: adapter init failed", "nsp", name, "err", err)
	}
	if srv.recovery != nil {
		if st, ok := n.adapter.(adapter.SessionStore); ok {
			n.store = st
			n.pids = make(map[string]*Socket)
			if rc, ok := st.(adapter.RecoveryConfigurer); ok {
				rc.ConfigureRecovery(srv.recovery.MaxDisconnectionDuration)
			}
		} else {
			srv.logger.Warn("socketio: the adapter does not implement adapter.SessionStore: no connection state recovery", "nsp", name)
		}
	}
	return n
}

// Name returns the namespace name, such as "/" or "/chat".
func (n *Namespace) Name() string { return n.name }

// Server returns the server of the namespace.
func (n *Namespace) Server() *Server { return n.srv }

// Adapter returns the adapter of the namespace.
func (n *Namespace) Adapter() adapter.Adapter { return n.adapter }

// Use adds a connection middleware. Middlewares run in the order they were
// added, on the connecting socket's own goroutine, for every connection
// attempt after the call.
func (n *Namespace) Use(mw Middleware) {
	n.mu.Lock()
	n.middlewares = append(n.middlewares, mw)
	n.mu.Unlock()
}

// OnConnection adds a handler called for every socket that connects to the
// namespace, after the middlewares accepted it and the client was told.
// The handlers of a socket run before any of its events is dispatched,
// which makes them the place to register event handlers. They run for every
// socket the client was told is connected, even one that disconnects right
// away, so that OnDisconnect handlers registered here always run.
func (n *Namespace) OnConnection(fn func(*Socket)) {
	n.mu.Lock()
	n.onConnection = append(n.onConnection, fn)
	n.mu.Unlock()
}

// Sockets returns the sockets connected to this namespace on this server.
func (n *Namespace) Sockets() []*Socket { return n.localSockets() }

// Socket returns the connected local socket with this id, or nil.
func (n *Namespace) Socket(id string) *Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.sockets[id]
}

func (n *Namespace) localSockets() []*Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	socks := make([]*Socket, 0, len(n.sockets))
	for _, s := range n.sockets {
		socks = append(socks, s)
	}
	return socks
}

func (n *Namespace) nextAckID() int64 { return n.ackIDs.Add(1) - 1 }

func (n *Namespace) handlers() ([]Middleware, []func(*Socket)) {
	var mws []Middleware
	var onConn []func(*Socket)
	if n.parent != nil {
		mws, onConn = n.parent.p.handlers()
	}
	n.mu.RLock()
	mws = append(mws, n.middlewares...)
	onConn = append(onConn, n.onConnection...)
	n.mu.RUnlock()
	return mws, onConn
}

// connect runs the middlewares for s and, if they accept it, connects it:
// its CONNECT packet is queued and the connection handlers run at once,
// while what they send waits until the CONNECT was written (see
// conn.holdSends).
func (n *Namespace) connect(s *Socket) {
	s.dispatcher.pushForce(func() {
		defer n.endConnect()
		mws, onConn := n.handlers()
		if s.Recovered() && !n.srv.recovery.RunMiddlewares {
			mws = nil // skipMiddlewares, as in the official server
		}
		mwStart := n.srv.observing()
		for _, mw := range mws {
			if err := mw(s.Context(), s); err != nil {
				n.connectDone(s, mwStart, time.Time{}, err)
				l := n.roomLock(s.id)
				l.Lock()
				closed := s.closed()
				if !closed {
					s.conn.remove(s)
					s.markClosed()
					n.adapter.DelAll(s.id) // rooms joined by a middleware
				}
				l.Unlock()
				// Once out of its rooms: a recovery may take it at once.
				s.unrestore()
				if closed {
					return
				}
				data, perr := s.conn.connectErrorPayload(err)
				if perr != nil {
					n.srv.logger.Error("socketio: cannot encode connect error", "err", perr)
					data = []byte(`{"message":"connect error"}`)
				}
				_ = s.conn.writePacket(&parser.Packet{Type: parser.ConnectError, Namespace: n.name, ID: parser.NoID, Data: data}, false)
				return
			}
		}
		mwEnd := n.srv.observing()
		if !s.markConnected() {
			s.unrestore()
			return
		}
		if s.rec != nil {
			if err := n.attach(s); err != nil {
				if errors.Is(err, adapter.ErrSessionGone) {
					// The events it missed were dropped after the
					// session was restored: close, so that the client
					// comes back for a new session.
					n.srv.logger.Warn("socketio: recovered session lost its missed events, closing", "sid", s.id, "nsp", n.name)
					s.conn.close()
				} else {
					s.onClose(ReasonTransportClose, err)
					s.unrestore() // once out of its rooms
				}
				return
			}
		} else {
			// In its own room first (under the room lock, see Join): once
			// the client is told it is connected, FetchSockets and
			// broadcasts find it.
			l := n.roomLock(s.id)
			l.Lock()
			if !s.closed() {
				n.adapter.AddAll(s.id, []string{s.id})
			}
			l.Unlock()
			// Registering the socket and queueing its CONNECT packet under
			// the namespace lock orders them with broadcasts (which hold
			// the read lock while delivering): a broadcast that reaches the
			// socket is queued after its CONNECT.
			var body []byte // no payload for a v2 client
			if !s.conn.v3 {
				body = appendConnectPayload(make([]byte, 0, 32), s.id, "")
			}
			var err error
			var held *connHold
			n.mu.Lock()
			// A close checks the map after it marked the socket closed:
			// register it only if it is not.
			if !s.closed() {
				n.sockets[s.id] = s
				err = s.conn.writePacket(&parser.Packet{Type: parser.Connect, Namespace: n.name, ID: parser.NoID, Data: body}, false)
				// Under the lock: a broadcast that reaches the socket
				// after its CONNECT is held with the rest.
				if err == nil {
					held = s.conn.holdSends()
				}
			}
			n.mu.Unlock()
			if err != nil {
				s.onClose(ReasonTransportClose, err)
				return
			}
			if held != nil {
				// Like the official server, the CONNECT packet goes out
				// on its own, before what the connection handlers send
				// (see holdSends), and the handlers run now.
				flushed := s.conn.sess.Flush()
				n.srv.tasks.Go(func() {
					s.conn.paced(flushed)
					s.conn.release(held)
				})
			}
		}
		if s.Connected() {
			s.conn.connected()
			n.connectDone(s, mwStart, mwEnd, nil)
		}
		if rec := s.rec; rec != nil {
			// A recovered socket: its CONNECT and what it missed go out
			// on their own before what the connection handlers send
			// (see holdSends); its rooms are restored already.
			s.conn.paced(s.conn.sess.Flush())
		}
		if rec := s.rec; rec != nil && rec.prevDone != nil {
			// A recovered socket: the disconnect handlers of its previous
			// connection (queued behind the handlers it was running) run
			// before its connection handlers. The client already has its
			// CONNECT and what it missed.
			select {
			case <-rec.prevDone:
			case <-s.Context().Done():
			}
			rec.prevDone = nil
		}
		// The handlers run even if the socket disconnected meanwhile: the
		// client was told it is connected, so every OnConnection is
		// followed by the OnDisconnect handlers it registered.
		for _, fn := range onConn {
			fn(s)
		}
	})
}

// appendConnectPayload appends the payload of a CONNECT reply: the socket
// id, and the private session id when recovery is on.
func appendConnectPayload(b []byte, sid, pid string) []byte {
	b = append(b, `{"sid":`...)
	b, _ = parser.AppendValue(b, sid, nil)
	if pid != "" {
		b = append(b, `,"pid":`...)
		b, _ = parser.AppendValue(b, pid, nil)
	}
	return append(b, '}')
}

// roomLock returns the lock of the rooms of socket id.
func (n *Namespace) roomLock(id string) *sync.Mutex {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return &n.roomLocks[h%uint32(len(n.roomLocks))]
}

// forgetPID removes a closed socket from the pid index.
func (n *Namespace) forgetPID(s *Socket) {
	n.mu.Lock()
	if n.pids[s.rec.pid] == s {
		delete(n.pids, s.rec.pid)
	}
	n.mu.Unlock()
}

// remove forgets a disconnected socket. A non-nil bye packet is queued for
// the client under the namespace lock, so that no broadcast follows it.
// The caller holds the socket id's room lock.
func (n *Namespace) remove(s *Socket, bye *parser.Packet) {
	n.mu.Lock()
	if n.sockets[s.id] == s {
		delete(n.sockets, s.id)
	}
	if bye != nil {
		_ = s.conn.writePacket(bye, false)
	}
	n.mu.Unlock()
	n.adapter.DelAll(s.id)
	n.cleanupIfEmpty()
}

// beginConnect counts a socket that starts connecting to the namespace. It
// reports false if the namespace was removed meanwhile: the caller looks it
// up again, which creates it anew.
func (n *Namespace) beginConnect() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.removed {
		return false
	}
	n.connecting++
	return true
}

// endConnect ends what beginConnect began, once the socket is registered,
// refused or gone.
func (n *Namespace) endConnect() {
	n.mu.Lock()
	n.connecting--
	n.mu.Unlock()
	n.cleanupIfEmpty()
}

// cleanupIfEmpty removes a child namespace (OfFunc, OfRegexp) that has no
// socket left, connected or connecting, when
// Options.CleanupEmptyChildNamespaces is set, as the official server does:
// the server forgets it and its adapter is closed. A later connection to
// the same name creates a new namespace.
func (n *Namespace) cleanupIfEmpty() {
	if n.parent == nil || !n.srv.opts.CleanupEmptyChildNamespaces || n.srv.isClosed() {
		return // (Shutdown and Close close every adapter themselves)
	}
	n.mu.Lock()
	if n.removed || n.connecting > 0 || len(n.sockets) > 0 {
		n.mu.Unlock()
		return
	}
	n.removed = true
	n.mu.Unlock()
	srv := n.srv
	srv.mu.Lock()
	if srv.nsps[n.name] == n {
		delete(srv.nsps, n.name)
	}
	srv.mu.Unlock()
	srv.logger.Debug("socketio: empty child namespace removed", "nsp", n.name)
	srv.tasks.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), adapterInitTimeout)
		defer cancel()
		if err := n.adapter.Close(ctx); err != nil {
			srv.logger.Warn("socketio: closing the adapter of a removed namespace", "nsp", n.name, "err", err)
		}
	})
}

// newEventPacket encodes an EVENT packet [event, args...].
func (n *Namespace) newEventPacket(event string, args []any) (*parser.Packet, error) {
	if parser.IsReservedEvent(event) {
		return nil, ErrReservedEvent
	}
	return n.newPacket(parser.Event, event, args)
}

func (n *Namespace) newPacket(t parser.Type, event string, args []any) (*parser.Packet, error) {
	p := &parser.Packet{Type: t, Namespace: n.name, ID: parser.NoID}
	var (
		data []byte
		err  error
	)
	buf := make([]byte, 0, encodedSizeHint(event, args))
	if t == parser.Event {
		values := make([]any, 0, len(args)+1)
		values = append(values, event)
		values = append(values, args...)
		data, err = parser.AppendArray(buf, &p.Attachments, values...)
	} else {
		data, err = parser.AppendArray(buf, &p.Attachments, args...)
	}
	if err != nil {
		return nil, err
	}
	p.Data = data
	return p, nil
}

// encodedSizeHint estimates the length of the JSON array of event (if
// any) and args, so that it is encoded into one allocation in the common
// cases (arguments passed on with Spread, strings, small values) rather
// than grown step by step.
func encodedSizeHint(event string, args []any) int {
	n := 2 + len(args)
	if event != "" {
		n += len(event) + 3
	}
	for _, a := range args {
		switch v := a.(type) {
		case parser.RawValue:
			n += len(v.JSON)
		case string:
			n += len(v) + 2
		case []byte:
			n += 32 // a placeholder
		default:
			n += 16
		}
	}
	return n
}

// Operators.

func (n *Namespace) operator() *BroadcastOperator { return &BroadcastOperator{nsp: n} }

// To selects the sockets in any of rooms for a broadcast.
func (n *Namespace) To(rooms ...string) *BroadcastOperator { return n.operator().To(rooms...) }

// In is To.
func (n *Namespace) In(rooms ...string) *BroadcastOperator { return n.operator().In(rooms...) }

// Except excludes the sockets in any of rooms from a broadcast.
func (n *Namespace) Except(rooms ...string) *BroadcastOperator { return n.operator().Except(rooms...) }

// Local restricts a broadcast to the sockets of this server.
func (n *Namespace) Local() *BroadcastOperator { return n.operator().Local() }

// Volatile marks a broadcast as droppable for sockets that cannot take it
// right now.
func (n *Namespace) Volatile() *BroadcastOperator { return n.operator().Volatile() }

// Compress sets the compress flag of a broadcast; see
// BroadcastOperator.Compress.
func (n *Namespace) Compress(compress bool) *BroadcastOperator {
	return n.operator().Compress(compress)
}

// Emit sends an event to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) error { return n.operator().Emit(event, args...) }

// EmitWithAck sends an event to every socket of the namespace and collects
// their acknowledgements. See BroadcastOperator.EmitWithAck.
func (n *Namespace) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return n.operator().EmitWithAck(ctx, event, args...)
}

// FetchSockets describes every socket of the namespace.
func (n *Namespace) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return n.operator().FetchSockets(ctx)
}

// SocketsJoin makes every socket of the namespace join rooms.
func (n *Namespace) SocketsJoin(rooms ...string) error { return n.operator().SocketsJoin(rooms...) }

// SocketsLeave makes every socket of the namespace leave rooms.
func (n *Namespace) SocketsLeave(rooms ...string) error { return n.operator().SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket of the namespace.
func (n *Namespace) DisconnectSockets(close bool) error {
	return n.operator().DisconnectSockets(close)
}

// nsHost is the adapter.Namespace view of a Namespace. It is a separate
// type so that its methods do not clutter the Namespace API.
type nsHost struct{ n *Namespace }

func (h nsHost) Name() string { return h.n.name }

func (h nsHost) Deliver(p *parser.Packet, flags adapter.BroadcastFlags, ids iter.Seq[adapter.SocketID]) {
	n := h.n
	pkts, err := n.srv.encode(p) // once for every recipient
	if err != nil {
		n.srv.logger.Error("socketio: cannot encode a broadcast", "nsp", n.name, "err", err)
		return
	}
	noCompress(pkts, flags.NoCompress)
	var notify []*Socket
	sent := 0
	n.mu.RLock()
	for id := range ids {
		if s := n.sockets[id]; s != nil {
			if s.conn.broadcast(pkts, flags.Volatile) == nil {
				sent++
			}
			if s.hasOutgoing.Load() {
				notify = append(notify, s)
			}
		}
	}
	n.mu.RUnlock()
	n.delivered(p.Type, pkts, sent)
	notifyOutgoing(notify, p)
}

// notifyOutgoing calls the outgoing handlers of the sockets a broadcast
// of p reached (socket.onAnyOutgoing sees broadcasts too), outside the
// namespace lock: a handler may emit or join.
func notifyOutgoing(socks []*Socket, p *parser.Packet) {
	if len(socks) == 0 {
		return
	}
	event, args, err := sioargs.ParseEvent(p.Data, p.Attachments)
	if err != nil {
		return // not an event: the packet was built by this server or an adapter
	}
	values := args.Spread()
	for _, s := range socks {
		s.notifyOutgoing(event, values)
	}
}

// DeliverAll delivers p to every socket of the namespace (an
// adapter.AllDeliverer): a broadcast with neither rooms nor exceptions
// walks the sockets themselves instead of looking each up by id.
func (h nsHost) DeliverAll(p *parser.Packet, flags adapter.BroadcastFlags) {
	n := h.n
	pkts, err := n.srv.encode(p) // once for every recipient
	if err != nil {
		n.srv.logger.Error("socketio: cannot encode a broadcast", "nsp", n.name, "err", err)
		return
	}
	noCompress(pkts, flags.NoCompress)
	var notify []*Socket
	sent := 0
	n.mu.RLock()
	for _, s := range n.sockets {
		if s.conn.broadcast(pkts, flags.Volatile) == nil {
			sent++
		}
		if s.hasOutgoing.Load() {
			notify = append(notify, s)
		}
	}
	n.mu.RUnlock()
	n.delivered(p.Type, pkts, sent)
	notifyOutgoing(notify, p)
}

func (h nsHost) DeliverWithAck(ctx context.Context, p *parser.Packet, flags adapter.BroadcastFlags, ids iter.Seq[adapter.SocketID], onAck func(adapter.AckResponse)) int {
	n := h.n
	p.ID = n.nextAckID()
	ackID := p.ID
	pkts, err := n.srv.encode(p)
	if err != nil {
		n.srv.logger.Error("socketio: cannot encode a broadcast", "nsp", n.name, "err", err)
		return 0
	}
	noCompress(pkts, flags.NoCompress)

	// When ctx ends, the sockets that have not answered forget the
	// acknowledgement; once all answered, nothing is left to forget.
	var (
		mu      sync.Mutex
		waiting []*Socket
		notify  []*Socket
		pending int
		stop    = func() bool { return false }
	)
	answered := func() {
		mu.Lock()
		pending--
		done, stopFn := pending == 0, stop
		mu.Unlock()
		if done {
			stopFn()
		}
	}
	n.mu.RLock()
	for id := range ids {
		s := n.sockets[id]
		if s == nil {
			continue
		}
		sid := s.id
		mu.Lock()
		pending++
		mu.Unlock()
		err := s.registerAck(ackID, func(r ackResult) {
			data, _ := r.args.MarshalJSON()
			onAck(adapter.AckResponse{Socket: sid, Data: data, Attachments: r.args.a.Atts, Err: r.err})
			answered()
		}, 0)
		if err != nil {
			answered()
			continue
		}
		if err := s.conn.broadcast(pkts, flags.Volatile); err != nil && s.unregisterAck(ackID) {
			answered()
			continue
		}
		// Sent, or the socket closed meanwhile and its callback already
		// reported it: either way it counts.
		waiting = append(waiting, s)
		if s.hasOutgoing.Load() {
			notify = append(notify, s)
		}
	}
	n.mu.RUnlock()
	n.delivered(p.Type, pkts, len(waiting))
	notifyOutgoing(notify, p)
	mu.Lock()
	count := len(waiting)
	if pending > 0 {
		n.srv.tasks.Add()
		stopAfter := context.AfterFunc(ctx, func() {
			defer n.srv.tasks.Done()
			for _, s := range waiting {
				s.unregisterAck(ackID)
			}
		})
		stop = func() bool {
			if stopAfter() {
				n.srv.tasks.Done() // the cleanup will never run
				return true
			}
			return false
		}
	}
	mu.Unlock()
	return count
}

func (h nsHost) SocketInfo(id adapter.SocketID) (adapter.SocketInfo, bool) {
	s := h.n.Socket(id)
	if s == nil {
		return adapter.SocketInfo{}, false
	}
	return adapter.SocketInfo{ID: s.id, Rooms: s.Rooms(), Handshake: s.Handshake(), Data: s.Data()}, true
}

func (h nsHost) ServerSideEvent(p *parser.Packet, ack func(reply *parser.Packet)) {
	h.n.onServerSideEmit(p, ack)
}

// ReplaceSocket closes the connection of the local socket of session pid,
// whose client recovered it on another server (adapter.SocketReplacer),
// and waits until the socket's session is kept, or ctx ends.
func (h nsHost) ReplaceSocket(ctx context.Context, pid string) {
	n := h.n
	n.mu.RLock()
	s := n.pids[pid]
	n.mu.RUnlock()
	if s == nil || s.rec == nil {
		return
	}
	if s.Connected() {
		n.srv.logger.Info("socketio: client recovers its session on another server, closing its connection here",
			"sid", s.id, "nsp", n.name, "conn", s.conn.sess.ID())
		s.conn.replace()
	}
	select {
	case <-s.rec.done:
	case <-ctx.Done():
	}
}

func (h nsHost) Disconnect(id adapter.SocketID, close bool) {
	if s := h.n.Socket(id); s != nil {
		s.Disconnect(close)
	}
}

// ParentNamespace groups the dynamic namespaces created by Server.OfFunc
// or Server.OfRegexp: its middlewares and connection handlers apply to each
// of them, and Emit reaches them all.
type ParentNamespace struct {
	p *parentNamespace
	s *Server
}

type parentNamespace struct {
	*ParentNamespace
	match func(name string, auth []byte) bool

	mu           sync.RWMutex
	middlewares  []Middleware
	onConnection []func(*Socket)
}

func (p *parentNamespace) handlers() ([]Middleware, []func(*Socket)) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return slices.Clone(p.middlewares), slices.Clone(p.onConnection)
}

// Use adds a connection middleware to every child namespace.
func (pn *ParentNamespace) Use(mw Middleware) {
	pn.p.mu.Lock()
	pn.p.middlewares = append(pn.p.middlewares, mw)
	pn.p.mu.Unlock()
}

// OnConnection adds a connection handler to every child namespace.
func (pn *ParentNamespace) OnConnection(fn func(*Socket)) {
	pn.p.mu.Lock()
	pn.p.onConnection = append(pn.p.onConnection, fn)
	pn.p.mu.Unlock()
}

// Children returns the namespaces created so far by this parent.
func (pn *ParentNamespace) Children() []*Namespace {
	pn.s.mu.RLock()
	defer pn.s.mu.RUnlock()
	var out []*Namespace
	for _, n := range pn.s.nsps {
		if n.parent == pn {
			out = append(out, n)
		}
	}
	return out
}

// Emit sends an event to every socket of every child namespace.
func (pn *ParentNamespace) Emit(event string, args ...any) error {
	var errs []error
	for _, n := range pn.Children() {
		errs = append(errs, n.Emit(event, args...))
	}
	return errors.Join(errs...)
}

// delivered reports a packet queued for sent sockets of the namespace.
func (n *Namespace) delivered(t parser.Type, pkts []packet.Packet, sent int) {
	if o := n.srv.observer(); o != nil {
		o.Broadcast(n, sent)
		n.srv.packetsSent(t, pkts, sent)
	}
}

// connectDone reports the end of a connection attempt whose middlewares
// ran from mwStart to mwEnd (zero times when nobody observed then).
func (n *Namespace) connectDone(s *Socket, mwStart, mwEnd time.Time, err error) {
	o := n.srv.observer()
	if o == nil || mwStart.IsZero() {
		return
	}
	if mwEnd.IsZero() {
		mwEnd = time.Now()
	}
	o.SocketConnect(s, s.connected, mwEnd.Sub(mwStart), err)
}
