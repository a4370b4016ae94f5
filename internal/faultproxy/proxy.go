// Package faultproxy is a TCP proxy for tests that injects network faults
// between a client and a server on the loopback: added latency, a stall
// (bytes stop flowing but the connections stay open, like a dead peer or a
// cut cable) and resets.
package faultproxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// Proxy forwards connections accepted on its address to a target address.
// Its methods are safe for concurrent use.
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	latency time.Duration
	stalled bool
	resume  chan struct{} // closed when a stall ends
	conns   map[net.Conn]struct{}
	peers   map[net.Conn]net.Conn // client side -> server side
	held    map[net.Conn]struct{} // server sides left open by HalfOpen
	closed  bool
	wg      sync.WaitGroup
}

// New starts a proxy on a free loopback port forwarding to target.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		ln: ln, target: target, resume: make(chan struct{}),
		conns: make(map[net.Conn]struct{}), peers: make(map[net.Conn]net.Conn), held: make(map[net.Conn]struct{}),
	}
	close(p.resume)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// SetTarget makes new connections go to target (a failover: connections
// already open stay with the old target).
func (p *Proxy) SetTarget(target string) {
	p.mu.Lock()
	p.target = target
	p.mu.Unlock()
}

// Addr returns the address clients connect to.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetLatency delays every chunk of data, in both directions, by d.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	p.latency = d
	p.mu.Unlock()
}

// Stall stops forwarding data (connections stay open) until Resume.
func (p *Proxy) Stall() {
	p.mu.Lock()
	if !p.stalled {
		p.stalled = true
		p.resume = make(chan struct{})
	}
	p.mu.Unlock()
}

// Resume ends a stall.
func (p *Proxy) Resume() {
	p.mu.Lock()
	if p.stalled {
		p.stalled = false
		close(p.resume)
	}
	p.mu.Unlock()
}

// Reset closes every proxied connection abruptly (TCP reset).
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
	}
}

// Drop closes every proxied connection cleanly (FIN on both sides).
func (p *Proxy) Drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		if _, held := p.held[c]; !held {
			_ = c.Close()
		}
	}
}

// HalfOpen makes every proxied connection half-open, as when a client's
// network goes away without a word: the client side is reset, while the
// server side stays open and silent (nothing is forwarded, nothing closes)
// until Close. The server sees nothing happen.
func (p *Proxy) HalfOpen() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c, srv := range p.peers {
		p.held[srv] = struct{}{}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
	}
}

// Close stops the proxy, closes its connections and waits for its
// goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	if p.stalled {
		p.stalled = false
		close(p.resume)
	}
	for c := range p.conns {
		_ = c.Close()
	}
	for c := range p.held {
		_ = c.Close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.peers, c)
	_, held := p.held[c]
	p.mu.Unlock()
	if !held {
		_ = c.Close()
	}
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		target := p.target
		p.mu.Unlock()
		s, err := net.Dial("tcp", target)
		if err != nil {
			_ = c.Close()
			continue
		}
		if !p.track(c) || !p.track(s) {
			_ = c.Close()
			_ = s.Close()
			return
		}
		p.mu.Lock()
		p.peers[c] = s
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, s)
		go p.pipe(s, c)
	}
}

// pipe copies src to dst, applying the faults, until either side ends.
func (p *Proxy) pipe(src, dst net.Conn) {
	defer p.wg.Done()
	defer p.untrack(src)
	defer p.untrack(dst)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			latency, resume := p.latency, p.resume
			p.mu.Unlock()
			<-resume
			if latency > 0 {
				time.Sleep(latency)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return
			}
			if tc, ok := dst.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
			return
		}
	}
}
