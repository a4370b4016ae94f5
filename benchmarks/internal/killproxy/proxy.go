// Package killproxy is the fault proxy of the benchmark suite's delivery
// scenario: a TCP proxy on loopback between clients and a server that kills
// connections on demand, in one of three ways:
//
//   - Reset: both sides are reset (SO_LINGER 0, then close: an RST, and
//     whatever was in flight is dropped).
//   - Close: both sides are closed cleanly (a FIN each; what the proxy
//     already read from one side and not yet written to the other is lost).
//   - HalfOpen: the client side is reset, the server side stays open and
//     silent: the proxy sends the server nothing more and reads and discards
//     whatever the server writes, so that the server sees a healthy
//     connection whose peer stopped answering (its heartbeat, or a client
//     recovering the session on a new connection, ends it). This is a
//     client that vanished without the server noticing: a NAT or a mobile
//     network that dropped the flow.
//
// It works at the TCP level, so it proxies WebSocket and long-polling
// connections alike (for polling, a kill ends one HTTP connection).
package killproxy

import (
	"errors"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is how a connection is killed.
type Mode int

const (
	Reset Mode = iota
	Close
	HalfOpen
)

func (m Mode) String() string {
	switch m {
	case Reset:
		return "reset"
	case Close:
		return "close"
	case HalfOpen:
		return "half-open"
	}
	return "?"
}

// ParseMode parses "reset", "close" or "half-open".
func ParseMode(s string) (Mode, error) {
	for _, m := range []Mode{Reset, Close, HalfOpen} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, errors.New("killproxy: unknown mode " + s + " (reset, close, half-open)")
}

// Proxy forwards every connection accepted on its loopback address to the
// target address.
type Proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	live   map[*pair]struct{} // forwarding both ways, not killed
	all    map[*pair]struct{} // with a side still open
	closed bool
	wg     sync.WaitGroup

	accepted   atomic.Int64
	dialFailed atomic.Int64
	killed     atomic.Int64
	halfOpen   atomic.Int64 // killed with HalfOpen
	srvClosed  []time.Duration
}

// pair is one proxied connection.
type pair struct {
	client, server *net.TCPConn
	halfOpen       atomic.Bool
	killed         atomic.Bool
	killedAt       time.Time // set before halfOpen
	endOnce        sync.Once
}

// New listens on 127.0.0.1 (a free port) and forwards to target.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, live: map[*pair]struct{}{}, all: map[*pair]struct{}{}}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr is the proxy's address (host:port).
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		p.accepted.Add(1)
		p.wg.Add(1)
		go p.serve(c.(*net.TCPConn))
	}
}

func (p *Proxy) serve(client *net.TCPConn) {
	defer p.wg.Done()
	sc, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		p.dialFailed.Add(1)
		_ = client.SetLinger(0)
		client.Close()
		return
	}
	pr := &pair{client: client, server: sc.(*net.TCPConn)}
	_ = pr.client.SetNoDelay(true)
	_ = pr.server.SetNoDelay(true)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		pr.client.Close()
		pr.server.Close()
		return
	}
	p.live[pr] = struct{}{}
	p.all[pr] = struct{}{}
	p.mu.Unlock()
	p.wg.Add(1)
	go p.clientToServer(pr)
	p.serverToClient(pr)
}

// clientToServer forwards what the client sends. When the client side ends
// on its own, both sides are closed; after a HalfOpen kill the server side
// is left alone (silent).
func (p *Proxy) clientToServer(pr *pair) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := pr.client.Read(buf)
		if n > 0 && !pr.halfOpen.Load() {
			if _, werr := pr.server.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			if !pr.halfOpen.Load() {
				p.end(pr)
			}
			return
		}
	}
}

