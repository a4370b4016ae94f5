package redis

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/adapter/cluster"
)

// streamsTransport is the cluster.Transport of one namespace on a Redis
// stream and pub/sub channels.
type streamsTransport struct {
	client  goredis.UniversalClient
	opts    StreamsOptions
	a       *StreamsAdapter
	nsp     string
	uid     string
	stream  string
	public  string // prefix#nsp#
	private string // prefix#nsp#uid#

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	ps     *goredis.PubSub
	reader goredis.UniversalClient // the stream reader's own client, when it has one

	// The outbox: stream entries in the order they must be written.
	omu      sync.Mutex
	ocond    *sync.Cond
	outbox   []outEntry
	inflight bool         // a batch is being written
	pending  []pendingOwn // own packets not yet read back, in stream order
	closed   bool

	tmu     sync.Mutex
	waiters map[string]chan struct{} // pid -> takeover in progress
}

// Takeovers of a session whose client came back on another server while
// its server still holds the old connection. Only servers of this module
// write the sessions of connected sockets, so these messages go only
// between them, on their private channels:
//
//	<controlPrefix>takeover\x00<requester uid>\x00<sid>\x00<pid>
//	<controlPrefix>taken\x00<pid>
const controlPrefix = "\x00sio-go\x00"

// takeover asks server owner to close the connection of socket sid, and
// waits until it kept the socket's session.
func (t *streamsTransport) takeover(ctx context.Context, owner, sid, pid string) error {
	done := make(chan struct{})
	t.tmu.Lock()
	if t.waiters == nil {
		t.waiters = make(map[string]chan struct{})
	}
	t.waiters[pid] = done
	t.tmu.Unlock()
	defer func() {
		t.tmu.Lock()
		delete(t.waiters, pid)
		t.tmu.Unlock()
	}()
	msg := controlPrefix + "takeover\x00" + t.uid + "\x00" + sid + "\x00" + pid
	if err := t.publish(ctx, t.public+owner+"#", []byte(msg)); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// onControl handles a takeover message.
func (t *streamsTransport) onControl(payload string) {
	parts := strings.Split(strings.TrimPrefix(payload, controlPrefix), "\x00")
	switch {
	case len(parts) == 4 && parts[0] == "takeover":
		from, sid, pid := parts[1], parts[2], parts[3]
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			ctx, cancel := context.WithTimeout(t.ctx, 5*time.Second)
			defer cancel()
			if r, ok := t.a.nsp.(adapter.SocketReplacer); ok {
				r.ReplaceSocket(ctx, pid)
			}
			if err := t.publish(ctx, t.public+from+"#", []byte(controlPrefix+"taken\x00"+pid)); err != nil {
				t.opts.Logger.Warn("redis: cannot answer a session takeover", "sid", sid, "err", err)
			}
		}()
	case len(parts) == 2 && parts[0] == "taken":
		t.tmu.Lock()
		if done := t.waiters[parts[1]]; done != nil {
			close(done)
			delete(t.waiters, parts[1])
		}
		t.tmu.Unlock()
	default:
		t.opts.Logger.Warn("redis: malformed control message dropped")
	}
}

// pendingOwn is an own recoverable packet written to the stream.
type pendingOwn struct {
	id  string
	own *ownBroadcast
}

// outEntry is a stream entry to write.
type outEntry struct {
	values []any
	own    *ownBroadcast
}

func (t *streamsTransport) subscribe(ctx context.Context, channels ...string) *goredis.PubSub {
	if t.opts.UseShardedPubSub {
		return t.client.SSubscribe(ctx, channels...)
	}
	return t.client.Subscribe(ctx, channels...)
}

