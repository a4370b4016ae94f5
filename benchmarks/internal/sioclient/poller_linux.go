//go:build linux

package sioclient

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
)

// Poller reads many WebSocket connections from one goroutine with its own
// epoll instance (level-triggered) and raw read system calls: no goroutine
// per connection and no read that ends in EAGAIN, so that the load
// generator spends as little CPU per received message as possible. Writes
// still go through the net.Conn.
type Poller struct {
	epfd    int
	mu      sync.Mutex
	conns   map[int32]*Conn
	handler atomic.Pointer[func(*Conn, []byte)]
	ended   atomic.Int64
	stop    atomic.Bool
	done    chan struct{}
}

// NewPoller starts a poller; handler receives every Engine.IO text packet
// other than pings (which are answered).
func NewPoller() (*Poller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	p := &Poller{epfd: fd, conns: map[int32]*Conn{}, done: make(chan struct{})}
	h := func(*Conn, []byte) {}
	p.handler.Store(&h)
	go p.loop()
	return p, nil
}

// SetHandler replaces the packet handler.
func (p *Poller) SetHandler(fn func(*Conn, []byte)) { p.handler.Store(&fn) }

// Ended returns the number of connections that ended (EOF, error or close
// frame).
func (p *Poller) Ended() int64 { return p.ended.Load() }

// Add hands a connected Conn to the poller; nothing may read it
// afterwards. Packets already buffered are delivered first.
func (p *Poller) Add(c *Conn) error {
	tc, ok := c.nc.(*net.TCPConn)
	if !ok {
		return errors.New("sioclient: poller needs a TCP connection")
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return err
	}
	var fd int
	if err := rc.Control(func(f uintptr) { fd = int(f) }); err != nil {
		return err
	}
	c.fd = fd
	p.mu.Lock()
	p.conns[int32(fd)] = c
	// Deliver what the handshake read ahead, under the lock that the loop
	// takes too, so that packets stay in order.
	err = p.drain(c)
	p.mu.Unlock()
	if err != nil {
		p.ended.Add(1)
		return err
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(fd)}
	return syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev)
}

// drain handles the complete packets buffered in c.
func (p *Poller) drain(c *Conn) error {
	h := *p.handler.Load()
	for {
		op, m, ok, err := c.bufferedFrame()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if op != opText {
			continue
		}
		if len(m) == 1 && m[0] == '2' {
			if err := c.WriteText(pong); err != nil {
				return err
			}
			continue
		}
		h(c, m)
	}
}

func (p *Poller) loop() {
	defer close(p.done)
	evs := make([]syscall.EpollEvent, 256)
	for !p.stop.Load() {
		n, err := syscall.EpollWait(p.epfd, evs, 100)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			return
		}
		p.mu.Lock()
		for i := 0; i < n; i++ {
			c := p.conns[evs[i].Fd]
			if c == nil {
				continue
			}
			k, err := c.readRaw()
			if err == syscall.EAGAIN {
				continue
			}
			if err == nil && k == 0 {
				err = fmt.Errorf("EOF")
			}
			if err == nil {
				err = p.drain(c)
			}
			if err != nil {
				p.removeLocked(c)
			}
		}
		p.mu.Unlock()
	}
}

func (p *Poller) removeLocked(c *Conn) {
	if p.conns[int32(c.fd)] != c {
		return
	}
	delete(p.conns, int32(c.fd))
	_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
	p.ended.Add(1)
}

// Close stops the poller (the connections are left open) and waits for
// its goroutine.
func (p *Poller) Close() {
	p.stop.Store(true)
	<-p.done
	syscall.Close(p.epfd)
}

// readRaw reads once from the socket into the free part of the buffer.
func (c *Conn) readRaw() (int, error) {
	if c.rpos == c.rend {
		c.rpos, c.rend = 0, 0
	} else if len(c.rbuf)-c.rend < len(c.rbuf)/4 {
		c.rend = copy(c.rbuf, c.rbuf[c.rpos:c.rend])
		c.rpos = 0
		if c.rend == len(c.rbuf) {
			nb := make([]byte, 2*len(c.rbuf))
			copy(nb, c.rbuf)
			c.rbuf = nb
		}
	}
	n, err := syscall.Read(c.fd, c.rbuf[c.rend:])
	if n > 0 {
		c.rend += n
	}
	return max(n, 0), err
}
