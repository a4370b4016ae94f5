// Package h1 is an HTTP/1.1 fast path for one URL path: it serves the
// plain requests of that path (GET and POST, Content-Length bodies,
// keep-alive, WebSocket upgrades by hijacking) on its own connection loop
// and hands every other connection, with what it read of it, to a
// net/http.Server. It exists for long-polling, where a request carries a
// few bytes and net/http's per-request machinery (a goroutine reading in
// the background, a context, header maps, a buffered chunk writer) costs
// more than the work the request asks for.
//
// The handler sees an *http.Request and an http.ResponseWriter as from
// net/http, and http.ResponseController works on it (read and write
// deadlines, Flush, Hijack). A connection whose request the fast path does
// not serve (another path, HTTP/1.0, chunked bodies, a head over BufferSize,
// anything malformed) goes to the fallback server for the rest of its life,
// so that net/http answers it, limits and errors included.
package h1

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// BufferSize is the read buffer of a connection: a request head that does
// not fit goes to the fallback server, which applies its own limit
// (MaxHeaderBytes).
const BufferSize = 4096

// Server serves Path on its own loop and the rest through Fallback.
type Server struct {
	Path     string       // the URL path served here, e.g. "/socket.io/"
	Handler  http.Handler // handles the requests for Path
	Fallback *http.Server // serves every connection not kept here; required
	// ReadHeaderTimeout bounds the wait for a request head, the next one on
	// a kept-alive connection included (net/http closes such connections
	// after its ReadHeaderTimeout as well). Zero means 10 s.
	ReadHeaderTimeout time.Duration

	mu        sync.Mutex
	listeners map[*net.Listener]struct{}
	conns     map[*conn]struct{}
	handoff   *chanListener
	serving   bool // Fallback.Serve(handoff) started
	shutdown  bool
	down      atomic.Bool // shutdown, read without mu (see setIdle)
	idleCond  *sync.Cond
	stop      chan struct{}  // closed by Shutdown and Close: ends sweep
	wg        sync.WaitGroup // connections, the fallback's Serve and sweep

	// ticks counts sweep's ticks from 1: the clock of the waits sweep
	// bounds (conn.waitFrom, conn.armedAt), read with an atomic load
	// where time.Now would cost a clock read per request.
	ticks atomic.Int64
}

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = http.ErrServerClosed

func (s *Server) init() {
	if s.conns == nil {
		s.conns = make(map[*conn]struct{})
		s.listeners = make(map[*net.Listener]struct{})
		s.handoff = newChanListener()
		s.idleCond = sync.NewCond(&s.mu)
		s.stop = make(chan struct{})
		s.ticks.Store(1)
	}
}

// Serve accepts connections on ln until it fails or the server shuts
// down. It always closes ln.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.init()
	if s.shutdown {
		s.mu.Unlock()
		_ = ln.Close()
		return ErrServerClosed
	}
	s.listeners[&ln] = struct{}{}
	if !s.serving {
		s.serving = true
		s.handoff.addr = ln.Addr()
		s.wg.Add(2)
		go func() {
			defer s.wg.Done()
			_ = s.Fallback.Serve(s.handoff)
		}()
		go s.sweep()
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, &ln)
		s.mu.Unlock()
		_ = ln.Close()
	}()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isShutdown() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() { // e.g. EMFILE: wait, as net/http does
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := &conn{srv: s, nc: nc}
		s.mu.Lock()
		if s.shutdown {
			s.mu.Unlock()
			_ = nc.Close()
			return ErrServerClosed
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go c.serve()
	}
}

func (s *Server) isShutdown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutdown
}

func (s *Server) headerTimeout() time.Duration {
	if s.ReadHeaderTimeout > 0 {
		return s.ReadHeaderTimeout
	}
	return 10 * time.Second
}

// sweep closes the connections that wait for a request head longer than
// ReadHeaderTimeout (idle keep-alive connections, and slow heads:
// slowloris), and ends the armed reads that waited longer than armWait
// (see armed.go). One ticker for all costs less than a read deadline set
// and cleared around every request; the waits are measured in its ticks
// (Server.ticks), so a bound is met between one and two ticks late.
func (s *Server) sweep() {
	defer s.wg.Done()
	every, headerTicks, armTicks := sweepPeriod(s.headerTimeout(), armWait)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		now := s.ticks.Add(1)
		s.mu.Lock()
		for c := range s.conns {
			if from := c.waitFrom.Load(); from != 0 && now-from > headerTicks {
				_ = c.nc.Close()
			}
			if at := c.armedAt.Load(); at > 0 && now-at > armTicks {
				c.expireArmed(at)
			}
		}
		s.mu.Unlock()
	}
}

