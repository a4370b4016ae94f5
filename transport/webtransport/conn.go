package webtransport

import (
	"bufio"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	wt "github.com/quic-go/webtransport-go"
	"github.com/socketio-go/socketio/engineio"
)

// errConnClosed is returned by WriteMessages after Close.
var errConnClosed = errors.New("webtransport: connection closed")

// stopSending is the stream error code sent when the server stops
// reading the stream of a session it closes.
const stopSending wt.StreamErrorCode = 0

// conn is an engineio.MessageConn on the bidirectional stream of a
// WebTransport session.
type conn struct {
	srv  *Server
	quic *quic.Conn // the QUIC connection, closed with its last session; nil if unknown
	sess *wt.Session
	str  *wt.Stream
	r    *bufio.Reader

	wmu    sync.Mutex // serialises writes, and Close with them
	wbuf   []byte
	closed bool // guarded by wmu

	closeOnce sync.Once
}

func newConn(s *Server, sess *wt.Session, str *wt.Stream, qc *quic.Conn) *conn {
	return &conn{srv: s, quic: qc, sess: sess, str: str, r: bufio.NewReader(str)}
}

// ReadMessage reads the next framed message.
func (c *conn) ReadMessage() (engineio.Message, error) {
	m, err := readFrame(c.r, c.srv.maxPayload)
	if err != nil {
		return engineio.Message{}, fmt.Errorf("webtransport: read: %w", err)
	}
	return m, nil
}

// maxKeptBuffer is the largest write buffer a connection keeps between
// writes.
const maxKeptBuffer = 16 << 10

// WriteMessages frames msgs and writes them to the stream in one write,
// within the write timeout.
func (c *conn) WriteMessages(msgs []engineio.Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return errConnClosed
	}
	n := 0
	for _, m := range msgs {
		n += frameLen(m)
	}
	buf := c.wbuf[:0]
	if cap(buf) < n {
		buf = make([]byte, 0, n)
	}
	for _, m := range msgs {
		buf = appendFrame(buf, m)
	}
	_ = c.str.SetWriteDeadline(time.Now().Add(c.srv.writeTimeout))
	_, err := c.str.Write(buf)
	if cap(buf) <= maxKeptBuffer {
		c.wbuf = buf[:0]
	} else {
		c.wbuf = nil
	}
	if err != nil {
		return fmt.Errorf("webtransport: write: %w", err)
	}
	return nil
}

// Close ends the connection. With no write in flight, the stream is
// finished after what was written, and the session is closed once the
// client closed it or after the linger time; otherwise (a write is stuck)
// the session is closed at once. Reads end at once either way.
func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		// A past read deadline first: a Read that got the peer's
		// "session gone" reset waits for the session to close, and
		// CancelRead takes the stream out of the session, so that close
		// would never reach it; the deadline does.
		_ = c.str.SetReadDeadline(time.Now())
		c.str.CancelRead(stopSending)
		if !c.wmu.TryLock() {
			c.abort()
			return
		}
		c.closed = true
		_ = c.str.Close()
		c.wmu.Unlock()
		c.srv.mu.Lock()
		select {
		case <-c.srv.done:
			c.srv.mu.Unlock()
			c.abort()
			return
		default:
		}
		c.srv.tasks.Add(1)
		c.srv.mu.Unlock()
		go func() {
			defer c.srv.tasks.Done()
			t := time.NewTimer(c.srv.linger)
			defer t.Stop()
			select {
			case <-c.sess.Context().Done():
			case <-t.C:
			case <-c.srv.done:
			}
			c.abort()
		}()
	})
	return nil
}

// abort closes the session at once.
func (c *conn) abort() {
	_ = c.sess.CloseWithError(0, "")
	c.srv.forget(c)
}
