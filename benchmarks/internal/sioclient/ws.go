// Package sioclient is the lean raw-protocol Socket.IO client of the
// benchmark suite: a minimal WebSocket client (RFC 6455, client side only,
// no extensions), an Engine.IO v4 / Socket.IO v5 handshake over it, and a
// raw HTTP/1.1 long-polling client. It is written for load generation, not
// for applications: it allocates nothing per message in the steady state,
// and frames are read into a per-connection buffer whose contents are only
// valid until the next read.
package sioclient

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"
)

// WebSocket opcodes.
const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

// ErrClosed is returned after the server sent a close frame.
var ErrClosed = errors.New("sioclient: connection closed by the server")

// Conn is a client WebSocket connection carrying an Engine.IO session.
type Conn struct {
	nc   net.Conn
	rbuf []byte
	rpos int
	rend int

	wmu  sync.Mutex
	wbuf []byte

	// SID is the Engine.IO session id from the open packet.
	SID string

	fd int // when read by a Poller
}

// DialOptions configures Dial.
type DialOptions struct {
	// Addr is the server's host:port.
	Addr string
	// Path is the request path and query, such as
	// "/socket.io/?EIO=4&transport=websocket".
	Path string
	// LocalIP, if set, is the source address of the TCP connection (to use
	// more than one loopback source address when ephemeral ports run out).
	LocalIP net.IP
	// ReadBuf is the size of the read buffer; zero means 8 KiB.
	ReadBuf int
}

// DefaultPath is the Socket.IO WebSocket endpoint.
const DefaultPath = "/socket.io/?EIO=4&transport=websocket"

