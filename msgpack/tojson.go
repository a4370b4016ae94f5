package msgpack

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// ToJSON converts the MessagePack value at the start of msg into the JSON
// text the official Node.js server writes for it: the value as notepack.io
// 3.0.1 decodes it, encoded by socket.io-parser 4.2 (JSON.stringify, with
// every binary value replaced by a placeholder {"_placeholder":true,"num":N}).
// It appends the JSON to dst and returns it with the input that follows the
// value.
//
// Binary values (bin, and what notepack.io decodes to binary) are appended
// to *attachments in traversal order, N being the index there, so numbering
// continues after the attachments already in the list, as with
// parser.AppendValue. The attachments are sub-slices of msg, not copies.
// With attachments nil, binary data is an [ErrBinary] error.
//
// The JSON is what JavaScript makes of the decoded value:
//   - numbers are written as JavaScript formats them; integers beyond 2^53
//     become the nearest double first (2^53+1 is written 9007199254740992),
//     NaN and ±Infinity are null;
//   - strings have invalid UTF-8 replaced by U+FFFD as Node.js's
//     Buffer.toString does, and JSON.stringify's escapes;
//   - a map is an object whose properties are listed as JavaScript lists
//     them: array indexes ("0" to "4294967294") first in numeric order, then
//     the other keys in the order of the input; a repeated key keeps its
//     first place and takes its last value; "__proto__" entries are left out
//     (assigning them sets the object's prototype, so JSON.stringify does
//     not see them); keys are strings or numbers (written as String(n)
//     writes them), anything else is an [ErrMapKey] error (notepack.io
//     would use String(key), such as "null", "[object Object]" or a
//     Buffer's text; JSON has no such keys);
//   - the timestamp extension (type -1 with 4, 8 or 12 bytes of data, in
//     any ext form, as @msgpack/msgpack writes a Date too) is a Date, and
//     notepack.io's own fixext 8 of type 0 a Date of that many
//     milliseconds: written as Date.prototype.toJSON does, the ISO string
//     ("2024-05-01T12:00:00.000Z", years beyond 0-9999 as "+010000"), or
//     null when out of the range of Date (±8.64e15 ms); the milliseconds
//     are computed with notepack.io's double arithmetic;
//   - notepack.io's undefined (fixext 1 of type 0) is null in an array and
//     at the top level, and leaves its key out in a map;
//   - ext 8/16/32 of type 0 is binary (notepack.io decodes it to an
//     ArrayBuffer);
//   - any other extension becomes, as in notepack.io, the array [type,
//     data] with the data as binary: [5,{"_placeholder":true,"num":0}].
//
// Deliberate differences from notepack.io, where it misreads its input or
// the official server fails: the timestamp extension is recognized by its
// data length in every ext form, so a timestamp in ext 16 or 32 is a Date
// (notepack.io returns [-1, data]) and an extension of type -1 whose data
// is not 4, 8 or 12 bytes long is an [ErrInvalid] error (notepack.io reads
// 12 bytes after any ext 8 of type -1, misframing what follows, and
// returns [-1, data] for the other forms); keys that are not strings or
// numbers are errors (above); a "__proto__" entry holding a Date or binary
// data, on which socket.io-parser throws, is left out like the others.
//
// The input is checked as by [Skip] before anything is written, and maps
// are checked for keys. On error, dst is returned truncated to its
// original length, *attachments is left as it was and rest is nil.
func ToJSON(dst, msg []byte, attachments *[][]byte) (json, rest []byte, err error) {
	s := toJSON{msg: msg, atts: attachments}
	end, err := s.scan(0, 0)
	if err != nil {
		return dst, nil, err
	}
	n0, a0 := len(dst), 0
	if attachments != nil {
		a0 = len(*attachments)
	}
	dst, _, err = s.write(dst, 0)
	if err != nil {
		if attachments != nil {
			clear((*attachments)[a0:])
			*attachments = (*attachments)[:a0]
		}
		return dst[:n0], nil, err
	}
	return dst, msg[end:], nil
}

// toJSON is the state of one ToJSON call. A first pass (scan) checks the
// input and finds the maps whose properties JavaScript would list in
// another order than the input's, or without some entries; the second pass
// (write) writes the JSON, taking the precomputed order for those maps. So
// no part of the input is read more than twice, however it is nested.
type toJSON struct {
	msg  []byte
	atts *[][]byte
	slow map[int]*slowMap // by offset: the maps written in another order
}

// keyRec is a map entry seen by scan: its key as a JavaScript string (in
// UTF-8) and the offset of its value.
type keyRec struct {
	key   []byte
	val   int
	undef bool // the value is notepack.io's undefined
}

// slowMap is the JavaScript listing of a map: its entries in order, and
// the offset after the map.
type slowMap struct {
	entries []keyRec
	end     int
}

