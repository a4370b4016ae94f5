package nats

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/adapter/cluster"
	"github.com/socketio-go/socketio/parser"
)

// JetStreamOptions configure NewJetStreamAdapter. The zero value of every
// field selects its default.
type JetStreamOptions struct {
	// Options are those of the core NATS part (subjects, requests,
	// membership).
	Options
	// Stream is the name of the JetStream stream of the cluster. Zero
	// means the Prefix with every byte outside [A-Za-z0-9_-] replaced by
	// '_' ("socket_io"). The adapter creates the stream, or updates its
	// limits, when it starts.
	Stream string
	// MaxAge is how long the stream keeps an entry. A client whose
	// missed packets are older is not recovered. Zero means the server's
	// MaxDisconnectionDuration plus one minute (the time a dead
	// connection may go unnoticed), or 3 minutes without connection
	// state recovery.
	MaxAge time.Duration
	// MaxBytes bounds the size of the stream; the oldest entries are
	// discarded beyond it (the stream is never "full": writes do not
	// fail, old entries go, and the clients that missed them are not
	// recovered). Size it well above what is broadcast in the recovery
	// window: entries discarded before a server read them (a burst larger
	// than MaxBytes while that server lags) never reach its clients.
	// Zero means 256 MiB. Negative means no bound.
	MaxBytes int64
	// Replicas is the number of replicas of the stream and of the
	// sessions bucket in a clustered JetStream. Zero means 1.
	Replicas int
	// MemoryStorage keeps the stream and the sessions in memory instead
	// of files: they do not survive a restart of the NATS server.
	MemoryStorage bool
	// SessionBucket is the name of the key-value bucket of the sessions
	// (with connection state recovery). Zero means Stream + "_sessions".
	SessionBucket string
	// SessionFlushInterval is how often the sessions of connected sockets
	// whose rooms or data changed are written to the bucket, so that they
	// survive the death of this server. A change made within this
	// interval before a crash is lost. Zero means 200ms.
	SessionFlushInterval time.Duration
	// PublishTimeout bounds one attempt to write entries to the stream;
	// failed writes are retried (deduplicated by JetStream) until they
	// succeed or the adapter closes. Zero means 5s.
	PublishTimeout time.Duration
}

