// Package packet encodes and decodes Engine.IO protocol v4 packets and
// HTTP long-polling payloads.
//
// The package is a pure codec: it holds no state, starts no goroutines and
// knows nothing of HTTP or WebSocket. Both the server (package engineio) and
// the client use it.
//
// # Wire format
//
// A text packet is one ASCII digit giving its [Type] followed by its data:
// "4hello" is a message carrying "hello", "2" is a ping, "3probe" is the pong
// answering a probe. A binary message has no type digit: over WebSocket it is
// a binary frame holding the raw bytes, and in a long-polling payload it is
// written as "b" followed by the standard, padded base64 encoding of the
// bytes. A long-polling payload joins packets with the record separator
// 0x1e, with no length prefix and no trailing separator.
package packet

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
)

// Type is the type of an Engine.IO packet.
type Type byte

// The Engine.IO v4 packet types, in wire order.
const (
	Open    Type = iota // the server's handshake, "0{...}"
	Close               // close the session, "1"
	Ping                // heartbeat request (server to client in v4), "2"
	Pong                // heartbeat answer, "3"
	Message             // application data, "4..." or binary
	Upgrade             // the client completed a transport upgrade, "5"
	Noop                // no operation; releases a pending poll, "6"
)

var typeNames = [...]string{"open", "close", "ping", "pong", "message", "upgrade", "noop"}

// String returns the lower-case name the protocol documents use for t.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", byte(t))
}

// Separator joins the packets of a long-polling payload.
const Separator = 0x1e

// ErrInvalidPacket is returned, wrapped, for data that is not an Engine.IO
// packet.
var ErrInvalidPacket = errors.New("engineio/packet: invalid packet")

// Packet is one Engine.IO packet. Binary is meaningful for [Message] only: a
// binary message carries raw bytes in Data.
type Packet struct {
	Type   Type
	Binary bool
	Data   []byte
	// NoCompress asks the transport not to compress this packet (the
	// official compress: false option of a send). It is not part of the
	// encoding: decoded packets have it false.
	NoCompress bool
}

// AppendText appends the text encoding of p to dst, as used in a long-polling
// payload: the type digit and the data, or for a binary message "b" and the
// base64 of the data.
func (p Packet) AppendText(dst []byte) []byte {
	if p.Binary {
		dst = append(dst, 'b')
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	}
	dst = append(dst, '0'+byte(p.Type))
	return append(dst, p.Data...)
}

// DecodeText decodes one text packet, as found in a WebSocket text frame or
// between separators in a long-polling payload. A "b" prefix denotes a
// base64-encoded binary message. The returned Data aliases b for text
// packets.
func DecodeText(b []byte) (Packet, error) {
	if len(b) == 0 {
		return Packet{}, fmt.Errorf("%w: empty", ErrInvalidPacket)
	}
	c := b[0]
	if c == 'b' {
		data, err := base64.StdEncoding.AppendDecode(nil, b[1:])
		if err != nil {
			return Packet{}, fmt.Errorf("%w: bad base64: %w", ErrInvalidPacket, err)
		}
		return Packet{Type: Message, Binary: true, Data: data}, nil
	}
	if c < '0' || c > '6' {
		return Packet{}, fmt.Errorf("%w: unknown type %q", ErrInvalidPacket, c)
	}
	p := Packet{Type: Type(c - '0')}
	if len(b) > 1 {
		p.Data = b[1:]
	}
	return p, nil
}

// AppendPayload appends the long-polling payload holding pkts to dst.
func AppendPayload(dst []byte, pkts []Packet) []byte {
	for i, p := range pkts {
		if i > 0 {
			dst = append(dst, Separator)
		}
		dst = p.AppendText(dst)
	}
	return dst
}

// PayloadLen returns the length in bytes of the payload AppendPayload would
// produce for pkts.
func PayloadLen(pkts []Packet) int {
	n := 0
	for i, p := range pkts {
		if i > 0 {
			n++
		}
		if p.Binary {
			n += 1 + base64.StdEncoding.EncodedLen(len(p.Data))
		} else {
			n += 1 + len(p.Data)
		}
	}
	return n
}

// DecodePayload decodes a long-polling payload and calls fn for each packet
// in order. It stops at the first invalid packet, returning an error that
// wraps ErrInvalidPacket, or at the first error fn returns. Text packets
// passed to fn alias body.
func DecodePayload(body []byte, fn func(Packet) error) error {
	for {
		seg := body
		i := bytes.IndexByte(body, Separator)
		if i >= 0 {
			seg = body[:i]
		}
		p, err := DecodeText(seg)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		if i < 0 {
			return nil
		}
		body = body[i+1:]
	}
}
