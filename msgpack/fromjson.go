package msgpack

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// FromJSON converts the JSON text json, one value with optional whitespace
// around it (the raw JSON of a socket.io packet, such as parser.Packet's
// Data), into MessagePack appended to dst: the bytes notepack.io 3.0.1
// writes for what JSON.parse returns, after socket.io-parser put back the
// binary attachments.
//
// A placeholder object, {"_placeholder":true,"num":N} with N an integer
// index into attachments (recognized as package parser does: the last
// "_placeholder" member is true, the last "num" member an integral number
// in range, other members ignored), becomes a bin holding attachments[N].
// Other objects, placeholders with an invalid N included, stay objects;
// with attachments nil, so do all placeholders. socket.io clients refer to
// each attachment once; placeholders may repeat one, but the bytes copied
// from attachments may not exceed their total size ([ErrTooLarge]), so
// that the output stays within len(json) plus that total.
//
// Values are written as notepack.io writes what JavaScript holds:
//   - objects keep the order of JSON.parse: array indexes ("0" to
//     "4294967294") first in numeric order, then the other keys in the
//     order of the text; a repeated key keeps its first place and takes its
//     last value; "__proto__" is an ordinary key;
//   - numbers are parsed as JavaScript does (the nearest double, 1e400 is
//     Infinity) and written by [AppendFloat]: integral values as integers
//     (1e2 is the fixint 100, -0 is 0), others as float 64;
//   - strings as str, with escapes decoded and invalid UTF-8 replaced by
//     U+FFFD as Node.js's Buffer.toString does.
//
// Deliberate differences from notepack.io: an integer literal beyond 2^53
// that fits int64 or uint64 is written exactly (notepack.io writes the
// double JSON.parse rounded it to: 9007199254740993 becomes
// 9007199254740992); an integral value of 2^64 or more, or below -2^63, is
// float 64 (see [AppendFloat]); an escaped unpaired surrogate ("\ud800")
// is U+FFFD, as Buffer.write writes it (notepack.io writes strings of up
// to 32 UTF-16 units with its own encoder, which merges an unpaired
// surrogate with the next character).
//
// Nesting deeper than [MaxDepth] is an [ErrTooDeep] error; malformed JSON
// an [ErrInvalidJSON] error. On error, dst is returned truncated to its
// original length.
func FromJSON(dst, json []byte, attachments [][]byte) ([]byte, error) {
	s := fromJSON{in: json, atts: attachments}
	for _, a := range attachments {
		s.budget += len(a)
	}
	n0 := len(dst)
	i := skipWS(json, 0)
	dst, i, err := s.value(dst, i, 0)
	if err == nil {
		if i = skipWS(json, i); i != len(json) {
			err = s.syntax(i, "after the value")
		}
	}
	if err != nil {
		return dst[:n0], err
	}
	return dst, nil
}

// fromJSON is the state of one FromJSON call.
type fromJSON struct {
	in     []byte
	atts   [][]byte
	budget int // attachment bytes that may still be copied
}

// objEntry is an object member written to dst: the entry from start to end,
// its key's bytes from kStart to kEnd.
type objEntry struct {
	start, kStart, kEnd, end int
}