func (t *streamsTransport) Start(ctx context.Context, deliver func(*cluster.Message, string)) error {
	t.ps = t.subscribe(ctx, t.public, t.private)
	for confirmed := 0; confirmed < 2; {
		msg, err := t.ps.Receive(ctx)
		if err != nil {
			_ = t.ps.Close()
			t.ps = nil
			return fmt.Errorf("redis: subscribing to %s: %w", t.public, err)
		}
		if _, ok := msg.(*goredis.Subscription); ok {
			confirmed++
		}
	}
	// Reading starts after the stream's last entry: what this server
	// publishes from now on is read back.
	last, err := t.lastEntry(ctx)
	if err != nil {
		_ = t.ps.Close()
		t.ps = nil
		return err
	}
	t.a.lastID = last
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.reader = duplicate(t.client)
	t.ocond = sync.NewCond(&t.omu)
	ch := t.ps.Channel(goredis.WithChannelSize(1024))
	t.wg.Add(4)
	go func() {
		defer t.wg.Done()
		for msg := range ch {
			if strings.HasPrefix(msg.Payload, controlPrefix) {
				t.onControl(msg.Payload)
				continue
			}
			if len(msg.Payload) > t.opts.MaxMessageSize {
				t.opts.Logger.Warn("redis: oversized message dropped", "channel", msg.Channel, "size", len(msg.Payload))
				continue
			}
			m, err := cluster.DecodeMsgpack([]byte(msg.Payload))
			if err != nil {
				t.opts.Logger.Warn("redis: malformed message dropped", "channel", msg.Channel, "err", err)
				continue
			}
			deliver(m, "")
		}
	}()
	go t.read(last)
	go t.publishLoop()
	go t.a.flushLoop(t.ctx, &t.wg)
	return nil
}

// lastEntry returns the id of the stream's last entry, "0-0" when it is
// empty or does not exist.
func (t *streamsTransport) lastEntry(ctx context.Context) (string, error) {
	msgs, err := t.client.XRevRangeN(ctx, t.stream, "+", "-", 1).Result()
	if err != nil {
		return "", fmt.Errorf("redis: XREVRANGE %s: %w", t.stream, err)
	}
	if len(msgs) == 0 {
		return "0-0", nil
	}
	return msgs[0].ID, nil
}

// read reads the stream from after id, until Close.
func (t *streamsTransport) read(id string) {
	defer t.wg.Done()
	r := retry{what: "reading the stream", stream: t.stream, logger: t.opts.Logger}
	for t.ctx.Err() == nil {
		res, err := t.readClient().XRead(t.ctx, &goredis.XReadArgs{
			Streams: []string{t.stream, id},
			Count:   t.opts.ReadCount,
			Block:   t.opts.BlockTime,
		}).Result()
		if errors.Is(err, goredis.Nil) {
			continue
		}
		if !r.after(t.ctx, err) {
			continue
		}
		for _, s := range res {
			if len(s.Messages) == 0 {
				continue
			}
			t.a.deliverMu.Lock()
			for _, msg := range s.Messages {
				own := t.takeOwn(msg.ID, msg.Values)
				t.a.deliver(msg.ID, msg.Values, own)
				id = msg.ID
			}
			t.a.readCond.Broadcast()
			t.a.deliverMu.Unlock()
		}
	}
}

// takeOwn returns the packet of an entry of this server's waiting to be
// read back, if it is one.
func (t *streamsTransport) takeOwn(id string, values map[string]any) *ownBroadcast {
	if uid, _ := values["uid"].(string); uid != t.uid {
		return nil
	}
	t.omu.Lock()
	defer t.omu.Unlock()
	for {
		// The pending packets are in stream order, as the reader reads them.
		for len(t.pending) > 0 {
			c := compareIDs(t.pending[0].id, id)
			if c > 0 {
				// A later packet is recorded, so id's batch was: id is
				// not a recoverable packet of ours.
				return nil
			}
			p := t.pending[0]
			t.pending[0] = pendingOwn{}
			t.pending = t.pending[1:]
			if c == 0 {
				return p.own
			}
			// Older than id and not read: Redis lost it.
		}
		// The batch that wrote it may not have recorded its ids yet.
		if !t.inflight || t.closed {
			return nil
		}
		t.ocond.Wait()
	}
}

