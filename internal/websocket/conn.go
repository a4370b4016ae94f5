package websocket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"
)

// MessageType is the type of a WebSocket data message.
type MessageType int

// Data message types; the values are the frame opcodes.
const (
	// TextMessage is a message whose payload is UTF-8 text.
	TextMessage MessageType = 1
	// BinaryMessage is a message with an arbitrary binary payload.
	BinaryMessage MessageType = 2
)

// Message is one WebSocket data message.
type Message struct {
	// Type is TextMessage or BinaryMessage.
	Type MessageType
	// Data is the message payload.
	Data []byte
	// Uncompressed sends the message without compression even when
	// permessage-deflate was negotiated and the message is over the
	// threshold.
	Uncompressed bool
}

// Close status codes (RFC 6455, section 7.4.1).
const (
	// StatusNormalClosure means the purpose of the connection was fulfilled.
	StatusNormalClosure = 1000
	// StatusGoingAway means an endpoint is going away (server shutdown,
	// page navigation).
	StatusGoingAway = 1001
	// StatusProtocolError means an endpoint received a frame that violates
	// the protocol.
	StatusProtocolError = 1002
	// StatusUnsupportedData means an endpoint received a type of data it
	// cannot accept.
	StatusUnsupportedData = 1003
	// StatusNoStatus is reported when a close frame carried no status code.
	// It is never sent on the wire.
	StatusNoStatus = 1005
	// StatusAbnormalClosure denotes a connection that was lost without a
	// close frame. It is never sent on the wire.
	StatusAbnormalClosure = 1006
	// StatusInvalidPayload means a message's data was inconsistent with its
	// type, such as invalid UTF-8 in a text message.
	StatusInvalidPayload = 1007
	// StatusPolicyViolation means an endpoint received a message that
	// violates its policy.
	StatusPolicyViolation = 1008
	// StatusMessageTooBig means an endpoint received a message that is too
	// big for it to process.
	StatusMessageTooBig = 1009
	// StatusInternalError means a server hit an unexpected condition.
	StatusInternalError = 1011
)

// CloseError is returned by ReadMessage when the peer sent a close frame
// (Code is StatusNoStatus if the frame had no code) or when the connection
// was closed locally with Close (Code and Reason are then those passed to
// Close, and the error also matches ErrClosed). Use errors.As to test for
// it.
type CloseError struct {
	// Code is the close status code.
	Code int
	// Reason is the close reason, possibly empty.
	Reason string
}

// Error implements the error interface.
func (e *CloseError) Error() string {
	if e.Reason == "" {
		return "websocket: close " + strconv.Itoa(e.Code)
	}
	return "websocket: close " + strconv.Itoa(e.Code) + ": " + e.Reason
}

var (
	// ErrMessageTooBig is wrapped by the error ReadMessage returns after the
	// peer sent a message larger than the read limit; the connection has
	// then been closed with StatusMessageTooBig.
	ErrMessageTooBig = errors.New("websocket: message too big")
	// ErrClosed is returned by writes after the connection started closing
	// and by reads after the connection was closed (after Close, reads
	// return a *CloseError that also matches ErrClosed).
	ErrClosed = errors.New("websocket: use of closed connection")
	// ErrBadHandshake is wrapped by the errors Upgrade and Dial return when
	// the opening handshake is invalid.
	ErrBadHandshake = errors.New("websocket: bad handshake")
	// ErrConnectionLost is wrapped by the error ReadMessage returns when
	// the network connection ended without a close frame (end of stream,
	// reset, network error).
	ErrConnectionLost = errors.New("websocket: connection lost")
)

// Tunables.
const (
	// defaultReadLimit is the read limit used when none is configured.
	defaultReadLimit = 1_000_000
	// smallBufSize is the size of the read buffer embedded in each Conn. It
	// holds frame headers (14 bytes at most) and small frames read ahead
	// while the connection is idle, such as a client's pong (7 bytes).
	smallBufSize = 16
	// readBufSize is the size of the pooled read buffer a Conn borrows while
	// data is flowing.
	readBufSize = 4096
	// directReadSize is the payload remainder from which ReadMessage reads
	// straight into the message instead of through the read buffer.
	directReadSize = readBufSize / 2
	// writeBufSize is the initial capacity of pooled write buffers.
	writeBufSize = 4096
	// maxPooledWriteBuf is the largest write buffer returned to the pool.
	maxPooledWriteBuf = 128 << 10
	// flushSize is the amount of buffered frame bytes after which a write
	// call is issued even if more messages follow.
	flushSize = 64 << 10
	// directWriteSize is the payload size from which a message is not
	// copied into the write buffer: servers write it with writev, clients
	// mask it in buffer-sized chunks.
	directWriteSize = 16 << 10
	// rereadAfter is how long the goroutines that Poll lets run before it
	// reads a drained socket again must have taken for the read to be
	// worth it: a read that finds nothing costs about 2 µs, under 1% of
	// this.
	rereadAfter = 250 * time.Microsecond
	// rereadMax is how many drained polls read again after a read again
	// found data, whatever the wait.
	rereadMax = 4
	// closeTimeout bounds how long closing may block on a peer that does
	// not read.
	closeTimeout = time.Second
)

