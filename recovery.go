package socketio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/engineio/packet"
	"github.com/socketio-go/socketio/parser"
)

// ConnectionStateRecovery turns on connection state recovery, as the
// official server's connectionStateRecovery option: a client that lost its
// connection and comes back within MaxDisconnectionDuration gets its socket
// back — the same id, rooms and data (Socket.Recovered reports it) — and
// receives every packet it missed, in order, before any newer one.
//
// The server gives each socket a private session id (pid) in its CONNECT
// reply and adds an offset, a string, as the last argument of every event it
// stores: events sent to a socket or broadcast, except volatile ones and
// those that ask for an acknowledgement. A client that reconnects sends its
// pid and the last offset it received. The official clients (socket.io-client
// 4.6 and later) and this module's client do this on their own.
//
// Beyond the official server: a client whose old connection the server still
// holds (a half-open connection: the client switched networks, a NAT dropped
// its state) takes its session over as soon as its recovery handshake
// arrives; the old connection is closed with ReasonTransportReplaced. A client
// that received no event before the drop is recovered too (it sends no
// offset: it missed everything since it connected). With RetryDedup, the
// deduplication of retried events carries over to the recovered socket.
//
// The events are kept in memory by the default adapter, within
// MaxBufferedBytes per namespace; a custom adapter supports recovery if it
// implements adapter.SessionStore.
type ConnectionStateRecovery struct {
	// MaxDisconnectionDuration is how long the session of a disconnected
	// socket is kept. Zero means 2 minutes. Events are kept this long plus
	// PingInterval plus PingTimeout: a dead connection goes unnoticed for
	// up to that long, and the client may have missed what was sent
	// meanwhile.
	MaxDisconnectionDuration time.Duration
	// RunMiddlewares runs the namespace middlewares for recovered sockets
	// too. False skips them, as the official server does by default
	// (skipMiddlewares: true): a recovered socket was accepted before.
	RunMiddlewares bool
	// MaxBufferedBytes bounds the memory of the events kept for recovery in
	// each namespace, counting adapter.StoredPacketOverhead per event. The
	// oldest go first; a client that missed one of them is not recovered.
	// Zero means 64 MiB.
	MaxBufferedBytes int64
	// MaxSessions bounds the sessions of disconnected sockets kept in each
	// namespace; the oldest go first. Zero means 100,000.
	MaxSessions int
}

// ReasonTransportReplaced is the disconnect reason of a socket whose client
// came back on a new connection and recovered its session while the server
// still held the old connection (see ConnectionStateRecovery). The official
// server has no such reason: it keeps the old connection until its ping
// timeout and refuses the recovery.
const ReasonTransportReplaced DisconnectReason = "transport replaced"

// recoverableReasons are the disconnect reasons after which a socket's
// session is kept for recovery: those of the official server, and
// ReasonTransportReplaced.
func recoverableReason(r DisconnectReason) bool {
	switch r {
	case ReasonTransportError, ReasonTransportClose, ReasonForcedClose, ReasonPingTimeout,
		ReasonServerShuttingDown, ReasonForcedServerClose, ReasonTransportReplaced:
		return true
	}
	return false
}

// errReplaced is the cause of a connection closed by a takeover.
var errReplaced = errors.New("socketio: the client recovered its session on a new connection")

// restoreTimeout bounds a session store's RestoreSession.
const restoreTimeout = 10 * time.Second

// socketRecovery is the recovery state of a socket, when recovery is on.
type socketRecovery struct {
	pid       string
	since     string // adapter.Session.Since
	recovered bool
	persisted bool          // the session was kept at the disconnection
	done      chan struct{} // closed once the socket closed and its session was kept, or not

	// Until the socket is attached: the session it recovers and a channel
	// closed when the disconnect handlers of its previous incarnation ran.
	session  *adapter.Session
	prevDone <-chan struct{}
}

// recoveryLocal is what a session keeps for this server (adapter.Session's
// Local).
type recoveryLocal struct {
	dedup *dedup
	done  chan struct{} // closed once the disconnect handlers ran
}

// newPID returns a private session id: 144 random bits.
func newPID() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// recoveryAuth extracts the pid and offset of a CONNECT payload. ok is false
// when the client does not ask for a recovery: no pid string, or an offset
// that is neither a string nor absent.
func recoveryAuth(auth []byte) (pid, offset string, ok bool) {
	var a struct {
		PID    json.RawMessage `json:"pid"`
		Offset json.RawMessage `json:"offset"`
	}
	if json.Unmarshal(auth, &a) != nil || len(a.PID) == 0 || a.PID[0] != '"' {
		return "", "", false
	}
	if json.Unmarshal(a.PID, &pid) != nil || pid == "" {
		return "", "", false
	}
	if len(a.Offset) > 0 && string(a.Offset) != "null" {
		if a.Offset[0] != '"' || json.Unmarshal(a.Offset, &offset) != nil {
			return "", "", false
		}
	}
	return pid, offset, true
}