// sweepPeriod returns sweep's tick period, and the ticks after which a
// wait for a request head and an armed read end: a quarter of the header
// timeout, or half of armWait if that is shorter (but no less than a
// millisecond).
func sweepPeriod(header, arm time.Duration) (every time.Duration, headerTicks, armTicks int64) {
	every = max(min(header/4, arm/2), time.Millisecond)
	ticks := func(d time.Duration) int64 { return max(int64((d+every-1)/every), 1) }
	return every, ticks(header), ticks(arm)
}

// tick returns the current tick of sweep's clock.
func (s *Server) tick() int64 { return s.ticks.Load() }

// closeListenersLocked marks the server shut down and closes its
// listeners and idle connections.
func (s *Server) closeListenersLocked() {
	if !s.shutdown {
		close(s.stop)
	}
	s.shutdown = true
	s.down.Store(true)
	for ln := range s.listeners {
		_ = (*ln).Close()
	}
	for c := range s.conns {
		if c.idle.Load() {
			_ = c.nc.Close()
		}
	}
}

// Shutdown closes the listeners and the idle connections, then waits for
// the requests in flight to end (each connection closes after its
// response) and for the fallback server's Shutdown, or for ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.init()
	s.closeListenersLocked()
	s.mu.Unlock()
	fb := make(chan error, 1)
	go func() { fb <- s.Fallback.Shutdown(ctx) }()
	_ = s.handoff.Close()

	done := make(chan struct{})
	go func() {
		s.mu.Lock()
		for len(s.conns) > 0 && ctx.Err() == nil {
			s.idleCond.Wait()
		}
		s.mu.Unlock()
		close(done)
	}()
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.idleCond.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	<-done
	err := <-fb
	if ctx.Err() != nil {
		return ctx.Err()
	}
	s.wg.Wait()
	return err
}

// Close closes the listeners and every connection at once, and the
// fallback server's.
func (s *Server) Close() error {
	s.mu.Lock()
	s.init()
	s.closeListenersLocked()
	for c := range s.conns {
		_ = c.nc.Close()
	}
	s.mu.Unlock()
	_ = s.handoff.Close()
	err := s.Fallback.Close()
	return err
}

// forget drops c, closed or handed over.
func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.idleCond.Broadcast()
	s.mu.Unlock()
	s.wg.Done()
}

// setIdle records whether c waits for a request; it reports false when
// the server is shutting down, and c must then close. It takes no lock:
// an armed read calls it on a descriptor that Close may be closing under
// mu. Of a connection going idle and a shutdown at the same time, at
// least one sees the other (both flags are atomic): the connection sees
// the shutdown and closes, or closeListenersLocked sees it idle and
// closes it.
func (s *Server) setIdle(c *conn, idle bool) bool {
	c.idle.Store(idle)
	return !s.down.Load()
}

// chanListener is the listener of the fallback server: the connections
// handed to it.
type chanListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
	addr net.Addr
}

func newChanListener() *chanListener {
	return &chanListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// give hands c to the fallback server; it closes c if the server is
// closed.
func (l *chanListener) give(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.done:
		_ = c.Close()
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr {
	if l.addr == nil {
		return &net.TCPAddr{}
	}
	return l.addr
}

// prefixConn is a handed-off connection: what the fast path read of it
// comes first.
type prefixConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if p.r.Buffered() > 0 {
		return p.r.Read(b)
	}
	return p.Conn.Read(b)
}

// errBuffered refuses raw access to a connection with buffered bytes.
var errBuffered = errors.New("h1: connection has buffered input")

// SyscallConn gives the file descriptor once nothing read is left
// buffered, so that a WebSocket upgraded by the fallback server keeps its
// raw reads.
func (p *prefixConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := p.Conn.(syscall.Conn)
	if !ok || p.r.Buffered() > 0 {
		return nil, errBuffered
	}
	return sc.SyscallConn()
}
