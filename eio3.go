package socketio

import (
	"errors"
	"strings"

	"github.com/socketio-go/socketio/parser"
)

// Socket.IO protocol v4 clients (socket.io-client 2.x, over Engine.IO v3
// sessions, Options.AllowEIO3). Their packets are encoded like those of
// protocol v5 (events, acks, binary attachments, DISCONNECT), so that a
// broadcast is encoded once for both; what differs is the connection to a
// namespace, handled here as the official server does:
//
//   - the client is connected to the main namespace as soon as its session
//     opens, without sending CONNECT;
//   - its CONNECT for another namespace carries a query string in the
//     namespace ("/admin?token=x"), which becomes the auth object, and no
//     payload;
//   - the server's CONNECT has no payload, and its socket id is the session
//     id ("/admin#" + session id outside the main namespace);
//   - a middleware error is a packet of type 4 (ERROR in v4) whose payload
//     is the error's data, or its message as a JSON string.

// connectMain connects a v2 client to the main namespace.
func (c *conn) connectMain() {
	c.connect(&parser.Packet{Type: parser.Connect, Namespace: "/", ID: parser.NoID, Data: []byte("{}")})
}

// v3Connect returns the CONNECT packet of a v2 client with the query
// string moved from its namespace into its auth, a JSON object of strings.
func v3Connect(p *parser.Packet) *parser.Packet {
	name, query, _ := strings.Cut(p.Namespace, "?")
	q := *p
	q.Namespace = name
	q.Data = appendQueryObject(make([]byte, 0, len(query)+2), query)
	return &q
}

// appendQueryObject appends the query string as a JSON object, as the
// official server builds it (URLSearchParams): pairs split on "&" and "=",
// "+" and percent escapes decoded, the last value of a repeated key kept
// (at the place of its first occurrence).
func appendQueryObject(b []byte, query string) []byte {
	var keys, vals []string
	for query != "" {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, v = unescapeQuery(k), unescapeQuery(v)
		found := false
		for i, kk := range keys {
			if kk == k {
				vals[i], found = v, true
				break
			}
		}
		if !found {
			keys, vals = append(keys, k), append(vals, v)
		}
	}
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b, _ = parser.AppendValue(b, k, nil)
		b = append(b, ':')
		b, _ = parser.AppendValue(b, vals[i], nil)
	}
	return append(b, '}')
}

// unescapeQuery decodes "+" and the valid percent escapes of s, leaving
// invalid ones as they are, like URLSearchParams.
func unescapeQuery(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return strings.ToValidUTF8(b.String(), "\uFFFD")
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// v3SocketID returns the id of a new socket of namespace nsp on the
// connection of a v2 client.
func (c *conn) v3SocketID(nsp string) string {
	if nsp == "/" {
		return c.sess.ID()
	}
	return nsp + "#" + c.sess.ID()
}

// connectErrorPayload builds the payload of the packet refusing a
// connection for err: for a v2 client the ConnectError's Data, or else the
// message as a JSON string (the official err.data || err.message).
func (c *conn) connectErrorPayload(err error) ([]byte, error) {
	if !c.v3 {
		return connectErrorPayload(err)
	}
	var ce *ConnectError
	if !errors.As(err, &ce) {
		ce = &ConnectError{Message: err.Error()}
	}
	if ce.Data != nil {
		return parser.AppendValue(nil, ce.Data, nil)
	}
	return parser.AppendValue(nil, ce.Message, nil)
}
