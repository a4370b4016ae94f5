package nats

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/socketio-go/socketio/adapter/cluster"
)

// jsTransport is the cluster.Transport of one namespace on JetStream: the
// stream for what must be ordered and kept, core NATS for the rest.
type jsTransport struct {
	core *coreTransport
	opts JetStreamOptions
	a    *JetStreamAdapter

	js     jetstream.JetStream
	stream jetstream.Stream
	iter   jetstream.MessagesContext
	msgN   atomic.Uint64 // numbers the entries written, for their message ids
	// started is set once Start succeeded: the stream is there and read.
	started atomic.Bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// ensureStream creates the stream, or updates its configuration, with
// entries kept for maxAge.
func (t *jsTransport) ensureStream(ctx context.Context, maxAge time.Duration) error {
	s, err := t.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        t.opts.Stream,
		Description: "socket.io broadcasts (socketio-go NATS adapter)",
		Subjects:    []string{t.opts.Prefix + ".*.log"},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      maxAge,
		MaxBytes:    t.opts.MaxBytes,
		MaxMsgs:     -1,
		Storage:     t.opts.storage(),
		Replicas:    t.opts.Replicas,
		Duplicates:  min(maxAge, 2*time.Minute),
	})
	if err != nil {
		return fmt.Errorf("nats: creating stream %s: %w", t.opts.Stream, err)
	}
	if t.stream == nil {
		t.stream = s
	}
	return nil
}

func (t *jsTransport) Start(ctx context.Context, deliver func(*cluster.Message, string)) error {
	js, err := jetstream.New(t.core.nc, jetstream.WithPublishAsyncTimeout(t.opts.PublishTimeout))
	if err != nil {
		return fmt.Errorf("nats: jetstream: %w", err)
	}
	t.js = js
	maxAge := t.opts.MaxAge
	if maxAge <= 0 {
		maxAge = 3 * time.Minute
		if mdd := t.a.recovery(); mdd > 0 {
			maxAge = mdd + time.Minute
		}
		// An existing stream keeps its max age until ConfigureRecovery.
		if s, err := js.Stream(ctx, t.opts.Stream); err == nil && s.CachedInfo().Config.MaxAge > 0 {
			maxAge = s.CachedInfo().Config.MaxAge
		}
	}
	if err := t.ensureStream(ctx, maxAge); err != nil {
		return err
	}
	if err := t.core.Start(ctx, deliver); err != nil {
		return err
	}
	info, err := t.stream.Info(ctx)
	if err != nil {
		_ = t.core.Close(ctx)
		return fmt.Errorf("nats: stream info: %w", err)
	}
	// Reading starts after the stream's last entry: what this server
	// writes from now on is read back.
	last := info.State.LastSeq
	t.a.lastSeq = last
	cons, err := t.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{t.core.subj.log},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    last + 1,
	})
	if err != nil {
		_ = t.core.Close(ctx)
		return fmt.Errorf("nats: consumer of %s: %w", t.core.subj.log, err)
	}
	it, err := cons.Messages()
	if err != nil {
		_ = t.core.Close(ctx)
		return fmt.Errorf("nats: reading %s: %w", t.core.subj.log, err)
	}
	t.iter = it
	t.wg.Add(2)
	go t.read()
	go t.a.flushLoop(t.ctx, &t.wg)
	t.started.Store(true)
	return nil
}

// read delivers the stream's entries of the namespace, in order, until
// Close. The ordered consumer resumes after the last entry read when the
// connection or the server comes back.
func (t *jsTransport) read() {
	defer t.wg.Done()
	r := retry{what: "reading the stream", stream: t.opts.Stream, t: t}
	for {
		msg, err := t.iter.Next()
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) || t.ctx.Err() != nil {
			return
		}
		if !r.after(err) {
			continue
		}
		meta, err := msg.Metadata()
		if err != nil {
			t.core.drop.drop("stream entry", msg.Subject(), err)
			continue
		}
		t.a.deliverMu.Lock()
		if meta.Sequence.Stream > t.a.lastSeq {
			t.a.deliver(meta.Sequence.Stream, msg.Data())
		}
		t.a.readCond.Broadcast()
		t.a.deliverMu.Unlock()
	}
}

func (t *jsTransport) Publish(ctx context.Context, m *cluster.Message) (string, error) {
	if ephemeral(m) {
		return t.core.Publish(ctx, m)
	}
	errs := t.write(ctx, []*cluster.Message{m})
	return "", errs[0]
}