// readPool holds *[]byte read buffers of length readBufSize.
var readPool = sync.Pool{New: func() any {
	b := make([]byte, readBufSize)
	return &b
}}

// writePool holds *[]byte write buffers with zero length.
var writePool = sync.Pool{New: func() any {
	b := make([]byte, 0, writeBufSize)
	return &b
}}

// Conn is a WebSocket connection, created by Upgrade or Dial.
//
// One goroutine may call ReadMessage while any number of goroutines call
// the write methods, Close, CloseNow and the other methods. The network
// connection is released by Close, CloseNow, or when ReadMessage returns an
// error; a Conn that is never read from must be closed explicitly.
type Conn struct {
	nc net.Conn

	// readLimit is the maximum size of a reassembled message.
	readLimit atomic.Int64
	// localClose is the status passed to Close, reported to a read that
	// the Close interrupted.
	localClose atomic.Pointer[CloseError]
	// closing is set once by the first of Close, CloseNow, or a fatal read
	// condition; no data frames are written afterwards.
	closing atomic.Bool
	client  bool // masks outgoing frames, expects unmasked incoming frames
	// atBoundary is set while ReadMessage waits for the first byte of a
	// message, where the end of the stream is a clean io.EOF. It is owned
	// by the reading goroutine.
	atBoundary bool
	// drained is set when the last read from the network returned less
	// than it asked for: the socket had nothing more at that moment, so
	// Poll may report idle without another read (an edge-triggered or
	// re-armed readiness watch catches what arrives later). Owned by the
	// reading goroutine.
	drained bool
	// reread counts the drained polls that read again whatever the wait
	// (see Poll); owned by the reading goroutine.
	reread uint8

	// Read state, owned by the goroutine in ReadMessage. rbuf[rpos:rend]
	// holds bytes received but not yet parsed. rbuf is small[:] unless
	// rpool is non-nil, in which case rbuf is *rpool, a pooled buffer.
	rbuf       []byte
	rpos, rend int
	rpool      *[]byte
	small      [smallBufSize]byte

	wmu  sync.Mutex // serializes frame writes
	werr error      // sticky write error; guarded by wmu
	// pending holds the rest of the frames that TryWriteMessages accepted
	// but the socket could not take at once; every later write sends it
	// first. A pooled buffer, nil when empty; guarded by wmu.
	pending *[]byte
	// wrc is the raw connection TryWriteMessages writes through, set by
	// its first call; guarded by wmu.
	wrc syscall.RawConn

	// dfl is the permessage-deflate state, nil unless the extension was
	// negotiated.
	dfl *deflateState
}

// newConn returns a Conn over nc. leftover holds bytes already read from nc
// (after the handshake) that belong to the WebSocket stream.
func newConn(nc net.Conn, client bool, leftover []byte, limit int64) *Conn {
	c := &Conn{nc: nc, client: client}
	c.SetReadLimit(limit)
	c.rbuf = c.small[:]
	if n := len(leftover); n > 0 {
		if n > len(c.small) {
			c.usePooled(n)
		}
		c.rend = copy(c.rbuf, leftover)
	}
	return c
}

// SetReadLimit changes the maximum size in bytes of subsequently read
// messages (after reassembly of fragments). A value <= 0 restores the
// default of 1e6 bytes.
func (c *Conn) SetReadLimit(n int64) {
	if n <= 0 {
		n = defaultReadLimit
	}
	c.readLimit.Store(n)
}

// RemoteAddr returns the address of the peer.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// LocalAddr returns the local address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// ---------------------------------------------------------------------------
// Reading

// ReadMessage blocks until a whole data message arrives and returns its type
// and payload, reassembling fragmented messages. The returned slice is owned
// by the caller.
//
// Control frames are handled internally: pings are answered with pongs,
// pongs are ignored, and a close frame from the peer is answered with a
// close frame echoing its code before the connection is closed and a
// *CloseError is returned. Protocol violations close the connection with
// StatusProtocolError, invalid UTF-8 in a text message with
// StatusInvalidPayload and a message above the read limit with
// StatusMessageTooBig (the error then wraps ErrMessageTooBig).
//
// If the peer closes the connection without a close frame, the error wraps
// io.EOF, or io.ErrUnexpectedEOF if it did so in the middle of a message.
// Any error is final: the connection is closed and later calls return
// ErrClosed. After a violation by the peer, ReadMessage waits up to one
// second for the peer to close its side, so that the close frame is not
// lost to a TCP reset. Only one goroutine may call ReadMessage at a time.
func (c *Conn) ReadMessage() (MessageType, []byte, error) {
	if c.closing.Load() {
		return 0, nil, c.closedError()
	}
	t, data, err := c.readMessage()
	if err != nil {
		c.releaseReadBuf(true)
		return 0, nil, err
	}
	c.releaseReadBuf(false)
	return t, data, nil
}

