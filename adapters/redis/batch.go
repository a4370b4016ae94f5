package redis

import (
	"context"

	goredis "github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio/adapter/cluster"
)

// The pub/sub transports are cluster.BatchTransports: what waits in an
// adapter's outbox goes to Redis in one pipeline, so a burst of broadcasts
// costs one round trip, not one each.

// publishBatch publishes the encoded messages in one pipeline; a message
// that did not encode gets its error and is skipped. During an outage every
// message fails at once.
func publishBatch(ctx context.Context, client goredis.UniversalClient, o *outage, sharded bool, n int, encode func(i int) (string, []byte, error)) ([]string, []error) {
	errs := make([]error, n)
	if err := o.check(); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return make([]string, n), errs
	}
	cmds := make([]*goredis.IntCmd, n)
	pipe := client.Pipeline()
	queued := 0
	for i := range n {
		channel, b, err := encode(i)
		if err != nil {
			errs[i] = err
			continue
		}
		if sharded {
			cmds[i] = pipe.SPublish(ctx, channel, b)
		} else {
			cmds[i] = pipe.Publish(ctx, channel, b)
		}
		queued++
	}
	if queued > 0 {
		_, _ = pipe.Exec(ctx)
	}
	for i, c := range cmds {
		if c != nil {
			errs[i] = o.report(c.Err())
		}
	}
	return make([]string, n), errs
}

// PublishBatch publishes ms in one pipeline.
func (t *pubsubTransport) PublishBatch(ctx context.Context, ms []*cluster.Message) ([]string, []error) {
	return publishBatch(ctx, t.client, t.outage, false, len(ms), func(i int) (string, []byte, error) { return t.encode(ms[i]) })
}

// PublishBatch publishes ms in one pipeline.
func (t *shardedTransport) PublishBatch(ctx context.Context, ms []*cluster.Message) ([]string, []error) {
	return publishBatch(ctx, t.client, t.outage, true, len(ms), func(i int) (string, []byte, error) {
		b, err := encode(ms[i])
		return t.publishChannel(ms[i]), b, err
	})
}

var (
	_ cluster.BatchTransport = (*pubsubTransport)(nil)
	_ cluster.BatchTransport = (*shardedTransport)(nil)
)
