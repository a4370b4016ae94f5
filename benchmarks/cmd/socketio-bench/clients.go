package main

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/socketio-go/socketio/benchmarks/internal/sioclient"
)

// base is the time origin of the timestamps carried in messages (µs).
var base = time.Now()

func nowUS() int64 { return int64(time.Since(base) / time.Microsecond) }

// wsPool is a set of WebSocket clients read by one epoll poller (see
// sioclient.Poller): the generator holds no goroutine per connection.
type wsPool struct {
	mu      sync.Mutex
	clients []*sioclient.Conn
	poller  *sioclient.Poller
}

func newWSPool() *wsPool {
	pl, err := sioclient.NewPoller()
	if err != nil {
		panic(err)
	}
	return &wsPool{poller: pl}
}

func (p *wsPool) setHandler(fn func([]byte)) {
	p.poller.SetHandler(func(_ *sioclient.Conn, m []byte) { fn(m) })
}

// ended returns the number of clients whose connection ended.
func (p *wsPool) ended() int64 { return p.poller.Ended() }

func (p *wsPool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.clients)
}

func (p *wsPool) get(i int) *sioclient.Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.clients[i]
}

// localIP returns the source address of the i-th connection: the kernel's
// choice, or 127.0.0.(1 + i/perIP) when more connections than one source
// address has ports for are needed.
func (b *bench) localIP(i int) net.IP {
	if b.cfg.perIP <= 0 || b.spreadIPs == 0 {
		return nil
	}
	k := i / b.cfg.perIP
	return net.IPv4(127, 0, 0, byte(1+k%250))
}

// connectResult describes a batch of connections.
type connectResult struct {
	ok, failed int
	elapsed    time.Duration // until the last success
	times      []time.Duration
	firstErr   error
}

// connect opens n more Socket.IO WebSocket clients to addr, conc at a time
// (conc >= n opens them all at once), each fully connected to the main
// namespace, and starts their read loops.
func (b *bench) connect(p *wsPool, addr string, n, conc int, timeout time.Duration) connectResult {
	var (
		mu  sync.Mutex
		res connectResult
		wg  sync.WaitGroup
	)
	res.times = make([]time.Duration, 0, n)
	sem := make(chan struct{}, conc)
	startIdx := p.size()
	start := time.Now()
	var last time.Time
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func(idx int) {
			defer wg.Done()
			defer func() { <-sem }()
			t0 := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			c, err := sioclient.Dial(ctx, sioclient.DialOptions{Addr: addr, LocalIP: b.localIP(idx), ReadBuf: b.cfg.readBuf})
			if err == nil {
				if dl, ok := ctx.Deadline(); ok {
					_ = c.SetDeadline(dl)
				}
				err = c.Connect()
				_ = c.SetDeadline(time.Time{})
				if err != nil {
					c.Close()
				}
			}
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.failed++
				if res.firstErr == nil {
					res.firstErr = err
				}
				return
			}
			res.ok++
			res.times = append(res.times, now.Sub(t0))
			if now.After(last) {
				last = now
			}
			p.mu.Lock()
			p.clients = append(p.clients, c)
			p.mu.Unlock()
			_ = p.poller.Add(c)
		}(startIdx + i)
	}
	wg.Wait()
	if res.ok > 0 {
		res.elapsed = last.Sub(start)
	}
	return res
}

// close stops the poller and closes every client.
func (p *wsPool) close() {
	p.poller.Close()
	p.mu.Lock()
	cs := p.clients
	p.clients = nil
	p.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}
