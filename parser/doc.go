// Package parser encodes and decodes Socket.IO protocol v5 packets, byte
// for byte as the JavaScript package socket.io-parser (4.x) does.
//
// The package is a pure codec: it knows nothing of Engine.IO, namespaces'
// state or handlers, holds no per-connection state other than a [Decoder],
// and starts no goroutines.
//
// # Wire format
//
// A packet travels as one Engine.IO text message, followed for the binary
// types by one Engine.IO binary message per attachment:
//
//	<type>[<n>-][<namespace>,][<ack id>][<JSON payload>]
//
// The type is one digit ([Connect] 0 to [BinaryAck] 6). n, the number of
// attachments, appears for [BinaryEvent] and [BinaryAck] only. The namespace
// is omitted for the main namespace "/"; a decoder also accepts it without
// the comma at the end of a message ("40/admin"). The ack id is the decimal
// number right before the payload. Examples:
//
//	0                                  CONNECT to "/"
//	0/admin,{"token":"123"}            CONNECT to "/admin" with auth data
//	2["foo"]                           EVENT "foo" on "/"
//	212["foo"]                         EVENT "foo" expecting ack 12
//	3/admin,13["bar"]                  ACK 13 on "/admin" with argument "bar"
//	51-["baz",{"_placeholder":true,"num":0}]  + 1 binary message
//
// In the JSON payload of a binary packet, each binary value is replaced by a
// placeholder object {"_placeholder":true,"num":N} where N indexes the
// attachments in the order they are sent. (Engine.IO prefixes each text
// message with its own type, "4", which this package does not handle.)
//
// # Raw JSON
//
// Payloads stay raw JSON: [Packet.Data] holds the bytes as they were
// received, placeholders included, and [Packet.Attachments] the binary
// messages. Nothing is unmarshalled until a handler asks for a Go type with
// [DecodeValue], which substitutes the attachments. This keeps decoding
// cheap (the [Decoder] validates the payload with its own single-pass,
// non-recursive scanner and does not build values), and it lets a server
// relay arguments byte for byte: a JSON text such as "\ud800" (an unpaired
// surrogate escape, valid in JavaScript) or an object's key order survives an
// echo, which a round trip through encoding/json would not preserve.
// [SplitArray] cuts an EVENT or ACK payload into its raw elements without
// copying, [EventName] reads the event name, and [ReindexAttachments]
// renumbers the placeholders of the elements kept when relaying some of
// them.
//
// To send, build the payload with [AppendArray] (or [AppendValue]), which
// writes JSON the way JavaScript's JSON.stringify does and turns every
// []byte into a placeholder and an attachment, then write the packet with
// [Packet.AppendText] and send the attachments after it.
//
// # Limits
//
// The JavaScript implementations crash on payloads nested a few thousand
// levels deep, so the [Decoder] rejects payloads nested deeper than
// [Decoder.MaxDepth] levels (default 100) with [ErrTooDeep], and binary
// packets announcing more than [Decoder.MaxAttachments] attachments
// (default 10, as socket.io-parser) with [ErrTooManyAttachments].
package parser
