// Package msgpackparser is a Socket.IO parser wire-compatible with the npm
// package socket.io-msgpack-parser 3.0.2: every packet is one MessagePack
// map sent as one binary Engine.IO message.
//
// Use it on both sides, as the official packages require:
//
//	srv := socketio.NewServer(&socketio.Options{Parser: msgpackparser.Parser{}})
//	sock, err := client.Dial(ctx, url, &client.Options{Parser: msgpackparser.Parser{}})
//
// and, in JavaScript, io(url, { parser: require("socket.io-msgpack-parser") })
// or new Server({ parser: require("socket.io-msgpack-parser") }).
//
// # Wire format
//
// A packet is the map {type, data, nsp, id} that notepack.io 2.2 (the
// codec of socket.io-msgpack-parser) writes for the packet object of the
// official server: type is 0 (CONNECT) to 4 (CONNECT_ERROR) — there are no
// BINARY_EVENT and BINARY_ACK types, binary values travel in place as
// MessagePack bin —, nsp is the namespace name, data the payload (absent
// for DISCONNECT) and id the acknowledgement id, when there is one. The
// packet is always one message: no attachments follow it. Text messages
// are invalid.
//
// Inside the server and the client, packets keep the form of package
// parser (JSON arguments, binary values as placeholders and attachments),
// so handlers, adapters and broadcasts work the same with either parser:
// [Parser.Encode] converts the JSON to MessagePack with [msgpack.FromJSON]
// (once per packet, whatever the number of recipients of a broadcast), and
// the decoder converts back with [msgpack.ToJSON]. See package msgpack for
// how JavaScript values map to JSON (Dates become ISO strings, undefined
// becomes null in arrays and is left out of objects, ...).
//
// # Validation
//
// The decoder checks what socket.io-msgpack-parser checks — a map whose
// type is an integer 0 to 4, whose nsp is a string, whose id is absent or
// an integer, and whose data is absent or an object (CONNECT), absent
// (DISCONNECT), a string or an object (CONNECT_ERROR), an array (EVENT,
// ACK) — and the official server then closes the connection of a client
// that sends anything else, as this package's users (the server and the
// client of this module) do. It is stricter where the official server
// would go on with a value it cannot use:
//   - an EVENT must have a first argument that is a string or a number and
//     is not a reserved event name (the official server would call its
//     own "disconnect" listeners for ["disconnect"]);
//   - an id must be an integer from 0 to 2^53-1;
//   - a CONNECT payload holding binary values is refused (a handshake's
//     auth is JSON);
//   - extensions other than notepack.io's undefined, Date and ArrayBuffer
//     are not accepted as the data of a packet (notepack.io makes arrays
//     [type, data] of them, which the official parser takes for event
//     arguments).
//
// Unlike the JSON parser, there is no limit on the number of binary values
// of a packet other than the size of the message (socket.io-msgpack-parser
// has none); Limits.MaxAttachments is not used. MaxAttachmentBytes bounds
// the total size of the binary values of one packet.
package msgpackparser

import (
	"bytes"
	"errors"
	"fmt"
	"math"

	"github.com/socketio-go/socketio/msgpack"
	"github.com/socketio-go/socketio/parser"
)

// Parser is the socket.io-msgpack-parser codec. The zero value is ready to
// use; it has no state.
type Parser struct{}

var _ parser.Parser = Parser{}

// undefined is notepack.io's encoding of JavaScript's undefined.
var undefined = []byte{0xd4, 0, 0}

// Encode appends the one binary message that carries p: the map
// {type, data, id, nsp}, with the JSON of p.Data converted to MessagePack
// and its placeholders replaced by the attachments as bin. A BINARY_EVENT
// or BINARY_ACK is written as EVENT or ACK; data is left out when p.Data is
// empty, id when it is negative. The error, if any, wraps a sentinel of
// package msgpack (invalid JSON, a value too large).
func (Parser) Encode(dst []parser.Message, p *parser.Packet) ([]parser.Message, error) {
	msg, err := AppendPacket(nil, p)
	if err != nil {
		return dst, err
	}
	return append(dst, parser.Message{Data: msg, Binary: true}), nil
}

// AppendPacket appends the MessagePack encoding of p to dst (see
// [Parser.Encode]).
func AppendPacket(dst []byte, p *parser.Packet) ([]byte, error) {
	t := p.Type
	switch t {
	case parser.BinaryEvent:
		t = parser.Event
	case parser.BinaryAck:
		t = parser.Ack
	}
	n := 2
	if len(p.Data) > 0 {
		n++
	}
	if p.ID >= 0 {
		n++
	}
	if dst == nil {
		size := 32 + len(p.Namespace) + len(p.Data)
		for _, a := range p.Attachments {
			size += len(a)
		}
		dst = make([]byte, 0, size)
	}
	n0 := len(dst)
	dst = msgpack.AppendMapHeader(dst, n)
	dst = msgpack.AppendString(dst, "type")
	dst = msgpack.AppendInt(dst, int64(t))
	if len(p.Data) > 0 {
		dst = msgpack.AppendString(dst, "data")
		var err error
		dst, err = msgpack.FromJSON(dst, p.Data, p.Attachments)
		if err != nil {
			return dst[:n0], fmt.Errorf("socketio/msgpackparser: %v data: %w", p.Type, err)
		}
	}
	if p.ID >= 0 {
		dst = msgpack.AppendString(dst, "id")
		dst = msgpack.AppendInt(dst, p.ID)
	}
	nsp := p.Namespace
	if nsp == "" {
		nsp = "/"
	}
	dst = msgpack.AppendString(dst, "nsp")
	dst = msgpack.AppendString(dst, nsp)
	return dst, nil
}