// scan checks the value at off, nested in depth arrays and maps, and
// returns the offset after it.
func (s *toJSON) scan(off, depth int) (int, error) {
	msg := s.msg
	if off < len(msg) { // fixint, fixstr, nil, false, true
		if c := msg[off]; c < 0x80 || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3 {
			return off + 1, nil
		} else if c >= 0xa0 && c < 0xc0 && off+1+int(c&0x1f) <= len(msg) {
			return off + 1 + int(c&0x1f), nil
		}
	}
	h, err := readHead(msg, off)
	if err != nil {
		return 0, err
	}
	switch h.k {
	case kArray:
		if depth >= MaxDepth {
			return 0, tooDeep(off)
		}
		p := h.end
		for range h.n {
			if p, err = s.scan(p, depth+1); err != nil {
				return 0, err
			}
		}
		return p, nil
	case kMap:
		if depth >= MaxDepth {
			return 0, tooDeep(off)
		}
		// The entries, on the Go stack for the usual small maps.
		var inline [8]keyRec
		ks := inline[:0]
		p := h.end
		for range h.n {
			var kh head
			if p >= len(msg) {
				return 0, fmt.Errorf("%w: input ends inside a map", ErrTruncated)
			}
			if c := msg[p]; c >= 0xa0 && c < 0xc0 && p+1+int(c&0x1f) <= len(msg) { // fixstr
				kh = head{k: kStr, p: p + 1, end: p + 1 + int(c&0x1f)}
			} else if kh, err = readHead(msg, p); err != nil {
				return 0, err
			}
			var k []byte
			switch kh.k {
			case kStr:
				if k = msg[kh.p:kh.end]; !utf8.Valid(k) {
					k = appendUTF8(nil, k)
				}
			case kInt, kUint, kFloat:
				k = appendKeyNumber(nil, kh)
			default:
				return 0, fmt.Errorf("%w: %s key at offset %d", ErrMapKey, kindName[kh.k], p)
			}
			v := kh.end
			if p, err = s.scan(v, depth+1); err != nil {
				return 0, err
			}
			ks = append(ks, keyRec{key: k, val: v, undef: msg[v] == 0xd4 && msg[v+1] == 0})
		}
		order := jsOrder(len(ks), func(i int) []byte { return ks[i].key })
		if order == nil {
			for _, r := range ks {
				if r.undef || string(r.key) == "__proto__" {
					order = make([]int, len(ks))
					for i := range order {
						order[i] = i
					}
					break
				}
			}
		}
		if order != nil {
			m := &slowMap{entries: make([]keyRec, 0, len(order)), end: p}
			for _, i := range order {
				if r := ks[i]; !r.undef && string(r.key) != "__proto__" {
					m.entries = append(m.entries, r)
				}
			}
			if s.slow == nil {
				s.slow = make(map[int]*slowMap)
			}
			s.slow[off] = m
		}
		return p, nil
	case kExt:
		if h.et == -1 && h.n != 4 && h.n != 8 && h.n != 12 {
			return 0, fmt.Errorf("%w: timestamp extension of %d bytes at offset %d", ErrInvalid, h.n, off)
		}
	}
	return h.end, nil
}

// write appends the JSON of the value at off, which scan accepted, and
// returns the offset after it.
func (s *toJSON) write(dst []byte, off int) ([]byte, int, error) {
	msg := s.msg
	if off < len(msg) { // fixint, fixstr
		if c := msg[off]; c < 0x80 {
			return strconv.AppendUint(dst, uint64(c), 10), off + 1, nil
		} else if c >= 0xa0 && c < 0xc0 && off+1+int(c&0x1f) <= len(msg) {
			end := off + 1 + int(c&0x1f)
			return appendJSONString(dst, msg[off+1:end]), end, nil
		}
	}
	h, err := readHead(msg, off)
	if err != nil {
		return dst, 0, err
	}
	switch h.k {
	case kNil:
		return append(dst, "null"...), h.end, nil
	case kFalse:
		return append(dst, "false"...), h.end, nil
	case kTrue:
		return append(dst, "true"...), h.end, nil
	case kInt, kUint, kFloat:
		return appendNumber(dst, h), h.end, nil
	case kStr:
		return appendJSONString(dst, msg[h.p:h.end]), h.end, nil
	case kBin:
		dst, err = s.binary(dst, msg[h.p:h.end:h.end])
		return dst, h.end, err
	case kExt:
		dst, err = s.ext(dst, msg[off], h)
		return dst, h.end, err
	case kArray:
		dst = append(dst, '[')
		p := h.end
		for i := range h.n {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, p, err = s.write(dst, p); err != nil {
				return dst, 0, err
			}
		}
		return append(dst, ']'), p, nil
	}
	// kMap
	dst = append(dst, '{')
	if m := s.slow[off]; m != nil {
		for i, e := range m.entries {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, e.key)
			dst = append(dst, ':')
			if dst, _, err = s.write(dst, e.val); err != nil {
				return dst, 0, err
			}
		}
		return append(dst, '}'), m.end, nil
	}
	p := h.end
	for i := range h.n {
		if i > 0 {
			dst = append(dst, ',')
		}
		if p < len(msg) && msg[p] >= 0xa0 && msg[p] < 0xc0 && p+1+int(msg[p]&0x1f) <= len(msg) { // fixstr
			end := p + 1 + int(msg[p]&0x1f)
			dst = appendJSONString(dst, msg[p+1:end])
			dst = append(dst, ':')
			if dst, p, err = s.write(dst, end); err != nil {
				return dst, 0, err
			}
			continue
		}
		kh, err := readHead(msg, p)
		if err != nil {
			return dst, 0, err
		}
		if kh.k == kStr {
			dst = appendJSONString(dst, msg[kh.p:kh.end])
		} else {
			dst = append(dst, '"')
			dst = appendKeyNumber(dst, kh)
			dst = append(dst, '"')
		}
		dst = append(dst, ':')
		if dst, p, err = s.write(dst, kh.end); err != nil {
			return dst, 0, err
		}
	}
	return append(dst, '}'), p, nil
}

