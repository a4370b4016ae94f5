package redis

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// errUnreachable is returned, at once, by a publish while Redis is known
// to be unreachable.
var errUnreachable = errors.New("redis: unreachable (the last command failed on the network), not sent")

// outageProbeInterval is how often Redis is probed during an outage.
const outageProbeInterval = 100 * time.Millisecond

// outage makes a transport's commands fail fast while Redis is known to be
// unreachable. The Redis client retries each command before it fails
// (about 1.8s with go-redis' defaults when the connection is refused,
// longer when Redis does not answer); without this, every broadcast of
// the server would wait that long, its local delivery too, for a message
// that pub/sub could not deliver anyway. Once a command failed on the
// network, the next ones fail at once with errUnreachable until a PING,
// sent every outageProbeInterval, succeeds.
type outage struct {
	client goredis.UniversalClient

	mu     sync.Mutex
	down   bool
	closed bool
	stop   chan struct{}
	wg     sync.WaitGroup
}

func newOutage(client goredis.UniversalClient) *outage {
	return &outage{client: client, stop: make(chan struct{})}
}

// check returns errUnreachable during an outage.
func (o *outage) check() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.down {
		return errUnreachable
	}
	return nil
}

// report returns err; a network error starts an outage.
func (o *outage) report(err error) error {
	if err == nil || !isNetworkError(err) {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.down && !o.closed {
		o.down = true
		o.wg.Add(1)
		go o.probe()
	}
	return err
}

// isNetworkError tells a failure to reach Redis from an error Redis
// answered and from the end of the caller's context.
func isNetworkError(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// probe ends the outage once Redis answers PING.
func (o *outage) probe() {
	defer o.wg.Done()
	t := time.NewTicker(outageProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-o.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := o.client.Ping(ctx).Err()
		cancel()
		if err == nil {
			o.mu.Lock()
			o.down = false
			o.mu.Unlock()
			return
		}
	}
}

// close stops probing.
func (o *outage) close() {
	o.mu.Lock()
	if !o.closed {
		o.closed = true
		close(o.stop)
	}
	o.mu.Unlock()
	o.wg.Wait()
}
