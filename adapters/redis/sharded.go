package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/adapter/cluster"
)

// SubscriptionMode says which channels a sharded adapter subscribes to, as
// the official createShardedAdapter's subscriptionMode.
type SubscriptionMode string

// The subscription modes.
const (
	// Dynamic: a channel per public room, subscribed while the room has
	// local members; broadcasts to one public room go to its channel, so
	// that only the servers with members receive them. The default.
	Dynamic SubscriptionMode = "dynamic"
	// DynamicPrivate: also a channel per socket (private room).
	DynamicPrivate SubscriptionMode = "dynamic-private"
	// Static: the namespace's channel only.
	Static SubscriptionMode = "static"
)

// ShardedOptions configure NewShardedAdapter.
type ShardedOptions struct {
	// ChannelPrefix is the prefix of the channels. Zero means "socket.io".
	ChannelPrefix string
	// SubscriptionMode: zero means Dynamic.
	SubscriptionMode SubscriptionMode
	// RequestsTimeout bounds a request to the other servers. Zero means
	// 5s.
	RequestsTimeout time.Duration
	// Logger receives the adapter's diagnostics. Nil means slog.Default().
	Logger *slog.Logger
}

// NewShardedAdapter returns an adapter.Factory for a cluster on Redis
// sharded pub/sub (SPUBLISH, Redis 7), wire-compatible with the official
// @socket.io/redis-adapter 8.3's createShardedAdapter: Go and Node servers
// on the same Redis form one cluster.
//
// The client is used to publish; each namespace's adapter opens a
// subscription of its own on it. Messages published while the connection
// to Redis is down are lost (pub/sub keeps nothing); the subscription is
// restored when Redis is back. During an outage, publishing fails at once
// as described for NewAdapter.
func NewShardedAdapter(client goredis.UniversalClient, opts ShardedOptions) adapter.Factory {
	return newShardedAdapter(client, opts, cluster.Options{})
}