// PublishBatch writes the stream entries of ms together (asynchronous
// publishes, then their acknowledgements) and publishes the rest at once.
func (t *jsTransport) PublishBatch(ctx context.Context, ms []*cluster.Message) ([]string, []error) {
	errs := make([]error, len(ms))
	var entries []*cluster.Message
	var at []int
	for i, m := range ms {
		if ephemeral(m) {
			_, errs[i] = t.core.Publish(ctx, m)
			continue
		}
		entries = append(entries, m)
		at = append(at, i)
	}
	if len(entries) > 0 {
		for j, err := range t.write(ctx, entries) {
			errs[at[j]] = err
		}
	}
	return make([]string, len(ms)), errs
}

// write writes ms to the stream, in order, retrying what failed (with the
// same message ids: JetStream stores each once) until it is stored or ctx
// ends. A retried entry may be stored after entries that followed it.
func (t *jsTransport) write(ctx context.Context, ms []*cluster.Message) []error {
	errs := make([]error, len(ms))
	msgs := make([]*nats.Msg, len(ms))
	var todo []int
	for i, m := range ms {
		b, err := cluster.AppendMsgpack(nil, m)
		if err != nil {
			errs[i] = err
			continue
		}
		id := t.core.uid + "-" + strconv.FormatUint(t.msgN.Add(1), 10)
		msgs[i] = &nats.Msg{Subject: t.core.subj.log, Data: b, Header: nats.Header{jetstream.MsgIDHeader: []string{id}}}
		todo = append(todo, i)
	}
	r := retry{what: "writing to the stream", stream: t.opts.Stream, t: t, ctx: ctx}
	for len(todo) > 0 {
		futs := make([]jetstream.PubAckFuture, len(todo))
		var failed []int
		var first error
		for k, i := range todo {
			f, err := t.js.PublishMsgAsync(msgs[i])
			if errors.Is(err, nats.ErrMaxPayload) {
				errs[i] = err // never fits
				continue
			}
			if err != nil {
				first = cmp(first, err)
				failed = append(failed, i)
				continue
			}
			futs[k] = f
		}
		for k, i := range todo {
			f := futs[k]
			if f == nil {
				continue
			}
			select {
			case <-f.Ok():
			case err := <-f.Err():
				first = cmp(first, err)
				failed = append(failed, i)
			case <-ctx.Done():
				first = cmp(first, ctx.Err())
				failed = append(failed, i)
			}
		}
		if len(failed) == 0 {
			r.after(nil)
			break
		}
		sortInts(failed)
		todo = failed
		if !r.after(first) && ctx.Err() != nil {
			for _, i := range todo {
				errs[i] = fmt.Errorf("nats: writing to the stream: %w", first)
			}
			break
		}
	}
	return errs
}

func cmp(first, err error) error {
	if first == nil {
		return err
	}
	return first
}

func sortInts(s []int) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func (t *jsTransport) PublishResponse(ctx context.Context, to string, m *cluster.Message) error {
	return t.core.PublishResponse(ctx, to, m)
}

func (t *jsTransport) ServerCount(ctx context.Context) (int, error) { return t.core.ServerCount(ctx) }

func (t *jsTransport) Close(ctx context.Context) error {
	t.cancel()
	if t.iter != nil {
		t.iter.Stop()
	}
	// Wake an Attach waiting for the reader.
	t.a.deliverMu.Lock()
	t.a.readCond.Broadcast()
	t.a.deliverMu.Unlock()
	t.wg.Wait()
	return t.core.Close(ctx)
}

// retry paces a loop that talks to NATS: after a failure it waits, longer
// each time (50ms doubling to 2s), and it logs the first failure of a
// series and the recovery, not every failure.
type retry struct {
	what    string
	stream  string
	t       *jsTransport
	ctx     context.Context // nil: the transport's
	failing bool
	backoff time.Duration
}

// after records the outcome err of an attempt; after a failure it waits
// (or until the context ends) and returns false.
func (r *retry) after(err error) bool {
	ctx := r.ctx
	if ctx == nil {
		ctx = r.t.ctx
	}
	log := r.t.opts.Logger
	if err == nil {
		if r.failing {
			log.Info("nats: "+r.what+" again", "stream", r.stream)
		}
		r.failing, r.backoff = false, 0
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	if !r.failing {
		log.Warn("nats: "+r.what+" failed, retrying", "stream", r.stream, "err", err)
		r.failing = true
	}
	r.backoff = min(max(2*r.backoff, 50*time.Millisecond), 2*time.Second)
	select {
	case <-ctx.Done():
	case <-time.After(r.backoff):
	}
	return false
}