// Poll reports whether ReadMessage can start without waiting for the
// network: bytes of a next message are buffered, or a non-blocking read of
// the connection finds some (they are kept for ReadMessage), the end of the
// stream or an error. It reports false when the connection is idle, so that
// the reader can stop and wait for readability elsewhere (see
// internal/netpoll) instead of blocking a goroutine.
//
// When the last read emptied the socket, Poll first lets the goroutines
// already runnable go (runtime.Gosched: what the messages just read
// started, such as a broadcast they trigger). If that took long, or if
// reading again found data lately on this connection, it reads again:
// data that arrived meanwhile is then read in this turn, not once the
// process has nothing else to run (when the Go runtime looks at
// readiness), and a burst split by a long handler stays one burst.
// Otherwise it reports idle without a read, so the watch must report data
// that is already there (epoll does, when a descriptor is added or
// re-armed).
//
// A connection without a file descriptor (such as TLS) always reports
// true. Only the reading goroutine may call it, between two ReadMessage
// calls.
func (c *Conn) Poll() bool {
	if c.rend > c.rpos || c.closing.Load() {
		return true
	}
	drained := c.drained
	c.drained = false
	sc, ok := c.nc.(syscall.Conn)
	if !ok || !rawSocketIO {
		return true
	}
	if drained {
		start := time.Now()
		runtime.Gosched()
		if c.reread == 0 && time.Since(start) < rereadAfter {
			return false
		}
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	found := c.readAvailable(rc)
	if drained {
		// A read again that found data makes the next ones due whatever
		// the wait (a fast handler, a peer that sends in bursts); one
		// that found nothing takes one away.
		switch {
		case found:
			c.reread = rereadMax
		case c.reread > 0:
			c.reread--
		}
	}
	return found
}

// readAvailable reads what the socket has without waiting, into the read
// buffer; it reports false when there was nothing (EAGAIN).
func (c *Conn) readAvailable(rc syscall.RawConn) bool {
	c.releaseReadBuf(true)
	// Read into a pooled buffer, not the small one: a message that does
	// not fit in the small buffer would take a second read system call.
	bp := readPool.Get().(*[]byte)
	var (
		n    int
		rerr error
	)
	if err := rc.Read(func(fd uintptr) bool {
		n, rerr = sysRead(fd, *bp)
		return true // never wait
	}); err != nil {
		readPool.Put(bp)
		return true
	}
	if rerr != nil || n <= 0 {
		readPool.Put(bp)
		// EAGAIN: idle. Anything else (an error, the end of the
		// stream): ReadMessage reads again and reports it.
		return !errors.Is(rerr, syscall.EAGAIN)
	}
	c.drained = n < len(*bp)
	if n <= len(c.small) {
		c.rend = copy(c.small[:], (*bp)[:n])
		readPool.Put(bp)
		return true
	}
	c.rbuf, c.rpool = *bp, bp
	c.rpos, c.rend = 0, n
	return true
}

// SyscallConn gives access to the file descriptor of the underlying
// network connection, when it has one (see internal/netpoll).
func (c *Conn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return nil, errors.New("websocket: the connection has no file descriptor")
	}
	return sc.SyscallConn()
}

// readMessage implements ReadMessage.
func (c *Conn) readMessage() (MessageType, []byte, error) {
	var (
		typ        MessageType
		data       []byte
		fragmented bool // a fragmented message is in progress
		compressed bool // the message's first frame had RSV1 set
	)
	limit := uint64(c.readLimit.Load())
	for {
		c.atBoundary = !fragmented
		h, err := c.readHeader()
		if err != nil {
			return 0, nil, err
		}
		if isControl(h.op) {
			if err := c.handleControl(h); err != nil {
				return 0, nil, err
			}
			continue
		}
		switch h.op {
		case opText, opBinary:
			if fragmented {
				return 0, nil, c.fail(StatusProtocolError, "expected continuation frame")
			}
			typ = MessageType(h.op)
			compressed = h.rsv1
		case opContinuation:
			if !fragmented {
				return 0, nil, c.fail(StatusProtocolError, "unexpected continuation frame")
			}
		}
		size := uint64(len(data))
		if h.length > limit || size+h.length > limit {
			_ = c.shutdown(StatusMessageTooBig, "message too big", closeLinger, nil)
			return 0, nil, fmt.Errorf("%w (limit %d bytes, closed with %d)", ErrMessageTooBig, limit, StatusMessageTooBig)
		}
		n := int(h.length)
		if data == nil && h.fin {
			data = make([]byte, n)
		} else {
			data = append(data, make([]byte, n)...)
		}
		payload := data[len(data)-n:]
		if err := c.readPayload(payload); err != nil {
			return 0, nil, err
		}
		if h.masked {
			maskBytes(h.key, 0, payload)
		}
		if !h.fin {
			fragmented = true
			continue
		}
		if compressed {
			if data, err = c.dfl.inflate(data, int64(limit)); err != nil {
				if errors.Is(err, errInflatedTooBig) {
					_ = c.shutdown(StatusMessageTooBig, "message too big", closeLinger, nil)
					return 0, nil, fmt.Errorf("%w: decompressed size over the limit of %d bytes (closed with %d)", ErrMessageTooBig, limit, StatusMessageTooBig)
				}
				return 0, nil, c.fail(StatusInvalidPayload, "invalid compressed data")
			}
		}
		if typ == TextMessage && !utf8.Valid(data) {
			return 0, nil, c.fail(StatusInvalidPayload, "invalid UTF-8 in text message")
		}
		return typ, data, nil
	}
}