// newShardedAdapter is NewShardedAdapter with cluster options beyond
// ShardedOptions (the fault tests use heartbeats and other liveness
// intervals).
func newShardedAdapter(client goredis.UniversalClient, opts ShardedOptions, copts cluster.Options) adapter.Factory {
	if opts.ChannelPrefix == "" {
		opts.ChannelPrefix = "socket.io"
	}
	if opts.SubscriptionMode == "" {
		opts.SubscriptionMode = Dynamic
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return func(nsp adapter.Namespace) adapter.Adapter {
		t := &shardedTransport{
			client:  client,
			opts:    opts,
			channel: opts.ChannelPrefix + "#" + nsp.Name() + "#",
			outage:  newOutage(client),
		}
		copts := copts
		copts.RequestsTimeout, copts.Logger = opts.RequestsTimeout, opts.Logger
		a := cluster.New(nsp, t, copts)
		t.uid = a.UID()
		t.response = t.channel + t.uid + "#"
		if opts.SubscriptionMode != Static {
			private := opts.SubscriptionMode == DynamicPrivate
			a.SetRoomHooks(adapter.RoomHooks{
				Created: func(room adapter.Room, own bool) {
					if !own || private {
						t.roomChange(room, true)
					}
				},
				Deleted: func(room adapter.Room, own bool) {
					if !own || private {
						t.roomChange(room, false)
					}
				},
			})
		}
		return a
	}
}

// shardedTransport is the cluster.Transport of one namespace on sharded
// pub/sub.
type shardedTransport struct {
	client   goredis.UniversalClient
	opts     ShardedOptions
	channel  string // prefix#nsp#
	response string // prefix#nsp#uid#
	uid      string

	ps     *goredis.PubSub
	done   chan struct{}
	outage *outage

	// Subscriptions to room channels, applied in order by subLoop.
	smu     sync.Mutex
	scond   *sync.Cond
	changes []roomChange
	closed  bool
	subDone chan struct{}
}

type roomChange struct {
	room string
	add  bool
}

func (t *shardedTransport) roomChannel(room string) string { return t.channel + room + "#" }

// roomChange is called by the room hooks, with the adapter's lock held:
// it only queues the change.
func (t *shardedTransport) roomChange(room string, add bool) {
	t.smu.Lock()
	if !t.closed {
		t.changes = append(t.changes, roomChange{room, add})
		if t.scond != nil {
			t.scond.Signal()
		}
	}
	t.smu.Unlock()
}

func (t *shardedTransport) Start(ctx context.Context, deliver func(*cluster.Message, string)) error {
	t.ps = t.client.SSubscribe(ctx, t.channel, t.response)
	// Wait for the confirmation: the server counts this one from now on.
	if _, err := t.ps.Receive(ctx); err != nil {
		_ = t.ps.Close()
		return fmt.Errorf("redis: SSUBSCRIBE %s: %w", t.channel, err)
	}
	t.done = make(chan struct{})
	t.subDone = make(chan struct{})
	t.smu.Lock()
	t.scond = sync.NewCond(&t.smu)
	t.smu.Unlock()
	go t.subLoop()
	ch := t.ps.Channel(goredis.WithChannelSize(1024))
	go func() {
		defer close(t.done)
		for msg := range ch {
			m, err := decode([]byte(msg.Payload))
			if err != nil {
				t.opts.Logger.Warn("redis: malformed message dropped", "channel", msg.Channel, "err", err)
				continue
			}
			deliver(m, "")
		}
	}()
	return nil
}

// subLoop applies the room subscriptions in the order they were queued.
func (t *shardedTransport) subLoop() {
	defer close(t.subDone)
	for {
		t.smu.Lock()
		for len(t.changes) == 0 && !t.closed {
			t.scond.Wait()
		}
		if t.closed {
			t.smu.Unlock()
			return
		}
		c := t.changes[0]
		t.changes = t.changes[1:]
		t.smu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var err error
		if c.add {
			err = t.ps.SSubscribe(ctx, t.roomChannel(c.room))
		} else {
			err = t.ps.SUnsubscribe(ctx, t.roomChannel(c.room))
		}
		cancel()
		if err != nil {
			t.opts.Logger.Warn("redis: room subscription failed", "room", c.room, "subscribe", c.add, "err", err)
		}
	}
}

// looksLikeASocketID is the official adapter's test for a room that is
// probably a socket's own room.
func looksLikeASocketID(room string) bool { return len(room) == 20 }

// publishChannel is where m goes: a broadcast without acknowledgements to
// exactly one public room goes to that room's channel.
func (t *shardedTransport) publishChannel(m *cluster.Message) string {
	if m.Type == cluster.Broadcast && m.RequestID == "" && len(m.Opts.Rooms) == 1 {
		room := m.Opts.Rooms[0]
		if (t.opts.SubscriptionMode == Dynamic && !looksLikeASocketID(room)) || t.opts.SubscriptionMode == DynamicPrivate {
			return t.roomChannel(room)
		}
	}
	return t.channel
}

func (t *shardedTransport) Publish(ctx context.Context, m *cluster.Message) (string, error) {
	b, err := encode(m)
	if err != nil {
		return "", err
	}
	return "", t.publish(ctx, t.publishChannel(m), b)
}

// publish publishes b, or fails at once during an outage.
func (t *shardedTransport) publish(ctx context.Context, channel string, b []byte) error {
	if err := t.outage.check(); err != nil {
		return err
	}
	return t.outage.report(t.client.SPublish(ctx, channel, b).Err())
}

func (t *shardedTransport) PublishResponse(ctx context.Context, to string, m *cluster.Message) error {
	b, err := encode(m)
	if err != nil {
		return err
	}
	return t.publish(ctx, t.channel+to+"#", b)
}

func (t *shardedTransport) ServerCount(ctx context.Context) (int, error) {
	if err := t.outage.check(); err != nil {
		return 0, err
	}
	res, err := t.client.PubSubShardNumSub(ctx, t.channel).Result()
	if err != nil {
		return 0, t.outage.report(err)
	}
	return int(res[t.channel]), nil
}

func (t *shardedTransport) Close(ctx context.Context) error {
	t.outage.close()
	t.smu.Lock()
	t.closed = true
	if t.scond != nil {
		t.scond.Broadcast()
	}
	t.smu.Unlock()
	if t.ps == nil {
		return nil
	}
	<-t.subDone
	err := t.ps.Close() // unsubscribes from everything
	<-t.done
	return err
}

// encode writes m as the official adapters do: JSON, or MessagePack when it
// holds binary values.
func encode(m *cluster.Message) ([]byte, error) {
	if m.HasBinary() {
		return cluster.AppendMsgpack(nil, m)
	}
	return cluster.AppendJSON(nil, m)
}

// decode reads a message: JSON when it starts with '{', else MessagePack.
func decode(b []byte) (*cluster.Message, error) {
	if len(b) == 0 {
		return nil, errors.New("redis: empty message")
	}
	if b[0] == '{' {
		return cluster.DecodeJSON(b)
	}
	return cluster.DecodeMsgpack(b)
}
