package websocket

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testTimeout bounds every blocking step of a test so that a bug shows up
// as a failure instead of a hung test binary.
const testTimeout = 10 * time.Second

// wsURL converts an httptest server URL to a ws:// URL.
func wsURL(httpURL string) string {
	return "ws" + strings.TrimPrefix(httpURL, "http")
}

// newPair returns the server and client ends of a WebSocket connection over
// loopback TCP. The server's handler returns right after Upgrade.
func newPair(t testing.TB, sopts *UpgradeOptions, copts *DialOptions) (srv, cli *Conn) {
	t.Helper()
	ch := make(chan *Conn, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Upgrade(w, r, sopts)
		if err != nil {
			t.Errorf("Upgrade: %v", err)
			close(ch)
			return
		}
		ch <- c
	}))
	t.Cleanup(hs.Close)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	cli, _, err := Dial(ctx, wsURL(hs.URL), copts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	srv, ok := <-ch
	if !ok {
		t.FailNow()
	}
	t.Cleanup(func() {
		srv.CloseNow()
		cli.CloseNow()
	})
	return srv, cli
}

// rawFrame is a frame as read or written by the raw test helpers.
type rawFrame struct {
	fin     bool
	rsv     byte
	op      byte
	masked  bool
	payload []byte
}

// encodeFrame encodes f; if f.masked, the payload is masked with a fixed
// key. The length is always encoded minimally.
func encodeFrame(f rawFrame) []byte {
	b0 := f.op | f.rsv<<4
	if f.fin {
		b0 |= finBit
	}
	var m byte
	if f.masked {
		m = maskBit
	}
	var b []byte
	switch n := len(f.payload); {
	case n <= 125:
		b = append(b, b0, m|byte(n))
	case n <= 0xFFFF:
		b = append(b, b0, m|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, b0, m|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if !f.masked {
		return append(b, f.payload...)
	}
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	b = append(b, key[:]...)
	for i, x := range f.payload {
		b = append(b, x^key[i%4])
	}
	return b
}

// writeRaw writes frames to nc in one write.
func writeRaw(t testing.TB, nc net.Conn, frames ...rawFrame) {
	t.Helper()
	var b []byte
	for _, f := range frames {
		b = append(b, encodeFrame(f)...)
	}
	if _, err := nc.Write(b); err != nil {
		t.Fatalf("raw write: %v", err)
	}
}

// readRaw reads one frame from r, unmasking its payload.
func readRaw(t testing.TB, r io.Reader) rawFrame {
	t.Helper()
	if nc, ok := r.(net.Conn); ok {
		nc.SetReadDeadline(time.Now().Add(testTimeout))
		defer nc.SetReadDeadline(time.Time{})
	}
	var f rawFrame
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		t.Fatalf("raw read header: %v", err)
	}
	f.fin = h[0]&finBit != 0
	f.rsv = h[0] & rsvBits >> 4
	f.op = h[0] & opMask
	f.masked = h[1]&maskBit != 0
	n := uint64(h[1] & lenMask)
	switch n {
	case 126:
		var e [2]byte
		if _, err := io.ReadFull(r, e[:]); err != nil {
			t.Fatalf("raw read length: %v", err)
		}
		n = uint64(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		if _, err := io.ReadFull(r, e[:]); err != nil {
			t.Fatalf("raw read length: %v", err)
		}
		n = binary.BigEndian.Uint64(e[:])
	}
	var key [4]byte
	if f.masked {
		if _, err := io.ReadFull(r, key[:]); err != nil {
			t.Fatalf("raw read mask: %v", err)
		}
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(r, f.payload); err != nil {
		t.Fatalf("raw read payload: %v", err)
	}
	if f.masked {
		for i := range f.payload {
			f.payload[i] ^= key[i%4]
		}
	}
	return f
}

// closeCode returns the code of a close frame payload, or StatusNoStatus.
func closeCode(p []byte) int {
	if len(p) < 2 {
		return StatusNoStatus
	}
	return int(binary.BigEndian.Uint16(p))
}

// readResult is the outcome of a ReadMessage call run in a goroutine.
type readResult struct {
	typ  MessageType
	data []byte
	err  error
}

// readAsync calls c.ReadMessage in a goroutine.
func readAsync(c *Conn) <-chan readResult {
	ch := make(chan readResult, 1)
	go func() {
		typ, data, err := c.ReadMessage()
		ch <- readResult{typ, data, err}
	}()
	return ch
}

// await receives from ch or fails the test after testTimeout.
func await[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatalf("timed out after %v", testTimeout)
		panic("unreachable")
	}
}

// mustRead reads a message and fails the test on error.
func mustRead(t testing.TB, c *Conn) (MessageType, []byte) {
	t.Helper()
	r := await(t, readAsync(c))
	if r.err != nil {
		t.Fatalf("ReadMessage: %v", r.err)
	}
	return r.typ, r.data
}

// wantCloseError asserts that err is a *CloseError with the given code.
func wantCloseError(t testing.TB, err error, code int, reason string) {
	t.Helper()
	var ce *CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("got error %v (%T), want *CloseError %d", err, err, code)
	}
	if ce.Code != code || ce.Reason != reason {
		t.Fatalf("got close %d %q, want %d %q", ce.Code, ce.Reason, code, reason)
	}
}

// memConn is an in-memory net.Conn reading from r and writing to w.
type memConn struct {
	r      io.Reader
	w      io.Writer
	closed atomic.Bool
}

func (m *memConn) Read(p []byte) (int, error) {
	if m.closed.Load() {
		return 0, net.ErrClosed
	}
	return m.r.Read(p)
}

func (m *memConn) Write(p []byte) (int, error) {
	if m.closed.Load() {
		return 0, net.ErrClosed
	}
	return m.w.Write(p)
}

func (m *memConn) Close() error {
	m.closed.Store(true)
	return nil
}

func (m *memConn) LocalAddr() net.Addr                { return memAddr{} }
func (m *memConn) RemoteAddr() net.Addr               { return memAddr{} }
func (m *memConn) SetDeadline(t time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(t time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(t time.Time) error { return nil }

type memAddr struct{}

func (memAddr) Network() string { return "mem" }
func (memAddr) String() string  { return "mem" }

// loopReader endlessly repeats data.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.data[l.off:])
	l.off = (l.off + n) % len(l.data)
	return n, nil
}
