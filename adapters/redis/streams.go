package redis

import (
	"bytes"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/adapter/cluster"
	"github.com/socketio-go/socketio/parser"
)

// StreamsOptions configure NewStreamsAdapter. The zero value of every field
// selects the default of the official @socket.io/redis-streams-adapter.
type StreamsOptions struct {
	// StreamName is the name of the Redis stream. Zero means "socket.io".
	StreamName string
	// StreamCount spreads the namespaces over this many streams
	// ("<StreamName>-<i>"), by the official adapter's hash of the
	// namespace name. Zero means 1: one stream, StreamName.
	StreamCount int
	// ChannelPrefix is the prefix of the pub/sub channels that carry what
	// the stream does not keep (requests, their answers, broadcasts with
	// acknowledgements). Zero means "socket.io".
	ChannelPrefix string
	// UseShardedPubSub uses SPUBLISH/SSUBSCRIBE for those channels.
	UseShardedPubSub bool
	// MaxLen trims the stream to about this many entries. Zero means
	// 10,000. A client that missed more than the stream keeps is not
	// recovered.
	MaxLen int64
	// ReadCount is the most entries one XREAD returns. Zero means 100.
	ReadCount int64
	// BlockTime is how long one XREAD waits for entries. Zero means 5s.
	BlockTime time.Duration
	// SessionKeyPrefix prefixes the keys of the sessions kept for
	// connection state recovery. Zero means "sio:session:".
	SessionKeyPrefix string
	// RequestsTimeout bounds a request to the other servers. Zero means
	// 5s.
	RequestsTimeout time.Duration
	// MaxPendingPublishes bounds the stream entries waiting to be written
	// while Redis cannot be reached; a broadcast beyond it fails. Zero
	// means 100,000.
	MaxPendingPublishes int
	// SessionFlushInterval is how often the sessions of connected sockets
	// whose rooms or data changed are written to Redis (with connection
	// state recovery), so that they survive the death of this server. A
	// change made within this interval before a crash is lost. Zero means
	// 200ms.
	SessionFlushInterval time.Duration
	// MaxMessageSize is the largest stream entry or pub/sub message read;
	// larger ones are dropped and logged. Zero means 16 MiB.
	MaxMessageSize int
	// Logger receives the adapter's diagnostics. Nil means slog.Default().
	Logger *slog.Logger
}

func (o *StreamsOptions) defaults() {
	if o.StreamName == "" {
		o.StreamName = "socket.io"
	}
	if o.StreamCount <= 0 {
		o.StreamCount = 1
	}
	if o.ChannelPrefix == "" {
		o.ChannelPrefix = "socket.io"
	}
	if o.MaxLen <= 0 {
		o.MaxLen = 10000
	}
	if o.ReadCount <= 0 {
		o.ReadCount = 100
	}
	if o.BlockTime <= 0 {
		o.BlockTime = 5 * time.Second
	}
	if o.SessionKeyPrefix == "" {
		o.SessionKeyPrefix = "sio:session:"
	}
	if o.MaxPendingPublishes <= 0 {
		o.MaxPendingPublishes = 100000
	}
	if o.SessionFlushInterval <= 0 {
		o.SessionFlushInterval = 200 * time.Millisecond
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = 16 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// ErrPublishBacklogFull is returned by a broadcast when MaxPendingPublishes
// entries already wait to be written to the stream (Redis is unreachable).
var ErrPublishBacklogFull = errors.New("redis: too many stream entries waiting for Redis")

// NewStreamsAdapter returns an adapter.Factory for a cluster on a Redis
// stream, wire-compatible with the official @socket.io/redis-streams-adapter
// 0.3: Go and Node servers on the same Redis, with the same stream name and
// channel prefix, form one cluster.
//
// Broadcasts, room changes and disconnections are appended to the stream
// (XADD, trimmed to about MaxLen entries), which every server reads; what
// needs no durability (requests, their answers, broadcasts with
// acknowledgements) goes over pub/sub, as the official adapter does. A
// dropped connection or a Redis restart loses nothing: the entries written
// while Redis is unreachable wait in memory (up to MaxPendingPublishes) and
// reading resumes after the last entry read.
//
// With connection state recovery (socketio.Options.ConnectionStateRecovery)
// the adapter implements adapter.SessionStore: the stream entry id of each
// recoverable packet is its offset, and sessions are kept in Redis, so a
// client recovers its session on any server of the cluster, as with the
// official adapter. Beyond the official adapter:
//   - the session of every connected socket is kept in Redis too (written
//     within SessionFlushInterval of a change), so a client whose server
//     died recovers on another one (the official adapter loses it:
//     redis-streams-adapter issue 27);
//   - every socket receives the recoverable packets in the order of the
//     stream, those of its own server included, so a recovered client
//     gets neither a gap nor a duplicate;
//   - the packets a client missed are read from its offset on, not from
//     the start of the stream.
//
// Each namespace's adapter reads the stream with a connection of its own.
func NewStreamsAdapter(client goredis.UniversalClient, opts StreamsOptions) adapter.Factory {
	opts.defaults()
	return func(nsp adapter.Namespace) adapter.Adapter {
		name := nsp.Name()
		t := &streamsTransport{
			client: client,
			opts:   opts,
			nsp:    name,
			stream: streamName(name, opts),
			public: opts.ChannelPrefix + "#" + name + "#",
		}
		a := &StreamsAdapter{t: t, nsp: nsp, logger: opts.Logger}
		a.Adapter = cluster.New(nsp, t, cluster.Options{RequestsTimeout: opts.RequestsTimeout, Logger: opts.Logger})
		t.a = a
		t.uid = a.UID()
		t.private = t.public + t.uid + "#"
		a.readCond = sync.NewCond(&a.deliverMu)
		a.live = make(map[adapter.SocketID]*liveSession)
		a.local = make(map[string]localState)
		return a
	}
}

// streamName is the stream of namespace nsp: with several streams, the
// official adapter's choice (a Java-style string hash, modulo the count,
// sign kept).
func streamName(nsp string, o StreamsOptions) string {
	if o.StreamCount == 1 {
		return o.StreamName
	}
	var h int32
	for _, c := range utf16Units(nsp) {
		h = h*31 + int32(c)
	}
	return o.StreamName + "-" + strconv.Itoa(int(h%int32(o.StreamCount)))
}

// utf16Units are the UTF-16 code units of s, what JavaScript's charCodeAt
// walks.
func utf16Units(s string) []uint16 {
	var out []uint16
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			out = append(out, uint16(0xD800+(r>>10)), uint16(0xDC00+(r&0x3FF)))
		} else {
			out = append(out, uint16(r))
		}
	}
	return out
}

