package packet

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Engine.IO protocol v3 (the protocol of the 2.x clients) differs from v4
// in how binary messages and long-polling payloads are written:
//
//   - a binary packet starts with its type: over WebSocket a binary frame
//     holds the type as a raw byte (0x04 for a message) then the data, and
//     in text it is written "b4" followed by the base64 of the data;
//   - a text long-polling payload prefixes each packet with its length and
//     a colon, "6:4hello2:40", the length counting UTF-16 code units as
//     JavaScript strings do;
//   - a binary long-polling payload (application/octet-stream, for clients
//     that support XHR2, when some packet is binary) writes each packet as
//     a marker byte (0 for text, 1 for binary), the decimal digits of its
//     length as bytes 0-9, the byte 255, then the packet: the UTF-8 text
//     "4hello", or the type byte and the data.

// maxLengthDigits bounds the length prefix of a v3 payload packet: more
// digits than this cannot describe a body the server would accept.
const maxLengthDigits = 10

// AppendTextV3 appends the v3 text encoding of p: the type digit and the
// data, or for a binary packet "b", the type digit and the base64 of the
// data.
func AppendTextV3(dst []byte, p Packet) []byte {
	if p.Binary {
		dst = append(dst, 'b', '0'+byte(p.Type))
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	}
	dst = append(dst, '0'+byte(p.Type))
	return append(dst, p.Data...)
}

// AppendBinaryFrameV3 appends what a v3 WebSocket binary frame carries for
// the binary packet p: its type byte, then its data.
func AppendBinaryFrameV3(dst []byte, p Packet) []byte {
	return append(append(dst, byte(p.Type)), p.Data...)
}

// UTF16Len returns the length of b as a JavaScript string decoded from
// UTF-8: characters outside the basic multilingual plane count two, every
// other character (and every invalid byte) one.
func UTF16Len(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
		i += size
	}
	return n
}

// AppendPayloadV3 appends the v3 long-polling payload holding pkts to dst
// and reports whether it is a binary payload. A binary payload is written
// when binary is true (the client did not ask for base64 with "b64") and
// some packet is binary; otherwise the payload is text.
func AppendPayloadV3(dst []byte, pkts []Packet, binary bool) ([]byte, bool) {
	if binary {
		binary = false
		for _, p := range pkts {
			if p.Binary {
				binary = true
				break
			}
		}
	}
	if !binary {
		if len(pkts) == 0 {
			return append(dst, '0', ':'), false
		}
		for _, p := range pkts {
			n := 1 + UTF16Len(p.Data)
			if p.Binary {
				n = 2 + base64.StdEncoding.EncodedLen(len(p.Data))
			}
			dst = strconv.AppendInt(dst, int64(n), 10)
			dst = append(dst, ':')
			dst = AppendTextV3(dst, p)
		}
		return dst, false
	}
	for _, p := range pkts {
		n := 1 + len(p.Data)
		if p.Binary {
			dst = append(dst, 1)
		} else {
			dst = append(dst, 0)
		}
		var digits [20]byte
		for _, d := range strconv.AppendInt(digits[:0], int64(n), 10) {
			dst = append(dst, d-'0')
		}
		dst = append(dst, 255)
		if p.Binary {
			dst = AppendBinaryFrameV3(dst, p)
		} else {
			dst = append(dst, '0'+byte(p.Type))
			dst = append(dst, p.Data...)
		}
	}
	return dst, true
}

// DecodeTextV3 decodes one v3 text packet, as found in a WebSocket text
// frame or in a text long-polling payload: a type digit and the data, or
// "b", a type digit and base64 data. Data aliases b for text packets.
func DecodeTextV3(b []byte) (Packet, error) {
	if len(b) == 0 {
		return Packet{}, fmt.Errorf("%w: empty", ErrInvalidPacket)
	}
	if b[0] == 'b' {
		if len(b) < 2 || b[1] < '0' || b[1] > '6' {
			return Packet{}, fmt.Errorf("%w: bad base64 packet type", ErrInvalidPacket)
		}
		enc := base64.StdEncoding
		if len(b[2:])%4 != 0 {
			enc = base64.RawStdEncoding // Node accepts base64 without padding
		}
		data, err := enc.AppendDecode(make([]byte, 0, enc.DecodedLen(len(b)-2)), b[2:])
		if err != nil {
			return Packet{}, fmt.Errorf("%w: bad base64: %w", ErrInvalidPacket, err)
		}
		return Packet{Type: Type(b[1] - '0'), Binary: true, Data: data}, nil
	}
	return DecodeText(b) // the same as v4 for a text packet
}