// binary appends the placeholder of the attachment b.
func (s *toJSON) binary(dst, b []byte) ([]byte, error) {
	if s.atts == nil {
		return dst, fmt.Errorf("%w (%d bytes)", ErrBinary, len(b))
	}
	dst = append(dst, `{"_placeholder":true,"num":`...)
	dst = strconv.AppendInt(dst, int64(len(*s.atts)), 10)
	*s.atts = append(*s.atts, b)
	return append(dst, '}'), nil
}

// ext appends the JSON of the extension h, whose type byte is c, as
// notepack.io decodes it.
func (s *toJSON) ext(dst []byte, c byte, h head) ([]byte, error) {
	data := s.msg[h.p:h.end:h.end]
	switch h.et {
	case -1:
		return appendDate(dst, timestampMillis(data)), nil
	case 0:
		switch c {
		case 0xd4: // undefined
			return append(dst, "null"...), nil
		case 0xd7: // notepack.io's former Date: milliseconds as int 64
			hi := float64(int32(binary.BigEndian.Uint32(data)))
			lo := float64(binary.BigEndian.Uint32(data[4:]))
			return appendDate(dst, float64(hi*(1<<32))+lo), nil
		case 0xc7, 0xc8, 0xc9: // an ArrayBuffer
			return s.binary(dst, data)
		}
	}
	dst = append(dst, '[')
	dst = strconv.AppendInt(dst, int64(h.et), 10)
	dst = append(dst, ',')
	dst, err := s.binary(dst, data)
	return append(dst, ']'), err
}

// timestampMillis returns the time value of the timestamp data (4, 8 or 12
// bytes) as notepack.io computes it in double arithmetic: seconds * 1e3 +
// nanoseconds / 1e6. The conversions keep Go from fusing the operations.
func timestampMillis(d []byte) float64 {
	switch len(d) {
	case 4:
		return float64(binary.BigEndian.Uint32(d)) * 1e3
	case 8:
		hi, lo := binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:])
		sec := float64(hi&3)*(1<<32) + float64(lo)
		return float64(sec*1e3) + float64(hi>>2)/1e6
	}
	ns := float64(binary.BigEndian.Uint32(d))
	hi := float64(int32(binary.BigEndian.Uint32(d[4:])))
	sec := float64(hi*(1<<32)) + float64(binary.BigEndian.Uint32(d[8:]))
	return float64(sec*1e3) + ns/1e6
}

// maxTime is the largest magnitude of a JavaScript Date's time value.
const maxTime = 8.64e15

// appendDate appends JSON.stringify(new Date(t)): the ISO string of the
// time value, or null for an invalid date.
func appendDate(dst []byte, t float64) []byte {
	if math.IsNaN(t) || math.Abs(t) > maxTime {
		return append(dst, "null"...)
	}
	tm := time.UnixMilli(int64(t)).UTC() // int64 truncates, as TimeClip
	dst = append(dst, '"')
	y := tm.Year()
	if y >= 0 && y <= 9999 {
		dst = appendDigits(dst, y, 4)
	} else {
		if y < 0 {
			dst = append(dst, '-')
			y = -y
		} else {
			dst = append(dst, '+')
		}
		dst = appendDigits(dst, y, 6)
	}
	dst = append(dst, '-')
	dst = appendDigits(dst, int(tm.Month()), 2)
	dst = append(dst, '-')
	dst = appendDigits(dst, tm.Day(), 2)
	dst = append(dst, 'T')
	dst = appendDigits(dst, tm.Hour(), 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, tm.Minute(), 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, tm.Second(), 2)
	dst = append(dst, '.')
	dst = appendDigits(dst, tm.Nanosecond()/1e6, 3)
	return append(dst, 'Z', '"')
}

// appendDigits appends the non-negative v in decimal with at least width
// digits.
func appendDigits(dst []byte, v, width int) []byte {
	var buf [20]byte
	b := strconv.AppendInt(buf[:0], int64(v), 10)
	for i := len(b); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, b...)
}
