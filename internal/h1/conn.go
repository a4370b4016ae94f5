package h1

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// conn is one connection served by the fast path, by the goroutine that
// accepted it until a handler hijacks it or it goes to net/http. While a
// handler waits, a background read watches the connection (see wantDone).
type conn struct {
	srv      *Server
	nc       net.Conn
	idle     atomic.Bool  // waiting for a request (see Server.setIdle)
	waitFrom atomic.Int64 // the tick when the wait for a request head began, 0 when not waiting; see Server.sweep
	armedAt  atomic.Int64 // the tick when the armed read began to wait, 0 when none waits, -1 when sweep ended it; see armed.go
	tls      *tls.ConnectionState
	remote   string // RemoteAddr().String(), once

	br      *bufio.Reader // over connReader{c}
	out     []byte        // the response being written, reused
	body    []byte        // the body being buffered, reused
	rheader http.Header   // the response header map, cleared and reused
	w       response      // the response, reused

	// The request in progress, and the read that watches the connection
	// while a handler waits.
	mu          sync.Mutex
	ctx         *reqContext
	bodyLeft    int64 // body bytes the handler has not read
	wantBgRead  bool  // the context's Done was asked for before the body was read
	bg          uint8 // bgNone, bgRunning or bgFinished
	bgDone      chan struct{}
	hijacked    bool
	requestDone bool
	bgAborting  atomic.Bool
	bgGot       bool // the background read got bytes (into br)
	bgErr       error

	// The handler's read deadline, set on the connection only when a read
	// has to wait (see applyReadDeadline); guarded by mu.
	readDeadline time.Time
	rdPending    bool // set by the handler, not yet on the connection
	rdSet        bool // on the connection: cleared after the request
	// The handler set a write deadline (cleared by a zero one). Only the
	// goroutine serving the connection uses it.
	wdSet bool

	// A detached response (see Detach), guarded by mu; and the
	// connection's descriptor for its non-blocking write, set once.
	det   *detached
	rc    syscall.RawConn
	try   tryWriter
	tryFn func(fd uintptr) bool

	// The next read of the loop is armed (see armed.go): arm says how,
	// pend is the answer it writes first, armDet the detached response it
	// waits beside. Only the goroutine serving the connection uses them.
	arm    uint8
	noArm  bool // the client sent before it was answered: never armed again
	pend   []byte
	armDet *detached
	ar     armedRead
	arFn   func(fd uintptr) bool
	armMu  sync.Mutex // orders sweep's end of an armed read with the read's own end
}

const (
	bgNone = iota
	bgRunning
	bgFinished
)

// connReader is what the read buffer reads from: the connection, until
// the background read saw it fail.
type connReader struct{ c *conn }

func (r connReader) Read(p []byte) (int, error) {
	c := r.c
	if c.bgErr != nil {
		return 0, c.bgErr
	}
	if c.arm != armNone {
		return c.readArmed(p)
	}
	return c.nc.Read(p)
}

var bufPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, BufferSize) }}

func (c *conn) serve() {
	c.br = bufPool.Get().(*bufio.Reader)
	c.br.Reset(connReader{c})
	if tc, ok := c.nc.(*tls.Conn); ok {
		_ = tc.SetDeadline(time.Now().Add(c.srv.headerTimeout()))
		if err := tc.Handshake(); err != nil {
			c.close()
			return
		}
		_ = tc.SetDeadline(time.Time{})
		st := tc.ConnectionState()
		if p := st.NegotiatedProtocol; p != "" && p != "http/1.1" {
			// HTTP/2: net/http's, with the connection untouched.
			c.release()
			c.srv.forget(c)
			c.srv.handoff.give(tc)
			return
		}
		c.tls = &st
	}
	c.loop()
}

func (c *conn) remoteAddr() string {
	if c.remote == "" {
		c.remote = c.nc.RemoteAddr().String()
	}
	return c.remote
}