// ephemeral reports whether m goes over pub/sub rather than the stream, as
// in the official adapter: broadcasts with acknowledgements, server-side
// emits and fetchSockets requests.
func ephemeral(m *cluster.Message) bool {
	return (m.Type == cluster.Broadcast && m.RequestID != "") || m.Type == cluster.ServerSideEmit || m.Type == cluster.FetchSockets
}

// StreamsAdapter is the adapter of one namespace on a Redis stream (see
// NewStreamsAdapter). It is a cluster.Adapter and, with connection state
// recovery, an adapter.LiveSessionStore.
type StreamsAdapter struct {
	*cluster.Adapter
	t      *streamsTransport
	nsp    adapter.Namespace
	logger *slog.Logger

	// maxDisconnection is the recovery's MaxDisconnectionDuration in
	// nanoseconds; 0 while recovery is off.
	maxDisconnection atomic.Int64

	// deliverMu is held while the reader delivers entries, and by Attach
	// while it collects the last missed packets and registers a socket.
	deliverMu sync.Mutex
	readCond  *sync.Cond // on deliverMu: entries were delivered
	lastID    string     // the last entry read (deliverMu)

	smu   sync.Mutex
	live  map[adapter.SocketID]*liveSession // connected sockets with a session
	local map[string]localState             // pid -> this server's part of a kept session
	// flushMu orders the writes of live sessions with their deletion.
	flushMu sync.Mutex
}

// liveSession is a connected socket's session, as kept in Redis.
type liveSession struct {
	pid   string
	since string
	data  any
	dirty bool
}

// localState is what a kept session holds for this server only.
type localState struct {
	local   any
	expires time.Time
}

// ConfigureRecovery turns connection state recovery on (the server calls
// it when its ConnectionStateRecovery option is set).
func (a *StreamsAdapter) ConfigureRecovery(maxDisconnectionDuration time.Duration) {
	a.maxDisconnection.Store(int64(maxDisconnectionDuration))
}

func (a *StreamsAdapter) recovery() time.Duration { return time.Duration(a.maxDisconnection.Load()) }

// Broadcast publishes p on the stream and delivers it to the local sockets.
// With connection state recovery, a recoverable packet reaches the local
// sockets when it is read back from the stream, with its offset, in stream
// order.
func (a *StreamsAdapter) Broadcast(p *parser.Packet, opts adapter.BroadcastOptions) error {
	if a.recovery() == 0 || opts.Flags.Local || !adapter.Recoverable(p, opts) {
		return a.Adapter.Broadcast(p, opts)
	}
	if len(p.Attachments) > 0 {
		// Delivered later: keep attachments the caller may reuse.
		c := *p
		c.Attachments = make([][]byte, len(p.Attachments))
		for i, b := range p.Attachments {
			c.Attachments[i] = bytes.Clone(b)
		}
		p = &c
	}
	// In order with the other messages of the adapter; delivered here when
	// read back.
	a.Publish(&cluster.Message{Type: cluster.Broadcast, Packet: p, Opts: opts, Local: &ownBroadcast{p: p, opts: opts}})
	return nil
}

// AddAll adds a local socket to rooms.
func (a *StreamsAdapter) AddAll(id adapter.SocketID, rooms []adapter.Room) {
	a.Adapter.AddAll(id, rooms)
	a.touch(id)
}

// Del removes a local socket from a room.
func (a *StreamsAdapter) Del(id adapter.SocketID, room adapter.Room) {
	a.Adapter.Del(id, room)
	a.touch(id)
}

func (a *StreamsAdapter) touch(id adapter.SocketID) {
	a.smu.Lock()
	if l := a.live[id]; l != nil {
		l.dirty = true
	}
	a.smu.Unlock()
}

// deliver handles a stream entry, deliverMu held.
func (a *StreamsAdapter) deliver(id string, values map[string]any, own *ownBroadcast) {
	a.lastID = id
	if own != nil {
		p := *own.p
		p.Data = adapter.AppendOffset(p.Data, id)
		_ = a.Adapter.InMemory.Broadcast(&p, own.opts)
		return
	}
	m, err := a.t.decodeEntry(values)
	if err != nil {
		a.logger.Warn("redis: malformed stream entry dropped", "stream", a.t.stream, "id", id, "err", err)
		return
	}
	if m == nil || m.UID == a.UID() {
		return
	}
	if m.Type == cluster.Broadcast && m.Packet != nil && a.recovery() > 0 && adapter.Recoverable(m.Packet, m.Opts) {
		m.Packet.Data = adapter.AppendOffset(m.Packet.Data, id)
	}
	a.OnMessage(m, id)
}

// ownBroadcast is a recoverable packet of this server waiting to be read
// back from the stream.
type ownBroadcast struct {
	p    *parser.Packet
	opts adapter.BroadcastOptions
}
