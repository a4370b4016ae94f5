package sioclient

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// HTTPConn is a raw HTTP/1.1 keep-alive client connection: one request at
// a time, Content-Length or chunked responses.
type HTTPConn struct {
	nc   net.Conn
	br   *bufio.Reader
	host string
	req  []byte
	body []byte
}

// DialHTTP opens a keep-alive connection to addr.
func DialHTTP(ctx context.Context, addr string, local net.IP) (*HTTPConn, error) {
	d := net.Dialer{}
	if local != nil {
		d.LocalAddr = &net.TCPAddr{IP: local}
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	return &HTTPConn{nc: nc, br: bufio.NewReaderSize(nc, 8<<10), host: addr}, nil
}

// Close closes the connection.
func (h *HTTPConn) Close() error { return h.nc.Close() }

// Do sends a request and returns the status and body. The body is valid
// until the next call.
func (h *HTTPConn) Do(method, path string, body []byte) (int, []byte, error) {
	r := h.req[:0]
	r = append(r, method...)
	r = append(r, ' ')
	r = append(r, path...)
	r = append(r, " HTTP/1.1\r\nHost: "...)
	r = append(r, h.host...)
	if method == "POST" {
		r = append(r, "\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: "...)
		r = strconv.AppendInt(r, int64(len(body)), 10)
	}
	r = append(r, "\r\n\r\n"...)
	r = append(r, body...)
	h.req = r
	if _, err := h.nc.Write(r); err != nil {
		return 0, nil, err
	}
	return h.readResponse()
}

func (h *HTTPConn) readResponse() (int, []byte, error) {
	line, err := h.br.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, nil, fmt.Errorf("sioclient: bad status line %q", line)
	}
	status, _, ok := ParseInt(line[9:])
	if !ok {
		return 0, nil, fmt.Errorf("sioclient: bad status line %q", line)
	}
	clen := int64(-1)
	chunked := false
	for {
		line, err := h.br.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		if len(line) <= 2 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case asciiEqualFold(k, "content-length"):
			clen, _, _ = ParseInt(v)
		case asciiEqualFold(k, "transfer-encoding"):
			chunked = bytes.Contains(bytes.ToLower(v), []byte("chunked"))
		}
	}
	b := h.body[:0]
	switch {
	case chunked:
		for {
			line, err := h.br.ReadSlice('\n')
			if err != nil {
				return 0, nil, err
			}
			n, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.SplitN(line, []byte(";"), 2)[0])), 16, 64)
			if err != nil {
				return 0, nil, fmt.Errorf("sioclient: bad chunk size: %w", err)
			}
			if n == 0 {
				// trailers
				for {
					l, err := h.br.ReadSlice('\n')
					if err != nil {
						return 0, nil, err
					}
					if len(l) <= 2 {
						break
					}
				}
				break
			}
			start := len(b)
			b = append(b, make([]byte, n)...)
			if _, err := io.ReadFull(h.br, b[start:]); err != nil {
				return 0, nil, err
			}
			if _, err := h.br.Discard(2); err != nil {
				return 0, nil, err
			}
		}
	case clen >= 0:
		if int64(cap(b)) < clen {
			b = make([]byte, clen)
		}
		b = b[:clen]
		if _, err := io.ReadFull(h.br, b); err != nil {
			return 0, nil, err
		}
	default:
		return 0, nil, errors.New("sioclient: response without length")
	}
	h.body = b
	return int(status), b, nil
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// Polling is a long-polling Engine.IO session: one keep-alive connection
// for the GETs, one for the POSTs (like a browser).
type Polling struct {
	Get, Post *HTTPConn
	SID       string
	base      string
}

// PollPath is the Socket.IO long-polling endpoint.
const PollPath = "/socket.io/?EIO=4&transport=polling"

// DialPolling opens a long-polling session and connects it to the main
// namespace; the CONNECT answer (and anything that came with it) is passed
// to onPacket.
func DialPolling(ctx context.Context, addr string, local net.IP, onPacket func([]byte)) (*Polling, error) {
	g, err := DialHTTP(ctx, addr, local)
	if err != nil {
		return nil, err
	}
	p := &Polling{Get: g}
	fail := func(err error) (*Polling, error) {
		p.Close()
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = g.nc.SetDeadline(dl)
		defer g.nc.SetDeadline(time.Time{})
	}
	st, body, err := g.Do("GET", PollPath, nil)
	if err != nil {
		return fail(err)
	}
	if st != 200 || len(body) == 0 || body[0] != '0' {
		return fail(fmt.Errorf("sioclient: polling handshake: %d %q", st, body))
	}
	p.SID = jsonStringField(body[1:], "sid")
	p.base = PollPath + "&sid=" + p.SID
	if p.Post, err = DialHTTP(ctx, addr, local); err != nil {
		return fail(err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = p.Post.nc.SetDeadline(dl)
		defer p.Post.nc.SetDeadline(time.Time{})
	}
	if err := p.Send([]byte("40")); err != nil {
		return fail(err)
	}
	for {
		pkts, err := p.Poll()
		if err != nil {
			return fail(err)
		}
		connected := false
		for pk := range SplitPayload(pkts) {
			if bytes.HasPrefix(pk, []byte("40")) {
				connected = true
			} else if bytes.HasPrefix(pk, []byte("44")) {
				return fail(fmt.Errorf("sioclient: connect refused: %s", pk))
			} else if onPacket != nil {
				onPacket(pk)
			}
		}
		if connected {
			return p, nil
		}
	}
}

// Poll sends one GET and returns the payload (packets separated by 0x1e).
// It is valid until the next Poll.
func (p *Polling) Poll() ([]byte, error) {
	st, body, err := p.Get.Do("GET", p.base, nil)
	if err != nil {
		return nil, err
	}
	if st != 200 {
		return nil, fmt.Errorf("sioclient: poll: status %d %q", st, body)
	}
	return body, nil
}

// Send POSTs a payload (packets already joined with 0x1e).
func (p *Polling) Send(payload []byte) error {
	st, body, err := p.Post.Do("POST", p.base, payload)
	if err != nil {
		return err
	}
	if st != 200 {
		return fmt.Errorf("sioclient: post: status %d %q", st, body)
	}
	return nil
}

// Close closes both connections.
func (p *Polling) Close() {
	if p.Get != nil {
		p.Get.Close()
	}
	if p.Post != nil {
		p.Post.Close()
	}
}

// SplitPayload yields the packets of a long-polling payload.
func SplitPayload(b []byte) func(yield func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(b) > 0 {
			i := bytes.IndexByte(b, 0x1e)
			if i < 0 {
				yield(b)
				return
			}
			if !yield(b[:i]) {
				return
			}
			b = b[i+1:]
		}
	}
}
