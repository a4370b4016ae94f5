package benchmarks

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/socketio-go/socketio/msgpack"
)

// BenchmarkRedisPubSub compares the two Go Redis clients on what a Redis
// adapter does for a fan-out across servers: PUBLISH a broadcast of the
// classic adapter's form and size (MessagePack, about 100 bytes) and
// receive it on a subscription. go-redis v9 is the client adapters/redis
// uses (PubSub.Channel on the receiving side, one round trip per Publish);
// rueidis pipelines concurrent commands on shared connections and
// delivers messages to a callback.
//
// publishers=1 is one goroutine publishing one message after the other,
// as the adapter's Broadcast does for the broadcasts of one socket (it
// waits for the PUBLISH before delivering locally); publishers=16 are
// concurrent broadcasts (many sockets, or the adapter's own goroutines).
// b.N messages are published and all are awaited on the subscriber (in the
// same process), so the figures are of both sides:
//
//   - msg/s: messages published and received per second;
//   - cpu-µs/msg: this process's CPU time (user + system, every thread)
//     per message;
//   - redis-µs/msg: Redis's CPU per message (INFO cpu; it includes
//     whatever else uses that Redis);
//   - allocs/op, B/op (-benchmem): per message.
//
// It needs a Redis on $REDIS_ADDR (default 127.0.0.1:6379) and skips
// without one; each run uses a channel of its own.
//
//	cd benchmarks && go test -run '^$' -bench RedisPubSub -benchmem -benchtime 100000x -count 5 .
func BenchmarkRedisPubSub(b *testing.B) {
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err != nil {
		b.Skipf("no Redis on %s: %v", addr, err)
	} else {
		c.Close()
	}
	payload := broadcastPayload(b)
	for _, client := range []string{"go-redis", "rueidis"} {
		for _, pubs := range []int{1, 16} {
			b.Run(fmt.Sprintf("client=%s/publishers=%d", client, pubs), func(b *testing.B) {
				var c pubsubClient
				switch client {
				case "go-redis":
					c = newGoRedisClient(addr)
				default:
					c = newRueidisClient(b, addr)
				}
				defer c.close()
				benchPubSub(b, c, addr, payload, pubs)
			})
		}
	}
}

// broadcastPayload returns what the classic adapter publishes for
// io.emit("bcast", step, t, "<32 x>") on "/": [uid, packet, opts] in
// MessagePack.
func broadcastPayload(b *testing.B) string {
	js := `["Xq3_bZ",{"type":2,"data":["bcast",3,1234567890,"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"],"nsp":"/"},{"rooms":[],"except":[],"flags":{}}]`
	out, err := msgpack.FromJSON(nil, []byte(js), nil)
	if err != nil {
		b.Fatal(err)
	}
	return string(out)
}

// pubsubClient is one Redis client under test.
type pubsubClient interface {
	// subscribe calls fn for every message of channel until close; it
	// returns once the subscription is confirmed.
	subscribe(ctx context.Context, channel string, fn func(msg string)) error
	publish(ctx context.Context, channel, msg string) error
	close()
}