// enqueue queues m, a message for the stream. own, if set, is delivered to
// the local sockets when the entry is read back.
func (t *streamsTransport) enqueue(m *cluster.Message, own *ownBroadcast) error {
	values, err := t.entry(m)
	if err != nil {
		return err
	}
	t.omu.Lock()
	defer t.omu.Unlock()
	if t.closed || t.ocond == nil {
		return errors.New("redis: streams adapter closed")
	}
	if len(t.outbox) >= t.opts.MaxPendingPublishes {
		return ErrPublishBacklogFull
	}
	t.outbox = append(t.outbox, outEntry{values: values, own: own})
	t.ocond.Broadcast()
	return nil
}

// entry returns the fields of m's stream entry, as the official adapter
// writes them: uid, nsp, type (decimal), and data (JSON, or MessagePack in
// base64 when it holds binary values).
func (t *streamsTransport) entry(m *cluster.Message) ([]any, error) {
	values := []any{"uid", m.UID, "nsp", m.NSP, "type", strconv.Itoa(int(m.Type))}
	var data []byte
	var err error
	if m.Type.MayCarryBinary() && m.HasBinary() {
		var b []byte
		if b, err = cluster.AppendDataMsgpack(nil, m); err == nil {
			data = base64.StdEncoding.AppendEncode(nil, b)
		}
	} else {
		data, err = cluster.AppendData(nil, m)
	}
	if err != nil {
		return nil, fmt.Errorf("redis: encoding a message of type %d: %w", m.Type, err)
	}
	if len(data) > 0 {
		values = append(values, "data", string(data))
	}
	return values, nil
}

// publishLoop writes the outbox to the stream in order, a pipeline per
// batch, retrying while Redis cannot be reached.
func (t *streamsTransport) publishLoop() {
	defer t.wg.Done()
	w := retry{what: "writing to the stream", stream: t.stream, logger: t.opts.Logger}
	for {
		t.omu.Lock()
		for len(t.outbox) == 0 && !t.closed {
			t.ocond.Wait()
		}
		if t.closed {
			t.omu.Unlock()
			return
		}
		batch := t.outbox[:min(len(t.outbox), 512)]
		t.inflight = true
		t.omu.Unlock()

		pipe := t.client.Pipeline()
		cmds := make([]*goredis.StringCmd, len(batch))
		for i, e := range batch {
			cmds[i] = pipe.XAdd(t.ctx, &goredis.XAddArgs{Stream: t.stream, MaxLen: t.opts.MaxLen, Approx: true, Values: e.values})
		}
		_, err := pipe.Exec(t.ctx)

		t.omu.Lock()
		done := 0
		for i, c := range cmds {
			id, cerr := c.Result()
			if cerr != nil {
				break
			}
			if own := batch[i].own; own != nil {
				t.pending = append(t.pending, pendingOwn{id: id, own: own})
			}
			done++
		}
		t.outbox = t.outbox[done:]
		if len(t.outbox) == 0 {
			t.outbox = nil
		}
		t.inflight = false
		t.ocond.Broadcast()
		t.omu.Unlock()

		if !w.after(t.ctx, err) && t.ctx.Err() != nil {
			return
		}
	}
}

func (t *streamsTransport) Publish(ctx context.Context, m *cluster.Message) (string, error) {
	if ephemeral(m) {
		b, err := cluster.AppendMsgpack(nil, m)
		if err != nil {
			return "", err
		}
		return "", t.publish(ctx, t.public, b)
	}
	own, _ := m.Local.(*ownBroadcast)
	return "", t.enqueue(m, own)
}

func (t *streamsTransport) publish(ctx context.Context, channel string, b []byte) error {
	if t.opts.UseShardedPubSub {
		return t.client.SPublish(ctx, channel, b).Err()
	}
	return t.client.Publish(ctx, channel, b).Err()
}