// Dial opens a WebSocket connection (the HTTP upgrade only).
func Dial(ctx context.Context, o DialOptions) (*Conn, error) {
	d := net.Dialer{}
	if o.LocalIP != nil {
		d.LocalAddr = &net.TCPAddr{IP: o.LocalIP}
	}
	nc, err := d.DialContext(ctx, "tcp", o.Addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
		defer nc.SetDeadline(time.Time{})
	}
	c, err := Handshake(nc, o)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// Handshake performs the client side of the WebSocket opening handshake
// on an established connection (o.Addr is only used as the Host header).
func Handshake(nc net.Conn, o DialOptions) (*Conn, error) {
	size := o.ReadBuf
	if size == 0 {
		size = 8 << 10
	}
	c := &Conn{nc: nc, rbuf: make([]byte, size)}
	path := o.Path
	if path == "" {
		path = DefaultPath
	}
	var key [16]byte
	binary.LittleEndian.PutUint64(key[:], rand.Uint64())
	binary.LittleEndian.PutUint64(key[8:], rand.Uint64())
	req := make([]byte, 0, 256)
	req = append(req, "GET "...)
	req = append(req, path...)
	req = append(req, " HTTP/1.1\r\nHost: "...)
	req = append(req, o.Addr...)
	req = append(req, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "...)
	req = appendBase64(req, key[:])
	req = append(req, "\r\n\r\n"...)
	if _, err := nc.Write(req); err != nil {
		return nil, err
	}
	// Read the response head; what follows it stays buffered.
	for {
		if i := bytes.Index(c.rbuf[:c.rend], []byte("\r\n\r\n")); i >= 0 {
			head := c.rbuf[:i]
			if !bytes.HasPrefix(head, []byte("HTTP/1.1 101")) {
				line, _, _ := bytes.Cut(head, []byte("\r\n"))
				return nil, fmt.Errorf("sioclient: handshake refused: %q", line)
			}
			c.rpos = i + 4
			return c, nil
		}
		if c.rend == len(c.rbuf) {
			return nil, errors.New("sioclient: handshake response too large")
		}
		n, err := nc.Read(c.rbuf[c.rend:])
		c.rend += n
		if err != nil {
			return nil, fmt.Errorf("sioclient: handshake: %w", err)
		}
	}
}

const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func appendBase64(b, src []byte) []byte {
	for len(src) >= 3 {
		v := uint(src[0])<<16 | uint(src[1])<<8 | uint(src[2])
		b = append(b, b64[v>>18&63], b64[v>>12&63], b64[v>>6&63], b64[v&63])
		src = src[3:]
	}
	switch len(src) {
	case 1:
		v := uint(src[0]) << 16
		b = append(b, b64[v>>18&63], b64[v>>12&63], '=', '=')
	case 2:
		v := uint(src[0])<<16 | uint(src[1])<<8
		b = append(b, b64[v>>18&63], b64[v>>12&63], b64[v>>6&63], '=')
	}
	return b
}

// Close closes the network connection.
func (c *Conn) Close() error { return c.nc.Close() }

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// SetDeadline sets the read and write deadline.
func (c *Conn) SetDeadline(t time.Time) error { return c.nc.SetDeadline(t) }

// fill makes at least n bytes available in rbuf[rpos:rend].
func (c *Conn) fill(n int) error {
	for c.rend-c.rpos < n {
		if c.rpos > 0 && (c.rend == c.rpos || len(c.rbuf)-c.rpos < n) {
			c.rend = copy(c.rbuf, c.rbuf[c.rpos:c.rend])
			c.rpos = 0
		}
		if n > len(c.rbuf) {
			nb := make([]byte, max(n, 2*len(c.rbuf)))
			c.rend = copy(nb, c.rbuf[c.rpos:c.rend])
			c.rpos = 0
			c.rbuf = nb
		}
		m, err := c.nc.Read(c.rbuf[c.rend:])
		c.rend += m
		if err != nil && c.rend-c.rpos < n {
			return err
		}
	}
	return nil
}

// ReadFrame returns the next data frame's opcode and payload. Control
// frames are handled: pings are answered, a close frame ends the
// connection with ErrClosed. Fragmented messages are not supported (the
// servers measured never fragment). The payload is valid until the next
// call.
func (c *Conn) ReadFrame() (op byte, payload []byte, err error) {
	for {
		if err := c.fill(2); err != nil {
			return 0, nil, err
		}
		b0, b1 := c.rbuf[c.rpos], c.rbuf[c.rpos+1]
		hlen := headerLen(b1)
		if b1&0x80 != 0 {
			return 0, nil, errors.New("sioclient: masked frame from server")
		}
		if err := c.fill(hlen); err != nil {
			return 0, nil, err
		}
		plen := PayloadLen(b1, c.rbuf[c.rpos+2:])
		if err := c.fill(hlen + plen); err != nil {
			return 0, nil, err
		}
		start := c.rpos + hlen
		p := c.rbuf[start : start+plen]
		c.rpos = start + plen
		op = b0 & 0x0f
		if b0&0x80 == 0 || op == opCont {
			return 0, nil, errors.New("sioclient: fragmented frame")
		}
		switch op {
		case opText, opBinary:
			return op, p, nil
		case opPing:
			if err := c.writeFrame(opPong, p); err != nil {
				return 0, nil, err
			}
		case opPong:
		case opClose:
			_ = c.writeFrame(opClose, nil)
			return 0, nil, ErrClosed
		default:
			return 0, nil, fmt.Errorf("sioclient: unexpected opcode %d", op)
		}
	}
}

// bufferedFrame returns the next data frame if it is complete in the
// buffer, without reading; control frames are handled as by ReadFrame.
// A frame larger than the buffer grows it.
func (c *Conn) bufferedFrame() (op byte, payload []byte, ok bool, err error) {
	for {
		avail := c.rend - c.rpos
		if avail < 2 {
			return 0, nil, false, nil
		}
		b0, b1 := c.rbuf[c.rpos], c.rbuf[c.rpos+1]
		hlen := headerLen(b1)
		if avail < hlen {
			return 0, nil, false, nil
		}
		plen := PayloadLen(b1, c.rbuf[c.rpos+2:])
		if avail < hlen+plen {
			if hlen+plen > len(c.rbuf) {
				nb := make([]byte, 2*(hlen+plen))
				c.rend = copy(nb, c.rbuf[c.rpos:c.rend])
				c.rpos = 0
				c.rbuf = nb
			}
			return 0, nil, false, nil
		}
		start := c.rpos + hlen
		p := c.rbuf[start : start+plen]
		c.rpos = start + plen
		op = b0 & 0x0f
		if b1&0x80 != 0 || b0&0x80 == 0 || op == opCont {
			return 0, nil, false, errors.New("sioclient: unsupported frame")
		}
		switch op {
		case opText, opBinary:
			return op, p, true, nil
		case opPing:
			if err := c.writeFrame(opPong, p); err != nil {
				return 0, nil, false, err
			}
		case opPong:
		case opClose:
			_ = c.writeFrame(opClose, nil)
			return 0, nil, false, ErrClosed
		default:
			return 0, nil, false, fmt.Errorf("sioclient: unexpected opcode %d", op)
		}
	}
}

// Next returns the next Engine.IO text packet, answering pings ("2" with
// "3"). Binary frames are skipped. The packet is valid until the next call.
func (c *Conn) Next() ([]byte, error) {
	for {
		op, p, err := c.ReadFrame()
		if err != nil {
			return nil, err
		}
		if op != opText {
			continue
		}
		if len(p) == 1 && p[0] == '2' {
			if err := c.WriteText(pong); err != nil {
				return nil, err
			}
			continue
		}
		return p, nil
	}
}

var pong = []byte("3")

// appendFrame appends a masked client frame.
func appendFrame(b []byte, op byte, p []byte) []byte {
	b = append(b, 0x80|op)
	switch n := len(p); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	key := rand.Uint32() | 1
	b = binary.LittleEndian.AppendUint32(b, key)
	start := len(b)
	b = append(b, p...)
	mask(key, b[start:])
	return b
}

func mask(key uint32, b []byte) {
	k := uint64(key) | uint64(key)<<32
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
		b = b[8:]
	}
	for i := range b {
		b[i] ^= byte(key)
		key = key>>8 | key<<24
	}
}

func (c *Conn) writeFrame(op byte, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = appendFrame(c.wbuf[:0], op, p)
	_, err := c.nc.Write(c.wbuf)
	return err
}

// WriteText writes one text frame per payload, all in one write call.
func (c *Conn) WriteText(payloads ...[]byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b := c.wbuf[:0]
	for _, p := range payloads {
		b = appendFrame(b, opText, p)
	}
	c.wbuf = b
	_, err := c.nc.Write(b)
	return err
}

// WriteTextFunc builds the payloads with fn, which appends frames' payloads
// through the emit callback, and writes them all in one write call. It
// avoids a slice of payloads for batched sends.
func (c *Conn) WriteTextFunc(fn func(emit func(p []byte))) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b := c.wbuf[:0]
	fn(func(p []byte) { b = appendFrame(b, opText, p) })
	c.wbuf = b
	if len(b) == 0 {
		return nil
	}
	_, err := c.nc.Write(b)
	return err
}