// handleControl reads the payload of control frame h and acts on it.
func (c *Conn) handleControl(h frameHeader) error {
	// The payload (at most 125 bytes, checked by readHeader) is read through
	// the read buffer into a stack array.
	var buf [maxControlPayload]byte
	if err := c.fill(int(h.length)); err != nil {
		return err
	}
	p := buf[:copy(buf[:h.length], c.rbuf[c.rpos:c.rend])]
	c.rpos += len(p)
	if h.masked {
		maskBytes(h.key, 0, p)
	}
	switch h.op {
	case opPing:
		// A failed pong leaves the connection broken; the next read or
		// write reports it, so the error is not returned here.
		_ = c.writeControl(opPong, p)
		return nil
	case opPong:
		return nil
	}
	// Close frame.
	code, reason := StatusNoStatus, ""
	switch {
	case len(p) == 1:
		return c.fail(StatusProtocolError, "invalid close frame payload")
	case len(p) >= 2:
		code = int(binary.BigEndian.Uint16(p))
		if !validCloseCode(code) {
			return c.fail(StatusProtocolError, "invalid close code "+strconv.Itoa(code))
		}
		if !utf8.Valid(p[2:]) {
			return c.fail(StatusInvalidPayload, "invalid UTF-8 in close reason")
		}
		reason = string(p[2:])
	}
	if c.localClose.Load() != nil {
		// The peer answered our Close: report the local status, as a read
		// interrupted by Close does.
		return c.closedError()
	}
	_ = c.shutdown(code, "", closeSend, nil)
	return &CloseError{Code: code, Reason: reason}
}

// readHeader reads and validates the next frame header.
func (c *Conn) readHeader() (frameHeader, error) {
	var h frameHeader
	if err := c.fill(2); err != nil {
		return h, err
	}
	c.atBoundary = false
	b0, b1 := c.rbuf[c.rpos], c.rbuf[c.rpos+1]
	need := 2
	switch b1 & lenMask {
	case 126:
		need += 2
	case 127:
		need += 8
	}
	h.masked = b1&maskBit != 0
	if h.masked {
		need += 4
	}
	if err := c.fill(need); err != nil {
		return h, err
	}
	b := c.rbuf[c.rpos : c.rpos+need]
	c.rpos += need

	h.fin = b0&finBit != 0
	h.op = b0 & opMask
	switch n := b1 & lenMask; n {
	case 126:
		h.length = uint64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		h.length = binary.BigEndian.Uint64(b[2:])
	default:
		h.length = uint64(n)
	}
	if h.masked {
		h.key = binary.LittleEndian.Uint32(b[need-4:])
	}

	h.rsv1 = b0&rsv1Bit != 0
	switch {
	case b0&rsvBits&^rsv1Bit != 0:
		return h, c.fail(StatusProtocolError, "reserved bits set")
	case h.rsv1 && (c.dfl == nil || h.op == opContinuation || isControl(h.op)):
		// RSV1 marks a compressed message: only on the first frame of a
		// data message, and only when permessage-deflate was negotiated
		// (RFC 7692, section 6.1).
		return h, c.fail(StatusProtocolError, "reserved bit RSV1 set")
	case (h.op > opBinary && h.op < opClose) || h.op > opPong:
		return h, c.fail(StatusProtocolError, "unknown opcode "+strconv.Itoa(int(h.op)))
	case h.length>>63 != 0:
		return h, c.fail(StatusProtocolError, "invalid payload length")
	case h.masked == c.client:
		if c.client {
			return h, c.fail(StatusProtocolError, "masked frame from server")
		}
		return h, c.fail(StatusProtocolError, "unmasked frame from client")
	case isControl(h.op) && !h.fin:
		return h, c.fail(StatusProtocolError, "fragmented control frame")
	case isControl(h.op) && h.length > maxControlPayload:
		return h, c.fail(StatusProtocolError, "control frame too long")
	}
	return h, nil
}

