package h1

import (
	"context"
	"sync/atomic"
)

// detached is a response that outlives its handler (see Detach).
type detached struct {
	done     chan struct{} // closed once the response is written or abandoned
	gone     func()        // the owner's: the connection ended first
	state    atomic.Uint32 // detPending, detArmed or detWritten (see armed.go)
	finished bool          // finish was called; guarded by conn.mu
	ended    bool          // the connection ended before finish; guarded by conn.mu
	failed   bool          // the connection must close; set before done closes
}

// Detach lets the response outlive the handler, for a long poll answered
// by whichever goroutine has something to send: the handler returns at
// once, the goroutine serving the connection waits for the client's next
// request (which is how it sees the client leave, and the only read a
// long poll then needs: no background read, no goroutine waiting), and
// the owner writes the response with the ResponseWriter and calls finish.
// Until finish, only the owner uses the ResponseWriter, and its body is
// buffered whole.
//
// finish writes the response with a non-blocking write and, if the
// socket does not take it all at once, the rest on a goroutine of its
// own, so that a client that does not read never blocks the owner.
// finish(true) closes the connection without a response. gone is called,
// on the connection's goroutine, if the connection ends before finish;
// the owner must still call finish.
//
// Detach returns nil when the response cannot be detached (TLS, headers
// or body already sent, a request body not read whole, a read deadline,
// a context already watched, Connection: close): the handler then
// answers as usual.
func (w *response) Detach(gone func()) (finish func(abort bool)) {
	c := w.c
	if w.sent || w.closeAfter || c.tls != nil || w.finished {
		return nil
	}
	if c.rawConn() == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hijacked || c.requestDone || c.det != nil || c.bg != bgNone || c.wantBgRead ||
		c.bodyLeft > 0 || c.rdPending || c.rdSet {
		return nil
	}
	d := &detached{done: make(chan struct{}), gone: gone}
	c.det = d
	w.detached = true
	ctx := c.ctx
	return func(abort bool) { c.finishDetached(w, d, ctx, abort) }
}

// waitDetached is what the connection's goroutine does once the handler
// of a detached response returned: it waits for the next request, then
// for the response to be written before serving it.
func (c *conn) waitDetached(d *detached, ctx *reqContext, ok bool) step {
	var err error
	if ok {
		if armedReads && !c.noArm && c.br.Buffered() == 0 && c.bgErr == nil {
			c.arm, c.armDet = armDetached, d
		}
		_, err = c.br.Peek(1)
		c.arm, c.armDet = armNone, nil
	}
	if !ok || err != nil {
		// The connection ended (or the handler panicked): the owner's
		// finish writes nothing.
		c.mu.Lock()
		finished := d.finished
		d.ended = true
		c.mu.Unlock()
		if !finished {
			d.gone()
		} else {
			// The owner is writing: end its write (the connection is
			// gone) and wait for it, so that no goroutine of this
			// connection outlives the server's Close.
			_ = c.nc.Close()
			<-d.done
		}
		ctx.cancel(context.Canceled)
		return stepClose
	}
	// A request before the response was written (pipelining) waits for it.
	<-d.done
	if d.failed {
		return stepClose
	}
	return stepNext
}

// finishDetached is a detached response's finish.
func (c *conn) finishDetached(w *response, d *detached, ctx *reqContext, abort bool) {
	c.mu.Lock()
	if d.finished {
		c.mu.Unlock()
		return
	}
	d.finished = true
	ended := d.ended
	c.mu.Unlock()
	if ended || abort {
		c.endDetached(d, ctx, true)
		return
	}
	out, err := w.final()
	w.keepBody()
	failed := err != nil || w.closeAfter
	// From here the connection's read cannot count on its armed wait: the
	// client may answer before it is armed.
	d.state.Store(detWritten)
	n, werr := c.tryWrite(out)
	if werr != nil {
		c.endDetached(d, ctx, true)
		return
	}
	if n == len(out) {
		w.keep(out)
		c.endDetached(d, ctx, failed)
		return
	}
	// The socket is full (the client is slow to read): the rest on a
	// goroutine, which ends with the connection at the latest (the
	// connection's goroutine waits for it if the connection ends first).
	// The buffer goes with it.
	c.out = nil
	rest := out[n:]
	go func() {
		_, err := c.nc.Write(rest)
		c.endDetached(d, ctx, failed || err != nil)
	}()
}

// endDetached ends a detached response: the connection waits for its next
// request, or closes.
func (c *conn) endDetached(d *detached, ctx *reqContext, failed bool) {
	d.failed = failed
	if failed {
		_ = c.nc.Close()
	} else {
		c.waitFrom.Store(c.srv.tick())
		if !c.srv.setIdle(c, true) {
			_ = c.nc.Close() // shutting down
		}
	}
	ctx.cancel(context.Canceled)
	close(d.done)
}

// tryWriter is one non-blocking write on a connection's descriptor.
type tryWriter struct {
	b   []byte
	n   int
	err error
}

// tryWrite writes what the socket takes of b now, without waiting.
func (c *conn) tryWrite(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	c.try.b = b
	err := c.rc.Write(c.tryFn)
	n, werr := c.try.written()
	c.try = tryWriter{}
	if err != nil {
		return 0, err
	}
	return n, werr
}

// written is what the write did: the bytes taken, and its error unless
// the socket was only full.
func (t *tryWriter) written() (int, error) {
	if t.err != nil && !isWouldBlock(t.err) {
		return 0, t.err
	}
	return max(t.n, 0), nil
}
