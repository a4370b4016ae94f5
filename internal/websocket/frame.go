package websocket

import (
	"encoding/binary"
	"math/bits"
)

// Frame opcodes (RFC 6455, section 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// Frame header bits and limits.
const (
	finBit  = 0x80
	rsvBits = 0x70
	opMask  = 0x0F
	maskBit = 0x80
	lenMask = 0x7F

	// maxControlPayload is the largest payload of a control frame.
	maxControlPayload = 125
)

// frameHeader is a parsed frame header.
type frameHeader struct {
	fin    bool
	op     byte
	masked bool
	rsv1   bool   // compressed message (permessage-deflate)
	key    uint32 // masking key as loaded little-endian from the wire
	length uint64
}

// isControl reports whether op is a control opcode.
func isControl(op byte) bool { return op&0x8 != 0 }

// appendHeader appends a final-frame header for a payload of n bytes with
// opcode op. If masked, key is written as the masking key (little-endian,
// matching how maskBytes consumes it).
func appendHeader(b []byte, op byte, n int, masked bool, key uint32) []byte {
	var m byte
	if masked {
		m = maskBit
	}
	b0 := finBit | op
	switch {
	case n <= 125:
		b = append(b, b0, m|byte(n))
	case n <= 0xFFFF:
		b = append(b, b0, m|126, byte(n>>8), byte(n))
	default:
		b = append(b, b0, m|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if masked {
		b = binary.LittleEndian.AppendUint32(b, key)
	}
	return b
}

// maskBytes XORs b with the masking key, where pos is the offset (mod 4)
// of b[0] within the frame payload. It returns the offset (mod 4) of the
// byte following b, so a payload can be masked in pieces. Masking is its
// own inverse, so the same function unmasks.
//
// key holds the four key octets in wire order, loaded little-endian, which
// lets the main loop XOR eight payload bytes at a time with one uint64.
func maskBytes(key uint32, pos int, b []byte) int {
	end := (pos + len(b)) & 3
	key = bits.RotateLeft32(key, -8*(pos&3))
	k := uint64(key) | uint64(key)<<32
	for len(b) >= 32 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
		binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(b[8:])^k)
		binary.LittleEndian.PutUint64(b[16:], binary.LittleEndian.Uint64(b[16:])^k)
		binary.LittleEndian.PutUint64(b[24:], binary.LittleEndian.Uint64(b[24:])^k)
		b = b[32:]
	}
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
		b = b[8:]
	}
	for i := range b {
		b[i] ^= byte(key)
		key = bits.RotateLeft32(key, -8)
	}
	return end
}

// validCloseCode reports whether code may appear in a close frame on the
// wire (RFC 6455, section 7.4, and the IANA registry).
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003,
		code >= 1007 && code <= 1014,
		code >= 3000 && code <= 4999:
		return true
	}
	return false
}