// fill reads from the network until at least n <= readBufSize bytes are
// buffered.
//
// With nothing buffered, as when waiting for the next frame, it reads into
// the small embedded buffer, so a goroutine blocked on an idle connection
// pins no pooled buffer. Once more bytes are needed to complete a frame,
// data is evidently flowing and the connection borrows a pooled buffer to
// read larger chunks.
func (c *Conn) fill(n int) error {
	for c.rend-c.rpos < n {
		buffered := c.rend - c.rpos
		switch {
		case buffered == 0 && n <= len(c.small):
			c.releaseReadBuf(true)
		case c.rpool == nil:
			c.usePooled(readBufSize)
		case len(c.rbuf)-c.rpos < n:
			copy(c.rbuf, c.rbuf[c.rpos:c.rend])
			c.rpos, c.rend = 0, buffered
		}
		want := len(c.rbuf) - c.rend
		m, err := c.nc.Read(c.rbuf[c.rend:])
		c.rend += m
		c.drained = err == nil && m < want
		if err != nil && c.rend-c.rpos < n {
			return c.readError(err)
		}
	}
	return nil
}

// readPayload fills p with the next len(p) bytes of the stream.
func (c *Conn) readPayload(p []byte) error {
	k := copy(p, c.rbuf[c.rpos:c.rend])
	c.rpos += k
	p = p[k:]
	if len(p) == 0 {
		return nil
	}
	if len(p) >= directReadSize {
		// The buffer is empty now; read large remainders in place.
		c.drained = false
		if _, err := io.ReadFull(c.nc, p); err != nil {
			return c.readError(err)
		}
		return nil
	}
	if err := c.fill(len(p)); err != nil {
		return err
	}
	c.rpos += copy(p, c.rbuf[c.rpos:c.rend])
	return nil
}

// usePooled switches the read buffer to a pooled buffer of at least size
// bytes, moving the unread bytes to its start.
func (c *Conn) usePooled(size int) {
	var bp *[]byte
	if size <= readBufSize {
		bp = readPool.Get().(*[]byte)
	} else {
		b := make([]byte, size)
		bp = &b
	}
	n := copy(*bp, c.rbuf[c.rpos:c.rend])
	c.rbuf, c.rpool = *bp, bp
	c.rpos, c.rend = 0, n
}

// releaseReadBuf returns the pooled read buffer if the unread bytes fit into
// the embedded buffer (or unconditionally, dropping them, if discard is
// set), so that an idle connection holds no pooled buffer.
func (c *Conn) releaseReadBuf(discard bool) {
	if discard {
		c.rpos, c.rend = 0, 0
	}
	buffered := c.rend - c.rpos
	if c.rpool == nil || buffered > len(c.small) {
		return
	}
	copy(c.small[:], c.rbuf[c.rpos:c.rend])
	if bp := c.rpool; len(*bp) == readBufSize {
		readPool.Put(bp)
	}
	c.rbuf, c.rpool = c.small[:], nil
	c.rpos, c.rend = 0, buffered
}

// readError converts a network read error into the error ReadMessage
// returns and closes the connection.
func (c *Conn) readError(err error) error {
	if c.closing.Load() {
		// Closed locally while reading.
		return c.closedError()
	}
	_ = c.shutdown(StatusAbnormalClosure, "", closeNow, nil)
	if err == io.EOF && (!c.atBoundary || c.rend > c.rpos) {
		err = io.ErrUnexpectedEOF // in the middle of a frame or message
	}
	return fmt.Errorf("%w: %w", ErrConnectionLost, err)
}

// closedError returns the error for a read on a connection that was closed
// locally or has failed: after Close it is both a *CloseError with the
// status passed to Close and ErrClosed, otherwise ErrClosed.
func (c *Conn) closedError() error {
	if ce := c.localClose.Load(); ce != nil {
		return &localCloseError{CloseError{Code: ce.Code, Reason: ce.Reason}}
	}
	return ErrClosed
}

// localCloseError is returned by reads interrupted by or following Close.
// It matches both *CloseError (errors.As) and ErrClosed (errors.Is).
type localCloseError struct {
	CloseError
}

// Unwrap returns the close status and ErrClosed.
func (e *localCloseError) Unwrap() []error { return []error{&e.CloseError, ErrClosed} }

// fail closes the connection with a close frame carrying code and reason
// and returns an error describing the failure. It is only called by the
// reading goroutine.
func (c *Conn) fail(code int, reason string) error {
	_ = c.shutdown(code, reason, closeLinger, nil)
	switch code {
	case StatusProtocolError:
		return errors.New("websocket: protocol error: " + reason)
	case StatusInvalidPayload:
		return errors.New("websocket: invalid payload: " + reason)
	}
	return errors.New("websocket: " + reason + " (closed with " + strconv.Itoa(code) + ")")
}

