package msgpack

import "math"

// The writers below append one MessagePack value or header to dst and
// return the extended buffer. Each picks the form notepack.io 3.0.1 picks
// for the corresponding JavaScript value: the shortest one, with str 8
// (0xd9) for strings of 32 to 255 bytes.

// AppendNil appends nil (0xc0), which notepack.io writes for null and
// undefined.
func AppendNil(dst []byte) []byte {
	return append(dst, 0xc0)
}

// AppendBool appends false (0xc2) or true (0xc3).
func AppendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 0xc3)
	}
	return append(dst, 0xc2)
}

// AppendString appends s as a MessagePack str: fixstr below 32 bytes, then
// str 8, str 16 and str 32. The bytes of s are written as they are; a
// receiver decodes invalid UTF-8 to U+FFFD.
//
// AppendString panics if s is 2^32 bytes or longer, which MessagePack
// cannot represent (notepack.io throws "String too long").
func AppendString(dst []byte, s string) []byte {
	return append(appendStrHeader(dst, len(s)), s...)
}

// appendStrHeader appends the header of a str of n bytes.
func appendStrHeader(dst []byte, n int) []byte {
	switch {
	case n < 32:
		return append(dst, 0xa0|byte(n))
	case n < 1<<8:
		return append(dst, 0xd9, byte(n))
	case n < 1<<16:
		return append(dst, 0xda, byte(n>>8), byte(n))
	case uint64(n) < 1<<32:
		return append(dst, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	panic("msgpack: string too long")
}

// strHeaderLen is the size of the str header appendStrHeader writes for n
// bytes, 0 when n is too large.
func strHeaderLen(n int) int {
	switch {
	case n < 32:
		return 1
	case n < 1<<8:
		return 2
	case n < 1<<16:
		return 3
	case uint64(n) < 1<<32:
		return 5
	}
	return 0
}

// AppendBinary appends b as a MessagePack bin (bin 8, bin 16 or bin 32), as
// notepack.io writes a Buffer. A nil b is an empty bin, not nil.
//
// AppendBinary panics if b is 2^32 bytes or longer.
func AppendBinary(dst []byte, b []byte) []byte {
	n := len(b)
	switch {
	case n < 1<<8:
		dst = append(dst, 0xc4, byte(n))
	case n < 1<<16:
		dst = append(dst, 0xc5, byte(n>>8), byte(n))
	case uint64(n) < 1<<32:
		dst = append(dst, 0xc6, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	default:
		panic("msgpack: binary too long")
	}
	return append(dst, b...)
}

// AppendArrayHeader appends the header of an array of n elements (fixarray,
// array 16 or array 32); the n elements must follow.
//
// AppendArrayHeader panics if n is negative or 2^32 or more.
func AppendArrayHeader(dst []byte, n int) []byte {
	return appendContainerHeader(dst, n, 0x90, 0xdc)
}

// AppendMapHeader appends the header of a map of n entries (fixmap, map 16
// or map 32); n keys, each followed by its value, must follow.
//
// AppendMapHeader panics if n is negative or 2^32 or more.
func AppendMapHeader(dst []byte, n int) []byte {
	return appendContainerHeader(dst, n, 0x80, 0xde)
}

// appendContainerHeader appends an array (fix 0x90, b16 0xdc) or map (fix
// 0x80, b16 0xde) header; the 32-bit form is b16+1.
func appendContainerHeader(dst []byte, n int, fix, b16 byte) []byte {
	switch {
	case n < 0:
		panic("msgpack: negative length")
	case n < 16:
		return append(dst, fix|byte(n))
	case n < 1<<16:
		return append(dst, b16, byte(n>>8), byte(n))
	case uint64(n) < 1<<32:
		return append(dst, b16+1, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	panic("msgpack: too many elements")
}

// containerHeaderLen is the size of the header appendContainerHeader writes
// for n elements.
func containerHeaderLen(n int) int {
	switch {
	case n < 16:
		return 1
	case n < 1<<16:
		return 3
	}
	return 5
}

// AppendInt appends v in the shortest integer form, as notepack.io writes a
// JavaScript integer: v ≥ 0 as by [AppendUint]; negative fixint down to
// -32, then int 8, int 16, int 32, and int 64 below -2^31.
func AppendInt(dst []byte, v int64) []byte {
	switch {
	case v >= 0:
		return AppendUint(dst, uint64(v))
	case v >= -32:
		return append(dst, byte(v))
	case v >= math.MinInt8:
		return append(dst, 0xd0, byte(v))
	case v >= math.MinInt16:
		return append(dst, 0xd1, byte(v>>8), byte(v))
	case v >= math.MinInt32:
		return append(dst, 0xd2, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return appendBE64(append(dst, 0xd3), uint64(v))
}

// AppendUint appends v in the shortest unsigned form, as notepack.io
// writes a non-negative JavaScript integer: positive fixint below 128, then
// uint 8, uint 16, uint 32, and uint 64 from 2^32.
func AppendUint(dst []byte, v uint64) []byte {
	switch {
	case v < 0x80:
		return append(dst, byte(v))
	case v <= math.MaxUint8:
		return append(dst, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return append(dst, 0xcd, byte(v>>8), byte(v))
	case v <= math.MaxUint32:
		return append(dst, 0xce, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return appendBE64(append(dst, 0xcf), v)
}

// AppendFloat appends f as notepack.io writes a JavaScript number:
//   - an integral finite f in [-2^63, 2^64) in the integer form of
//     [AppendInt] or [AppendUint], so 3.0 is the fixint 0x03 and -0 is 0x00;
//   - anything else as float 64 (0xcb): fractions, NaN (always as the
//     quiet NaN 0x7ff8000000000000 JavaScript writes) and ±Infinity.
//
// One deliberate difference: notepack.io writes an integral number of
// magnitude 2^64 or more, or below -2^63, as an integer holding the value
// modulo 2^64 (1e21 arrives as 3875820019684212736, 1e300 as 0);
// AppendFloat writes it as float 64, which keeps the value.
func AppendFloat(dst []byte, f float64) []byte {
	if f == math.Trunc(f) { // false for NaN; true for ±Inf, excluded below
		if f >= 0 && f < 1<<64 {
			return AppendUint(dst, uint64(f)) // -0 too
		}
		if f < 0 && f >= math.MinInt64 {
			return AppendInt(dst, int64(f))
		}
	}
	bits := math.Float64bits(f)
	if f != f {
		bits = 0x7ff8000000000000
	}
	return appendBE64(append(dst, 0xcb), bits)
}

func appendBE64(dst []byte, v uint64) []byte {
	return append(dst, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
		byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}
