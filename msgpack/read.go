package msgpack

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// kind is the type of a MessagePack value.
type kind uint8

const (
	kNil kind = iota
	kFalse
	kTrue
	kInt   // h.i
	kUint  // h.u, only for uint 64 values of 2^63 or more
	kFloat // h.f (float 32 widened, or float 64)
	kStr   // h.n bytes at h.p
	kBin   // h.n bytes at h.p
	kArray // h.n elements from h.p
	kMap   // h.n entries from h.p
	kExt   // type h.et, h.n bytes at h.p
)

// head is one decoded MessagePack header.
type head struct {
	k   kind
	et  int8    // extension type
	n   int     // payload length or element count
	p   int     // offset of the payload or of the first element
	end int     // offset after the value; for arrays and maps, after the header
	i   int64   // kInt
	u   uint64  // kUint
	f   float64 // kFloat
}

// readHead reads the header of the value at b[off:]. The payload of str,
// bin and ext values is checked to be in b; for arrays and maps, the count
// is checked against the bytes left (at least one per element, two per
// entry), so that nothing is ever allocated for a length the input cannot
// hold.
func readHead(b []byte, off int) (h head, err error) {
	if off >= len(b) {
		return h, fmt.Errorf("%w: value expected at offset %d", ErrTruncated, off)
	}
	c := b[off]
	p := off + 1
	switch {
	case c < 0x80:
		return head{k: kInt, i: int64(c), end: p}, nil
	case c >= 0xe0:
		return head{k: kInt, i: int64(int8(c)), end: p}, nil
	case c < 0x90:
		return container(b, off, kMap, uint64(c&0x0f), p)
	case c < 0xa0:
		return container(b, off, kArray, uint64(c&0x0f), p)
	case c < 0xc0:
		return payload(b, off, kStr, 0, uint64(c&0x1f), p)
	}
	// Fixed-size headers: c0..df.
	size := int(headSize[c-0xc0]) - 1
	if size < 0 {
		return h, fmt.Errorf("%w: type byte 0xc1 at offset %d", ErrInvalid, off)
	}
	if len(b)-p < size {
		return h, fmt.Errorf("%w: header 0x%02x at offset %d needs %d bytes, %d left", ErrTruncated, c, off, size, len(b)-p)
	}
	end := p + size
	x := b[p:end]
	switch c {
	case 0xc0:
		return head{k: kNil, end: end}, nil
	case 0xc2:
		return head{k: kFalse, end: end}, nil
	case 0xc3:
		return head{k: kTrue, end: end}, nil
	case 0xc4, 0xd9:
		return payload(b, off, kindOf(c), 0, uint64(x[0]), end)
	case 0xc5, 0xda:
		return payload(b, off, kindOf(c), 0, uint64(binary.BigEndian.Uint16(x)), end)
	case 0xc6, 0xdb:
		return payload(b, off, kindOf(c), 0, uint64(binary.BigEndian.Uint32(x)), end)
	case 0xc7:
		return payload(b, off, kExt, int8(x[1]), uint64(x[0]), end)
	case 0xc8:
		return payload(b, off, kExt, int8(x[2]), uint64(binary.BigEndian.Uint16(x)), end)
	case 0xc9:
		return payload(b, off, kExt, int8(x[4]), uint64(binary.BigEndian.Uint32(x)), end)
	case 0xca:
		return head{k: kFloat, f: float64(math.Float32frombits(binary.BigEndian.Uint32(x))), end: end}, nil
	case 0xcb:
		return head{k: kFloat, f: math.Float64frombits(binary.BigEndian.Uint64(x)), end: end}, nil
	case 0xcc:
		return head{k: kInt, i: int64(x[0]), end: end}, nil
	case 0xcd:
		return head{k: kInt, i: int64(binary.BigEndian.Uint16(x)), end: end}, nil
	case 0xce:
		return head{k: kInt, i: int64(binary.BigEndian.Uint32(x)), end: end}, nil
	case 0xcf:
		u := binary.BigEndian.Uint64(x)
		if u > math.MaxInt64 {
			return head{k: kUint, u: u, end: end}, nil
		}
		return head{k: kInt, i: int64(u), end: end}, nil
	case 0xd0:
		return head{k: kInt, i: int64(int8(x[0])), end: end}, nil
	case 0xd1:
		return head{k: kInt, i: int64(int16(binary.BigEndian.Uint16(x))), end: end}, nil
	case 0xd2:
		return head{k: kInt, i: int64(int32(binary.BigEndian.Uint32(x))), end: end}, nil
	case 0xd3:
		return head{k: kInt, i: int64(binary.BigEndian.Uint64(x)), end: end}, nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return payload(b, off, kExt, int8(x[0]), 1<<(c-0xd4), end)
	case 0xdc:
		return container(b, off, kArray, uint64(binary.BigEndian.Uint16(x)), end)
	case 0xdd:
		return container(b, off, kArray, uint64(binary.BigEndian.Uint32(x)), end)
	case 0xde:
		return container(b, off, kMap, uint64(binary.BigEndian.Uint16(x)), end)
	default: // 0xdf
		return container(b, off, kMap, uint64(binary.BigEndian.Uint32(x)), end)
	}
}

