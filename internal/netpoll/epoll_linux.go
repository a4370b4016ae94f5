//go:build linux

package netpoll

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
)

// Poller calls a function once a watched connection is readable. Each Wait
// arms one notification (edge of readability, one shot); the function runs
// on a new goroutine started through the spawn function given to New.
//
// All methods are safe for concurrent use.
type Poller struct {
	epfd   int
	wakefd int // an eventfd that interrupts epoll_wait on Close
	spawn  func(func())

	mu      sync.Mutex
	waiters map[int32]func() // by file descriptor
	closed  bool
	done    chan struct{} // closed when the wait loop has returned
}

// New starts a Poller. spawn starts the callbacks; it must start a new
// goroutine (the caller may count it, e.g. for a graceful shutdown).
func New(spawn func(func())) (*Poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("netpoll: epoll_create1: %w", err)
	}
	r1, _, errno := syscall.Syscall(syscall.SYS_EVENTFD2, 0, uintptr(syscall.O_CLOEXEC|syscall.O_NONBLOCK), 0)
	if errno != 0 {
		syscall.Close(epfd)
		return nil, fmt.Errorf("netpoll: eventfd: %w", errno)
	}
	wakefd := int(r1)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(wakefd)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(wakefd)
		return nil, fmt.Errorf("netpoll: epoll_ctl: %w", err)
	}
	p := &Poller{epfd: epfd, wakefd: wakefd, spawn: spawn, waiters: make(map[int32]func()), done: make(chan struct{})}
	go p.loop()
	return p, nil
}

// Wait arms a one-shot notification: fn is called once, on a new
// goroutine, when c is readable (data, end of stream or error). It returns
// an error if c has no usable descriptor or the Poller is closed; the
// caller then reads c itself.
func (p *Poller) Wait(c Conn, fn func()) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var cerr error
	err = rc.Control(func(fd uintptr) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.closed {
			cerr = ErrClosed
			return
		}
		ev := syscall.EpollEvent{
			Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT,
			Fd:     int32(fd),
		}
		// MOD re-arms a descriptor already in the set; ADD is for a new
		// one (or one whose previous file was closed, which removed it).
		cerr = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, int(fd), &ev)
		if errors.Is(cerr, syscall.ENOENT) {
			cerr = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
		}
		if cerr == nil {
			p.waiters[int32(fd)] = fn
		}
	})
	if err != nil {
		return err
	}
	return cerr
}

// Cancel removes c from the Poller: a pending notification is dropped. Call
// it before closing a connection that may be registered.
func (p *Poller) Cancel(c Conn) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		p.mu.Lock()
		defer p.mu.Unlock()
		delete(p.waiters, int32(fd))
		if !p.closed {
			_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
		}
	})
}

// Close stops the Poller. Pending notifications are dropped: their
// connections must be closed by their owners.
func (p *Poller) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	clear(p.waiters)
	p.mu.Unlock()
	var one = [8]byte{1}
	_, _ = syscall.Write(p.wakefd, one[:])
	<-p.done
	syscall.Close(p.wakefd)
	return syscall.Close(p.epfd)
}

func (p *Poller) loop() {
	defer close(p.done)
	events := make([]syscall.EpollEvent, 128)
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return
		}
		for i := 0; i < n; i++ {
			fd := events[i].Fd
			if int(fd) == p.wakefd {
				continue
			}
			fn, ok := p.waiters[fd]
			if !ok {
				continue
			}
			delete(p.waiters, fd)
			p.spawn(fn)
		}
		p.mu.Unlock()
	}
}