func (t *streamsTransport) PublishResponse(ctx context.Context, to string, m *cluster.Message) error {
	b, err := cluster.AppendMsgpack(nil, m)
	if err != nil {
		return err
	}
	return t.publish(ctx, t.public+to+"#", b)
}

func (t *streamsTransport) ServerCount(ctx context.Context) (int, error) {
	return t.subscribers(ctx, t.public)
}

// subscribers returns the number of subscribers of channel.
func (t *streamsTransport) subscribers(ctx context.Context, channel string) (int, error) {
	var res map[string]int64
	var err error
	if t.opts.UseShardedPubSub {
		res, err = t.client.PubSubShardNumSub(ctx, channel).Result()
	} else {
		res, err = t.client.PubSubNumSub(ctx, channel).Result()
	}
	if err != nil {
		return 0, err
	}
	return int(res[channel]), nil
}

func (t *streamsTransport) Close(ctx context.Context) error {
	if t.ps == nil {
		return nil
	}
	t.omu.Lock()
	t.closed = true
	if t.ocond != nil {
		t.ocond.Broadcast()
	}
	t.omu.Unlock()
	t.cancel()
	err := t.ps.Close()
	if t.reader != nil {
		// Ends the blocking XREAD at once.
		_ = t.reader.Close()
	}
	t.wg.Wait()
	return err
}

func (t *streamsTransport) readClient() goredis.UniversalClient {
	if t.reader != nil {
		return t.reader
	}
	return t.client
}

// duplicate returns a client of its own with c's options, for a blocking
// reader that Close can interrupt, or nil when c is of another kind (the
// reader then shares c's pool and Close waits for the end of its XREAD,
// BlockTime at most).
func duplicate(c goredis.UniversalClient) goredis.UniversalClient {
	switch c := c.(type) {
	case *goredis.Client:
		o := *c.Options()
		o.PoolSize, o.MinIdleConns, o.MaxIdleConns = 1, 0, 1
		return goredis.NewClient(&o)
	case *goredis.ClusterClient:
		o := *c.Options()
		return goredis.NewClusterClient(&o)
	}
	return nil
}

// decodeEntry decodes a stream entry. It returns nil for an entry of
// another namespace.
func (t *streamsTransport) decodeEntry(values map[string]any) (*cluster.Message, error) {
	nsp, _ := values["nsp"].(string)
	if nsp != t.nsp {
		return nil, nil
	}
	uid, _ := values["uid"].(string)
	typ, _ := values["type"].(string)
	data, _ := values["data"].(string)
	n, err := strconv.Atoi(typ)
	if err != nil {
		return nil, fmt.Errorf("type %q", typ)
	}
	if len(data) > t.opts.MaxMessageSize {
		return nil, fmt.Errorf("data of %d bytes", len(data))
	}
	if data != "" && data[0] != '{' {
		b, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		return cluster.DecodeData(cluster.MessageType(n), uid, nsp, b, true)
	}
	return cluster.DecodeData(cluster.MessageType(n), uid, nsp, []byte(data), false)
}

// retry paces a loop that talks to Redis: after a failure it waits, longer
// each time (50ms doubling to 2s), and it logs the first failure of a
// series and the recovery, not every failure.
type retry struct {
	what    string
	stream  string
	logger  *slog.Logger
	failing bool
	backoff time.Duration
}

// after records the outcome err of an attempt; after a failure it waits
// (or until ctx ends) and returns false.
func (r *retry) after(ctx context.Context, err error) bool {
	if err == nil {
		if r.failing {
			r.logger.Info("redis: "+r.what+" again", "stream", r.stream)
		}
		r.failing, r.backoff = false, 0
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	if !r.failing {
		r.logger.Warn("redis: "+r.what+" failed, retrying", "stream", r.stream, "err", err)
		r.failing = true
	}
	r.backoff = min(max(2*r.backoff, 50*time.Millisecond), 2*time.Second)
	select {
	case <-ctx.Done():
	case <-time.After(r.backoff):
	}
	return false
}