// restore looks up the session a CONNECT asks to recover, arriving on c. A
// live socket of the session on another connection (a half-open one) is
// disconnected first, which keeps its session. It returns nil when there is
// nothing to recover.
func (n *Namespace) restore(c *conn, auth []byte) *adapter.Session {
	pid, offset, ok := recoveryAuth(auth)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), restoreTimeout)
	defer cancel()
	n.mu.RLock()
	old := n.pids[pid]
	n.mu.RUnlock()
	if old != nil && old.conn != c {
		if old.Connected() {
			n.srv.logger.Info("socketio: client recovers its session on a new connection, closing the old one",
				"sid", old.id, "nsp", n.name, "old", old.conn.sess.ID(), "new", c.sess.ID())
			old.conn.replace()
		}
		// The old socket closes (here, or on another goroutine that started
		// first): its session is kept once it is done.
		select {
		case <-old.rec.done:
		case <-ctx.Done():
			n.srv.logger.Warn("socketio: the socket to recover did not close in time", "sid", old.id, "nsp", n.name)
			return nil
		}
	}
	sess, err := n.store.RestoreSession(ctx, pid, offset)
	if err != nil {
		n.srv.logger.Warn("socketio: cannot restore session", "nsp", n.name, "err", err)
		return nil
	}
	return sess
}

// persist keeps the session of s, which is disconnecting for reason. It
// returns the channel to close once its disconnect handlers ran, or nil.
func (s *Socket) persist(reason DisconnectReason, rooms []string) chan struct{} {
	rec, store := s.rec, s.nsp.store
	if rec == nil || store == nil {
		return nil
	}
	if !recoverableReason(reason) {
		if ls, ok := store.(adapter.LiveSessionStore); ok {
			ls.DropSession(s.id, rec.pid)
		}
		return nil
	}
	s.mu.Lock()
	data, since := s.data, rec.since
	rec.persisted = since != ""
	s.mu.Unlock()
	if since == "" {
		return nil // never attached
	}
	local := &recoveryLocal{dedup: s.dedup, done: make(chan struct{})}
	store.PersistSession(&adapter.Session{
		PID:   rec.pid,
		SID:   s.id,
		Rooms: rooms,
		Data:  data,
		Since: since,
		Local: local,
	})
	return local.done
}

// unrestore gives back the session a socket took when it does not connect
// after all (a middleware refused it, or the client went away).
func (s *Socket) unrestore() {
	if s.rec == nil || s.rec.session == nil {
		return
	}
	sess := s.rec.session
	s.rec.session = nil
	sess.Offset = ""
	s.nsp.store.PersistSession(sess)
}

// attach makes s live when recovery is on: it joins its rooms, then, with no
// stored event being delivered, queues the events it missed and its CONNECT
// packet and registers it in the namespace.
func (n *Namespace) attach(s *Socket) error {
	rec := s.rec
	sess := rec.session
	if sess == nil {
		sess = &adapter.Session{PID: rec.pid, SID: s.id, Rooms: []string{s.id}, Data: s.Data()}
	}
	l := n.roomLock(s.id)
	l.Lock()
	if s.closed() {
		l.Unlock()
		return ErrDisconnected
	}
	n.adapter.AddAll(s.id, sess.Rooms)
	l.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), restoreTimeout)
	defer cancel()
	var werr error
	err := n.store.Attach(ctx, sess, func(missed []*parser.Packet) {
		var body []byte // none for a v2 client (its query named a pid)
		if !s.conn.v3 {
			body = appendConnectPayload(make([]byte, 0, 64), s.id, rec.pid)
		}
		connect := &parser.Packet{Type: parser.Connect, Namespace: n.name, ID: parser.NoID, Data: body}
		n.mu.Lock()
		defer n.mu.Unlock()
		if s.closed() {
			werr = ErrDisconnected
			return
		}
		if len(missed) > 0 {
			// Like the official server, the missed events go before the
			// CONNECT packet; the clients hold them until it arrives.
			var pkts []packet.Packet
			for _, p := range missed {
				var b []packet.Packet
				if b, werr = s.nsp.srv.encode(p); werr != nil {
					return
				}
				pkts = append(pkts, b...)
			}
			if werr = s.conn.sess.SendBacklog(pkts); werr != nil {
				return
			}
		}
		if werr = s.conn.writePacket(connect, false); werr != nil {
			return
		}
		s.mu.Lock()
		rec.since = sess.Since
		s.mu.Unlock()
		n.sockets[s.id] = s
		n.pids[rec.pid] = s
	})
	if err == nil && werr == nil {
		rec.session = nil
	}
	if err != nil {
		return err
	}
	return werr
}
