package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/parser"
)

// Transport moves messages between the servers of a cluster, for one
// namespace. Its methods are safe for concurrent use.
type Transport interface {
	// Start begins receiving: every message from another server is handed
	// to deliver (with its offset, for a transport that keeps messages in
	// a log, else ""), one at a time, in the order the broker gives them.
	Start(ctx context.Context, deliver func(m *Message, offset string)) error
	// Publish sends m to every server of the cluster. A transport that
	// keeps messages in a log returns m's offset in it, else "".
	Publish(ctx context.Context, m *Message) (offset string, err error)
	// PublishResponse sends m to the server whose adapter uid is to.
	PublishResponse(ctx context.Context, to string, m *Message) error
	// ServerCount returns the number of servers of the cluster, this one
	// included, as the broker sees them. It is not called when the
	// Adapter tracks servers by their heartbeats.
	ServerCount(ctx context.Context) (int, error)
	// Close stops receiving and releases the transport's resources.
	Close(ctx context.Context) error
}

// Options configure an Adapter.
type Options struct {
	// UID identifies the adapter in the cluster. Zero means 16 random hex
	// digits, as the official ClusterAdapter.
	UID string
	// RequestsTimeout bounds a request to the other servers (FetchSockets,
	// ServerSideEmitWithAck) when the caller's context has no earlier
	// deadline. Zero means 5s, as the official adapters.
	RequestsTimeout time.Duration
	// Heartbeat, if set, tracks the servers by the messages they send,
	// with periodic heartbeats, as socket.io-adapter's
	// ClusterAdapterWithHeartbeat: a server silent for Heartbeat.Timeout is
	// considered gone. Nil asks the transport (ServerCount).
	Heartbeat *HeartbeatOptions
	// LivenessInterval is how often a request waiting for answers asks the
	// transport again how many servers there are, so that a server that
	// died meanwhile is not waited for until the timeout (the official
	// adapters wait). Zero means 500ms. Not used with Heartbeat.
	LivenessInterval time.Duration
	// MaxPendingPublishes bounds the messages waiting to be published:
	// broadcasts and the other operations are published in order by one
	// goroutine of the adapter, without the caller waiting for the broker
	// (as the official adapters, which do not wait either). Beyond it a
	// message is not published (ErrBacklog, logged). Zero means 100,000.
	MaxPendingPublishes int
	// MaxPendingBytes bounds the payload bytes (packet data and
	// attachments) of the messages waiting to be published, likewise.
	// Zero means 64 MiB.
	MaxPendingBytes int64
	// Logger receives what cannot be reported to a caller: messages
	// dropped, publish failures. Nil means slog.Default().
	Logger *slog.Logger
}

// HeartbeatOptions configure heartbeat-based membership.
type HeartbeatOptions struct {
	// Interval between two heartbeats of this server. Zero means 5s.
	Interval time.Duration
	// Timeout after which a silent server is considered gone. Zero means
	// 10s.
	Timeout time.Duration
}

// Adapter is an adapter.Adapter for a cluster: local rooms in an
// adapter.InMemory, the rest through a Transport.
type Adapter struct {
	*adapter.InMemory
	nsp    adapter.Namespace
	t      Transport
	uid    string
	opts   Options
	logger *slog.Logger

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	requests map[string]*request
	acks     map[string]*ackRequest
	nodes    map[string]time.Time // heartbeat mode: uid -> last message
	closed   bool
	failing  bool // the last publish failed
	hbTimer  *time.Timer

	// The outbox: messages to publish, in order, by outLoop.
	omu     sync.Mutex
	ocond   *sync.Cond
	out     []outItem
	obytes  int64         // payload bytes in out
	ostop   bool          // outLoop returns once out is empty
	outDone chan struct{} // closed when outLoop returned
}

// outItem is a message waiting in the outbox; done, if set, receives the
// result of its publication.
type outItem struct {
	m    *Message
	size int64
	done chan publishResult
}

// payloadSize is what a message counts against MaxPendingBytes.
func payloadSize(m *Message) int64 {
	if m.Packet == nil {
		return 0
	}
	n := int64(len(m.Packet.Data))
	for _, b := range m.Packet.Attachments {
		n += int64(len(b))
	}
	return n
}

