package parser

// Message is one Engine.IO message: text, or binary.
type Message struct {
	Data   []byte
	Binary bool
}

// Limits bound what a [PacketDecoder] accepts from a peer. Zero fields mean
// the defaults of the parser (see [Decoder] for the JSON parser's).
type Limits struct {
	// MaxAttachments is the largest number of binary attachments of one
	// packet.
	MaxAttachments int
	// MaxAttachmentBytes is the largest total size of the attachments of
	// one packet; zero means no limit beyond the message size.
	MaxAttachmentBytes int64
}

// Parser turns [Packet] values into Engine.IO messages and back. It is the
// extension point through which a server or client speaks a Socket.IO
// codec other than the default one ([JSON]), such as the MessagePack codec
// of package parser/msgpackparser.
//
// Whatever the wire form, a packet is held in the one form of [Packet]:
// its arguments are JSON with binary values replaced by placeholders that
// index Attachments. A Parser converts between that form and its own.
//
// A Parser is stateless and safe for concurrent use; per-connection state
// lives in the [PacketDecoder] it returns. It must not keep references to
// the packets it encodes nor modify them.
type Parser interface {
	// Encode appends to dst the messages that carry p, in sending order,
	// and returns the extended slice. The messages may share memory with
	// p (its Data or Attachments), which must then stay unmodified.
	Encode(dst []Message, p *Packet) ([]Message, error)
	// NewDecoder returns a decoder for the messages of one connection.
	NewDecoder(limits Limits) PacketDecoder
}

// PacketDecoder decodes the Engine.IO messages of one connection into
// packets. It is not safe for concurrent use.
//
// Decode takes ownership of msg: a returned packet may refer to it. It
// returns (nil, nil) when the message is part of a packet not complete yet
// (a binary attachment announced by the JSON parser), and an error that
// wraps [ErrInvalidPacket] or another sentinel of this package when msg is
// not valid; the connection must then be closed, as the official server
// does.
type PacketDecoder interface {
	Decode(msg []byte, binary bool) (*Packet, error)
	// Pending reports whether a packet is partially received (waiting for
	// attachments).
	Pending() bool
}

// JSON is the default parser: the text encoding of socket.io-parser 4.x,
// with binary attachments sent as separate binary messages (see the
// package documentation). Its decoders are [*Decoder] values.
type JSON struct{}

// Encode appends the text message of p ([Packet.AppendText]) and one binary
// message per attachment. It never fails.
func (JSON) Encode(dst []Message, p *Packet) ([]Message, error) {
	text := p.AppendText(make([]byte, 0, len(p.Data)+len(p.Namespace)+24))
	dst = append(dst, Message{Data: text})
	if t := p.WireType(); t == BinaryEvent || t == BinaryAck {
		for _, a := range p.Attachments {
			dst = append(dst, Message{Data: a, Binary: true})
		}
	}
	return dst, nil
}

// NewDecoder returns a [*Decoder] with the given limits.
func (JSON) NewDecoder(limits Limits) PacketDecoder {
	return &Decoder{MaxAttachments: limits.MaxAttachments, MaxAttachmentBytes: limits.MaxAttachmentBytes}
}

// Decode decodes a text message with [Decoder.DecodeText] or a binary one
// with [Decoder.DecodeBinary]; it makes *Decoder a [PacketDecoder].
func (d *Decoder) Decode(msg []byte, binary bool) (*Packet, error) {
	if binary {
		return d.DecodeBinary(msg)
	}
	return d.DecodeText(msg)
}