// headSize is one more than the size of the header after the type byte,
// for the type bytes 0xc0 to 0xdf; 0 marks 0xc1, which is never used.
var headSize = [32]uint8{
	0x00: 1,       // 0xc0 nil
	0x02: 1,       // 0xc2 false
	0x03: 1,       // 0xc3 true
	0x04: 2, 3, 5, // 0xc4-0xc6 bin 8/16/32
	0x07: 3, 4, 6, // 0xc7-0xc9 ext 8/16/32
	0x0a: 5, 9, // 0xca, 0xcb float 32/64
	0x0c: 2, 3, 5, 9, // 0xcc-0xcf uint 8/16/32/64
	0x10: 2, 3, 5, 9, // 0xd0-0xd3 int 8/16/32/64
	0x14: 2, 2, 2, 2, 2, // 0xd4-0xd8 fixext 1/2/4/8/16: the type byte
	0x19: 2, 3, 5, // 0xd9-0xdb str 8/16/32
	0x1c: 3, 5, // 0xdc, 0xdd array 16/32
	0x1e: 3, 5, // 0xde, 0xdf map 16/32
}

// kindOf maps the bin and str header bytes to their kind.
func kindOf(c byte) kind {
	if c >= 0xd9 {
		return kStr
	}
	return kBin
}

// payload completes the head of a str, bin or ext of n bytes starting at p.
func payload(b []byte, off int, k kind, et int8, n uint64, p int) (head, error) {
	if n > uint64(len(b)-p) {
		return head{}, fmt.Errorf("%w: %s of %d bytes at offset %d, %d left", ErrTruncated, kindName[k], n, off, len(b)-p)
	}
	return head{k: k, et: et, n: int(n), p: p, end: p + int(n)}, nil
}

// container completes the head of an array or map of n elements starting
// at p.
func container(b []byte, off int, k kind, n uint64, p int) (head, error) {
	min := n
	if k == kMap {
		min *= 2
	}
	if min > uint64(len(b)-p) {
		return head{}, fmt.Errorf("%w: %s of %d elements at offset %d, %d bytes left", ErrTruncated, kindName[k], n, off, len(b)-p)
	}
	return head{k: k, n: int(n), p: p, end: p}, nil
}

var kindName = [...]string{
	kNil: "nil", kFalse: "false", kTrue: "true", kInt: "int", kUint: "uint", kFloat: "float",
	kStr: "str", kBin: "bin", kArray: "array", kMap: "map", kExt: "ext",
}