type publishResult struct {
	offset string
	err    error
}

// BatchTransport is implemented by transports that publish several messages
// in one round trip to the broker (a pipeline). The Adapter then hands them
// all that is waiting in its outbox at once.
type BatchTransport interface {
	Transport
	// PublishBatch publishes ms in order and returns the offset and error
	// of each, as Publish would.
	PublishBatch(ctx context.Context, ms []*Message) (offsets []string, errs []error)
}

// ErrBacklog is the publish error of a message that found the outbox
// full: the broker has not kept up with MaxPendingPublishes messages.
var ErrBacklog = errors.New("cluster: too many messages waiting to be published")

// request is a FetchSockets or ServerSideEmitWithAck waiting for answers.
type request struct {
	typ      MessageType
	expected int                 // answers expected (count mode)
	missing  map[string]struct{} // servers that have not answered (heartbeat mode)
	answered map[string]struct{}
	sockets  []adapter.SocketInfo
	answers  []adapter.AckResponse
	done     chan struct{}
	finished bool
}

// ackRequest is a broadcast with acknowledgements waiting for the other
// servers' counts and answers.
type ackRequest struct {
	onCount func(int)
	onAck   func(adapter.AckResponse)
	stop    func() bool // stops the removal at the end of the caller's ctx
}

// New returns the Adapter of nsp on transport t.
func New(nsp adapter.Namespace, t Transport, opts Options) *Adapter {
	if opts.UID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		opts.UID = hex.EncodeToString(b[:])
	}
	if opts.RequestsTimeout <= 0 {
		opts.RequestsTimeout = defaultRequestsTimeoutMs * time.Millisecond
	}
	if opts.LivenessInterval <= 0 {
		opts.LivenessInterval = 500 * time.Millisecond
	}
	if opts.MaxPendingPublishes <= 0 {
		opts.MaxPendingPublishes = 100000
	}
	if opts.MaxPendingBytes <= 0 {
		opts.MaxPendingBytes = 64 << 20
	}
	if h := opts.Heartbeat; h != nil {
		hb := *h
		if hb.Interval <= 0 {
			hb.Interval = 5 * time.Second
		}
		if hb.Timeout <= 0 {
			hb.Timeout = 10 * time.Second
		}
		opts.Heartbeat = &hb
	}
	a := &Adapter{
		InMemory: adapter.NewInMemoryAdapter(nsp),
		nsp:      nsp,
		t:        t,
		uid:      opts.UID,
		opts:     opts,
		logger:   opts.Logger,
		requests: make(map[string]*request),
		acks:     make(map[string]*ackRequest),
		nodes:    make(map[string]time.Time),
	}
	if a.logger == nil {
		a.logger = slog.Default()
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.ocond = sync.NewCond(&a.omu)
	return a
}

// UID returns the adapter's id in the cluster.
func (a *Adapter) UID() string { return a.uid }

// Init starts the transport and, with heartbeats, announces this server.
func (a *Adapter) Init(ctx context.Context) error {
	// The outbox runs before the transport starts: a message received at
	// once (another server's initial heartbeat) may publish an answer.
	done := make(chan struct{})
	a.omu.Lock()
	a.ostop = false
	a.outDone = done
	a.omu.Unlock()
	a.wg.Add(1)
	go a.outLoop(done)
	if err := a.t.Start(ctx, a.OnMessage); err != nil {
		a.omu.Lock()
		a.ostop = true
		a.ocond.Broadcast()
		a.omu.Unlock()
		// Gone before Init returns, so that a later Init (a retry) never
		// runs two outboxes.
		<-done
		return fmt.Errorf("cluster: starting the transport: %w", err)
	}
	if a.opts.Heartbeat != nil {
		a.publish(&Message{Type: InitialHeartbeat})
		a.wg.Add(1)
		go a.watchNodes()
	}
	return nil
}

