package parser

import (
	"bytes"
	"fmt"
)

// Default limits of a [Decoder] whose fields are zero.
const (
	DefaultMaxAttachments = 10  // the socket.io-parser default
	DefaultMaxDepth       = 100 // nesting levels of arrays and objects
)

// Decoder decodes the Engine.IO messages of one connection into packets. A
// binary packet arrives as a text message followed by one binary message per
// attachment; the Decoder keeps it until the last attachment arrived.
//
// A Decoder is not safe for concurrent use. The zero value is ready to use
// with the default limits.
//
// The Decoder does not copy its input: a decoded packet's Data is a
// sub-slice of the text message and each attachment is the binary message
// itself. Callers hand the messages over and must not modify or reuse
// them while the packet is in use; the Decoder itself keeps no reference to
// a message once the packet holding it was returned or dropped.
//
// After an error the Decoder holds no partial packet; the protocol expects
// the connection to be closed.
type Decoder struct {
	// MaxAttachments is the largest number of attachments a binary packet
	// may announce; zero means DefaultMaxAttachments. A larger count is
	// rejected with ErrTooManyAttachments.
	MaxAttachments int
	// MaxAttachmentBytes limits the total size of the attachments of one
	// packet; zero means no limit beyond the transport's maximum message
	// size. Going over is an ErrAttachmentsTooLarge error.
	MaxAttachmentBytes int64
	// MaxDepth is the deepest nesting of arrays and objects accepted in a
	// payload; zero means DefaultMaxDepth. Deeper payloads are rejected
	// with ErrTooDeep.
	MaxDepth int

	pending  *Packet // binary packet waiting for attachments
	want     int     // attachments it announced
	attBytes int64   // size of the attachments received so far
}

// Pending reports whether the decoder is waiting for attachments.
func (d *Decoder) Pending() bool { return d.pending != nil }

// Reset drops a partially received packet.
func (d *Decoder) Reset() {
	d.pending = nil
	d.want = 0
	d.attBytes = 0
}

func (d *Decoder) maxAttachments() int {
	if d.MaxAttachments <= 0 {
		return DefaultMaxAttachments
	}
	return d.MaxAttachments
}

func (d *Decoder) maxDepth() int {
	if d.MaxDepth <= 0 {
		return DefaultMaxDepth
	}
	return d.MaxDepth
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidPacket}, args...)...)
}

// DecodeText decodes a text message:
//
//	<type>[<n>-][<namespace>,][<id>][<data>]
//
// It follows socket.io-parser 4.2: the type is one digit 0 to 6; the binary
// types carry the decimal attachment count n followed by '-'; a namespace
// starts with '/' and runs up to the first ',' or the end of the message;
// the ack id is the run of digits that follows (at most [MaxID]); the rest
// is the JSON payload, which must suit the type: an object or nothing for
// CONNECT, nothing for DISCONNECT, a string or an object for CONNECT_ERROR,
// a non-empty array starting with a number or a non-reserved event name for
// EVENT and BINARY_EVENT, an array for ACK and BINARY_ACK. Whitespace around
// the payload is allowed and trimmed from Data. The placeholders of a binary
// packet must refer to its attachments (ErrIllegalAttachments).
//
// DecodeText returns the packet, or (nil, nil) when the packet is a binary
// packet waiting for its attachments (see [Decoder.DecodeBinary]). A binary
// packet announcing zero attachments is invalid (ErrIllegalAttachments), as
// in socket.io-parser 4.2.7. The packet keeps its wire type: a binary packet is returned as BinaryEvent or BinaryAck.
func (d *Decoder) DecodeText(msg []byte) (*Packet, error) {
	if d.pending != nil {
		d.Reset()
		return nil, fmt.Errorf("%w while waiting for attachments", ErrUnexpectedText)
	}
	if len(msg) == 0 {
		return nil, invalid("empty message")
	}
	c := msg[0]
	if c < '0' || c > '6' {
		return nil, invalid("unknown packet type %q", c)
	}
	p := &Packet{Type: Type(c - '0'), Namespace: "/", ID: NoID}
	i := 1
	n := 0
	binary := p.Type == BinaryEvent || p.Type == BinaryAck
	if binary {
		j := i
		for j < len(msg) && isDigit(msg[j]) {
			if n <= d.maxAttachments() {
				n = n*10 + int(msg[j]-'0')
			}
			j++
		}
		if j == i || j >= len(msg) || msg[j] != '-' {
			return nil, invalid("malformed attachment count")
		}
		if n > d.maxAttachments() {
			return nil, fmt.Errorf("%w: more than %d announced", ErrTooManyAttachments, d.maxAttachments())
		}
		if n < 1 {
			// socket.io-parser 4.2.7 rejects it too (GHSA-2m8v-j782-fhvr).
			return nil, fmt.Errorf("%w: a binary packet announces no attachment", ErrIllegalAttachments)
		}
		i = j + 1
	}
	if i < len(msg) && msg[i] == '/' {
		j := bytes.IndexByte(msg[i:], ',')
		if j < 0 {
			p.Namespace = intern(msg[i:])
			i = len(msg)
		} else {
			p.Namespace = intern(msg[i : i+j])
			i += j + 1
		}
	}
	if i < len(msg) && isDigit(msg[i]) {
		var id int64
		j := i
		for j < len(msg) && isDigit(msg[j]) {
			if id <= MaxID {
				id = id*10 + int64(msg[j]-'0')
			}
			j++
		}
		if id > MaxID {
			return nil, invalid("ack id larger than %d", MaxID)
		}
		p.ID = id
		i = j
	}
	if i < len(msg) {
		data, err := d.checkPayload(p.Type, msg[i:], n)
		if err != nil {
			return nil, err
		}
		p.Data = data
	} else if p.Type != Connect && p.Type != Disconnect {
		return nil, invalid("%v without payload", p.Type)
	}
	if binary {
		d.pending = p
		d.want = n
		d.attBytes = 0
		return nil, nil
	}
	return p, nil
}