// Skip returns the input after the MessagePack value at the start of b,
// checking that the value is complete and well formed: no 0xc1 byte, every
// length within the input, at most MaxDepth levels of arrays and maps. It
// does not look at map keys or extension data. On error, rest is nil.
func Skip(b []byte) (rest []byte, err error) {
	end, err := skip(b, 0, 0)
	if err != nil {
		return nil, err
	}
	return b[end:], nil
}

// skip returns the offset after the value at b[off:], which is nested in
// depth arrays and maps.
func skip(b []byte, off, depth int) (int, error) {
	h, err := readHead(b, off)
	if err != nil {
		return 0, err
	}
	switch h.k {
	case kArray, kMap:
		if depth >= MaxDepth {
			return 0, tooDeep(off)
		}
		n := h.n
		if h.k == kMap {
			n *= 2
		}
		off = h.end
		for range n {
			// Fixints and fixstrs inline: most elements are.
			if off < len(b) {
				if c := b[off]; c < 0x80 || c >= 0xe0 {
					off++
					continue
				} else if c >= 0xa0 && c < 0xc0 && off+1+int(c&0x1f) <= len(b) {
					off += 1 + int(c&0x1f)
					continue
				}
			}
			if off, err = skip(b, off, depth+1); err != nil {
				return 0, err
			}
		}
		return off, nil
	}
	return h.end, nil
}

func tooDeep(off int) error {
	return fmt.Errorf("%w: more than %d levels at offset %d", ErrTooDeep, MaxDepth, off)
}

// Ext is a MessagePack extension value as [Decode] returns it: its type and
// its data, a sub-slice of the input.
type Ext struct {
	Type int8
	Data []byte
}

// Time returns the time held by a timestamp extension (type -1 with 4, 8
// or 12 bytes of data, as the MessagePack specification defines them), and
// false for any other extension.
func (e Ext) Time() (time.Time, bool) {
	if e.Type != -1 {
		return time.Time{}, false
	}
	d := e.Data
	switch len(d) {
	case 4:
		return time.Unix(int64(binary.BigEndian.Uint32(d)), 0), true
	case 8:
		v := binary.BigEndian.Uint64(d)
		return time.Unix(int64(v&(1<<34-1)), int64(v>>34)), true
	case 12:
		return time.Unix(int64(binary.BigEndian.Uint64(d[4:])), int64(binary.BigEndian.Uint32(d))), true
	}
	return time.Time{}, false
}

// Decode decodes the MessagePack value at the start of b and returns it
// with the input that follows it. It is meant for the envelopes of broker
// messages (ids, types, room lists); use [ToJSON] for packet data. Values
// are:
//   - nil for nil, bool for true and false;
//   - int64 for every integer that fits, uint64 for uint 64 values of 2^63
//     or more; float64 for float 32 and float 64;
//   - string for str, with invalid UTF-8 replaced by U+FFFD as Node.js's
//     Buffer.toString does (one per maximal invalid subsequence);
//   - []byte for bin, a sub-slice of b (not a copy);
//   - []any for arrays, map[string]any for maps; a key is a string or a
//     number, written as JavaScript's String(n) writes it (the later of
//     equal keys wins); other keys are an [ErrMapKey] error;
//   - [Ext] for every extension, timestamps and notepack.io's undefined
//     (fixext 1 of type 0) included, its Data a sub-slice of b.
//
// Decode checks what [Skip] checks. Memory allocated is proportional to
// the input actually decoded, never to a length a header claims. On error,
// v and rest are nil.
func Decode(b []byte) (v any, rest []byte, err error) {
	v, end, err := decode(b, 0, 0)
	if err != nil {
		return nil, nil, err
	}
	return v, b[end:], nil
}

// preallocMax bounds the capacity reserved from a header's count; beyond
// it, slices and maps grow as elements actually arrive.
const preallocMax = 32