// Close tells the cluster this server leaves (with heartbeats), stops the
// transport and waits for the adapter's goroutines.
func (a *Adapter) Close(ctx context.Context) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	if a.hbTimer != nil {
		a.hbTimer.Stop()
	}
	for id, ar := range a.acks {
		ar.stop()
		delete(a.acks, id)
	}
	a.mu.Unlock()
	// What is waiting goes out first, within ctx.
	a.omu.Lock()
	a.ostop = true
	a.ocond.Broadcast()
	a.omu.Unlock()
	if a.outDone != nil {
		select {
		case <-a.outDone:
		case <-ctx.Done():
			a.cancel() // the outbox gives up
			<-a.outDone
		}
	}
	if a.opts.Heartbeat != nil {
		m := &Message{Type: AdapterClose, UID: a.uid, NSP: a.nsp.Name()}
		if _, err := a.t.Publish(ctx, m); err != nil {
			a.logger.Warn("cluster: cannot tell the cluster this server leaves", "nsp", a.nsp.Name(), "err", err)
		}
	}
	a.cancel()
	err := a.t.Close(ctx)
	a.wg.Wait()
	return err
}

// ServerCount returns the number of servers in the cluster.
func (a *Adapter) ServerCount(ctx context.Context) (int, error) {
	if a.opts.Heartbeat != nil {
		a.mu.Lock()
		defer a.mu.Unlock()
		return 1 + len(a.nodes), nil
	}
	return a.t.ServerCount(ctx)
}

// publish queues m for publication; failures are logged.
func (a *Adapter) publish(m *Message) {
	a.enqueue(m, nil)
}

// Publish queues m for the other servers, in order with the adapter's
// own messages (broadcasts, room operations...), and returns at once;
// failures are logged. It is for adapters built on Adapter.
func (a *Adapter) Publish(m *Message) { a.enqueue(m, nil) }

// enqueue puts m in the outbox. done, if set, receives the result.
func (a *Adapter) enqueue(m *Message, done chan publishResult) {
	m.UID, m.NSP = a.uid, a.nsp.Name()
	if m.Packet != nil && len(m.Packet.Attachments) > 0 {
		// Published later: keep attachments the caller may reuse.
		p := *m.Packet
		p.Attachments = make([][]byte, len(m.Packet.Attachments))
		for i, b := range m.Packet.Attachments {
			p.Attachments[i] = bytes.Clone(b)
		}
		m.Packet = &p
	}
	a.scheduleHeartbeat()
	a.omu.Lock()
	var err error
	switch {
	case a.ostop || a.outDone == nil:
		err = adapter.ErrClosed
	case len(a.out) >= a.opts.MaxPendingPublishes || (len(a.out) > 0 && a.obytes+payloadSize(m) > a.opts.MaxPendingBytes):
		err = ErrBacklog
	default:
		size := payloadSize(m)
		a.obytes += size
		a.out = append(a.out, outItem{m: m, size: size, done: done})
		a.ocond.Signal()
	}
	a.omu.Unlock()
	if err != nil {
		if err != adapter.ErrClosed {
			a.reportPublish(err, m.Type)
		}
		if done != nil {
			done <- publishResult{err: err}
		}
	}
}

// outLoop publishes the outbox in order: all that waits in one batch when
// the transport is a BatchTransport.
func (a *Adapter) outLoop(done chan struct{}) {
	defer a.wg.Done()
	defer close(done)
	bt, batching := a.t.(BatchTransport)
	for {
		a.omu.Lock()
		for len(a.out) == 0 && !a.ostop {
			a.ocond.Wait()
		}
		if len(a.out) == 0 {
			a.omu.Unlock()
			return
		}
		n := 1
		if batching {
			n = min(len(a.out), 256)
		}
		items := append([]outItem(nil), a.out[:n]...)
		for _, it := range items {
			a.obytes -= it.size
		}
		clear(a.out[:n])
		a.out = a.out[n:]
		if len(a.out) == 0 {
			a.out = nil
		}
		a.omu.Unlock()
		if a.ctx.Err() != nil {
			for _, it := range items {
				if it.done != nil {
					it.done <- publishResult{err: adapter.ErrClosed}
				}
			}
			continue
		}
		if batching && len(items) > 1 {
			ms := make([]*Message, len(items))
			for i, it := range items {
				ms[i] = it.m
			}
			offs, errs := bt.PublishBatch(a.ctx, ms)
			for i, it := range items {
				var r publishResult
				if i < len(offs) {
					r.offset = offs[i]
				}
				if i < len(errs) {
					r.err = errs[i]
				}
				a.reportPublish(r.err, it.m.Type)
				if it.done != nil {
					it.done <- r
				}
			}
			continue
		}
		for _, it := range items {
			off, err := a.t.Publish(a.ctx, it.m)
			a.reportPublish(err, it.m.Type)
			if it.done != nil {
				it.done <- publishResult{off, err}
			}
		}
	}
}