// release gives the read buffer back.
func (c *conn) release() {
	if c.br != nil {
		c.br.Reset(nil)
		bufPool.Put(c.br)
		c.br = nil
	}
}

// close ends the connection. A background read still running (the
// request ended with the connection closing) ends with it, before the
// read buffer it fills goes back to the pool.
func (c *conn) close() {
	_ = c.nc.Close()
	c.mu.Lock()
	running, done := c.bg == bgRunning, c.bgDone
	c.mu.Unlock()
	if running {
		<-done
	}
	c.release()
	c.srv.forget(c)
}

// step is what serveRequest tells the loop.
type step uint8

const (
	stepNext  step = iota // serve the next request
	stepClose             // close the connection
	stepLeave             // another goroutine has the connection now
)

// loop serves requests until the connection ends or passes to another
// goroutine (a hijacking handler, or net/http).
func (c *conn) loop() {
	for {
		if c.arm != armAfterWrite { // else the armed read does it once it wrote
			if !c.srv.setIdle(c, true) {
				c.close()
				return
			}
			c.waitFrom.Store(c.srv.tick())
		}
		_, err := c.br.Peek(1)
		if !c.srv.setIdle(c, false) || err != nil {
			c.close()
			return
		}
		n, err := c.readHead()
		if err != nil {
			c.close()
			return
		}
		var h head
		ok := n > 0
		x := requestStates.Get().(*requestState)
		if ok {
			b, _ := c.br.Peek(n)
			h, ok = parseHead(b, c.srv.Path, x.header, x.vals)
			if ok {
				x.header, x.vals = h.header, h.vals
			}
		}
		c.waitFrom.Store(0)
		if !ok {
			x.release()
			// net/http answers it, and whatever follows on the connection.
			c.srv.forget(c)
			c.srv.handoff.give(&prefixConn{Conn: c.nc, r: c.br})
			return
		}
		_, _ = c.br.Discard(n)
		switch c.serveRequest(&h, x) {
		case stepClose:
			c.close()
			return
		case stepLeave:
			return
		}
	}
}

// readHead waits until the read buffer holds a whole request head, and
// returns its length, or 0 if it does not fit in the buffer. A head ended
// by bare line feeds counts as whole too (parseHead refuses it: net/http
// then answers it).
func (c *conn) readHead() (int, error) {
	from := 0
	for {
		buffered := c.br.Buffered()
		b, _ := c.br.Peek(buffered)
		for i := from; i < len(b); i++ {
			if b[i] != '\n' {
				continue
			}
			if i+1 < len(b) && b[i+1] == '\n' {
				return i + 2, nil
			}
			if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
				return i + 3, nil
			}
		}
		if buffered >= BufferSize {
			return 0, nil
		}
		from = max(0, buffered-2)
		if _, err := c.br.Peek(buffered + 1); err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return 0, nil
			}
			return 0, err
		}
	}
}