func (o *JetStreamOptions) defaults() {
	o.Options.defaults()
	if o.Stream == "" {
		o.Stream = strings.Map(func(r rune) rune {
			if r < 128 && (tokenByte(byte(r)) || r == '_') {
				return r
			}
			return '_'
		}, o.Prefix)
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = 256 << 20
	}
	if o.MaxBytes < 0 {
		o.MaxBytes = -1
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.SessionBucket == "" {
		o.SessionBucket = o.Stream + "_sessions"
	}
	if o.SessionFlushInterval <= 0 {
		o.SessionFlushInterval = 200 * time.Millisecond
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = 5 * time.Second
	}
}

func (o *JetStreamOptions) storage() jetstream.StorageType {
	if o.MemoryStorage {
		return jetstream.MemoryStorage
	}
	return jetstream.FileStorage
}

// NewJetStreamAdapter returns an adapter.Factory for a cluster on NATS
// JetStream, with connection state recovery across the servers.
//
// What must reach every server in order, and be replayed to a recovered
// client, is written to a stream (Stream, subjects "<Prefix>.*.log", one
// per namespace: "<Prefix>.<nsp>.log"): broadcasts without
// acknowledgements, room changes (socketsJoin, socketsLeave) and
// disconnectSockets. Each server reads the stream with an ordered consumer
// and delivers the entries in stream order, its own included, so every
// socket gets the recoverable packets in the same order on every server;
// a packet's offset is its stream sequence. The rest (requests, answers,
// broadcasts with acknowledgements, heartbeats) goes over core NATS as with
// NewAdapter.
//
// With connection state recovery (socketio.Options.ConnectionStateRecovery)
// the adapter is an adapter.LiveSessionStore: the session of every socket
// (id, rooms, data, the last offset before it connected) is kept in a
// key-value bucket (SessionBucket), that of a connected socket under its
// server's uid. A client recovers on any server: after a clean close or a
// reset, after a half-open connection (its old server is asked to close it
// and hand the session over) and after the death of its server (whose
// subject then has no subscriber): it gets its id, rooms and data back, and
// every packet of the stream after its offset meant for it, once, in order.
//
// A NATS server restart loses nothing written to a file-stored stream:
// writes fail meanwhile and are retried (JetStream deduplicates them by
// message id), and the consumers resume after the last entry read. What
// travels over core NATS meanwhile (requests, answers) is lost. With
// connection state recovery a server's own clients get its recoverable
// broadcasts when they are read back from the stream: not while NATS is
// unreachable, all of them, in order, once it is back.
//
// nc is the caller's: the adapter neither drains nor closes it.
func NewJetStreamAdapter(nc *nats.Conn, opts JetStreamOptions) adapter.Factory {
	opts.defaults()
	return func(nsp adapter.Namespace) adapter.Adapter {
		uid := newUID()
		core := newCoreTransport(nc, opts.Options, nsp.Name(), uid)
		t := &jsTransport{core: core, opts: opts}
		t.ctx, t.cancel = context.WithCancel(context.Background())
		a := &JetStreamAdapter{t: t, nsp: nsp, logger: opts.Logger}
		a.Adapter = cluster.New(nsp, t, opts.Options.cluster(uid))
		t.a = a
		core.onTakeover = a.replace
		a.readCond = sync.NewCond(&a.deliverMu)
		a.live = make(map[adapter.SocketID]*liveSession)
		a.local = make(map[string]localState)
		return a
	}
}

// JetStreamAdapter is the adapter of one namespace on NATS JetStream (see
// NewJetStreamAdapter). It is a cluster.Adapter and, with connection state
// recovery, an adapter.LiveSessionStore.
type JetStreamAdapter struct {
	*cluster.Adapter
	t      *jsTransport
	nsp    adapter.Namespace
	logger *slog.Logger

	// maxDisconnection is the recovery's MaxDisconnectionDuration in
	// nanoseconds; 0 while recovery is off.
	maxDisconnection atomic.Int64
	kv               atomic.Pointer[jetstream.KeyValue] // the sessions, with recovery

	// deliverMu is held while the reader delivers entries, and by Attach
	// while it collects the last missed packets and registers a socket.
	deliverMu sync.Mutex
	readCond  *sync.Cond // on deliverMu: entries were delivered
	lastSeq   uint64     // the last entry read (deliverMu)

	smu   sync.Mutex
	live  map[adapter.SocketID]*liveSession // connected sockets with a session
	local map[string]localState             // pid -> this server's part of a kept session
	// flushMu orders the writes of live sessions with their deletion.
	flushMu sync.Mutex
}

// ConfigureRecovery turns connection state recovery on (the server calls
// it when its ConnectionStateRecovery option is set): it creates the
// sessions bucket and, when MaxAge is zero, sets the stream's max age to
// the recovery window.
func (a *JetStreamAdapter) ConfigureRecovery(maxDisconnectionDuration time.Duration) {
	if maxDisconnectionDuration <= 0 {
		return
	}
	if !a.t.started.Load() {
		a.logger.Error("nats: no connection state recovery: the adapter did not start", "nsp", a.nsp.Name())
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if a.t.opts.MaxAge == 0 {
		if err := a.t.ensureStream(ctx, maxDisconnectionDuration+time.Minute); err != nil {
			a.logger.Error("nats: cannot set the stream's max age to the recovery window", "stream", a.t.opts.Stream, "err", err)
		}
	}
	kv, err := a.t.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      a.t.opts.SessionBucket,
		Description: "socket.io sessions (socketio-go NATS adapter)",
		History:     1,
		TTL:         sessionTTL(maxDisconnectionDuration),
		Storage:     a.t.opts.storage(),
		Replicas:    a.t.opts.Replicas,
	})
	if err != nil {
		a.logger.Error("nats: no connection state recovery: cannot create the sessions bucket", "bucket", a.t.opts.SessionBucket, "err", err)
		return
	}
	a.kv.Store(&kv)
	a.maxDisconnection.Store(int64(maxDisconnectionDuration))
}