// reportPublish logs the first failure of a series of publishes, and the
// recovery, rather than every failure of a broker that is down.
func (a *Adapter) reportPublish(err error, typ MessageType) {
	if a.ctx.Err() != nil {
		return
	}
	a.mu.Lock()
	was := a.failing
	a.failing = err != nil
	a.mu.Unlock()
	switch {
	case err != nil && !was:
		a.logger.Warn("cluster: publish failed", "nsp", a.nsp.Name(), "type", int(typ), "err", err)
	case err == nil && was:
		a.logger.Info("cluster: publishing again", "nsp", a.nsp.Name())
	}
}

// publishNow publishes m, after what is waiting in the outbox, and returns
// its offset; it returns early with ctx's error if ctx ends first (m is
// published all the same).
func (a *Adapter) publishNow(ctx context.Context, m *Message) (string, error) {
	done := make(chan publishResult, 1)
	a.enqueue(m, done)
	select {
	case r := <-done:
		return r.offset, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (a *Adapter) respond(to string, m *Message) {
	m.UID, m.NSP = a.uid, a.nsp.Name()
	a.goDo(func() {
		if err := a.t.PublishResponse(a.ctx, to, m); err != nil && a.ctx.Err() == nil {
			a.logger.Warn("cluster: response failed", "nsp", a.nsp.Name(), "type", int(m.Type), "to", to, "err", err)
		}
	})
}

// goDo runs f on a goroutine counted for Close, unless the adapter closed.
func (a *Adapter) goDo(f func()) {
	a.mu.Lock()
	if a.ctx.Err() != nil {
		a.mu.Unlock()
		return
	}
	a.wg.Add(1)
	a.mu.Unlock()
	go func() {
		defer a.wg.Done()
		f()
	}()
}

// Broadcast publishes p to the other servers (unless opts.Flags.Local),
// then delivers it to the local sockets.
func (a *Adapter) Broadcast(p *parser.Packet, opts adapter.BroadcastOptions) error {
	if !opts.Flags.Local {
		a.publish(&Message{Type: Broadcast, Packet: p, Opts: opts})
	}
	return a.InMemory.Broadcast(p, opts)
}

// BroadcastWithAck publishes p with a request id and delivers it locally;
// the other servers send their client counts and the answers back.
func (a *Adapter) BroadcastWithAck(ctx context.Context, p *parser.Packet, opts adapter.BroadcastOptions, onCount func(int), onAck func(adapter.AckResponse)) error {
	if !opts.Flags.Local {
		id := newRequestID()
		ar := &ackRequest{onCount: onCount, onAck: onAck}
		a.mu.Lock()
		if a.closed {
			a.mu.Unlock()
			return adapter.ErrClosed
		}
		a.acks[id] = ar
		// The answers are awaited as long as the caller does.
		ar.stop = context.AfterFunc(ctx, func() {
			a.mu.Lock()
			delete(a.acks, id)
			a.mu.Unlock()
		})
		a.mu.Unlock()
		// The packet is published as it is before the local delivery gives
		// it an id.
		pub := *p
		if _, err := a.publishNow(ctx, &Message{Type: Broadcast, Packet: &pub, Opts: opts, RequestID: id}); err != nil {
			a.logger.Debug("cluster: broadcast with acknowledgements not published", "nsp", a.nsp.Name(), "err", err)
		}
	}
	return a.InMemory.BroadcastWithAck(ctx, p, opts, onCount, onAck)
}

// AddSockets makes the selected sockets of every server join rooms.
func (a *Adapter) AddSockets(opts adapter.BroadcastOptions, rooms []adapter.Room) error {
	if !opts.Flags.Local {
		a.publish(&Message{Type: SocketsJoin, Opts: opts, Rooms: rooms})
	}
	return a.InMemory.AddSockets(opts, rooms)
}

// DelSockets makes the selected sockets of every server leave rooms.
func (a *Adapter) DelSockets(opts adapter.BroadcastOptions, rooms []adapter.Room) error {
	if !opts.Flags.Local {
		a.publish(&Message{Type: SocketsLeave, Opts: opts, Rooms: rooms})
	}
	return a.InMemory.DelSockets(opts, rooms)
}

// DisconnectSockets disconnects the selected sockets of every server.
func (a *Adapter) DisconnectSockets(opts adapter.BroadcastOptions, close bool) error {
	if !opts.Flags.Local {
		a.publish(&Message{Type: DisconnectSockets, Opts: opts, Close: close})
	}
	return a.InMemory.DisconnectSockets(opts, close)
}

// ErrTimeout is wrapped by the error of a request to the other servers
// that did not get every answer in time. The answers received come with
// it.
var ErrTimeout = errors.New("cluster: timeout reached waiting for the other servers")

// FetchSockets describes the selected sockets of every server. When a
// server does not answer in time, it returns the sockets it has with an
// error wrapping ErrTimeout.
func (a *Adapter) FetchSockets(ctx context.Context, opts adapter.BroadcastOptions) ([]adapter.SocketInfo, error) {
	local, _ := a.InMemory.FetchSockets(ctx, opts)
	if opts.Flags.Local {
		return local, nil
	}
	ctx, cancel := a.requestContext(ctx)
	defer cancel()
	r, err := a.newRequest(ctx, FetchSockets)
	if err != nil {
		return local, err
	}
	if r == nil {
		return local, nil
	}
	r.sockets = local
	id := a.register(r)
	if _, err := a.publishNow(ctx, &Message{Type: FetchSockets, Opts: opts, RequestID: id}); err != nil {
		a.unregister(id)
		return local, fmt.Errorf("cluster: fetchSockets: %w", err)
	}
	err = a.wait(ctx, id, r)
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]adapter.SocketInfo(nil), r.sockets...), err
}

