package h1

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// response is the http.ResponseWriter of the fast path. The status line
// and the handler's headers are fixed at WriteHeader; the framing
// (Content-Length or chunked), Date and Connection are added when the
// response is first sent: at the end of the handler, at a Flush, or when
// the body outgrows the buffer. A small response is one write system call.
type response struct {
	c      *conn
	header http.Header

	status        int
	wroteHeader   bool
	sniff         bool  // no Content-Type: sniff it from the body, as net/http does
	contentLength int64 // from the handler's header, -1 if none
	written       int64 // body bytes written by the handler

	head     []byte // status line and handler headers, without the final CRLF
	body     []byte // body not yet sent
	sent     bool   // the head went out
	chunked  bool
	finished bool

	closeAfter bool
	detached   bool // see Detach: the whole body is buffered, written by finish
	reuse      bool // see ReuseRequest
}

// maxBuffered is how much body is kept before the head goes out.
const maxBuffered = 64 << 10

func (w *response) Header() http.Header { return w.header }

// ReuseRequest tells the server that the handler, and everything it gave
// the request to, is done with the request once the response is complete
// (the handler returned, and a detached response was finished): nothing
// keeps or uses the request, its header map, URL, body or context after
// that. The server then reuses their memory for a later request, saving
// the allocations of a request's header and state (about 1 KiB per
// request). Strings taken from the request stay valid: they are not
// reused. The handler calls it before it returns.
func (w *response) ReuseRequest() { w.reuse = true }

