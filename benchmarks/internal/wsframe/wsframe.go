// Package wsframe builds the server-to-client WebSocket frames of the
// benchmark floors (cmd/rawfloor, cmd/relay): unmasked, unfragmented.
package wsframe

import "encoding/binary"

// Text appends a text frame carrying p to b.
func Text(b, p []byte) []byte {
	b = append(b, 0x81)
	switch n := len(p); {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, p...)
}

// Control returns a control frame of opcode op carrying p (at most 125
// bytes).
func Control(op byte, p []byte) []byte {
	return append([]byte{0x80 | op, byte(len(p))}, p...)
}