func benchPubSub(b *testing.B, c pubsubClient, addr, payload string, pubs int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var r [6]byte
	_, _ = rand.Read(r[:])
	channel := "siobench-pubsub-" + hex.EncodeToString(r[:])
	var got atomic.Int64
	done := make(chan struct{})
	target := int64(b.N)
	if err := c.subscribe(ctx, channel, func(msg string) {
		if len(msg) != len(payload) {
			b.Errorf("message of %d bytes, want %d", len(msg), len(payload))
		}
		if got.Add(1) == target {
			close(done)
		}
	}); err != nil {
		b.Fatal(err)
	}
	redis0, rerr := redisCPU(addr)
	cpu0 := selfCPU()
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	var failed atomic.Value
	for p := range pubs {
		n := b.N / pubs
		if p < b.N%pubs {
			n++
		}
		wg.Go(func() {
			for range n {
				if err := c.publish(ctx, channel, payload); err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		b.Fatalf("received %d of %d messages", got.Load(), b.N)
	}
	b.StopTimer()
	cpu := selfCPU() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N), "cpu-µs/msg")
	if redis1, err := redisCPU(addr); err == nil && rerr == nil {
		b.ReportMetric(float64((redis1-redis0).Nanoseconds())/1e3/float64(b.N), "redis-µs/msg")
	}
}

// selfCPU returns this process's user and system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU returns Redis's CPU time (used_cpu_sys + used_cpu_user).
func redisCPU(addr string) (time.Duration, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "*2\r\n$4\r\nINFO\r\n$3\r\ncpu\r\n"); err != nil {
		return 0, err
	}
	r := bufio.NewReader(c)
	head, err := r.ReadString('\n')
	if err != nil || len(head) < 2 || head[0] != '$' {
		return 0, fmt.Errorf("INFO: %q %v", head, err)
	}
	size, err := strconv.Atoi(strings.TrimSpace(head[1:]))
	if err != nil || size < 0 || size > 1<<20 {
		return 0, fmt.Errorf("INFO: %q", head)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, err
	}
	var total float64
	for _, l := range strings.Split(string(body), "\n") {
		l = strings.TrimSpace(l)
		for _, k := range []string{"used_cpu_sys:", "used_cpu_user:"} {
			if v, ok := strings.CutPrefix(l, k); ok {
				f, _ := strconv.ParseFloat(v, 64)
				total += f
			}
		}
	}
	return time.Duration(total * float64(time.Second)), nil
}

// go-redis v9, as adapters/redis uses it.
type goRedisClient struct {
	c  *goredis.Client
	ps *goredis.PubSub
	wg sync.WaitGroup
}

func newGoRedisClient(addr string) *goRedisClient {
	return &goRedisClient{c: goredis.NewClient(&goredis.Options{Addr: addr})}
}

func (g *goRedisClient) subscribe(ctx context.Context, channel string, fn func(string)) error {
	g.ps = g.c.Subscribe(ctx, channel)
	if _, err := g.ps.Receive(ctx); err != nil { // the confirmation
		return err
	}
	ch := g.ps.Channel(goredis.WithChannelSize(1024))
	g.wg.Go(func() {
		for m := range ch {
			fn(m.Payload)
		}
	})
	return nil
}

func (g *goRedisClient) publish(ctx context.Context, channel, msg string) error {
	return g.c.Publish(ctx, channel, msg).Err()
}

func (g *goRedisClient) close() {
	if g.ps != nil {
		_ = g.ps.Close()
		g.wg.Wait()
	}
	_ = g.c.Close()
}

// rueidis: commands of concurrent callers pipelined on shared
// connections; Receive delivers a subscription's messages to a callback.
type rueidisClient struct {
	c      rueidis.Client
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newRueidisClient(b *testing.B, addr string) *rueidisClient {
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
	if err != nil {
		b.Fatal(err)
	}
	return &rueidisClient{c: c}
}

func (r *rueidisClient) subscribe(ctx context.Context, channel string, fn func(string)) error {
	ctx, r.cancel = context.WithCancel(ctx)
	subscribed := make(chan struct{})
	var once sync.Once
	// A dedicated connection for the subscription, as an adapter's would
	// be; the confirmation is seen by the hook.
	dc, release := r.c.Dedicate()
	wait := dc.SetPubSubHooks(rueidis.PubSubHooks{
		OnMessage: func(m rueidis.PubSubMessage) { fn(m.Message) },
		OnSubscription: func(s rueidis.PubSubSubscription) {
			if s.Kind == "subscribe" {
				once.Do(func() { close(subscribed) })
			}
		},
	})
	if err := dc.Do(ctx, dc.B().Subscribe().Channel(channel).Build()).Error(); err != nil {
		release()
		return err
	}
	r.wg.Go(func() {
		select {
		case <-ctx.Done():
		case <-wait:
		}
		release()
	})
	select {
	case <-subscribed:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("rueidis: SUBSCRIBE %s not confirmed", channel)
	}
}

func (r *rueidisClient) publish(ctx context.Context, channel, msg string) error {
	return r.c.Do(ctx, r.c.B().Publish().Channel(channel).Message(msg).Build()).Error()
}

func (r *rueidisClient) close() {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
	r.c.Close()
}