func (s *fromJSON) syntax(i int, what string) error {
	if i >= len(s.in) {
		return fmt.Errorf("%w: unexpected end of input", ErrInvalidJSON)
	}
	return fmt.Errorf("%w: unexpected %q at offset %d %s", ErrInvalidJSON, s.in[i], i, what)
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value converts the JSON value at in[i:] (no whitespace before it), nested
// in depth arrays and objects, and returns the offset after it.
func (s *fromJSON) value(dst []byte, i, depth int) ([]byte, int, error) {
	in := s.in
	if i >= len(in) {
		return dst, i, s.syntax(i, "")
	}
	var err error
	switch c := in[i]; c {
	case '{':
		return s.object(dst, i, depth)
	case '[':
		return s.array(dst, i, depth)
	case '"':
		dst, i, err = s.str(dst, i)
		return dst, i, err
	case 't':
		if len(in)-i >= 4 && string(in[i:i+4]) == "true" {
			return append(dst, 0xc3), i + 4, nil
		}
	case 'f':
		if len(in)-i >= 5 && string(in[i:i+5]) == "false" {
			return append(dst, 0xc2), i + 5, nil
		}
	case 'n':
		if len(in)-i >= 4 && string(in[i:i+4]) == "null" {
			return append(dst, 0xc0), i + 4, nil
		}
	default:
		if c == '-' || c >= '0' && c <= '9' {
			dst, i, err = s.number(dst, i)
			return dst, i, err
		}
	}
	return dst, i, s.syntax(i, "where a value was expected")
}

func (s *fromJSON) array(dst []byte, i, depth int) ([]byte, int, error) {
	if depth >= MaxDepth {
		return dst, i, tooDeep(i)
	}
	in := s.in
	hdr := len(dst)
	dst = append(dst, 0x90)
	i = skipWS(in, i+1)
	if i < len(in) && in[i] == ']' {
		return dst, i + 1, nil
	}
	n := 0
	for {
		var err error
		if dst, i, err = s.value(dst, i, depth+1); err != nil {
			return dst, i, err
		}
		n++
		if i = skipWS(in, i); i < len(in) && in[i] == ',' {
			i = skipWS(in, i+1)
			continue
		}
		if i < len(in) && in[i] == ']' {
			dst, err = fixHeader(dst, hdr, n, 0x90, 0xdc)
			return dst, i + 1, err
		}
		return dst, i, s.syntax(i, "in an array")
	}
}

func (s *fromJSON) object(dst []byte, i, depth int) ([]byte, int, error) {
	if depth >= MaxDepth {
		return dst, i, tooDeep(i)
	}
	in := s.in
	hdr := len(dst)
	dst = append(dst, 0x80)
	i = skipWS(in, i+1)
	if i < len(in) && in[i] == '}' {
		return dst, i + 1, nil
	}
	// The members, to put them in JavaScript's order; on the Go stack
	// for the usual small objects.
	var inline [8]objEntry
	members, budget := inline[:0], s.budget
	ph, numOK, num := false, false, 0
	for {
		if i >= len(in) || in[i] != '"' {
			return dst, i, s.syntax(i, "where a key was expected")
		}
		start := len(dst)
		var err error
		if dst, i, err = s.str(dst, i); err != nil {
			return dst, i, err
		}
		kStart, kEnd := start+strHeaderAt(dst[start]), len(dst)
		if i = skipWS(in, i); i >= len(in) || in[i] != ':' {
			return dst, i, s.syntax(i, "where ':' was expected")
		}
		i = skipWS(in, i+1)
		vStart, vi := len(dst), i
		if dst, i, err = s.value(dst, i, depth+1); err != nil {
			return dst, i, err
		}
		switch string(dst[kStart:kEnd]) {
		case "_placeholder":
			ph = len(dst)-vStart == 1 && dst[vStart] == 0xc3
		case "num":
			numOK = false
			if c := in[vi]; c == '-' || c >= '0' && c <= '9' {
				num, numOK = parseIndex(in[vi:i], len(s.atts))
			}
		}
		members = append(members, objEntry{start: start, kStart: kStart, kEnd: kEnd, end: len(dst)})
		if i = skipWS(in, i); i < len(in) && in[i] == ',' {
			i = skipWS(in, i+1)
			continue
		}
		if i < len(in) && in[i] == '}' {
			i++
			break
		}
		return dst, i, s.syntax(i, "in an object")
	}
	if ph && numOK && s.atts != nil {
		// A placeholder: its attachment replaces what was written (and
		// the placeholders inside it, whose bytes are given back).
		a := s.atts[num]
		if s.budget = budget - len(a); s.budget < 0 {
			return dst, i, fmt.Errorf("%w: placeholders copy more than the %d bytes of the attachments", ErrTooLarge, totalLen(s.atts))
		}
		if uint64(len(a)) >= 1<<32 {
			return dst, i, fmt.Errorf("%w: attachment of %d bytes", ErrTooLarge, len(a))
		}
		return AppendBinary(dst[:hdr], a), i, nil
	}
	n := len(members)
	d := dst
	if order := jsOrder(n, func(j int) []byte { return d[members[j].kStart:members[j].kEnd] }); order != nil {
		content := hdr + 1
		buf := make([]byte, 0, len(dst)-content)
		for _, j := range order {
			buf = append(buf, dst[members[j].start:members[j].end]...)
		}
		dst = append(dst[:content], buf...)
		n = len(order)
	}
	dst, err := fixHeader(dst, hdr, n, 0x80, 0xde)
	return dst, i, err
}

func totalLen(atts [][]byte) int {
	n := 0
	for _, a := range atts {
		n += len(a)
	}
	return n
}

// strHeaderAt is the size of the str header whose type byte is c.
func strHeaderAt(c byte) int {
	switch c {
	case 0xd9:
		return 2
	case 0xda:
		return 3
	case 0xdb:
		return 5
	}
	return 1
}

var zeros [5]byte

// fixHeader writes the header of the array (fix 0x90, b16 0xdc) or map
// (fix 0x80, b16 0xde) of n elements whose one-byte header placeholder is
// at dst[hdr], moving the elements when a longer header is needed.
func fixHeader(dst []byte, hdr, n int, fix, b16 byte) ([]byte, error) {
	switch {
	case n < 16:
		dst[hdr] = fix | byte(n)
		return dst, nil
	case uint64(n) >= 1<<32:
		return dst, fmt.Errorf("%w: %d elements", ErrTooLarge, n)
	}
	extra := containerHeaderLen(n) - 1
	dst = append(dst, zeros[:extra]...)
	copy(dst[hdr+1+extra:], dst[hdr+1:len(dst)-extra])
	appendContainerHeader(dst[hdr:hdr], n, fix, b16)
	return dst, nil
}

// parseIndex interprets the JSON number tok as an attachment index, as
// package parser does: a number with an integral value (0, 1.0, 1e0, -0)
// in [0, n).
func parseIndex(tok []byte, n int) (int, bool) {
	if len(tok) <= 9 {
		v, all := 0, true
		for _, c := range tok {
			if c < '0' || c > '9' {
				all = false
				break
			}
			v = v*10 + int(c-'0')
		}
		if all {
			return v, v < n
		}
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f >= float64(n) {
		return 0, false
	}
	return int(f), true
}

// number converts the JSON number at in[i:].
func (s *fromJSON) number(dst []byte, i int) ([]byte, int, error) {
	in := s.in
	start := i
	neg := in[i] == '-'
	if neg {
		i++
	}
	digits := i
	switch {
	case i < len(in) && in[i] == '0':
		i++
	case i < len(in) && in[i] >= '1' && in[i] <= '9':
		for i++; i < len(in) && in[i] >= '0' && in[i] <= '9'; i++ {
		}
	default:
		return dst, i, s.syntax(i, "in a number")
	}
	intEnd := i
	if i < len(in) && in[i] == '.' {
		i++
		if i >= len(in) || in[i] < '0' || in[i] > '9' {
			return dst, i, s.syntax(i, "in a number")
		}
		for i++; i < len(in) && in[i] >= '0' && in[i] <= '9'; i++ {
		}
	}
	if i < len(in) && (in[i] == 'e' || in[i] == 'E') {
		i++
		if i < len(in) && (in[i] == '+' || in[i] == '-') {
			i++
		}
		if i >= len(in) || in[i] < '0' || in[i] > '9' {
			return dst, i, s.syntax(i, "in a number")
		}
		for i++; i < len(in) && in[i] >= '0' && in[i] <= '9'; i++ {
		}
	}
	if intEnd == i && intEnd-digits <= 20 {
		// An integer literal: exact when it fits 64 bits.
		var u uint64
		ok := true
		for _, c := range in[digits:i] {
			d := uint64(c - '0')
			if u > (math.MaxUint64-d)/10 {
				ok = false
				break
			}
			u = u*10 + d
		}
		switch {
		case ok && !neg:
			return AppendUint(dst, u), i, nil
		case ok && u <= 1<<63:
			return AppendInt(dst, int64(-u)), i, nil // -(1<<63) wraps to itself
		}
	}
	f, err := strconv.ParseFloat(string(in[start:i]), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) { // ±Inf beyond the doubles, as JavaScript
		return dst, i, fmt.Errorf("%w: number %q: %v", ErrInvalidJSON, in[start:i], err)
	}
	return AppendFloat(dst, f), i, nil
}

// str converts the JSON string at in[i:] (in[i] is '"') to a str.
func (s *fromJSON) str(dst []byte, i int) ([]byte, int, error) {
	in := s.in
	j := i + 1
	for j < len(in) && !jsonSpecial[in[j]] {
		j++
	}
	if j < len(in) && in[j] == '"' {
		n := j - i - 1
		if uint64(n) >= 1<<32 {
			return dst, j, fmt.Errorf("%w: string of %d bytes", ErrTooLarge, n)
		}
		dst = appendStrHeader(dst, n)
		return append(dst, in[i+1:j]...), j + 1, nil
	}
	// Decode after room for the longest header, then move it into place.
	start := len(dst)
	dst = append(dst, zeros[:5]...)
	dst = append(dst, in[i+1:j]...)
	for {
		if j >= len(in) {
			return dst, j, s.syntax(j, "in a string")
		}
		c := in[j]
		switch {
		case c == '"':
			n := len(dst) - start - 5
			h := strHeaderLen(n)
			if h == 0 {
				return dst, j, fmt.Errorf("%w: string of %d bytes", ErrTooLarge, n)
			}
			copy(dst[start+h:], dst[start+5:])
			dst = dst[:start+h+n]
			appendStrHeader(dst[start:start], n)
			return dst, j + 1, nil
		case c == '\\':
			if j+1 >= len(in) {
				return dst, j, s.syntax(j+1, "in a string")
			}
			switch e := in[j+1]; e {
			case '"', '\\', '/':
				dst = append(dst, e)
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r, ok := hex4(in, j+2)
				if !ok {
					return dst, j, s.syntax(j, "(a \\u escape needs 4 hex digits)")
				}
				j += 6
				if utf16.IsSurrogate(r) {
					// A pair makes one character; an unpaired surrogate is
					// U+FFFD, as Node.js writes it to UTF-8.
					if r2, ok := hex4(in, j+2); ok && in[j] == '\\' && in[j+1] == 'u' {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							r = d
							j += 6
						} else {
							r = utf8.RuneError
						}
					} else {
						r = utf8.RuneError
					}
				}
				dst = utf8.AppendRune(dst, r)
				continue
			default:
				return dst, j, s.syntax(j+1, "after '\\' in a string")
			}
			j += 2
		case c < 0x20:
			return dst, j, s.syntax(j, "(control character) in a string")
		case c < utf8.RuneSelf:
			k := j + 1
			for k < len(in) && !jsonSpecial[in[k]] {
				k++
			}
			dst = append(dst, in[j:k]...)
			j = k
		default:
			if r, size := utf8.DecodeRune(in[j:]); r != utf8.RuneError || size > 1 {
				dst = append(dst, in[j:j+size]...)
				j += size
			} else {
				dst = append(dst, replacement...)
				j += invalidLen(in[j:])
			}
		}
	}
}

// hex4 reads the four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i < 0 || len(b)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