// ServerSideEmit sends p to the other servers.
func (a *Adapter) ServerSideEmit(ctx context.Context, p *parser.Packet) error {
	_, err := a.publishNow(ctx, &Message{Type: ServerSideEmit, Packet: p})
	return err
}

// ServerSideEmitWithAck sends p to the other servers and returns their
// answers. See adapter.Adapter.
func (a *Adapter) ServerSideEmitWithAck(ctx context.Context, p *parser.Packet) ([]adapter.AckResponse, error) {
	ctx, cancel := a.requestContext(ctx)
	defer cancel()
	r, err := a.newRequest(ctx, ServerSideEmit)
	if err != nil || r == nil {
		return nil, err
	}
	id := a.register(r)
	if _, err := a.publishNow(ctx, &Message{Type: ServerSideEmit, Packet: p, RequestID: id}); err != nil {
		a.unregister(id)
		return nil, fmt.Errorf("cluster: serverSideEmit: %w", err)
	}
	err = a.wait(ctx, id, r)
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]adapter.AckResponse(nil), r.answers...), err
}

// requestContext bounds a whole request by RequestsTimeout: counting the
// servers and publishing too, not only waiting for the answers, so that a
// broker that is down or slow cannot hold the caller longer.
func (a *Adapter) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, a.opts.RequestsTimeout)
}