// NewDecoder returns a decoder. Only limits.MaxAttachmentBytes is used.
func (Parser) NewDecoder(limits parser.Limits) parser.PacketDecoder {
	return &Decoder{MaxBinaryBytes: limits.MaxAttachmentBytes}
}

// Decoder decodes packets from binary messages. The zero value is ready to
// use. It keeps no state between messages, but is a distinct type so that
// limits can be set.
type Decoder struct {
	// MaxBinaryBytes is the largest total size of the binary values of one
	// packet; zero means no limit beyond the message size. Going over is
	// an error wrapping parser.ErrAttachmentsTooLarge.
	MaxBinaryBytes int64
}

// Pending always reports false: a packet is one message.
func (*Decoder) Pending() bool { return false }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{parser.ErrInvalidPacket}, args...)...)
}

// Decode decodes one message. A text message is invalid (the official
// parser fails on it too). The packet's Data is JSON, newly allocated; its
// Attachments are sub-slices of msg.
func (d *Decoder) Decode(msg []byte, binary bool) (*parser.Packet, error) {
	if !binary {
		return nil, invalid("text message, MessagePack expected")
	}
	return d.DecodePacket(msg)
}

// DecodePacket decodes the MessagePack packet msg. See the package
// documentation for what is accepted.
func (d *Decoder) DecodePacket(msg []byte) (*parser.Packet, error) {
	var typ, nsp, data, id []byte
	rest, err := msgpack.MapEntries(msg, func(key string, value []byte) error {
		// A repeated key takes its last value, as in JavaScript.
		switch key {
		case "type":
			typ = value
		case "nsp":
			nsp = value
		case "data":
			data = value
		case "id":
			id = value
		}
		return nil
	})
	if err != nil {
		return nil, invalid("%w", err)
	}
	if len(rest) > 0 {
		return nil, invalid("%d trailing bytes", len(rest))
	}
	if bytes.Equal(data, undefined) {
		data = nil
	}
	if bytes.Equal(id, undefined) {
		id = nil
	}
	t, ok := integer(typ)
	if !ok || t < int64(parser.Connect) || t > int64(parser.ConnectError) {
		return nil, invalid("invalid packet type")
	}
	p := &parser.Packet{Type: parser.Type(t), ID: parser.NoID}
	ns, _, err := msgpack.Decode(nsp)
	name, isStr := ns.(string)
	if nsp == nil || err != nil || !isStr {
		return nil, invalid("invalid namespace")
	}
	p.Namespace = name
	if id != nil {
		n, ok := integer(id)
		if !ok || n < 0 || n > parser.MaxID {
			return nil, invalid("invalid packet id")
		}
		p.ID = n
	}
	k := kindOf(data)
	switch p.Type {
	case parser.Connect:
		ok = k == kindNone || k == kindMap
	case parser.Disconnect:
		ok = k == kindNone
	case parser.ConnectError:
		ok = k == kindString || k == kindMap
	default:
		ok = k == kindArray
	}
	if !ok {
		return nil, invalid("payload not allowed for %v", p.Type)
	}
	if data == nil {
		return p, nil
	}
	var atts *[][]byte
	if p.Type == parser.Event || p.Type == parser.Ack {
		atts = &p.Attachments
	}
	json, _, err := msgpack.ToJSON(make([]byte, 0, len(data)+16), data, atts)
	if err != nil {
		if errors.Is(err, msgpack.ErrBinary) {
			return nil, invalid("binary value in a %v payload", p.Type)
		}
		return nil, invalid("%v payload: %w", p.Type, err)
	}
	p.Data = json
	if d.MaxBinaryBytes > 0 {
		var total int64
		for _, a := range p.Attachments {
			total += int64(len(a))
		}
		if total > d.MaxBinaryBytes {
			return nil, fmt.Errorf("%w: more than %d bytes", parser.ErrAttachmentsTooLarge, d.MaxBinaryBytes)
		}
	}
	if p.Type == parser.Event {
		name, err := parser.EventName(json)
		if err != nil {
			return nil, invalid("event without a name: %w", err)
		}
		if parser.IsReservedEvent(name) {
			return nil, invalid("reserved event name %q", name)
		}
	}
	return p, nil
}

type kind uint8

const (
	kindNone kind = iota // absent or undefined
	kindMap
	kindArray
	kindString
	kindOther
)

// kindOf classifies the MessagePack value v by its first byte.
func kindOf(v []byte) kind {
	if len(v) == 0 {
		return kindNone
	}
	switch c := v[0]; {
	case c >= 0x80 && c <= 0x8f, c == 0xde, c == 0xdf:
		return kindMap
	case c >= 0x90 && c <= 0x9f, c == 0xdc, c == 0xdd:
		return kindArray
	case c >= 0xa0 && c <= 0xbf, c == 0xd9, c == 0xda, c == 0xdb:
		return kindString
	}
	return kindOther
}

// integer reads the MessagePack number v if it holds an integer
// (JavaScript's Number.isInteger), of at most 2^63-1 in magnitude.
func integer(v []byte) (int64, bool) {
	if v == nil {
		return 0, false
	}
	x, _, err := msgpack.Decode(v)
	if err != nil {
		return 0, false
	}
	switch n := x.(type) {
	case int64:
		return n, true
	case float64:
		if n == math.Trunc(n) && n >= -(1<<63) && n < 1<<63 {
			return int64(n), true
		}
	}
	return 0, false
}
