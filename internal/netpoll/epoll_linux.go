//go:build linux

package netpoll

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
)

// Poller calls a function once a watched connection is readable. Each Wait
// arms one notification (edge of readability, one shot); the function runs
// on a new goroutine started through the spawn function given to New.
//
// All methods are safe for concurrent use.
//
// The epoll descriptor is itself watched by the Go runtime's poller (an
// epoll instance is readable while it has events): the wait loop is a
// goroutine parked like any network read, not an OS thread blocked in
// epoll_wait, so a readiness event costs no thread switch.
type Poller struct {
	epfd  int
	file  *os.File // owns epfd; registered with the runtime poller
	rc    syscall.RawConn
	spawn func(func())

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
	// Non-blocking, so that os.NewFile registers it with the runtime poller.
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("netpoll: set non-blocking: %w", err)
	}
	file := os.NewFile(uintptr(epfd), "epoll")
	rc, err := file.SyscallConn()
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("netpoll: %w", err)
	}
	p := &Poller{epfd: epfd, file: file, rc: rc, spawn: spawn, waiters: make(map[int32]func()), done: make(chan struct{})}
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
	// Closing the file wakes the loop, parked in the runtime poller.
	err := p.file.Close()
	<-p.done
	return err
}

func (p *Poller) loop() {
	defer close(p.done)
	events := make([]syscall.EpollEvent, 128)
	// Everything happens inside one RawRead: the runtime clears the
	// descriptor's readiness when a RawRead starts, so an edge that came
	// while a new one was being set up would be lost. Within it, the
	// function is called again each time the runtime poller reports the
	// epoll descriptor readable (edge-triggered).
	_ = p.rc.Read(func(fd uintptr) bool {
		for {
			n, err := syscall.EpollWait(int(fd), events, 0)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if err != nil {
				return true // broken, which nothing can repair
			}
			if !p.dispatch(events[:n]) {
				return true // closed
			}
			if n < len(events) {
				// Drained: wait for the next edge. One that came since
				// the wait above is kept by the runtime poller.
				return false
			}
		}
	})
}

// dispatch starts the callbacks of the ready descriptors. It reports false
// once the Poller is closed.
func (p *Poller) dispatch(events []syscall.EpollEvent) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, ev := range events {
		fn, ok := p.waiters[ev.Fd]
		if !ok {
			continue
		}
		delete(p.waiters, ev.Fd)
		p.spawn(fn)
	}
	return true
}