// DecodeBinaryFrameV3 decodes a v3 WebSocket binary frame: a type byte,
// then the data, which aliases b.
func DecodeBinaryFrameV3(b []byte) (Packet, error) {
	if len(b) == 0 || b[0] > byte(Noop) {
		return Packet{}, fmt.Errorf("%w: bad binary packet type", ErrInvalidPacket)
	}
	return Packet{Type: Type(b[0]), Binary: true, Data: b[1:len(b):len(b)]}, nil
}

// DecodePayloadV3 decodes a v3 text long-polling payload (a POST body of
// any content type but application/octet-stream) and calls fn for each
// packet in order; packets of length zero are skipped, as by the official
// server. It stops at the first invalid packet, returning an error that
// wraps ErrInvalidPacket, or at the first error fn returns. Text packets
// passed to fn alias body.
func DecodePayloadV3(body []byte, fn func(Packet) error) error {
	if len(body) == 0 {
		return fmt.Errorf("%w: empty payload", ErrInvalidPacket)
	}
	for len(body) > 0 {
		n, i := 0, 0
		for ; i < len(body) && body[i] != ':'; i++ {
			c := body[i]
			if c < '0' || c > '9' || i == maxLengthDigits {
				return fmt.Errorf("%w: bad length prefix", ErrInvalidPacket)
			}
			n = n*10 + int(c-'0')
		}
		if i == 0 || i == len(body) {
			return fmt.Errorf("%w: bad length prefix", ErrInvalidPacket)
		}
		body = body[i+1:]
		// n counts UTF-16 code units: find where they end.
		end, units := 0, 0
		for units < n && end < len(body) {
			c := body[end]
			if c < utf8.RuneSelf {
				units++
				end++
				continue
			}
			r, size := utf8.DecodeRune(body[end:])
			if r >= 0x10000 {
				units += 2
			} else {
				units++
			}
			end += size
		}
		if units != n {
			return fmt.Errorf("%w: length does not match the packet", ErrInvalidPacket)
		}
		if end == 0 {
			continue
		}
		p, err := DecodeTextV3(body[:end:end])
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		body = body[end:]
	}
	return nil
}

// DecodeBinaryPayloadV3 decodes a v3 binary long-polling payload (a POST
// body sent as application/octet-stream) and calls fn for each packet in
// order, stopping at the first invalid packet (with an error wrapping
// ErrInvalidPacket) or at the first error fn returns. Data aliases body.
func DecodeBinaryPayloadV3(body []byte, fn func(Packet) error) error {
	for len(body) > 0 {
		isText := body[0] == 0
		if body[0] > 1 {
			return fmt.Errorf("%w: bad binary payload marker", ErrInvalidPacket)
		}
		n, i := 0, 1
		for ; i < len(body) && body[i] != 255; i++ {
			d := body[i]
			if d > 9 || i > maxLengthDigits {
				return fmt.Errorf("%w: bad length prefix", ErrInvalidPacket)
			}
			n = n*10 + int(d)
		}
		if i == 1 || i == len(body) || n > len(body)-i-1 {
			return fmt.Errorf("%w: bad length prefix", ErrInvalidPacket)
		}
		msg := body[i+1 : i+1+n : i+1+n]
		body = body[i+1+n:]
		var (
			p   Packet
			err error
		)
		if isText {
			if !utf8.Valid(msg) {
				return fmt.Errorf("%w: invalid UTF-8", ErrInvalidPacket)
			}
			p, err = DecodeTextV3(msg)
		} else {
			p, err = DecodeBinaryFrameV3(msg)
		}
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}