// serveRequest runs the handler on h, whose memory x holds, and writes its
// response.
func (c *conn) serveRequest(h *head, x *requestState) step {
	x.ctx = reqContext{c: c}
	x.url = url.URL{Path: h.path, RawQuery: h.rawQuery}
	ctx := &x.ctx
	c.mu.Lock()
	c.ctx = ctx
	c.bodyLeft = h.contentLength
	c.wantBgRead = false
	c.requestDone = false
	c.bg = bgNone
	c.bgGot = false
	c.rdPending, c.rdSet = false, false
	c.det = nil
	c.mu.Unlock()

	var body io.ReadCloser = http.NoBody
	if h.contentLength > 0 {
		x.body = bodyReader{c: c}
		body = &x.body
	}
	base := http.Request{
		Method:        h.method,
		URL:           &x.url,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h.header,
		Body:          body,
		ContentLength: h.contentLength,
		Close:         h.closeConn,
		Host:          h.host,
		RemoteAddr:    c.remoteAddr(),
		RequestURI:    h.target,
		TLS:           c.tls,
	}
	x.req = *base.WithContext(ctx)
	req := &x.req
	if c.rheader == nil {
		c.rheader = make(http.Header, 8)
	}
	clear(c.rheader)
	c.w = response{c: c, header: c.rheader, body: c.body[:0], contentLength: -1, closeAfter: h.closeConn}
	w := &c.w
	ok := c.runHandler(w, req)

	c.mu.Lock()
	c.requestDone = true
	hijacked := c.hijacked
	det := c.det
	c.mu.Unlock()
	if det != nil {
		st := c.waitDetached(det, ctx, ok)
		if st == stepNext && w.reuse {
			c.releaseRequest(x)
		}
		return st
	}
	ctx.cancel(context.Canceled)
	if hijacked {
		c.srv.forget(c)
		return stepLeave
	}
	if ok {
		ok = c.finish(w)
	}
	w.keepBody()
	if !ok || w.closeAfter {
		return stepClose
	}
	// What the handler left of the body is read and dropped, up to a
	// bound, as net/http does; past it the connection closes.
	c.mu.Lock()
	left := c.bodyLeft
	c.mu.Unlock()
	if left > 0 {
		if left > 256<<10 {
			return stepClose
		}
		if c.br.Buffered() < int(left) {
			_ = c.applyReadDeadline()
		}
		c.waitFrom.Store(c.srv.tick())
		_, err := c.br.Discard(int(left))
		c.waitFrom.Store(0)
		if err != nil {
			return stepClose
		}
	}
	c.mu.Lock()
	clearDeadline := c.rdSet
	c.rdSet, c.rdPending = false, false
	c.mu.Unlock()
	if clearDeadline {
		_ = c.nc.SetReadDeadline(time.Time{})
	}
	c.mu.Lock()
	if c.bg == bgRunning {
		// The read watching the connection waits for the next request
		// anyway: wait for it rather than stopping it and reading again.
		// (This goroutine goes on with the connection: its stack has grown
		// to what the handler needs, where a new goroutine would grow its
		// own again, at a cost that showed in the polling profiles.)
		done := c.bgDone
		c.mu.Unlock()
		c.waitFrom.Store(c.srv.tick())
		if !c.srv.setIdle(c, true) {
			_ = c.nc.Close() // shutting down: the read fails and ends the connection
		}
		<-done
		c.mu.Lock()
	}
	c.mu.Unlock()
	if c.bgErr != nil {
		return stepClose
	}
	if w.reuse {
		c.releaseRequest(x)
	}
	return stepNext
}

// releaseRequest lets the next request (of any connection) reuse x: its
// handler said it was done with it (see response.ReuseRequest), and the
// response is complete.
func (c *conn) releaseRequest(x *requestState) {
	c.mu.Lock()
	c.ctx = nil
	c.mu.Unlock()
	x.release()
}

// finish writes the rest of the response, or leaves it to the loop's next
// read when that read can be armed (see armed.go): when the connection
// stays open, nothing of the request is left to read and nothing else
// reads the connection.
func (c *conn) finish(w *response) bool {
	out, err := w.final()
	if armedReads && !c.noArm && err == nil && !w.closeAfter && len(out) <= 16<<10 {
		// No background read can start now (the handler returned): with
		// none started, the read buffer is this goroutine's.
		c.mu.Lock()
		// (A read deadline of the handler's is cleared before the loop
		// reads, as always: the armed read sets its own.)
		armable := c.bodyLeft == 0 && c.bg == bgNone
		c.mu.Unlock()
		if armable && c.br.Buffered() == 0 && c.bgErr == nil && c.rawConn() != nil {
			c.pend, c.arm = out, armAfterWrite
			return true
		}
	}
	werr := w.send(out)
	return err == nil && werr == nil
}

