package nats

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/adapter/cluster"
)

// Options configure NewAdapter (and, embedded, NewJetStreamAdapter). The
// zero value of every field selects its default.
type Options struct {
	// Prefix is the first token(s) of every subject of the adapter.
	// Servers with the same prefix on the same NATS system form one
	// cluster. Zero means "socket.io".
	Prefix string
	// RequestsTimeout bounds a request to the other servers
	// (FetchSockets, ServerSideEmitWithAck, the acknowledgements of a
	// broadcast when it has no timeout of its own). Zero means 5s.
	RequestsTimeout time.Duration
	// Heartbeat is how often a server announces itself, and after how
	// long without a message from a server it is considered gone. Zero
	// fields mean 5s and 10s. A server whose connection to NATS closed
	// (process killed, node lost) is noticed sooner, by ProbeInterval.
	Heartbeat cluster.HeartbeatOptions
	// ProbeInterval is how often each known server is probed with a
	// request on its own subject: NATS answers "no responders" at once
	// when that server's connection is gone, and the server is then
	// forgotten (the requests waiting for it end). Each namespace's
	// adapter probes each other server: n-1 small requests per interval
	// and namespace in a cluster of n servers. Zero means 1s.
	ProbeInterval time.Duration
	// MaxMessageSize is the largest message read from NATS; larger ones
	// are dropped and logged. Zero means 16 MiB. (The NATS server has its
	// own max_payload, 1 MiB by default, which bounds what can be
	// published.)
	MaxMessageSize int
	// MaxPendingPublishes bounds the messages waiting to be published;
	// beyond it a message is dropped (cluster.ErrBacklog, logged). Zero
	// means 100,000.
	MaxPendingPublishes int
	// Logger receives the adapter's diagnostics. Nil means slog.Default().
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.Prefix == "" {
		o.Prefix = "socket.io"
	}
	if o.RequestsTimeout <= 0 {
		o.RequestsTimeout = 5 * time.Second
	}
	if o.Heartbeat.Interval <= 0 {
		o.Heartbeat.Interval = 5 * time.Second
	}
	if o.Heartbeat.Timeout <= 0 {
		o.Heartbeat.Timeout = 10 * time.Second
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = time.Second
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = 16 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

func (o *Options) cluster(uid string) cluster.Options {
	hb := o.Heartbeat
	return cluster.Options{
		UID:                 uid,
		RequestsTimeout:     o.RequestsTimeout,
		Heartbeat:           &hb,
		MaxPendingPublishes: o.MaxPendingPublishes,
		Logger:              o.Logger,
	}
}

func newUID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewAdapter returns an adapter.Factory for a cluster of servers on core
// NATS, one adapter per namespace.
//
// Each namespace uses two subjects (see Token for how the namespace name
// becomes a subject token):
//
//	<Prefix>.<nsp>.all         broadcasts, room changes, requests, heartbeats
//	<Prefix>.<nsp>.node.<uid>  the answers to one server's requests, and probes
//
// Messages are the MessagePack form of the official ClusterAdapter's
// messages (cluster.AppendMsgpack). Membership is by heartbeats
// (Options.Heartbeat) plus probes (Options.ProbeInterval): a request to
// the other servers (FetchSockets, ServerSideEmitWithAck, a broadcast with
// acknowledgements) waits for the servers known when it starts, forgets a
// server whose NATS connection closed within ProbeInterval, and ends with
// an error wrapping cluster.ErrTimeout, and the answers received, after
// RequestsTimeout.
//
// A server that cannot keep up with what it receives (more than 500,000
// messages or 64 MiB waiting, nats.go's defaults) loses messages: nats.go
// drops them and reports a slow consumer to the connection's ErrorHandler.
//
// Core NATS keeps nothing: a server that is disconnected from NATS misses
// what the others publish meanwhile (nats.go buffers what it publishes
// itself, up to its ReconnectBufSize, and sends it once reconnected). Use
// NewJetStreamAdapter for connection state recovery.
//
// nc is the caller's: the adapter neither drains nor closes it.
func NewAdapter(nc *nats.Conn, opts Options) adapter.Factory {
	opts.defaults()
	return func(nsp adapter.Namespace) adapter.Adapter {
		uid := newUID()
		t := newCoreTransport(nc, opts, nsp.Name(), uid)
		a := cluster.New(nsp, t, opts.cluster(uid))
		return a
	}
}

// Header fields of the control requests sent to a server's own subject.
const (
	hdrControl = "Sio-Ctl" // "ping" or "takeover"
	hdrPID     = "Sio-Pid" // the session to take over
)

// coreTransport is the cluster.Transport of one namespace on core NATS.
type coreTransport struct {
	nc   *nats.Conn
	opts Options
	nsp  string
	uid  string
	subj subjects
	drop *dropLog

	// onTakeover, if set, answers a takeover request (JetStream adapter).
	onTakeover func(ctx context.Context, pid string)

	mu      sync.Mutex // serialises deliveries
	deliver func(*cluster.Message, string)
	closed  bool
	subs    []*nats.Subscription
	known   map[string]struct{} // the other servers heard of

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newCoreTransport(nc *nats.Conn, opts Options, nsp, uid string) *coreTransport {
	return &coreTransport{
		nc: nc, opts: opts, nsp: nsp, uid: uid,
		subj:  newSubjects(opts.Prefix, nsp),
		drop:  &dropLog{logger: opts.Logger},
		known: make(map[string]struct{}),
	}
}

// ErrNotConnected is returned when the NATS connection is closed.
var ErrNotConnected = errors.New("nats: connection closed")

func (t *coreTransport) Start(ctx context.Context, deliver func(*cluster.Message, string)) error {
	if t.nc.IsClosed() {
		return ErrNotConnected
	}
	t.deliver = deliver
	t.ctx, t.cancel = context.WithCancel(context.Background())
	for _, s := range []string{t.subj.all, t.subj.node + t.uid} {
		sub, err := t.nc.Subscribe(s, t.onMsg)
		if err != nil {
			t.unsubscribe()
			return fmt.Errorf("nats: subscribing to %s: %w", s, err)
		}
		// Slow consumer limits: the defaults of nats.go (500,000
		// messages, 64 MiB pending) are kept; what exceeds them is dropped
		// by nats.go and reported to the connection's ErrorHandler.
		t.subs = append(t.subs, sub)
	}
	// The subscriptions are known to the server before the other servers
	// hear of this one.
	if err := t.nc.FlushWithContext(ctx); err != nil {
		t.unsubscribe()
		return fmt.Errorf("nats: flushing the subscriptions: %w", err)
	}
	t.wg.Add(1)
	go t.probeLoop()
	return nil
}

func (t *coreTransport) unsubscribe() {
	for _, s := range t.subs {
		_ = s.Unsubscribe()
	}
	t.subs = nil
}

// onMsg handles a message of either subscription.
func (t *coreTransport) onMsg(msg *nats.Msg) {
	if c := msg.Header.Get(hdrControl); c != "" {
		t.onControl(c, msg)
		return
	}
	m, err := t.decode(msg.Data)
	if err != nil {
		t.drop.drop("message", msg.Subject, err)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.track(m)
	t.deliver(m, "")
}

// track records the servers heard of, for the probes; mu held.
func (t *coreTransport) track(m *cluster.Message) {
	if m.UID == t.uid || m.UID == "emitter" {
		return
	}
	if m.Type == cluster.AdapterClose {
		delete(t.known, m.UID)
	} else {
		t.known[m.UID] = struct{}{}
	}
}

// decode reads a message of the cluster: MessagePack of this namespace,
// from a server whose uid can name a subject.
func (t *coreTransport) decode(b []byte) (*cluster.Message, error) {
	if len(b) > t.opts.MaxMessageSize {
		return nil, fmt.Errorf("%d bytes, more than MaxMessageSize", len(b))
	}
	m, err := cluster.DecodeMsgpack(b)
	if err != nil {
		return nil, err
	}
	if m.NSP != t.nsp {
		return nil, fmt.Errorf("namespace %q on the subjects of %q", m.NSP, t.nsp)
	}
	if !validUID(m.UID) {
		return nil, fmt.Errorf("invalid server uid %q", m.UID)
	}
	return m, nil
}

func (t *coreTransport) onControl(c string, msg *nats.Msg) {
	switch c {
	case "ping":
		_ = msg.Respond(nil)
	case "takeover":
		pid := msg.Header.Get(hdrPID)
		if t.onTakeover == nil || pid == "" || msg.Reply == "" {
			t.drop.drop("control request", msg.Subject, errors.New("takeover without a session or reply subject"))
			return
		}
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			return
		}
		t.wg.Add(1)
		t.mu.Unlock()
		go func() {
			defer t.wg.Done()
			ctx, cancel := context.WithTimeout(t.ctx, 5*time.Second)
			defer cancel()
			t.onTakeover(ctx, pid)
			_ = msg.Respond([]byte("taken"))
		}()
	default:
		t.drop.drop("control request", msg.Subject, fmt.Errorf("unknown control %q", c))
	}
}

// alive asks server uid whether it is still connected: false only when
// NATS says no one listens on its subject.
func (t *coreTransport) alive(ctx context.Context, uid string) bool {
	ctx, cancel := context.WithTimeout(ctx, min(t.opts.ProbeInterval, 2*time.Second))
	defer cancel()
	m := &nats.Msg{Subject: t.subj.node + uid, Header: nats.Header{hdrControl: []string{"ping"}}}
	_, err := t.nc.RequestMsgWithContext(ctx, m)
	return !errors.Is(err, nats.ErrNoResponders)
}

// probeLoop forgets the known servers whose subject has no subscriber
// left, telling the cluster adapter as if they had said goodbye.
func (t *coreTransport) probeLoop() {
	defer t.wg.Done()
	tick := time.NewTicker(t.opts.ProbeInterval)
	defer tick.Stop()
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-tick.C:
		}
		t.mu.Lock()
		uids := make([]string, 0, len(t.known))
		for uid := range t.known {
			uids = append(uids, uid)
		}
		t.mu.Unlock()
		for _, uid := range uids {
			if t.alive(t.ctx, uid) || t.ctx.Err() != nil {
				continue
			}
			t.opts.Logger.Info("nats: server gone (no subscriber on its subject)", "nsp", t.nsp, "uid", uid)
			t.mu.Lock()
			if !t.closed {
				delete(t.known, uid)
				t.deliver(&cluster.Message{Type: cluster.AdapterClose, UID: uid, NSP: t.nsp}, "")
			}
			t.mu.Unlock()
		}
	}
}

func (t *coreTransport) Publish(_ context.Context, m *cluster.Message) (string, error) {
	b, err := cluster.AppendMsgpack(nil, m)
	if err != nil {
		return "", err
	}
	return "", t.nc.Publish(t.subj.all, b)
}

func (t *coreTransport) PublishResponse(_ context.Context, to string, m *cluster.Message) error {
	if !validUID(to) {
		return fmt.Errorf("nats: invalid server uid %q", to)
	}
	b, err := cluster.AppendMsgpack(nil, m)
	if err != nil {
		return err
	}
	return t.nc.Publish(t.subj.node+to, b)
}

// ServerCount is not used: the adapter counts the servers by their
// heartbeats.
func (t *coreTransport) ServerCount(context.Context) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return 1 + len(t.known), nil
}

func (t *coreTransport) Close(context.Context) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	if t.cancel != nil {
		t.cancel()
	}
	t.unsubscribe()
	t.wg.Wait()
	return nil
}

// heard records server uid, heard of on the stream.
func (t *coreTransport) heard(uid string) {
	if uid == t.uid || uid == "emitter" {
		return
	}
	t.mu.Lock()
	if !t.closed {
		t.known[uid] = struct{}{}
	}
	t.mu.Unlock()
}

// takeover asks server owner to close the connection of session pid and
// keep its session; it returns once it did.
func (t *coreTransport) takeover(ctx context.Context, owner, pid string) error {
	m := &nats.Msg{Subject: t.subj.node + owner, Header: nats.Header{hdrControl: []string{"takeover"}, hdrPID: []string{pid}}}
	_, err := t.nc.RequestMsgWithContext(ctx, m)
	return err
}