// serverToClient forwards what the server sends; after a HalfOpen kill it
// reads and discards it until the server closes the connection.
func (p *Proxy) serverToClient(pr *pair) {
	buf := make([]byte, 32<<10)
	for {
		n, err := pr.server.Read(buf)
		if n > 0 && !pr.halfOpen.Load() {
			if _, werr := pr.client.Write(buf[:n]); werr != nil && !pr.halfOpen.Load() {
				err = werr
			}
		}
		if err != nil {
			if pr.halfOpen.Load() {
				// The server noticed (heartbeat, takeover) or the proxy
				// is closing.
				p.mu.Lock()
				if !p.closed {
					p.srvClosed = append(p.srvClosed, time.Since(pr.killedAt))
				}
				delete(p.all, pr)
				p.mu.Unlock()
				pr.server.Close()
				return
			}
			p.end(pr)
			return
		}
	}
}

// end closes both sides of a pair that ended on its own or was killed with
// Close.
func (p *Proxy) end(pr *pair) {
	pr.endOnce.Do(func() {
		p.mu.Lock()
		delete(p.live, pr)
		delete(p.all, pr)
		p.mu.Unlock()
		pr.client.Close()
		pr.server.Close()
	})
}

// Live returns the number of connections forwarding both ways.
func (p *Proxy) Live() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.live)
}

// Kill kills up to k live connections chosen at random, with mode, and
// returns how many it killed.
func (p *Proxy) Kill(k int, mode Mode) int {
	p.mu.Lock()
	victims := make([]*pair, 0, len(p.live))
	for pr := range p.live {
		victims = append(victims, pr)
	}
	rand.Shuffle(len(victims), func(i, j int) { victims[i], victims[j] = victims[j], victims[i] })
	victims = victims[:min(k, len(victims))]
	for _, pr := range victims {
		delete(p.live, pr)
	}
	p.mu.Unlock()
	for _, pr := range victims {
		pr.killed.Store(true)
		switch mode {
		case Reset:
			pr.endOnce.Do(func() {
				p.mu.Lock()
				delete(p.all, pr)
				p.mu.Unlock()
				_ = pr.client.SetLinger(0)
				_ = pr.server.SetLinger(0)
				pr.client.Close()
				pr.server.Close()
			})
		case Close:
			p.end(pr)
		case HalfOpen:
			pr.killedAt = time.Now()
			pr.halfOpen.Store(true)
			p.halfOpen.Add(1)
			_ = pr.client.SetLinger(0)
			pr.client.Close()
		}
	}
	p.killed.Add(int64(len(victims)))
	return len(victims)
}

// Stats is what the proxy did.
type Stats struct {
	Accepted   int64 `json:"accepted"`    // client connections accepted
	DialFailed int64 `json:"dial_failed"` // of them, could not reach the server
	Killed     int64 `json:"killed"`
	Live       int   `json:"live"` // forwarding both ways now
	// HalfOpen: killed with HalfOpen; HalfOpenHeld: of them, server sides
	// still open now; ServerClosed: the times from the kill to the server
	// closing the silent side, for those it closed.
	HalfOpen     int64           `json:"half_open"`
	HalfOpenHeld int             `json:"half_open_held"`
	ServerClosed []time.Duration `json:"-"`
}

// Stats returns the proxy's counters so far.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	held := 0
	for pr := range p.all {
		if pr.halfOpen.Load() {
			held++
		}
	}
	return Stats{
		Accepted:     p.accepted.Load(),
		DialFailed:   p.dialFailed.Load(),
		Killed:       p.killed.Load(),
		Live:         len(p.live),
		HalfOpen:     p.halfOpen.Load(),
		HalfOpenHeld: held,
		ServerClosed: slices.Clone(p.srvClosed),
	}
}

// Close stops accepting, closes every connection (the silent server sides
// too) and waits for the proxy's goroutines.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	p.closed = true
	prs := make([]*pair, 0, len(p.all))
	for pr := range p.all {
		prs = append(prs, pr)
	}
	p.mu.Unlock()
	for _, pr := range prs {
		pr.client.Close()
		pr.server.Close()
	}
	p.wg.Wait()
	return err
}
