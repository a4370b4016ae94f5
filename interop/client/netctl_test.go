package interopclient

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// netctl is a client.Options.Dialer that can cut or freeze the
// connections it opened, and refuse new ones: a network failure on
// demand.
type netctl struct {
	mu      sync.Mutex
	conns   []*ctlConn
	dials   int
	refused bool
}

var errRefused = errors.New("netctl: connection refused")

func (n *netctl) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	n.mu.Lock()
	refused := n.refused
	n.mu.Unlock()
	if refused {
		return nil, errRefused
	}
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cc := &ctlConn{Conn: c, closed: make(chan struct{})}
	n.mu.Lock()
	n.conns = append(n.conns, cc)
	n.dials++
	n.mu.Unlock()
	return cc, nil
}

func (n *netctl) dialCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.dials
}

// cut closes every connection opened so far.
func (n *netctl) cut() {
	n.mu.Lock()
	conns := n.conns
	n.conns = nil
	n.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// freeze makes every connection opened so far silent: reads block and
// writes are dropped, like a dead peer.
func (n *netctl) freeze() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.conns {
		c.frozen.Store(true)
	}
	n.conns = nil
}

// refuse makes new dials fail until allow.
func (n *netctl) refuse() {
	n.mu.Lock()
	n.refused = true
	n.mu.Unlock()
}

func (n *netctl) allow() {
	n.mu.Lock()
	n.refused = false
	n.mu.Unlock()
}

type ctlConn struct {
	net.Conn
	frozen atomic.Bool
	once   sync.Once
	closed chan struct{}
}

func (c *ctlConn) Read(p []byte) (int, error) {
	if !c.frozen.Load() {
		n, err := c.Conn.Read(p)
		if !c.frozen.Load() {
			return n, err
		}
	}
	<-c.closed
	return 0, net.ErrClosed
}

func (c *ctlConn) Write(p []byte) (int, error) {
	if c.frozen.Load() {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *ctlConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