// ---------------------------------------------------------------------------
// Writing

// WriteMessage writes one message as one frame. It is safe to call
// concurrently with other writes and with ReadMessage. Text messages are not
// validated; the caller must supply UTF-8.
func (c *Conn) WriteMessage(t MessageType, data []byte) error {
	msgs := [1]Message{{Type: t, Data: data}}
	return c.writeMessages(msgs[:])
}

// WriteMessages writes all messages, each as one frame, using as few write
// system calls as possible: frames are assembled in one pooled buffer that
// is written at once (large payloads are written with writev instead of
// being copied). It does not allocate in the steady state. It is safe to
// call concurrently with other writes and with ReadMessage; the messages of
// one call are not interleaved with other writes.
func (c *Conn) WriteMessages(msgs []Message) error {
	return c.writeMessages(msgs)
}

// writeMessages implements WriteMessage and WriteMessages.
func (c *Conn) writeMessages(msgs []Message) error {
	for i := range msgs {
		if t := msgs[i].Type; t != TextMessage && t != BinaryMessage {
			return fmt.Errorf("websocket: invalid message type %d", int(t))
		}
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.writeState(); err != nil {
		return err
	}
	if err := c.flushPendingLocked(); err != nil {
		return err
	}
	if len(msgs) == 0 {
		return nil
	}
	bp := writePool.Get().(*[]byte)
	var zp *[]byte // scratch space for compressed payloads
	if c.dfl != nil && c.dfl.compress {
		zp = writePool.Get().(*[]byte)
	}
	buf, err := c.appendMessages((*bp)[:0], msgs, zp)
	if err == nil && len(buf) > 0 {
		err = c.write(buf)
	}
	if cap(buf) <= maxPooledWriteBuf {
		*bp = buf[:0]
		writePool.Put(bp)
	}
	if zp != nil && cap(*zp) <= maxPooledWriteBuf {
		*zp = (*zp)[:0]
		writePool.Put(zp)
	}
	return err
}

// MaxTryWrite is the most payload bytes TryWriteMessages accepts in one
// call; larger batches are for WriteMessages. It is well below the sizes
// at which framing writes on its own (directWriteSize, flushSize), even
// after a compression that grew the data.
const MaxTryWrite = directWriteSize / 2

// CanTryWrite reports whether TryWriteMessages may accept messages on this
// connection: a server connection with a file descriptor (not TLS).
func (c *Conn) CanTryWrite() bool {
	_, ok := c.nc.(syscall.Conn)
	return ok && !c.client
}

// TryWriteMessages writes msgs, each as one frame, without waiting: it
// frames them and gives the socket what it takes at once, with a
// non-blocking write.
//
// accepted reports whether the messages were taken. When they were not
// (another write is in progress, frames the socket could not take yet are
// still buffered, the connection has no file descriptor, as with TLS, or
// the messages carry more than MaxTryWrite bytes), nothing was written
// and the caller writes them with WriteMessages instead. When they were,
// pending reports that part of them is buffered in the Conn: Flush (or any
// later write, which sends it first) must then be called, and may block.
// err is a write error; the connection is then unusable, as after a
// failed WriteMessages.
func (c *Conn) TryWriteMessages(msgs []Message) (accepted, pending bool, err error) {
	size := 0
	for i := range msgs {
		if t := msgs[i].Type; t != TextMessage && t != BinaryMessage {
			return false, false, fmt.Errorf("websocket: invalid message type %d", int(t))
		}
		size += len(msgs[i].Data)
	}
	if size > MaxTryWrite || c.client {
		return false, false, nil
	}
	sc, ok := c.nc.(syscall.Conn)
	if !ok || !rawSocketIO || !c.wmu.TryLock() {
		return false, false, nil
	}
	defer c.wmu.Unlock()
	if err := c.writeState(); err != nil {
		return false, false, err
	}
	if c.pending != nil {
		return false, false, nil
	}
	if c.wrc == nil {
		rc, err := sc.SyscallConn()
		if err != nil {
			return false, false, nil
		}
		c.wrc = rc
	}
	rc := c.wrc
	var zp *[]byte
	if c.dfl != nil && c.dfl.compress {
		zp = writePool.Get().(*[]byte)
		defer func() {
			if cap(*zp) <= maxPooledWriteBuf {
				*zp = (*zp)[:0]
				writePool.Put(zp)
			}
		}()
	}
	bp := writePool.Get().(*[]byte)
	// Below MaxTryWrite, appendMessages neither flushes nor writes a
	// payload on its own: it only frames.
	buf, err := c.appendMessages((*bp)[:0], msgs, zp)
	if err != nil {
		*bp = (*bp)[:0]
		writePool.Put(bp)
		return true, false, err
	}
	tw := tryWriterPool.Get().(*tryWriter)
	tw.buf = buf
	if err := rc.Write(tw.fn); err != nil {
		tw.n, tw.err = 0, err
	}
	n, werr := tw.n, tw.err
	tw.buf, tw.n, tw.err = nil, 0, nil
	tryWriterPool.Put(tw)
	if werr != nil && !errors.Is(werr, syscall.EAGAIN) {
		*bp = buf[:0]
		writePool.Put(bp)
		return true, false, c.writeFailed(werr)
	}
	if n >= len(buf) {
		*bp = buf[:0]
		writePool.Put(bp)
		return true, false, nil
	}
	// Keep the rest, moved to the front of the buffer, for Flush.
	*bp = buf[:copy(buf, buf[n:])]
	c.pending = bp
	return true, true, nil
}

// Flush writes what TryWriteMessages left buffered, blocking until the
// socket takes it. It does nothing when nothing is buffered.
func (c *Conn) Flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.writeState(); err != nil {
		return err
	}
	return c.flushPendingLocked()
}

