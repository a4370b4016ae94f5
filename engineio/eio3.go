package engineio

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/socketio-go/socketio/engineio/packet"
	"github.com/socketio-go/socketio/internal/websocket"
)

// Engine.IO protocol v3 sessions (Options.AllowEIO3). A session knows its
// protocol from its handshake and keeps it: the v4 code paths test one
// constant flag and are otherwise unchanged. What differs in v3:
//
//   - the heartbeat: the client pings, the server answers each ping with a
//     pong and closes the session with "ping timeout" when no ping came for
//     pingInterval+pingTimeout;
//   - the long-polling payloads and the WebSocket binary frames (see
//     package packet, AppendPayloadV3);
//   - every request of the session must name protocol 3 again (EIO=3, or
//     no EIO); EIO=4 is refused with 400, "protocol mismatch", as by the
//     official server.

// Protocol returns the Engine.IO protocol revision of the session: 4, or 3
// for a client of the older protocol accepted with Options.AllowEIO3.
func (s *Session) Protocol() int {
	if s.eio3 {
		return 3
	}
	return 4
}

// initProtocol reads the protocol revision of a new session from its
// handshake request: like the official server, any EIO value but "4"
// (none included) means v3.
func (s *Session) initProtocol(r *http.Request) {
	q := r.URL.RawQuery
	if queryValue(q, "EIO") == "4" {
		return
	}
	s.eio3 = true
	if queryValue(q, "b64") != "" {
		s.v3b64 = b64Polling | b64WebSocket
	}
	if j, _ := url.ParseQuery(q); j.Has("j") && s.transport == TransportPolling {
		// JSONP polling, for browsers without cross-origin XHR: the
		// callback index keeps its digits as the official server does
		// (up to 65534); payloads are always text.
		n := 0
		for _, c := range []byte(j.Get("j")) {
			if c >= '0' && c <= '9' {
				n = min(n*10+int(c-'0'), maxJSONPIndex)
			}
		}
		s.jsonp = uint16(1 + n)
		s.v3b64 |= b64Polling
	}
	// The server never pings: the pong deadline is always armed, and each
	// ping of the client moves it.
	s.awaitingPong = true
	s.due = s.srv.deadlines.now() + int64(s.srv.cfg.pingInterval+s.srv.cfg.pingTimeout)
}

// The bits of Session.v3b64.
const (
	b64Polling   = 1 << iota // long-polling payloads: binary packets as "b4<base64>"
	b64WebSocket             // WebSocket: binary packets in text frames, "b4<base64>"
)

// maxJSONPIndex is the largest JSONP callback index kept.
const maxJSONPIndex = 1<<16 - 2

// setWebSocketB64 records whether the WebSocket a v3 session upgrades to
// asked for base64 ("b64" in its query). s.mu must be held.
func (s *Session) setWebSocketB64(r *http.Request) {
	if !s.eio3 {
		return
	}
	s.v3b64 &^= b64WebSocket
	if queryValue(r.URL.RawQuery, "b64") != "" {
		s.v3b64 |= b64WebSocket
	}
}

// protocolMismatch reports whether a request of the session names another
// protocol revision than its handshake did.
func (s *Session) protocolMismatch(rawQuery string) bool {
	return (queryValue(rawQuery, "EIO") == "4") == s.eio3
}

// onPingV3 answers a ping of a v3 client and gives it pingInterval +
// pingTimeout until the next one.
func (s *Session) onPingV3() {
	s.mu.Lock()
	if s.state == stateOpen {
		s.srv.deadlines.set(s, s.srv.deadlines.now()+int64(s.srv.cfg.pingInterval+s.srv.cfg.pingTimeout))
		s.enqueueLocked(packet.Packet{Type: packet.Pong})
	}
	s.mu.Unlock()
}

var headerOctetStream = []string{"application/octet-stream"}

// writePoll writes the answer to a long-polling GET. payload is an encoded
// payload, or a single packet type digit (a close or a noop alone).
func (s *Session) writePoll(w http.ResponseWriter, payload []byte) {
	if !s.eio3 {
		writePollResponse(w, payload)
		return
	}
	if len(payload) == 1 {
		payload = []byte{'1', ':', payload[0]}
	}
	if s.jsonp != 0 {
		payload = appendJSONP(make([]byte, 0, len(payload)+32), int(s.jsonp)-1, payload)
	}
	h := w.Header()
	if payload[0] <= 1 { // a binary payload starts with its first packet's marker
		h["Content-Type"] = headerOctetStream[:1:1]
	} else {
		h["Content-Type"] = headerTextPlain[:1:1]
	}
	h["Content-Length"] = []string{strconv.Itoa(len(payload))}
	h["Cache-Control"] = headerNoStore[:1:1]
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(payload)
}