func decode(b []byte, off, depth int) (any, int, error) {
	h, err := readHead(b, off)
	if err != nil {
		return nil, 0, err
	}
	switch h.k {
	case kNil:
		return nil, h.end, nil
	case kFalse:
		return false, h.end, nil
	case kTrue:
		return true, h.end, nil
	case kInt:
		return h.i, h.end, nil
	case kUint:
		return h.u, h.end, nil
	case kFloat:
		return h.f, h.end, nil
	case kStr:
		return jsString(b[h.p:h.end]), h.end, nil
	case kBin:
		return b[h.p:h.end:h.end], h.end, nil
	case kExt:
		return Ext{Type: h.et, Data: b[h.p:h.end:h.end]}, h.end, nil
	case kArray:
		if depth >= MaxDepth {
			return nil, 0, tooDeep(off)
		}
		a := make([]any, 0, min(h.n, preallocMax))
		off = h.end
		for range h.n {
			var v any
			if v, off, err = decode(b, off, depth+1); err != nil {
				return nil, 0, err
			}
			a = append(a, v)
		}
		return a, off, nil
	}
	// kMap
	if depth >= MaxDepth {
		return nil, 0, tooDeep(off)
	}
	m := make(map[string]any, min(h.n, preallocMax))
	off = h.end
	for range h.n {
		var k string
		if k, off, err = readKey(b, off); err != nil {
			return nil, 0, err
		}
		var v any
		if v, off, err = decode(b, off, depth+1); err != nil {
			return nil, 0, err
		}
		m[k] = v
	}
	return m, off, nil
}

// jsString returns the string Node.js decodes from the UTF-8 bytes s.
func jsString(s []byte) string {
	if utf8.Valid(s) {
		return string(s)
	}
	return string(appendUTF8(nil, s))
}

// readKey reads a map key, a string or a number, as the string
// JavaScript's property key conversion gives.
func readKey(b []byte, off int) (string, int, error) {
	h, err := readHead(b, off)
	if err != nil {
		return "", 0, err
	}
	switch h.k {
	case kStr:
		return jsString(b[h.p:h.end]), h.end, nil
	case kInt, kUint, kFloat:
		var buf [32]byte
		return string(appendKeyNumber(buf[:0], h)), h.end, nil
	}
	return "", 0, fmt.Errorf("%w: %s key at offset %d", ErrMapKey, kindName[h.k], off)
}

// MapEntries calls fn for each entry of the map at the start of b, in the
// order of the input, with its key (read as [Decode] reads keys) and the
// raw MessagePack bytes of its value, a sub-slice of b checked by [Skip].
// It returns the input after the map. An error of fn stops the walk and is
// returned as it is. A value that is not a map is an [ErrType] error.
func MapEntries(b []byte, fn func(key string, value []byte) error) (rest []byte, err error) {
	h, err := readHead(b, 0)
	if err != nil {
		return nil, err
	}
	if h.k != kMap {
		return nil, fmt.Errorf("%w: %s, not a map", ErrType, kindName[h.k])
	}
	off := h.end
	for range h.n {
		var k string
		if k, off, err = readKey(b, off); err != nil {
			return nil, err
		}
		end, err := skip(b, off, 1)
		if err != nil {
			return nil, err
		}
		if err := fn(k, b[off:end:end]); err != nil {
			return nil, err
		}
		off = end
	}
	return b[off:], nil
}

// ArrayItems calls fn for each element of the array at the start of b with
// its raw MessagePack bytes, a sub-slice of b checked by [Skip], and
// returns the input after the array. An error of fn stops the walk and is
// returned as it is. A value that is not an array is an [ErrType] error.
func ArrayItems(b []byte, fn func(value []byte) error) (rest []byte, err error) {
	h, err := readHead(b, 0)
	if err != nil {
		return nil, err
	}
	if h.k != kArray {
		return nil, fmt.Errorf("%w: %s, not an array", ErrType, kindName[h.k])
	}
	off := h.end
	for range h.n {
		end, err := skip(b, off, 1)
		if err != nil {
			return nil, err
		}
		if err := fn(b[off:end:end]); err != nil {
			return nil, err
		}
		off = end
	}
	return b[off:], nil
}