// newRequest prepares a request to the other servers; nil when there is no
// other server.
func (a *Adapter) newRequest(ctx context.Context, typ MessageType) (*request, error) {
	r := &request{typ: typ, answered: make(map[string]struct{}), done: make(chan struct{})}
	if a.opts.Heartbeat != nil {
		a.mu.Lock()
		r.missing = make(map[string]struct{}, len(a.nodes))
		for uid := range a.nodes {
			r.missing[uid] = struct{}{}
		}
		a.mu.Unlock()
		if len(r.missing) == 0 {
			return nil, nil
		}
		return r, nil
	}
	n, err := a.t.ServerCount(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster: counting the servers: %w", err)
	}
	if n <= 1 {
		return nil, nil
	}
	r.expected = n - 1
	return r, nil
}

func (a *Adapter) register(r *request) string {
	id := newRequestID()
	a.mu.Lock()
	a.requests[id] = r
	a.mu.Unlock()
	return id
}

func (a *Adapter) unregister(id string) {
	a.mu.Lock()
	delete(a.requests, id)
	a.mu.Unlock()
}

// wait waits for the answers of request id until ctx ends or the requests
// timeout. In count mode it asks the transport again, now and then, how
// many servers there are: a server that died is not waited for.
func (a *Adapter) wait(ctx context.Context, id string, r *request) error {
	defer a.unregister(id)
	ctx, cancel := context.WithTimeout(ctx, a.opts.RequestsTimeout)
	defer cancel()
	var tick <-chan time.Time
	if r.missing == nil {
		t := time.NewTicker(a.opts.LivenessInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-r.done:
			return nil
		case <-a.ctx.Done():
			return adapter.ErrClosed
		case <-ctx.Done():
			a.mu.Lock()
			got, want := len(r.answered), r.expected
			if r.missing != nil {
				want = got + len(r.missing)
			}
			r.finished = true
			a.mu.Unlock()
			return fmt.Errorf("%w: %d of %d answered: %w", ErrTimeout, got, want, ctx.Err())
		case <-tick:
			n, err := a.t.ServerCount(ctx)
			if err != nil {
				continue
			}
			a.mu.Lock()
			if n-1 < r.expected {
				r.expected = n - 1
				a.checkLocked(r)
			}
			a.mu.Unlock()
		}
	}
}

// checkLocked ends r when every expected server answered.
func (a *Adapter) checkLocked(r *request) {
	if r.finished {
		return
	}
	complete := len(r.answered) >= r.expected
	if r.missing != nil {
		complete = len(r.missing) == 0
	}
	if complete {
		r.finished = true
		close(r.done)
	}
}

// OnMessage handles a message from the transport. offset is the message's
// offset in the transport's log, if it keeps one.
func (a *Adapter) OnMessage(m *Message, offset string) {
	if m == nil || m.UID == a.uid || m.NSP != a.nsp.Name() {
		return
	}
	if a.opts.Heartbeat != nil && m.UID != "" && m.UID != emitterUID {
		a.mu.Lock()
		a.nodes[m.UID] = time.Now()
		a.mu.Unlock()
	}
	switch m.Type {
	case InitialHeartbeat:
		if a.opts.Heartbeat != nil {
			a.publish(&Message{Type: Heartbeat})
		}
	case Heartbeat:
	case AdapterClose:
		a.removeNode(m.UID)
	case Broadcast:
		a.onBroadcast(m)
	case SocketsJoin:
		_ = a.InMemory.AddSockets(m.Opts, m.Rooms)
	case SocketsLeave:
		_ = a.InMemory.DelSockets(m.Opts, m.Rooms)
	case DisconnectSockets:
		_ = a.InMemory.DisconnectSockets(m.Opts, m.Close)
	case FetchSockets:
		infos, _ := a.InMemory.FetchSockets(a.ctx, m.Opts)
		a.respond(m.UID, &Message{Type: FetchSocketsResponse, RequestID: m.RequestID, Sockets: infos})
	case ServerSideEmit:
		var ack func(*parser.Packet)
		if m.RequestID != "" {
			to, id := m.UID, m.RequestID
			ack = func(reply *parser.Packet) {
				a.respond(to, &Message{Type: ServerSideEmitResponse, RequestID: id, Packet: reply})
			}
		}
		a.nsp.ServerSideEvent(m.Packet, ack)
	default:
		if m.Type.IsResponse() {
			a.OnResponse(m)
		}
	}
}