// decodePostV3 decodes the body of a v3 long-polling POST: a binary
// payload when sent as application/octet-stream, else a text payload (in
// the "d" form field for JSONP).
func (s *Session) decodePostV3(body []byte, binary bool, fn func(packet.Packet) error) error {
	if s.jsonp != 0 {
		form, err := url.ParseQuery(string(body))
		if err != nil || len(form["d"]) != 1 {
			return nil // ignored, as by the official server
		}
		return packet.DecodePayloadV3(unescapeJSONPNewlines(form["d"][0]), fn)
	}
	if binary {
		return packet.DecodeBinaryPayloadV3(body, fn)
	}
	return packet.DecodePayloadV3(body, fn)
}

// decodeFrameV3 decodes a WebSocket message of a v3 session.
func decodeFrameV3(typ websocket.MessageType, data []byte) (packet.Packet, error) {
	if typ == websocket.BinaryMessage {
		return packet.DecodeBinaryFrameV3(data)
	}
	return packet.DecodeTextV3(data)
}

// writePacketsV3 writes pkts to the WebSocket of a v3 session, one frame
// each, in as few writes as possible: a binary packet goes in a binary
// frame starting with its type byte, or with b64 in a text frame.
func writePacketsV3(ws *websocket.Conn, pkts []packet.Packet, b64 bool) error {
	b := wsBatchPool.Get().(*wsBatch)
	defer func() {
		clear(b.msgs)
		b.msgs = b.msgs[:0]
		if cap(b.buf) <= 64<<10 {
			b.buf = b.buf[:0]
			wsBatchPool.Put(b)
		}
	}()
	n := 0
	for _, p := range pkts {
		if p.Binary {
			n += 2 + base64.StdEncoding.EncodedLen(len(p.Data))
		} else {
			n += 1 + len(p.Data)
		}
	}
	if cap(b.buf) < n {
		b.buf = make([]byte, 0, n)
	}
	buf := b.buf[:0]
	for _, p := range pkts {
		start := len(buf)
		typ := websocket.TextMessage
		switch {
		case p.Binary && !b64:
			buf = packet.AppendBinaryFrameV3(buf, p)
			typ = websocket.BinaryMessage
		default:
			buf = packet.AppendTextV3(buf, p)
		}
		b.msgs = append(b.msgs, websocket.Message{Type: typ, Data: buf[start:len(buf):len(buf)], Uncompressed: p.NoCompress})
	}
	b.buf = buf
	return ws.WriteMessages(b.msgs)
}

// appendJSONP appends the JSONP answer carrying payload:
// ___eio[index]("payload"); with the payload as a JavaScript string
// literal, as JSON.stringify writes it, U+2028 and U+2029 escaped.
func appendJSONP(b []byte, index int, payload []byte) []byte {
	b = append(b, "___eio["...)
	b = strconv.AppendInt(b, int64(index), 10)
	b = append(b, `]("`...)
	const hex = "0123456789abcdef"
	for i := 0; i < len(payload); {
		c := payload[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(payload[i:])
			switch r {
			case '\u2028', '\u2029':
				b = append(b, `\u202`...)
				b = append(b, hex[r&0xf])
			default:
				b = append(b, payload[i:i+size]...)
			}
			i += size
			continue
		}
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		default:
			if c < 0x20 {
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			} else {
				b = append(b, c)
			}
		}
		i++
	}
	return append(b, `");`...)
}

// unescapeJSONPNewlines undoes what a JSONP client does to the newlines of
// a payload it posts: "\n" (backslash, n) stands for a newline and
// "\\n" for a backslash and an n.
func unescapeJSONPNewlines(d string) []byte {
	out := make([]byte, 0, len(d))
	for i := 0; i < len(d); i++ {
		switch {
		case d[i] == '\\' && i+2 < len(d) && d[i+1] == '\\' && d[i+2] == 'n':
			out = append(out, '\\', 'n')
			i += 2
		case d[i] == '\\' && i+1 < len(d) && d[i+1] == 'n':
			out = append(out, '\n')
			i++
		default:
			out = append(out, d[i])
		}
	}
	return out
}
