package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/socketio-go/socketio/adapter/cluster"
)

// Reconnection backoff of the listening connection.
const (
	minReconnectDelay = 100 * time.Millisecond
	maxReconnectDelay = time.Second
)

// hub is what the adapters of one NewAdapter share: the listening
// connection, its goroutine and the cleanup of the attachment table. It
// runs while at least one adapter is started.
type hub struct {
	pool      *pgxpool.Pool
	opts      *Options
	malformed *sampler

	mu      sync.Mutex
	routes  map[string]*transport // channel -> transport
	ops     []listenOp            // LISTEN/UNLISTEN for the listening goroutine
	wake    context.CancelFunc    // interrupts the wait for notifications
	stop    context.CancelFunc
	done    chan struct{} // closed when the goroutines returned
	running bool
}

// listenOp is a LISTEN (or UNLISTEN) to run on the listening connection;
// done receives the outcome.
type listenOp struct {
	channel string
	listen  bool
	done    chan error
}

func newHub(pool *pgxpool.Pool, opts *Options) *hub {
	return &hub{
		pool:      pool,
		opts:      opts,
		malformed: newSampler(opts.Logger, time.Second),
		routes:    make(map[string]*transport),
	}
}

// add routes t's channel to it and waits until the listening connection
// listens to it (or ctx ends).
func (h *hub) add(ctx context.Context, t *transport) error {
	op := listenOp{channel: t.channel, listen: true, done: make(chan error, 1)}
	h.mu.Lock()
	if _, dup := h.routes[t.channel]; dup {
		h.mu.Unlock()
		return errors.New("postgres: namespace " + t.nsp + " already has an adapter on this factory")
	}
	h.routes[t.channel] = t
	if !h.running {
		h.running = true
		ctx, cancel := context.WithCancel(context.Background())
		h.stop, h.done = cancel, make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); h.listen(ctx) }()
		if h.opts.CleanupInterval > 0 {
			wg.Add(1)
			go func() { defer wg.Done(); h.cleanup(ctx) }()
		}
		go func(done chan struct{}) { wg.Wait(); close(done) }(h.done)
	}
	stopped := h.done
	h.queue(op)
	h.mu.Unlock()
	select {
	case err := <-op.done:
		if err != nil {
			h.remove(t)
		}
		return err
	case <-stopped:
		return errors.New("postgres: adapter closed while starting")
	case <-ctx.Done():
		h.remove(t)
		return fmt.Errorf("postgres: waiting for LISTEN %s: %w", t.channel, ctx.Err())
	}
}

// queue hands op to the listening goroutine. h.mu is held.
func (h *hub) queue(op listenOp) {
	h.ops = append(h.ops, op)
	if h.wake != nil {
		h.wake()
	}
}

// remove takes t's route away (its notifications are ignored from now
// on, the UNLISTEN follows); the last one stops the hub and waits for its
// goroutines.
func (h *hub) remove(t *transport) {
	h.mu.Lock()
	if h.routes[t.channel] != t {
		h.mu.Unlock()
		return
	}
	delete(h.routes, t.channel)
	if len(h.routes) > 0 {
		h.queue(listenOp{channel: t.channel, done: make(chan error, 1)})
		h.mu.Unlock()
		return
	}
	stop, done := h.stop, h.done
	h.running, h.stop, h.done, h.ops = false, nil, nil, nil
	h.mu.Unlock()
	stop()
	<-done
}

// listen runs the listening connection until ctx ends: connect, LISTEN to
// every route, deliver notifications; again after a failure.
func (h *hub) listen(ctx context.Context) {
	delay := minReconnectDelay
	lost := false // reconnecting after a loss, not the first connection
	failing := false
	for ctx.Err() == nil {
		err := h.session(ctx, lost, func() { delay = minReconnectDelay; failing = false })
		h.mu.Lock()
		h.wake = nil
		h.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		lost = true
		if !failing {
			h.opts.Logger.Warn("postgres: listening connection lost, reconnecting", "err", err)
			failing = true
		}
		// Jitter: servers that lost PostgreSQL together do not come back
		// in step.
		d := delay/2 + rand.N(delay/2+1)
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
		delay = min(2*delay, maxReconnectDelay)
	}
}

