package main

import (
	"bytes"
	"net"
	"strconv"
	"sync"
)

// The long-polling floor: just enough HTTP/1.1 and Engine.IO for the
// suite's polling clients (handshake GET, POSTs of packets answered "ok",
// a GET held until something is queued), with nothing else: one goroutine
// per connection reading requests, and the response to a pending GET
// written by the goroutine that queued its packets (no hand-off). Bodies
// are Content-Length delimited; anything else closes the connection.

type psess struct {
	sid     string
	mu      sync.Mutex
	queue   [][]byte
	pending net.Conn // a GET waiting for packets
}

var (
	psMu      sync.RWMutex
	psessions = map[string]*psess{}
)

// servePolling serves the requests of nc, the first of which is in
// buf[:n] (its head ends at end).
func servePolling(nc net.Conn, buf []byte, n, end int) {
	r, w := 0, n
	for {
		// The head is buf[r:end].
		head := buf[r:end]
		line, _, _ := bytes.Cut(head, []byte("\r\n"))
		method, rest, _ := bytes.Cut(line, []byte(" "))
		target, _, _ := bytes.Cut(rest, []byte(" "))
		cl := 0
		if v := header(head, "content-length"); v != nil {
			cl, _ = strconv.Atoi(string(v))
		}
		r = end
		for w-r < cl {
			if w == len(buf) {
				copy(buf, buf[r:w])
				w -= r
				r = 0
			}
			m, err := nc.Read(buf[w:])
			if err != nil {
				return
			}
			w += m
		}
		body := buf[r : r+cl]
		r += cl
		sid := query(target, "sid")
		switch {
		case sid == "" && string(method) == "GET":
			s := &psess{sid: "pfloor" + strconv.FormatUint(ids.Add(1), 36)}
			psMu.Lock()
			psessions[s.sid] = s
			psMu.Unlock()
			respond(nc, []byte(`0{"sid":"`+s.sid+`","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`))
		case string(method) == "POST":
			psMu.RLock()
			s := psessions[sid]
			psMu.RUnlock()
			if s == nil {
				return
			}
			for _, p := range bytes.Split(body, []byte{0x1e}) {
				pollHandle(s, p)
			}
			if _, err := nc.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok")); err != nil {
				return
			}
		case string(method) == "GET":
			psMu.RLock()
			s := psessions[sid]
			psMu.RUnlock()
			if s == nil {
				return
			}
			s.mu.Lock()
			if len(s.queue) > 0 {
				q := s.queue
				s.queue = nil
				s.mu.Unlock()
				respond(nc, bytes.Join(q, []byte{0x1e}))
			} else {
				s.pending = nc
				s.mu.Unlock()
			}
		default:
			return
		}
		// The next head.
		for {
			if i := bytes.Index(buf[r:w], []byte("\r\n\r\n")); i >= 0 {
				end = r + i + 4
				break
			}
			if r > 0 {
				w = copy(buf, buf[r:w])
				r = 0
			}
			if w == len(buf) {
				return
			}
			m, err := nc.Read(buf[w:])
			if err != nil {
				return
			}
			w += m
		}
	}
}

// pollHandle is handle for a polling session: the same answers, queued.
func pollHandle(s *psess, p []byte) {
	switch {
	case bytes.HasPrefix(p, bcastPrefix):
		psMu.RLock()
		for _, o := range psessions {
			o.push(p)
		}
		psMu.RUnlock()
	case len(p) > 2 && p[0] == '4' && p[1] == '2' && p[2] >= '0' && p[2] <= '9':
		if out := echoAck(p); out != nil {
			s.push(out)
		}
	case len(p) >= 2 && p[0] == '4' && p[1] == '0':
		s.push([]byte(`40{"sid":"` + s.sid + `"}`))
	}
}

// push queues p and answers the pending GET, if any, at once.
func (s *psess) push(p []byte) {
	s.mu.Lock()
	s.queue = append(s.queue, p)
	nc := s.pending
	if nc == nil {
		s.mu.Unlock()
		return
	}
	s.pending = nil
	q := s.queue
	s.queue = nil
	s.mu.Unlock()
	respond(nc, bytes.Join(q, []byte{0x1e}))
}

func respond(nc net.Conn, payload []byte) {
	out := make([]byte, 0, 96+len(payload))
	out = append(out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(payload)), 10)
	out = append(out, "\r\n\r\n"...)
	out = append(out, payload...)
	_, _ = nc.Write(out)
}

// query returns the value of key in the request target's query.
func query(target []byte, key string) string {
	_, q, _ := bytes.Cut(target, []byte("?"))
	for len(q) > 0 {
		var pair []byte
		pair, q, _ = bytes.Cut(q, []byte("&"))
		k, v, _ := bytes.Cut(pair, []byte("="))
		if string(k) == key {
			return string(v)
		}
	}
	return ""
}