// checkPayload validates the JSON payload data of a packet of type t with n
// attachments and returns it without surrounding whitespace.
func (d *Decoder) checkPayload(t Type, data []byte, n int) ([]byte, error) {
	var (
		end     int
		code    scanCode
		illegal bool
	)
	if t == BinaryEvent || t == BinaryAck {
		end, illegal, code = scanPlaceholders(data, 0, d.maxDepth(), n, nil)
	} else {
		end, _, code = scanValue(data, 0, d.maxDepth())
	}
	if code == scanOK {
		if j := skipSpace(data, end); j != len(data) {
			code, end = scanTrailing, j
		}
	}
	if code != scanOK {
		if code == scanTooDeep {
			return nil, fmt.Errorf("%w: %v payload deeper than %d levels", ErrTooDeep, t, d.maxDepth())
		}
		return nil, invalid("%v payload is not valid JSON: %s at offset %d", t, scanMessages[code], end)
	}
	if illegal {
		return nil, fmt.Errorf("%w: placeholder does not refer to one of the %d attachments", ErrIllegalAttachments, n)
	}
	data = trimSpace(data)
	ok := false
	switch t {
	case Connect:
		ok = data[0] == '{'
	case ConnectError:
		ok = data[0] == '{' || data[0] == '"'
	case Ack, BinaryAck:
		ok = data[0] == '['
	case Event, BinaryEvent:
		if data[0] != '[' {
			break
		}
		start, end, esc, _ := firstElement(data)
		switch c := data[start]; {
		case c == '-' || isDigit(c):
			ok = true
		case c == '"':
			name := data[start+1 : end-1]
			if esc {
				name = unescape(nil, name)
			}
			if IsReservedEvent(string(name)) {
				return nil, invalid("reserved event name %q", name)
			}
			ok = true
		}
	}
	if !ok {
		return nil, invalid("payload not allowed for %v", t)
	}
	return data, nil
}

// DecodeBinary feeds one binary message, the next attachment of the pending
// binary packet. It returns the packet when its last attachment arrived and
// (nil, nil) while more are expected. A binary message while no packet is
// pending is an ErrUnexpectedBinary error.
func (d *Decoder) DecodeBinary(msg []byte) (*Packet, error) {
	p := d.pending
	if p == nil {
		return nil, fmt.Errorf("%w: no binary packet is waiting for attachments", ErrUnexpectedBinary)
	}
	if d.MaxAttachmentBytes > 0 {
		d.attBytes += int64(len(msg))
		if d.attBytes > d.MaxAttachmentBytes {
			d.Reset()
			return nil, fmt.Errorf("%w: more than %d bytes", ErrAttachmentsTooLarge, d.MaxAttachmentBytes)
		}
	}
	if p.Attachments == nil {
		p.Attachments = make([][]byte, 0, d.want)
	}
	p.Attachments = append(p.Attachments, msg)
	if len(p.Attachments) < d.want {
		return nil, nil
	}
	d.Reset()
	return p, nil
}