// Connect performs the Engine.IO open and the Socket.IO CONNECT to the
// main namespace over a dialled connection: it reads the open packet,
// sends "40" and waits for the CONNECT answer.
func (c *Conn) Connect() error {
	p, err := c.Next()
	if err != nil {
		return fmt.Errorf("sioclient: open: %w", err)
	}
	if len(p) == 0 || p[0] != '0' {
		return fmt.Errorf("sioclient: expected an open packet, got %q", p)
	}
	c.SID = jsonStringField(p[1:], "sid")
	if err := c.WriteText([]byte("40")); err != nil {
		return err
	}
	for {
		p, err := c.Next()
		if err != nil {
			return fmt.Errorf("sioclient: connect: %w", err)
		}
		if bytes.HasPrefix(p, []byte("40")) {
			return nil
		}
		if bytes.HasPrefix(p, []byte("44")) {
			return fmt.Errorf("sioclient: connect refused: %s", p)
		}
	}
}

// jsonStringField extracts a top-level string field from a small JSON
// object (no escapes expected, as in Engine.IO open packets).
func jsonStringField(obj []byte, name string) string {
	key := `"` + name + `":"`
	i := bytes.Index(obj, []byte(key))
	if i < 0 {
		return ""
	}
	rest := obj[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// ParseInt parses the decimal integer at the start of b (an optional '-'
// then digits) and returns it with the rest of b.
func ParseInt(b []byte) (int64, []byte, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg = true
		b = b[1:]
	}
	var v int64
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		v = v*10 + int64(b[i]-'0')
		i++
	}
	if i == 0 {
		return 0, b, false
	}
	if neg {
		v = -v
	}
	return v, b[i:], true
}

// AppendInt appends v in decimal.
func AppendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

// headerLen is the length of an unmasked frame header whose second byte is
// b1.
func headerLen(b1 byte) int {
	switch b1 & 0x7f {
	case 126:
		return 4
	case 127:
		return 10
	}
	return 2
}

// PayloadLen decodes a WebSocket frame's payload length from its second
// byte b1 and the extended length bytes that follow it (ext).
func PayloadLen(b1 byte, ext []byte) int {
	switch n := b1 & 0x7f; n {
	case 126:
		return int(binary.BigEndian.Uint16(ext))
	case 127:
		return int(binary.BigEndian.Uint64(ext))
	default:
		return int(n)
	}
}

// msgpackConnect is the CONNECT packet to "/" of socket.io-msgpack-parser:
// the MessagePack map {"type":0,"nsp":"/"}.
var msgpackConnect = []byte{0x82, 0xa4, 't', 'y', 'p', 'e', 0x00, 0xa3, 'n', 's', 'p', 0xa1, '/'}

// ConnectMsgpack is Connect for a server using the msgpack parser
// (socket.io-msgpack-parser): the CONNECT packet and its answer are binary
// frames.
func (c *Conn) ConnectMsgpack() error {
	p, err := c.Next()
	if err != nil {
		return fmt.Errorf("sioclient: open: %w", err)
	}
	if len(p) == 0 || p[0] != '0' {
		return fmt.Errorf("sioclient: expected an open packet, got %q", p)
	}
	c.SID = jsonStringField(p[1:], "sid")
	if err := c.writeFrame(opBinary, msgpackConnect); err != nil {
		return err
	}
	op, p, err := c.NextMessage()
	if err != nil {
		return fmt.Errorf("sioclient: connect: %w", err)
	}
	// {"type":0,...}: the type entry comes first in the server's answer.
	if op != opBinary || !bytes.HasPrefix(p[1:], []byte{0xa4, 't', 'y', 'p', 'e', 0x00}) {
		return fmt.Errorf("sioclient: connect: unexpected answer %x", p)
	}
	return nil
}

// NextMessage returns the next Engine.IO message, text (without pings,
// which are answered) or binary, and whether it is binary. The payload is
// valid until the next call.
func (c *Conn) NextMessage() (op byte, payload []byte, err error) {
	for {
		op, p, err := c.ReadFrame()
		if err != nil {
			return 0, nil, err
		}
		if op == opText && len(p) == 1 && p[0] == '2' {
			if err := c.WriteText(pong); err != nil {
				return 0, nil, err
			}
			continue
		}
		return op, p, nil
	}
}

// IsBinary reports whether op, as NextMessage returns it, is a binary
// message.
func IsBinary(op byte) bool { return op == opBinary }
