package client

import (
	"context"
	"net"
	"sync"
)

// Connect connects to the namespace named by the path of rawURL ("/" when
// none) of the server at rawURL, like io(url) of socket.io-client with
// forceNew: it creates a new Manager (opts, nil for the defaults) for this
// socket alone (sopts, nil for the defaults), connects it within ctx and
// returns it. Close it with s.Manager().Close(). Use a Pool to share
// connections between namespaces as io() does by default. Handlers
// registered right after Connect returned still get the events the server
// sent on connection, and an OnConnect runs for this first connection (see
// Concurrency in the package documentation).
//
// Errors: those of NewManager and Socket.Connect; on error nothing is
// left running.
func Connect(ctx context.Context, rawURL string, opts *Options, sopts *SocketOptions) (*Socket, error) {
	_, nsp, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	m, err := NewManager(rawURL, opts)
	if err != nil {
		return nil, err
	}
	s := m.Socket(nsp, sopts)
	if err := s.Connect(ctx); err != nil {
		m.Close()
		return nil, err
	}
	return s, nil
}

// Pool shares Managers between the sockets of the same server, like the
// cache behind io() of socket.io-client: sockets of different namespaces
// of one server (same scheme, host, port and path) are multiplexed over
// one connection, unless Options.ForceNew or Options.DisableMultiplex is
// set, or the shared Manager already has a socket for that namespace. The
// zero Pool is ready to use; its methods are safe for concurrent use.
type Pool struct {
	mu       sync.Mutex
	shared   map[string]*Manager
	managers []*Manager
	closed   bool
}

// Socket returns a socket for the namespace named by the path of rawURL,
// on a shared or new Manager (see Pool). The options of a shared Manager
// are those of the call that created it. The socket is not connected:
// call Connect.
//
// Errors: those of NewManager, ErrManagerClosed after Close.
func (p *Pool) Socket(rawURL string, opts *Options, sopts *SocketOptions) (*Socket, error) {
	u, nsp, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	o, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" || u.Scheme == "wss" {
			port = "443"
		}
	}
	key := u.Scheme + "://" + net.JoinHostPort(u.Hostname(), port) + o.Path
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrManagerClosed
	}
	m := p.shared[key]
	fresh := o.ForceNew || o.DisableMultiplex || m == nil
	if m != nil && !fresh {
		m.mu.Lock()
		_, taken := m.nsps[nsp]
		m.mu.Unlock()
		fresh = taken
	}
	if fresh {
		if m, err = NewManager(rawURL, opts); err != nil {
			return nil, err
		}
		p.managers = append(p.managers, m)
		if !o.ForceNew && !o.DisableMultiplex && p.shared[key] == nil {
			if p.shared == nil {
				p.shared = make(map[string]*Manager)
			}
			p.shared[key] = m
		}
	}
	return m.Socket(nsp, sopts), nil
}

// Close closes every Manager of the pool (see Manager.Close).
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	ms := p.managers
	p.managers, p.shared = nil, nil
	p.mu.Unlock()
	for _, m := range ms {
		m.Close()
	}
}
