package parser

import (
	"errors"
	"strconv"
)

// Type is the Socket.IO packet type, written as a single ASCII digit at the
// start of every encoded packet.
type Type byte

// The Socket.IO protocol v5 packet types, in wire order.
const (
	Connect      Type = iota // "0": connect to a namespace, or the server's reply
	Disconnect               // "1": leave a namespace
	Event                    // "2": an event with JSON arguments
	Ack                      // "3": the answer to an event that carried an ack id
	ConnectError             // "4": the server refused a namespace connection
	BinaryEvent              // "5": an event followed by binary attachments
	BinaryAck                // "6": an ack followed by binary attachments
)

var typeNames = [...]string{
	"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK",
}

// String returns the upper-case name the protocol documents use for t, such
// as "BINARY_EVENT".
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Valid reports whether t is one of the seven packet types.
func (t Type) Valid() bool { return t <= BinaryAck }

// NoID is the ID of a packet that carries no acknowledgement id.
const NoID int64 = -1

// MaxID is the largest acknowledgement id the decoder accepts: the largest
// integer a JavaScript number represents exactly (2^53-1).
const MaxID int64 = 1<<53 - 1

// Packet is one Socket.IO packet.
//
// Data holds the JSON payload exactly as it appears on the wire, with every
// binary attachment replaced by a placeholder object
// {"_placeholder":true,"num":N} that refers to Attachments[N]. Use
// [SplitArray], [EventName] and [DecodeValue] to look inside it, and
// [AppendValue] or [AppendArray] to build it.
type Packet struct {
	Type        Type
	Namespace   string   // "/" for the main namespace; never empty after decoding
	ID          int64    // acknowledgement id, or NoID
	Data        []byte   // raw JSON payload, placeholders included; nil when absent
	Attachments [][]byte // binary attachments, in placeholder order
}

// WireType returns the type p is written with by [Packet.AppendText]: an
// [Event] or [Ack] with attachments becomes a [BinaryEvent] or [BinaryAck],
// and a [BinaryEvent] or [BinaryAck] without attachments becomes an [Event]
// or [Ack]. Other types are returned unchanged.
func (p *Packet) WireType() Type {
	switch p.Type {
	case Event, BinaryEvent:
		if len(p.Attachments) > 0 {
			return BinaryEvent
		}
		return Event
	case Ack, BinaryAck:
		if len(p.Attachments) > 0 {
			return BinaryAck
		}
		return Ack
	}
	return p.Type
}

// AppendText appends the text form of p to dst and returns the extended
// buffer:
//
//	<type>[<n>-][<namespace>,][<id>][<data>]
//
// The type is [Packet.WireType]; n, the number of attachments, is written for
// the binary types only. The namespace is omitted when it is "" or "/", and
// the id when it is negative (NoID). Data is copied verbatim.
//
// The text form is the first Engine.IO message of the packet (the only one
// when there are no attachments); the caller then sends each attachment, in
// order, as a binary Engine.IO message. AppendText does not validate p: the
// namespace must start with '/' and contain no ',', the type must be valid
// and Data must be a JSON value acceptable for the type, or the peer will
// not be able to decode the packet. Attachments of packets other than
// events and acks are not written.
func (p *Packet) AppendText(dst []byte) []byte {
	t := p.WireType()
	dst = append(dst, '0'+byte(t))
	if t == BinaryEvent || t == BinaryAck {
		dst = strconv.AppendInt(dst, int64(len(p.Attachments)), 10)
		dst = append(dst, '-')
	}
	if p.Namespace != "" && p.Namespace != "/" {
		dst = append(dst, p.Namespace...)
		dst = append(dst, ',')
	}
	if p.ID >= 0 {
		dst = strconv.AppendInt(dst, p.ID, 10)
	}
	return append(dst, p.Data...)
}

// reservedEvents are the event names a peer must not send: they have a
// special meaning for the JavaScript implementations.
var reservedEvents = [...]string{
	"connect",
	"connect_error",
	"disconnect",
	"disconnecting",
	"newListener",
	"removeListener",
}

// IsReservedEvent reports whether name is one of the event names the
// protocol reserves ("connect", "connect_error", "disconnect",
// "disconnecting", "newListener" and "removeListener"). The decoder rejects
// an EVENT whose name is reserved.
func IsReservedEvent(name string) bool {
	for _, r := range reservedEvents {
		if name == r {
			return true
		}
	}
	return false
}

// Errors returned, wrapped with more context, by the decoder and the
// functions of this package. Test for them with [errors.Is].
var (
	// ErrInvalidPacket reports a text message that is not a valid packet:
	// an unknown type, a malformed attachment count or ack id, a payload
	// that is not JSON or not of the shape its type requires.
	ErrInvalidPacket = errors.New("socketio/parser: invalid packet")
	// ErrTooManyAttachments reports a binary packet announcing more
	// attachments than [Decoder.MaxAttachments].
	ErrTooManyAttachments = errors.New("socketio/parser: too many attachments")
	// ErrAttachmentsTooLarge reports attachments whose total size exceeds
	// [Decoder.MaxAttachmentBytes].
	ErrAttachmentsTooLarge = errors.New("socketio/parser: attachments too large")
	// ErrTooDeep reports a JSON payload nested deeper than the limit.
	ErrTooDeep = errors.New("socketio/parser: JSON nested too deeply")
	// ErrUnexpectedBinary reports a binary message that arrived while no
	// binary packet was waiting for attachments.
	ErrUnexpectedBinary = errors.New("socketio/parser: unexpected binary message")
	// ErrUnexpectedText reports a text message that arrived while a binary
	// packet was still waiting for attachments.
	ErrUnexpectedText = errors.New("socketio/parser: unexpected text message")
	// ErrIllegalAttachments reports a placeholder object whose num is not
	// an integer index of an attachment of the packet.
	ErrIllegalAttachments = errors.New("socketio/parser: illegal attachments")
	// ErrInvalidJSON reports malformed JSON given to [SplitArray],
	// [EventName], [ReindexAttachments], [DecodeValue] or found in a
	// json.RawMessage passed to [AppendValue].
	ErrInvalidJSON = errors.New("socketio/parser: invalid JSON")
)