// requestState is a request's memory: its context, URL, body reader and
// the request itself in one allocation, with the header map and its value
// array. A request state comes from requestStates and goes back to it
// when the handler lets go of the request (response.ReuseRequest); one
// whose handler does not is left to the garbage collector, as the
// handler may keep any part of it.
type requestState struct {
	ctx    reqContext
	url    url.URL
	body   bodyReader
	req    http.Request
	header http.Header
	vals   []string
}

// requestStates holds the request states of released requests.
var requestStates = sync.Pool{New: func() any { return new(requestState) }}

// Bounds on what a released request state keeps: a client that sent many
// headers does not leave a large map to every later request.
const (
	maxKeptHeaderKeys = 16
	maxKeptValues     = 32
)

// release clears x (no string of the request stays reachable through it)
// and puts it back in requestStates.
func (x *requestState) release() {
	header, vals := x.header, x.vals
	if len(header) > maxKeptHeaderKeys {
		header = nil
	}
	clear(header)
	if cap(vals) > maxKeptValues {
		vals = nil
	}
	clear(vals[:cap(vals)])
	*x = requestState{header: header, vals: vals[:0]}
	requestStates.Put(x)
}

// runHandler calls the handler; a panic other than http.ErrAbortHandler
// is logged as net/http logs it. It reports false after a panic.
func (c *conn) runHandler(w *response, r *http.Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			ok = false
			if v == http.ErrAbortHandler {
				return
			}
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			c.logf("http: panic serving %v: %v\n%s", c.nc.RemoteAddr(), v, buf)
		}
	}()
	c.srv.Handler.ServeHTTP(w, r)
	return true
}

func (c *conn) logf(format string, args ...any) {
	if l := c.srv.Fallback.ErrorLog; l != nil {
		l.Printf(format, args...)
		return
	}
	log.New(os.Stderr, "", log.LstdFlags).Printf(format, args...)
}

// bodyReader reads a Content-Length body from the read buffer.
type bodyReader struct{ c *conn }