// refreshInterval is how often the sessions of connected sockets are
// written again, and sessionTTL how long the bucket keeps a session.
func refreshInterval(mdd time.Duration) time.Duration { return max(mdd/4, 250*time.Millisecond) }
func sessionTTL(mdd time.Duration) time.Duration      { return mdd + 2*refreshInterval(mdd) }

func (a *JetStreamAdapter) recovery() time.Duration {
	return time.Duration(a.maxDisconnection.Load())
}

func (a *JetStreamAdapter) sessions() jetstream.KeyValue {
	if p := a.kv.Load(); p != nil {
		return *p
	}
	return nil
}

// Broadcast writes p to the stream and delivers it to the local sockets.
// With connection state recovery, a recoverable packet reaches the local
// sockets when it is read back from the stream, with its offset, in stream
// order.
func (a *JetStreamAdapter) Broadcast(p *parser.Packet, opts adapter.BroadcastOptions) error {
	if a.recovery() == 0 || opts.Flags.Local || !adapter.Recoverable(p, opts) {
		return a.Adapter.Broadcast(p, opts)
	}
	if len(p.Attachments) > 0 {
		c := *p
		c.Attachments = make([][]byte, len(p.Attachments))
		for i, b := range p.Attachments {
			c.Attachments[i] = bytes.Clone(b)
		}
		p = &c
	}
	a.Publish(&cluster.Message{Type: cluster.Broadcast, Packet: p, Opts: opts})
	return nil
}

// AddAll adds a local socket to rooms.
func (a *JetStreamAdapter) AddAll(id adapter.SocketID, rooms []adapter.Room) {
	a.Adapter.AddAll(id, rooms)
	a.touch(id)
}

// Del removes a local socket from a room.
func (a *JetStreamAdapter) Del(id adapter.SocketID, room adapter.Room) {
	a.Adapter.Del(id, room)
	a.touch(id)
}

func (a *JetStreamAdapter) touch(id adapter.SocketID) {
	a.smu.Lock()
	if l := a.live[id]; l != nil {
		l.dirty = true
	}
	a.smu.Unlock()
}

// deliver handles the stream entry seq, deliverMu held.
func (a *JetStreamAdapter) deliver(seq uint64, data []byte) {
	a.lastSeq = seq
	m, err := a.t.core.decode(data)
	if err != nil {
		a.t.core.drop.drop("stream entry", a.t.core.subj.log, err)
		return
	}
	if ephemeral(m) {
		// Requests and broadcasts with acknowledgements never go into the
		// stream: answering one read back would answer it again.
		a.t.core.drop.drop("stream entry", a.t.core.subj.log, fmt.Errorf("message of type %d (request id %q) in the stream", m.Type, m.RequestID))
		return
	}
	recoverable := m.Type == cluster.Broadcast && m.Packet != nil && m.RequestID == "" && a.recovery() > 0 && adapter.Recoverable(m.Packet, m.Opts)
	if recoverable {
		m.Packet.Data = adapter.AppendOffset(m.Packet.Data, strconv.FormatUint(seq, 10))
	}
	if m.UID == a.UID() {
		// This server's own: only its recoverable broadcasts wait for the
		// stream; the rest was applied when sent.
		if recoverable {
			_ = a.Adapter.InMemory.Broadcast(m.Packet, m.Opts)
		}
		return
	}
	a.t.core.heard(m.UID)
	a.OnMessage(m, strconv.FormatUint(seq, 10))
}

// replace closes the local connection of session pid, whose client came
// back on another server, once its session is kept.
func (a *JetStreamAdapter) replace(ctx context.Context, pid string) {
	if r, ok := a.nsp.(adapter.SocketReplacer); ok {
		r.ReplaceSocket(ctx, pid)
	}
}

// ephemeral reports whether m goes over core NATS rather than the stream:
// requests, answers, broadcasts with acknowledgements and heartbeats.
func ephemeral(m *cluster.Message) bool {
	switch m.Type {
	case cluster.Broadcast:
		return m.RequestID != ""
	case cluster.SocketsJoin, cluster.SocketsLeave, cluster.DisconnectSockets:
		return false
	}
	return true
}
