// Command rawfloor is the "raw batched-frame writer" floor of the fan-out
// benchmark: a minimal WebSocket server (stdlib only, its own handshake and
// framing) that speaks just enough Engine.IO/Socket.IO for the suite's load
// generator (open packet, CONNECT answer, pong) and, for every "bcast"
// event, pre-encodes the broadcast frame once and appends the same bytes to
// every connection's pending buffer; a writer goroutine per connection,
// started on demand, writes everything pending in one write call. It does
// no Socket.IO work per recipient at all: it is the lower bound of what a
// broadcast costs on this machine with Go's runtime and network poller.
//
// "echo" events are acknowledged too (43<id> + the arguments), so that the
// floor can be used for the echo scenario as well. It sends no pings.
//
// Requests for transport=polling get the long-polling floor (polling.go):
// the same answers over HTTP/1.1 long-polling, each response written by the
// goroutine that queued it.
//
// Usage: PORT=3000 rawfloor
package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"log"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/socketio-go/socketio/benchmarks/internal/sioclient"
	"github.com/socketio-go/socketio/benchmarks/internal/wsframe"
)

type conn struct {
	nc net.Conn

	mu      sync.Mutex
	pending []byte
	spare   []byte
	writing bool
	dead    bool
}

var (
	regMu sync.RWMutex
	conns = map[*conn]struct{}{}
	ids   atomic.Uint64
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "3000"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("rawfloor listening on %s", ln.Addr())
	for {
		nc, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go serve(nc)
	}
}

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

func serve(nc net.Conn) {
	defer nc.Close()
	buf := make([]byte, 4096)
	n := 0
	var end int
	for {
		m, err := nc.Read(buf[n:])
		if err != nil {
			return
		}
		n += m
		if i := bytes.Index(buf[:n], []byte("\r\n\r\n")); i >= 0 {
			end = i + 4
			break
		}
		if n == len(buf) {
			return
		}
	}
	key := header(buf[:end], "sec-websocket-key")
	if key == nil && bytes.Contains(buf[:end], []byte("transport=polling")) {
		servePolling(nc, buf, n, end)
		return
	}
	if key == nil {
		_, _ = nc.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
		return
	}
	h := sha1.New()
	h.Write(key)
	h.Write([]byte(wsGUID))
	accept := base64.StdEncoding.EncodeToString(h.Sum(nil))
	sid := "floor" + strconv.FormatUint(ids.Add(1), 36)
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n"
	out := append([]byte(resp), wsframe.Text(nil, []byte(`0{"sid":"`+sid+`","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`))...)
	if _, err := nc.Write(out); err != nil {
		return
	}
	c := &conn{nc: nc}
	regMu.Lock()
	conns[c] = struct{}{}
	regMu.Unlock()
	defer func() {
		regMu.Lock()
		delete(conns, c)
		regMu.Unlock()
		c.mu.Lock()
		c.dead = true
		c.mu.Unlock()
	}()

	// Frame reader: client frames are masked.
	copy(buf, buf[end:n])
	r, w := 0, n-end
	// readMore moves the unread bytes to the front of buf and reads more
	// after them; it reports false when the connection is done.
	readMore := func() bool {
		if r > 0 {
			w = copy(buf, buf[r:w])
			r = 0
		}
		m, err := nc.Read(buf[w:])
		w += m
		return err == nil
	}
	for {
		// Need the header.
		for w-r < 2 || w-r < frameHeaderLen(buf[r:w]) {
			if !readMore() {
				return
			}
		}
		b0, b1 := buf[r], buf[r+1]
		hl := frameHeaderLen(buf[r:w])
		plen := sioclient.PayloadLen(b1, buf[r+2:])
		if hl+plen > len(buf) {
			nb := make([]byte, hl+plen)
			w = copy(nb, buf[r:w])
			r = 0
			buf = nb
		}
		for w-r < hl+plen {
			if !readMore() {
				return
			}
		}
		p := buf[r+hl : r+hl+plen]
		if b1&0x80 != 0 {
			k := buf[r+hl-4 : r+hl]
			for i := range p {
				p[i] ^= k[i&3]
			}
		}
		r += hl + plen
		switch b0 & 0x0f {
		case 0x8:
			return
		case 0x9:
			c.send(wsframe.Control(0xA, p))
			continue
		case 0x1:
		default:
			continue
		}
		handle(c, sid, p)
	}
}

func frameHeaderLen(b []byte) int {
	if len(b) < 2 {
		return 2
	}
	n := 2
	switch b[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b[1]&0x80 != 0 {
		n += 4
	}
	return n
}

var bcastPrefix = []byte(`42["bcast"`)

func handle(c *conn, sid string, p []byte) {
	switch {
	case bytes.HasPrefix(p, bcastPrefix):
		// Encode once, deliver the same bytes to every connection.
		f := wsframe.Text(nil, p)
		regMu.RLock()
		for o := range conns {
			o.send(f)
		}
		regMu.RUnlock()
	case len(p) > 2 && p[0] == '4' && p[1] == '2' && p[2] >= '0' && p[2] <= '9':
		if out := echoAck(p); out != nil {
			c.send(wsframe.Text(nil, out))
		}
	case len(p) >= 2 && p[0] == '4' && p[1] == '0':
		c.send(wsframe.Text(nil, []byte(`40{"sid":"`+sid+`"}`)))
	}
}

// echoAck answers 42<id>["echo",args...] with 43<id>[args...] (nil for
// anything else).
func echoAck(p []byte) []byte {
	i := 2
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		i++
	}
	rest := p[i:]
	const ev = `["echo"`
	if !bytes.HasPrefix(rest, []byte(ev)) {
		return nil
	}
	args := rest[len(ev):]
	out := make([]byte, 0, len(p))
	out = append(out, '4', '3')
	out = append(out, p[2:i]...)
	out = append(out, '[')
	if len(args) > 0 && args[0] == ',' {
		args = args[1:]
	}
	return append(out, args...)
}

// send appends a pre-encoded frame to the connection's pending bytes and
// makes sure a writer runs.
func (c *conn) send(f []byte) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	c.pending = append(c.pending, f...)
	if !c.writing {
		c.writing = true
		go c.writeLoop()
	}
	c.mu.Unlock()
}

func (c *conn) writeLoop() {
	for {
		c.mu.Lock()
		if len(c.pending) == 0 || c.dead {
			c.writing = false
			c.mu.Unlock()
			return
		}
		b := c.pending
		c.pending, c.spare = c.spare[:0], nil
		c.mu.Unlock()
		_, err := c.nc.Write(b)
		c.mu.Lock()
		c.spare = b[:0]
		if err != nil {
			c.dead = true
			c.writing = false
			c.mu.Unlock()
			_ = c.nc.Close()
			return
		}
		c.mu.Unlock()
	}
}

// header returns the value of a request header (case-insensitive name).
func header(req []byte, name string) []byte {
	for _, line := range bytes.Split(req, []byte("\r\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(k), []byte(name)) {
			return bytes.TrimSpace(v)
		}
	}
	return nil
}