// flushPendingLocked writes c.pending, if any; the caller holds c.wmu.
func (c *Conn) flushPendingLocked() error {
	bp := c.pending
	if bp == nil {
		return nil
	}
	c.pending = nil
	err := c.write(*bp)
	if cap(*bp) <= maxPooledWriteBuf {
		*bp = (*bp)[:0]
		writePool.Put(bp)
	}
	return err
}

// tryWriter is the state of one non-blocking write, with the function
// handed to syscall.RawConn.Write bound once, so that a write does not
// allocate a closure.
type tryWriter struct {
	buf []byte
	n   int
	err error
	fn  func(fd uintptr) bool
}

var tryWriterPool = sync.Pool{New: func() any {
	tw := new(tryWriter)
	tw.fn = tw.write
	return tw
}}

// write makes one write system call on fd, never waiting for it to be
// writable (Go's sockets are in non-blocking mode).
func (tw *tryWriter) write(fd uintptr) bool {
	for {
		n, err := sysWrite(fd, tw.buf)
		if err == syscall.EINTR {
			continue
		}
		tw.n, tw.err = max(n, 0), err
		return true
	}
}

// appendMessages frames msgs into buf, writing out full buffers and large
// payloads as it goes, and returns the bytes still to be written. The
// caller holds c.wmu. Messages to compress are compressed into *zp, when
// zp is not nil (permessage-deflate is in use).
func (c *Conn) appendMessages(buf []byte, msgs []Message, zp *[]byte) ([]byte, error) {
	for i := range msgs {
		op, data := byte(msgs[i].Type), msgs[i].Data
		if zp != nil && c.dfl.shouldCompress(len(data), msgs[i].Uncompressed) {
			// The scratch buffer is reused by the next message: every
			// case below writes out or copies the payload.
			*zp = c.dfl.appendCompressed((*zp)[:0], data)
			data = *zp
			op |= rsv1Bit // appendHeader puts it in the first header byte
		}
		n := len(data)
		switch {
		case !c.client && n >= directWriteSize:
			// Write the header and the caller's payload with one writev
			// rather than copying the payload.
			buf = appendHeader(buf, op, n, false, 0)
			bufs := net.Buffers{buf, data}
			if _, err := bufs.WriteTo(c.nc); err != nil {
				return buf, c.writeFailed(err)
			}
			buf = buf[:0]
		case c.client && n >= directWriteSize:
			// Mask into the buffer chunk by chunk instead of growing it to
			// the payload size.
			key := rand.Uint32()
			buf = appendHeader(buf, op, n, true, key)
			pos := 0
			for len(data) > 0 {
				if len(buf) == cap(buf) {
					if err := c.write(buf); err != nil {
						return buf, err
					}
					buf = buf[:0]
				}
				k := min(cap(buf)-len(buf), len(data))
				start := len(buf)
				buf = append(buf, data[:k]...)
				pos = maskBytes(key, pos, buf[start:])
				data = data[k:]
			}
		case c.client:
			key := rand.Uint32()
			buf = appendHeader(buf, op, n, true, key)
			start := len(buf)
			buf = append(buf, data...)
			maskBytes(key, 0, buf[start:])
		default:
			buf = appendHeader(buf, op, n, false, 0)
			buf = append(buf, data...)
		}
		if len(buf) >= flushSize {
			if err := c.write(buf); err != nil {
				return buf, err
			}
			buf = buf[:0]
		}
	}
	return buf, nil
}

// writeControl writes a control frame. It does nothing once the connection
// is closing.
func (c *Conn) writeControl(op byte, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.writeState(); err != nil {
		return err
	}
	return c.writeControlLocked(op, payload)
}