func (w *response) WriteHeader(code int) {
	if w.wroteHeader || w.c.hijacked {
		return
	}
	if code < 100 || code > 999 {
		panic("h1: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code < 200 {
		return // informational responses are not sent by this server
	}
	w.wroteHeader = true
	w.status = code
	// (The header's keys are looked up in canonical form, as Header.Get
	// does, without canonicalizing these constants again.)
	if cl := w.header["Content-Length"]; len(cl) > 0 && cl[0] != "" {
		if n, ok := parseContentLength(cl[0]); ok {
			w.contentLength = n
		}
	}
	_, hasType := w.header["Content-Type"]
	w.sniff = !hasType && bodyAllowed(code)
	if conn := w.header["Connection"]; len(conn) > 0 && hasToken(conn[0], "close") {
		w.closeAfter = true
	}
	h := w.c.out[:0]
	h = append(h, "HTTP/1.1 "...)
	h = strconv.AppendInt(h, int64(code), 10)
	h = append(h, ' ')
	h = append(h, http.StatusText(code)...)
	h = append(h, "\r\n"...)
	for k, vs := range w.header {
		if !validFieldName(k) {
			continue
		}
		switch k {
		case "Content-Length", "Transfer-Encoding", "Connection", "Date":
			if k != "Date" {
				continue // framing is ours
			}
		}
		for _, v := range vs {
			h = append(h, k...)
			h = append(h, ": "...)
			h = appendFieldValue(h, v)
			h = append(h, "\r\n"...)
		}
	}
	w.head = h
}

func bodyAllowed(code int) bool {
	return code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
}

func (w *response) Write(p []byte) (int, error) {
	if err := w.startWrite(len(p)); err != nil {
		return 0, err
	}
	if w.buffers(len(p)) {
		w.body = append(w.body, p...)
		return len(p), nil
	}
	return w.writeThrough(p)
}

// WriteString is Write for a string (io.StringWriter): a buffered body
// takes it without the conversion to a byte slice.
func (w *response) WriteString(s string) (int, error) {
	if err := w.startWrite(len(s)); err != nil {
		return 0, err
	}
	if w.buffers(len(s)) {
		w.body = append(w.body, s...)
		return len(s), nil
	}
	return w.writeThrough([]byte(s))
}

// startWrite checks that n more body bytes may be written, writing the
// header first if the handler did not, and counts them.
func (w *response) startWrite(n int) error {
	if w.c.hijacked {
		return http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return http.ErrBodyNotAllowed
	}
	if w.contentLength >= 0 && w.written+int64(n) > w.contentLength {
		return http.ErrContentLength
	}
	w.written += int64(n)
	return nil
}

// buffers reports whether n more body bytes are kept in the body buffer.
func (w *response) buffers(n int) bool {
	return w.detached || len(w.body)+n <= maxBuffered && (!w.sent || w.chunked)
}

// writeThrough writes body bytes the buffer does not keep.
func (w *response) writeThrough(p []byte) (int, error) {
	if w.chunked {
		w.body = append(w.body, p...)
		return len(p), w.flush(false)
	}
	if err := w.flush(false); err != nil {
		return 0, err
	}
	if w.chunked { // the flush chose chunked framing
		w.body = append(w.body, p...)
		return len(p), w.flush(false)
	}
	return w.c.nc.Write(p)
}

// commit appends the framing headers and the blank line to the head;
// final tells whether the whole body is known.
func (w *response) commit(final bool) []byte {
	h := w.head
	if _, ok := w.header["Date"]; !ok {
		h = append(h, "Date: "...)
		h = append(h, httpDate()...)
		h = append(h, "\r\n"...)
	}
	if w.sniff && len(w.body) > 0 {
		h = append(h, "Content-Type: "...)
		h = append(h, http.DetectContentType(w.body)...)
		h = append(h, "\r\n"...)
	}
	switch {
	case !bodyAllowed(w.status):
	case w.contentLength >= 0:
		h = append(h, "Content-Length: "...)
		h = strconv.AppendInt(h, w.contentLength, 10)
		h = append(h, "\r\n"...)
	case final:
		h = append(h, "Content-Length: "...)
		h = strconv.AppendInt(h, int64(len(w.body)), 10)
		h = append(h, "\r\n"...)
	default:
		w.chunked = true
		h = append(h, "Transfer-Encoding: chunked\r\n"...)
	}
	if w.closeAfter || w.c.srv.down.Load() {
		w.closeAfter = true
		h = append(h, "Connection: close\r\n"...)
	}
	h = append(h, "\r\n"...)
	w.sent = true
	return h
}

// flush sends the head if not yet sent and the buffered body.
func (w *response) flush(final bool) error { return w.send(w.output(final)) }

// keepBody keeps the body buffer for the next response unless a large one
// grew it.
func (w *response) keepBody() {
	if cap(w.body) <= 16<<10 {
		w.c.body = w.body[:0]
	}
}

// keep keeps the output buffer for the next response unless a large one
// grew it.
func (w *response) keep(out []byte) {
	if cap(out) <= 16<<10 {
		w.c.out = out[:0]
	} else {
		w.c.out = nil
	}
}

// output returns what flush sends: the head if not yet sent and the
// buffered body, framed.
func (w *response) output(final bool) []byte {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	var out []byte
	if w.sent {
		out = w.c.out[:0]
	} else {
		out = w.commit(final)
	}
	if w.chunked {
		if len(w.body) > 0 {
			out = strconv.AppendInt(out, int64(len(w.body)), 16)
			out = append(out, "\r\n"...)
			out = append(out, w.body...)
			out = append(out, "\r\n"...)
		}
		if final {
			out = append(out, "0\r\n\r\n"...)
		}
	} else {
		out = append(out, w.body...)
	}
	w.body = w.body[:0]
	w.head = nil
	return out
}

// send writes out, the output of the response, and keeps its buffer.
func (w *response) send(out []byte) error {
	var err error
	if len(out) > 0 {
		_, err = w.c.nc.Write(out)
	}
	w.keep(out)
	return err
}

// final returns the rest of the response, once; errShortBody if the
// handler wrote less than its Content-Length (the connection must then
// close).
func (w *response) final() ([]byte, error) {
	if w.finished {
		return nil, nil
	}
	w.finished = true
	if w.contentLength >= 0 && w.written != w.contentLength {
		// A short body would desynchronise the connection.
		w.closeAfter = true
		if !w.sent {
			w.contentLength = -1
		} else {
			return w.output(false), errShortBody
		}
	}
	return w.output(true), nil
}

var errShortBody = errors.New("h1: handler wrote less than its Content-Length")

// Flush sends what was written so far.
func (w *response) Flush() { _ = w.FlushError() }

// FlushError is Flush, with the write's error.
func (w *response) FlushError() error {
	if w.c.hijacked {
		return http.ErrHijacked
	}
	if w.detached {
		return nil // written whole by finish
	}
	return w.flush(false)
}

// Hijack hands the connection to the handler. Bytes already read stay in
// the returned reader.
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c := w.c
	if c.hijacked {
		return nil, nil, http.ErrHijacked
	}
	if w.sent {
		return nil, nil, errors.New("h1: hijack after the response was sent")
	}
	c.abortBackgroundRead()
	c.mu.Lock()
	c.hijacked = true
	c.mu.Unlock()
	if c.bgGot {
		// The client sent more before the answer to its upgrade request;
		// no upgrade is possible on such a connection.
		c.mu.Lock()
		c.hijacked = false
		c.mu.Unlock()
		return nil, nil, errors.New("h1: client sent data before the hijack")
	}
	_ = c.applyReadDeadline() // the handler's, as net/http leaves it
	br := c.br
	c.br = nil
	return c.nc, bufio.NewReadWriter(br, bufio.NewWriterSize(c.nc, 64)), nil
}

// SetReadDeadline and SetWriteDeadline serve http.ResponseController.
func (w *response) SetReadDeadline(t time.Time) error { return w.c.setReadDeadline(t) }

// SetWriteDeadline sets the connection's write deadline (a zero one when
// none is set costs nothing).
func (w *response) SetWriteDeadline(t time.Time) error {
	c := w.c
	if t.IsZero() && !c.wdSet {
		return nil
	}
	c.wdSet = !t.IsZero()
	return c.nc.SetWriteDeadline(t)
}

// dateCache is the Date header of the current second.
var dateCache atomic.Pointer[dateValue]

type dateValue struct {
	sec  int64
	text string
}

func httpDate() string {
	now := time.Now()
	sec := now.Unix()
	if d := dateCache.Load(); d != nil && d.sec == sec {
		return d.text
	}
	d := &dateValue{sec: sec, text: now.UTC().Format(http.TimeFormat)}
	dateCache.Store(d)
	return d.text
}

func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !isTokenByte(k[i]) {
			return false
		}
	}
	return true
}

// appendFieldValue appends v with CR and LF replaced by spaces, as
// net/http writes header values.
func appendFieldValue(b []byte, v string) []byte {
	if strings.IndexByte(v, '\r') < 0 && strings.IndexByte(v, '\n') < 0 {
		return append(b, v...)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}