func (a *Adapter) onBroadcast(m *Message) {
	if m.Packet == nil {
		return
	}
	if m.RequestID == "" {
		_ = a.InMemory.Broadcast(m.Packet, m.Opts)
		return
	}
	timeout := m.Opts.Flags.Timeout
	if timeout <= 0 {
		timeout = a.opts.RequestsTimeout
	}
	ctx, cancel := context.WithTimeout(a.ctx, timeout)
	time.AfterFunc(timeout, cancel) // the deliveries stop waiting then
	to, id := m.UID, m.RequestID
	_ = a.InMemory.BroadcastWithAck(ctx, m.Packet, m.Opts, func(n int) {
		a.respond(to, &Message{Type: BroadcastClientCount, RequestID: id, ClientCount: n})
	}, func(r adapter.AckResponse) {
		if r.Err != nil {
			return
		}
		a.respond(to, &Message{Type: BroadcastAck, RequestID: id, Packet: &parser.Packet{Type: parser.Ack, ID: parser.NoID, Data: r.Data, Attachments: r.Attachments}})
	})
}

// OnResponse handles an answer to one of this server's requests.
func (a *Adapter) OnResponse(m *Message) {
	var answer func()
	a.mu.Lock()
	switch m.Type {
	case BroadcastClientCount, BroadcastAck:
		ar := a.acks[m.RequestID]
		switch {
		case ar == nil:
		case m.Type == BroadcastClientCount:
			answer = func() { ar.onCount(m.ClientCount) }
		case m.Packet != nil:
			answer = func() { ar.onAck(adapter.AckResponse{Data: m.Packet.Data, Attachments: m.Packet.Attachments}) }
		}
	case FetchSocketsResponse, ServerSideEmitResponse:
		r := a.requests[m.RequestID]
		if r == nil || r.finished || r.typ+1 != m.Type {
			break
		}
		uid := m.UID
		if uid == "" {
			// Protocols whose answers do not say who sends them (the
			// classic Redis adapter): each answer counts.
			uid = fmt.Sprint("#", len(r.answered))
		}
		if _, dup := r.answered[uid]; dup {
			break
		}
		r.answered[uid] = struct{}{}
		delete(r.missing, m.UID)
		if m.Type == FetchSocketsResponse {
			r.sockets = append(r.sockets, m.Sockets...)
		} else if m.Packet != nil {
			r.answers = append(r.answers, adapter.AckResponse{Data: m.Packet.Data, Attachments: m.Packet.Attachments})
		}
		a.checkLocked(r)
	}
	a.mu.Unlock()
	if answer != nil {
		answer()
	}
}

// Heartbeats.

func (a *Adapter) scheduleHeartbeat() {
	if a.opts.Heartbeat == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	if a.hbTimer != nil {
		a.hbTimer.Reset(a.opts.Heartbeat.Interval)
		return
	}
	a.hbTimer = time.AfterFunc(a.opts.Heartbeat.Interval, func() { a.publish(&Message{Type: Heartbeat}) })
}

// watchNodes forgets the servers that went silent.
func (a *Adapter) watchNodes() {
	defer a.wg.Done()
	t := time.NewTicker(min(time.Second, a.opts.Heartbeat.Timeout/2))
	defer t.Stop()
	for {
		select {
		case <-a.ctx.Done():
			return
		case now := <-t.C:
			a.mu.Lock()
			nodes := maps.Clone(a.nodes)
			a.mu.Unlock()
			for uid, seen := range nodes {
				if now.Sub(seen) > a.opts.Heartbeat.Timeout {
					a.logger.Info("cluster: server seems down", "nsp", a.nsp.Name(), "uid", uid)
					a.removeNode(uid)
				}
			}
		}
	}
}

// removeNode forgets a server; requests stop waiting for it.
func (a *Adapter) removeNode(uid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.nodes, uid)
	for _, r := range a.requests {
		if r.missing != nil {
			delete(r.missing, uid)
			a.checkLocked(r)
		}
	}
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
