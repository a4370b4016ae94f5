package h1

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// Armed reads: the wait for a client's next request without the read
// that first finds the socket empty.
//
// A connection's goroutine reads a request, answers it, and reads again;
// for a client that waits for the answer before it sends more (every
// long-polling client), that read finds nothing, and only then does the
// goroutine wait for the network poller to say the socket is readable.
// On the machine of docs/performance.md a system call costs 1-2.5 µs, and
// a polling echo made two such reads. An armed read waits first: the
// poller's readiness is reset when the wait begins (the runtime does so at
// the start of every read), so the wait is armed before the client can
// send: before the answer is written (the answer is written by the wait
// itself), or before a detached response can be written (see
// detached.state). Whatever the client sends after that wakes the wait.
//
// A client that pipelines can have sent its next request before the wait
// was armed, and the poller then stays silent about it: armWait bounds
// the wait (Server.sweep ends the waits older than it, which costs less
// than a read deadline set and cleared around each one), after which an
// ordinary read takes over, and a connection where that read finds bytes
// is not armed again (the client pipelines).
// A client that closed the connection in that window is seen gone after
// armWait too. armWait is long enough that a client pausing between
// requests does not meet it (an expired wait costs a wake-up and the read
// it was to save), short enough to keep such stalls rare and brief.

// armWait bounds an armed wait: then an ordinary read looks at the socket.
// (A variable for the tests.)
var armWait = time.Second

// testHookArmed, when set (by tests), sees every armed read end: how it
// was armed, and whether an ordinary read took over after armWait.
var testHookArmed func(kind uint8, fellBack bool)

// What an armed read does before it waits.
const (
	armNone       = iota
	armAfterWrite // write c.pend (the answer to the request), then wait
	armDetached   // wait unless the detached response was written already
)

// Detached response states (detached.state).
const (
	detPending = iota // not written, the connection's read not armed
	detArmed          // the connection's goroutine waits, armed
	detWritten        // being written or written: the read must not trust the wait
)

// armedRead is the state of one armed read, for its callback.
type armedRead struct {
	c     *conn
	kind  uint8
	first bool
	p     []byte
	n     int
	err   error
	wrote bool // armAfterWrite: the answer was written
}

// errShuttingDown ends a connection whose answer was written while the
// server shut down.
var errShuttingDown = errors.New("h1: server shutting down")

// rawConn returns the connection's descriptor for armed reads and
// non-blocking writes, or nil when it has none (TLS, a wrapped
// connection).
func (c *conn) rawConn() syscall.RawConn {
	if c.rc != nil || c.tls != nil {
		return c.rc
	}
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	c.mu.Lock()
	c.rc = rc
	c.tryFn = c.try.write
	c.arFn = c.ar.run
	c.mu.Unlock()
	return rc
}

// readArmed is connReader.Read when the loop armed the read (c.arm).
func (c *conn) readArmed(p []byte) (int, error) {
	kind := c.arm
	c.arm = armNone
	c.ar = armedRead{c: c, kind: kind, first: true, p: p}
	err := c.rc.Read(c.arFn)
	a := c.ar
	c.ar = armedRead{}
	c.disarm()
	if kind == armAfterWrite && !a.wrote {
		// The wait never began (the connection closed): nothing is written.
		c.pend = nil
		if err == nil {
			err = a.err
		}
		return 0, err
	}
	fellBack := err != nil && errors.Is(err, os.ErrDeadlineExceeded)
	if testHookArmed != nil {
		testHookArmed(kind, fellBack)
	}
	if fellBack {
		// Bytes there already are bytes the armed wait missed: this
		// client sends before it is answered, and its connection waits
		// the ordinary way from now on.
		var n int
		var rerr error
		empty := false
		err := c.rc.Read(func(fd uintptr) bool {
			n, rerr = readFD(fd, p)
			empty = isWouldBlock(rerr)
			return true
		})
		if err == nil && !empty {
			c.noArm = true
			return max(n, 0), rerr
		}
		return c.nc.Read(p)
	}
	if err != nil {
		return 0, err
	}
	return a.n, a.err
}

// expireArmed ends the armed read that began to wait at tick at, if it
// still waits: a read deadline in the past wakes it, and the read falls
// back to an ordinary one (see readArmed). Called by sweep.
func (c *conn) expireArmed(at int64) {
	c.armMu.Lock()
	if c.armedAt.CompareAndSwap(at, -1) {
		_ = c.nc.SetReadDeadline(aLongTimeAgo)
	}
	c.armMu.Unlock()
}

// disarm records that the armed read ended. If sweep ended it (or was
// ending it), the read deadline sweep set is cleared once set.
func (c *conn) disarm() {
	at := c.armedAt.Load()
	if at == 0 || at > 0 && c.armedAt.CompareAndSwap(at, 0) {
		return
	}
	c.armMu.Lock()
	c.armedAt.Store(0)
	_ = c.nc.SetReadDeadline(time.Time{})
	c.armMu.Unlock()
}

// run is the armed read's callback (see RawConn.Read): false waits for the
// poller.
func (a *armedRead) run(fd uintptr) bool {
	if a.first {
		a.first = false
		// The wait begins: sweep ends it after armWait (see expireArmed).
		a.c.armedAt.Store(a.c.srv.tick())
		switch a.kind {
		case armAfterWrite:
			c := a.c
			err := c.writePending(fd)
			a.wrote = true
			if err != nil {
				a.err = err
				return true
			}
			if !c.srv.setIdle(c, true) {
				a.err = errShuttingDown
				return true
			}
			c.waitFrom.Store(c.srv.tick())
			return false
		case armDetached:
			if a.c.armDet.state.CompareAndSwap(detPending, detArmed) {
				return false
			}
		}
	}
	n, err := readFD(fd, a.p)
	if isWouldBlock(err) {
		return false
	}
	a.n, a.err = max(n, 0), err
	return true
}

// writePending writes the answer the armed read carries: what the socket
// takes now, the rest with an ordinary (waiting) write.
func (c *conn) writePending(fd uintptr) error {
	out := c.pend
	c.pend = nil
	t := tryWriter{b: out}
	t.write(fd)
	n, err := t.written()
	if err != nil {
		return err
	}
	if n < len(out) {
		if _, err := c.nc.Write(out[n:]); err != nil {
			return err
		}
	}
	c.w.keep(out)
	return nil
}