// writeControlLocked writes a control frame, after the frames still
// pending; the caller holds c.wmu.
func (c *Conn) writeControlLocked(op byte, payload []byte) error {
	if err := c.flushPendingLocked(); err != nil {
		return err
	}
	bp := writePool.Get().(*[]byte)
	var key uint32
	if c.client {
		key = rand.Uint32()
	}
	buf := appendHeader((*bp)[:0], op, len(payload), c.client, key)
	start := len(buf)
	buf = append(buf, payload...)
	if c.client {
		maskBytes(key, 0, buf[start:])
	}
	err := c.write(buf)
	*bp = buf[:0]
	writePool.Put(bp)
	return err
}

// writeState returns the error a write must fail with, if any. The caller
// holds c.wmu.
func (c *Conn) writeState() error {
	if c.werr != nil {
		return c.werr
	}
	if c.closing.Load() {
		return ErrClosed
	}
	return nil
}

// write writes b to the network; the caller holds c.wmu.
func (c *Conn) write(b []byte) error {
	if _, err := c.nc.Write(b); err != nil {
		return c.writeFailed(err)
	}
	return nil
}

// writeFailed records a write error: a partially written frame leaves the
// stream corrupt, so all later writes fail too. The caller holds c.wmu.
func (c *Conn) writeFailed(err error) error {
	if c.closing.Load() {
		c.werr = ErrClosed
	} else {
		c.werr = fmt.Errorf("websocket: write: %w", err)
	}
	return c.werr
}

// ---------------------------------------------------------------------------
// Closing

// Close sends a close frame with code and reason, unless the connection is
// already closing, and then closes the network connection. It unblocks a
// pending ReadMessage, which returns a *CloseError carrying code and reason.
// Close does not wait for the peer's close frame, and blocks for at most
// about one second if the peer does not read. A code that may not be sent
// on the wire (such as StatusNoStatus) yields a close frame without a
// code; reason is truncated to fit a control frame. Close is idempotent:
// calls after the first do nothing and return nil.
func (c *Conn) Close(code int, reason string) error {
	return c.shutdown(code, reason, closeSend, &CloseError{Code: code, Reason: reason})
}

// CloseNow closes the network connection without sending a close frame. It
// is idempotent.
func (c *Conn) CloseNow() error {
	return c.shutdown(StatusAbnormalClosure, "", closeNow, nil)
}

// closeMode selects how shutdown closes the connection.
type closeMode int

const (
	// closeNow closes the network connection without a close frame.
	closeNow closeMode = iota
	// closeSend sends a close frame, then closes the network connection.
	closeSend
	// closeLinger sends a close frame, shuts down the sending side, and
	// discards incoming data until the peer closes its side (or
	// closeTimeout passes) before closing. Closing a socket with unread
	// data makes TCP reset the connection, which can destroy the close
	// frame before the peer reads it; this matters when a read fails on a
	// frame whose payload was not consumed. Only the reading goroutine may
	// use it.
	closeLinger
)

// shutdown closes the connection once, as selected by mode; sending a close
// frame is bounded by closeTimeout. local is the error reported to an
// interrupted ReadMessage.
func (c *Conn) shutdown(code int, reason string, mode closeMode, local *CloseError) error {
	if !c.closing.CompareAndSwap(false, true) {
		if mode == closeNow {
			// Cut short a close in progress (such as a lingering one).
			_ = c.nc.Close()
		}
		return nil
	}
	if local != nil {
		// Published before the network connection is closed, so the read
		// this interrupts can report it.
		c.localClose.Store(local)
	}
	if mode != closeNow {
		// The deadline also unblocks a writer stuck on a peer that does not
		// read, so that the lock below is obtained quickly.
		deadline := time.Now().Add(closeTimeout)
		_ = c.nc.SetWriteDeadline(deadline)
		c.wmu.Lock()
		sent := false
		if c.werr == nil {
			var p [maxControlPayload]byte
			sent = c.writeControlLocked(opClose, closePayload(p[:0], code, reason)) == nil
		}
		c.werr = ErrClosed
		c.wmu.Unlock()
		if sent && mode == closeLinger {
			if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
				_ = cw.CloseWrite()
			}
			_ = c.nc.SetReadDeadline(deadline)
			for {
				// The connection is dead: the read buffer is scratch space.
				if _, err := c.nc.Read(c.small[:]); err != nil {
					break
				}
			}
		}
	}
	if err := c.nc.Close(); err != nil {
		return fmt.Errorf("websocket: close: %w", err)
	}
	return nil
}

// closePayload appends the payload of a close frame to b.
func closePayload(b []byte, code int, reason string) []byte {
	if !validCloseCode(code) {
		return b
	}
	b = binary.BigEndian.AppendUint16(b, uint16(code))
	if len(reason) > maxControlPayload-2 {
		// Truncate at a rune boundary.
		n := maxControlPayload - 2
		for n > 0 && !utf8.RuneStart(reason[n]) {
			n--
		}
		reason = reason[:n]
	}
	return append(b, reason...)
}