// session is one connection's life. connected is called once it listens.
func (h *hub) session(ctx context.Context, lost bool, connected func()) error {
	cfg := h.pool.Config().ConnConfig.Copy()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = conn.Close(cctx)
		cancel()
	}()
	h.mu.Lock()
	covered := make(map[string]bool, len(h.routes))
	for c := range h.routes {
		covered[c] = true
	}
	h.mu.Unlock()
	for c := range covered {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{c}.Sanitize()); err != nil {
			return err
		}
	}
	connected()
	if lost {
		h.opts.Logger.Info("postgres: listening again")
		h.announce()
	}
	for {
		wctx, wake := context.WithCancel(ctx)
		h.mu.Lock()
		h.wake = wake
		ops := h.ops
		h.ops = nil
		h.mu.Unlock()
		for i, op := range ops {
			if op.listen && covered[op.channel] {
				op.done <- nil
				continue
			}
			stmt := "UNLISTEN "
			if op.listen {
				stmt = "LISTEN "
			}
			_, err := conn.Exec(ctx, stmt+pgx.Identifier{op.channel}.Sanitize())
			if err != nil && (conn.IsClosed() || ctx.Err() != nil) {
				// The next connection runs them (and LISTENs to every
				// route anyway).
				h.mu.Lock()
				h.ops = append(ops[i:len(ops):len(ops)], h.ops...)
				h.mu.Unlock()
				wake()
				return err
			}
			op.done <- err
		}
		clear(covered) // from now on every op runs
		n, err := conn.WaitForNotification(wctx)
		wake()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if wctx.Err() != nil && !conn.IsClosed() {
				continue // woken to run ops
			}
			return err
		}
		h.mu.Lock()
		t := h.routes[n.Channel]
		h.mu.Unlock()
		if t != nil {
			t.handle(ctx, n.Payload)
		}
	}
}

// announce makes every adapter send an initial heartbeat again, after the
// listening connection was lost: the other servers answer with theirs,
// so the cluster is known again without waiting for a heartbeat interval.
func (h *hub) announce() {
	h.mu.Lock()
	var ts []*transport
	for _, t := range h.routes {
		ts = append(ts, t)
	}
	h.mu.Unlock()
	for _, t := range ts {
		t.a.Publish(&cluster.Message{Type: cluster.InitialHeartbeat})
	}
}

// cleanup deletes the old rows of the attachment table, as the official
// adapter: every CleanupInterval, those older than CleanupInterval.
func (h *hub) cleanup(ctx context.Context) {
	tick := time.NewTicker(h.opts.CleanupInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := h.pool.Exec(qctx, "DELETE FROM "+h.opts.TableName+" WHERE created_at < now() - make_interval(secs => $1)", h.opts.CleanupInterval.Seconds())
		cancel()
		if err != nil && ctx.Err() == nil {
			h.opts.Logger.Warn("postgres: attachment cleanup failed", "table", h.opts.TableName, "err", err)
		}
	}
}

// sampler logs at most one warning per interval, with the number of those
// it left out: a broker flooding malformed messages does not flood the
// log.
type sampler struct {
	logger   *slog.Logger
	interval time.Duration

	mu      sync.Mutex
	last    time.Time
	dropped int
}

func newSampler(l *slog.Logger, interval time.Duration) *sampler {
	return &sampler{logger: l, interval: interval}
}

func (s *sampler) warn(msg string, args ...any) {
	s.mu.Lock()
	now := time.Now()
	if !s.last.IsZero() && now.Sub(s.last) < s.interval {
		s.dropped++
		s.mu.Unlock()
		return
	}
	s.last = now
	dropped := s.dropped
	s.dropped = 0
	s.mu.Unlock()
	if dropped > 0 {
		args = append(args, "unlogged_since_last", dropped)
	}
	s.logger.Warn(msg, args...)
}