func (b *bodyReader) Read(p []byte) (int, error) {
	c := b.c
	c.mu.Lock()
	left, done := c.bodyLeft, c.requestDone
	c.mu.Unlock()
	if done {
		return 0, http.ErrBodyReadAfterClose
	}
	if left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	if c.br.Buffered() == 0 {
		if err := c.applyReadDeadline(); err != nil {
			return 0, err
		}
	}
	n, err := c.br.Read(p)
	c.mu.Lock()
	c.bodyLeft -= int64(n)
	left = c.bodyLeft
	start := left == 0 && c.wantBgRead
	c.mu.Unlock()
	if start {
		c.startBackgroundRead()
	}
	if left == 0 {
		return n, io.EOF
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *bodyReader) Close() error { return nil }

// wantDone is called when the request's context is first asked for its
// Done channel: a read in the background then watches the connection, so
// that the context ends when the client goes away (as net/http does once
// the body is read).
func (c *conn) wantDone() {
	c.mu.Lock()
	if c.requestDone || c.hijacked || c.bg != bgNone || c.det != nil {
		c.mu.Unlock()
		return
	}
	if c.bodyLeft > 0 {
		c.wantBgRead = true
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.startBackgroundRead()
}

func (c *conn) startBackgroundRead() {
	c.mu.Lock()
	if c.requestDone || c.hijacked || c.bg != bgNone {
		c.mu.Unlock()
		return
	}
	// A byte still buffered means the client sent more (pipelining): the
	// connection is alive, nothing to watch.
	if c.br.Buffered() > 0 {
		c.bg = bgFinished
		c.mu.Unlock()
		return
	}
	c.bg = bgRunning
	c.bgDone = make(chan struct{})
	ctx := c.ctx
	deadline, apply := c.takeReadDeadlineLocked()
	c.mu.Unlock()
	if apply {
		// The handler's deadline ends the wait, and the context with it,
		// as with net/http.
		_ = c.nc.SetReadDeadline(deadline)
	}
	go c.backgroundRead(ctx)
}

// setReadDeadline is the handler's SetReadDeadline: kept until a read has
// to wait for the connection (most request bodies are in the read buffer
// with their head already), set at once if the background read is waiting.
func (c *conn) setReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.readDeadline, c.rdPending = t, true
	running := c.bg == bgRunning
	c.mu.Unlock()
	if running {
		return c.applyReadDeadline()
	}
	return nil
}

// applyReadDeadline sets the handler's read deadline on the connection if
// it is not set yet.
func (c *conn) applyReadDeadline() error {
	c.mu.Lock()
	t, apply := c.takeReadDeadlineLocked()
	c.mu.Unlock()
	if !apply {
		return nil
	}
	return c.nc.SetReadDeadline(t)
}

func (c *conn) takeReadDeadlineLocked() (time.Time, bool) {
	if !c.rdPending {
		return time.Time{}, false
	}
	c.rdPending, c.rdSet = false, true
	return c.readDeadline, true
}

// backgroundRead reads into the read buffer (nothing else reads it
// meanwhile): the start of the next request, which the loop then parses
// without another read, or the end of the connection, which ends ctx.
func (c *conn) backgroundRead(ctx *reqContext) {
	_, err := c.br.Peek(1)
	aborted := false
	c.mu.Lock()
	if c.br.Buffered() > 0 {
		c.bgGot = true
	}
	if err != nil {
		var ne net.Error
		if c.bgAborting.Load() && errors.As(err, &ne) && ne.Timeout() {
			aborted = true
		} else {
			c.bgErr = err
		}
	}
	c.bg = bgFinished
	done := c.bgDone
	c.mu.Unlock()
	if err != nil && !aborted {
		ctx.cancel(context.Canceled)
	}
	close(done)
}

// aLongTimeAgo is a read deadline that unblocks a read at once.
var aLongTimeAgo = time.Unix(1, 0)

// abortBackgroundRead stops the background read of a request in
// progress, if any, keeping what it read.
func (c *conn) abortBackgroundRead() {
	c.mu.Lock()
	running, done := c.bg == bgRunning, c.bgDone
	c.mu.Unlock()
	if !running {
		return
	}
	c.bgAborting.Store(true)
	_ = c.nc.SetReadDeadline(aLongTimeAgo)
	<-done
	c.bgAborting.Store(false)
	c.mu.Lock()
	var restore time.Time // the handler's deadline, if it was set
	if c.rdSet {
		restore = c.readDeadline
	}
	c.mu.Unlock()
	_ = c.nc.SetReadDeadline(restore)
}

// reqContext is a request's context: it ends when the handler returns or
// the client closes the connection (once watched, see wantDone).
type reqContext struct {
	c    *conn
	mu   sync.Mutex
	done chan struct{}
	err  error
}

func (x *reqContext) Deadline() (time.Time, bool) { return time.Time{}, false }

func (x *reqContext) Done() <-chan struct{} {
	x.mu.Lock()
	if x.done != nil {
		d := x.done
		x.mu.Unlock()
		return d
	}
	x.done = make(chan struct{})
	d := x.done
	ended := x.err != nil
	if ended {
		close(x.done)
	}
	x.mu.Unlock()
	if !ended {
		x.c.wantDone()
	}
	return d
}

func (x *reqContext) Err() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.err
}

func (x *reqContext) Value(key any) any {
	switch key {
	case http.ServerContextKey:
		return x.c.srv.Fallback
	case http.LocalAddrContextKey:
		return x.c.nc.LocalAddr()
	}
	return nil
}

func (x *reqContext) cancel(err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.err != nil {
		return
	}
	x.err = err
	if x.done != nil {
		close(x.done)
	}
}

func (x *reqContext) String() string { return "h1.requestContext" }
