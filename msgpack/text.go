package msgpack

import (
	"bytes"
	"cmp"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/socketio-go/socketio/parser"
)

// replacement is U+FFFD in UTF-8.
const replacement = "\uFFFD"

// invalidLen returns the length of the maximal subpart of an ill-formed
// UTF-8 sequence at the start of s (at least 1), the unit the WHATWG
// decoder, and so Node.js's Buffer.toString, replaces by one U+FFFD. It is
// only called where s does not start with a valid sequence.
func invalidLen(s []byte) int {
	c := s[0]
	lo, hi := byte(0x80), byte(0xbf)
	var need int
	switch {
	case c >= 0xc2 && c <= 0xdf:
		need = 1
	case c == 0xe0:
		need, lo = 2, 0xa0
	case c == 0xed:
		need, hi = 2, 0x9f
	case c >= 0xe1 && c <= 0xef:
		need = 2
	case c == 0xf0:
		need, lo = 3, 0x90
	case c == 0xf4:
		need, hi = 3, 0x8f
	case c >= 0xf1 && c <= 0xf3:
		need = 3
	default:
		return 1
	}
	i := 1
	for ; i <= need && i < len(s); i++ {
		if s[i] < lo || s[i] > hi {
			break
		}
		lo, hi = 0x80, 0xbf
	}
	return i
}

// appendUTF8 appends s with each maximal ill-formed subsequence replaced by
// U+FFFD.
func appendUTF8(dst, s []byte) []byte {
	start := 0
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		if r, size := utf8.DecodeRune(s[i:]); r != utf8.RuneError || size > 1 {
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, replacement...)
		i += invalidLen(s[i:])
		start = i
	}
	return append(dst, s[start:]...)
}

// jsonSpecial marks the bytes a JSON string cannot hold as they are
// (control characters, '"' and '\\') and the non-ASCII bytes, which need a
// UTF-8 check.
var jsonSpecial = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendJSONString appends the string whose UTF-8 bytes are s as
// JSON.stringify writes it after Node.js decoded it from s: invalid UTF-8
// replaced by U+FFFD (written as the character itself), '"' and '\\'
// escaped, \b \f \n \r \t, other control characters as lower-case \u00XX,
// everything else (DEL, U+2028, U+2029 included) as it is.
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if !jsonSpecial[c] {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			if r, size := utf8.DecodeRune(s[i:]); r != utf8.RuneError || size > 1 {
				i += size
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, replacement...)
			i += invalidLen(s[i:])
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// maxSafe is 2^53, below which every integer is a JavaScript number.
const maxSafe = 1 << 53

// appendNumber appends the number of h (kInt, kUint or kFloat) as
// JSON.stringify writes the JavaScript number notepack.io decodes it to:
// integers become the nearest double (as notepack.io computes it), NaN and
// infinities are null.
func appendNumber(dst []byte, h head) []byte {
	switch h.k {
	case kInt:
		if h.i >= -maxSafe && h.i <= maxSafe {
			return strconv.AppendInt(dst, h.i, 10)
		}
		return appendJSNumber(dst, float64(h.i))
	case kUint:
		return appendJSNumber(dst, float64(h.u))
	}
	if math.IsNaN(h.f) || math.IsInf(h.f, 0) {
		return append(dst, "null"...)
	}
	return appendJSNumber(dst, h.f)
}

// appendJSNumber appends the finite f as JavaScript formats a number, with
// the rules of parser.AppendValue.
func appendJSNumber(dst []byte, f float64) []byte {
	if f == 0 {
		return append(dst, '0') // -0 too
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		// The shortest digits, then zeros: what parser writes too.
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	out, err := parser.AppendValue(dst, f, nil)
	if err != nil { // not reached: f is finite
		return append(dst, "null"...)
	}
	return out
}

// appendKeyNumber appends the number of h as JavaScript's String(n) writes
// it, the property key a number becomes.
func appendKeyNumber(dst []byte, h head) []byte {
	if h.k == kFloat {
		switch {
		case math.IsNaN(h.f):
			return append(dst, "NaN"...)
		case math.IsInf(h.f, 1):
			return append(dst, "Infinity"...)
		case math.IsInf(h.f, -1):
			return append(dst, "-Infinity"...)
		}
	}
	return appendNumber(dst, h)
}

// arrayIndex reports whether the property key k is an array index (the
// canonical decimal form of an integer from 0 to 2^32-2), which JavaScript
// objects list first, in numeric order, and returns its value.
func arrayIndex(k []byte) (uint32, bool) {
	if len(k) == 0 || len(k) > 10 || k[0] == '0' && len(k) > 1 {
		return 0, false
	}
	var v uint64
	for _, c := range k {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if v > math.MaxUint32-1 {
		return 0, false
	}
	return uint32(v), true
}

// jsOrder computes the order in which a JavaScript object built by
// assigning the n keys key(0)...key(n-1) in turn lists its properties:
// array indexes first in numeric order, then the other keys in the order
// they first appeared; a repeated key keeps its first place and takes its
// last value. It returns nil when that order is 0...n-1 (no array index,
// no repeated key), else the positions, in order, of the entry holding
// each property's value.
func jsOrder(n int, key func(int) []byte) []int {
	anomaly := false
	for i := range n {
		if k := key(i); len(k) > 0 && k[0] >= '0' && k[0] <= '9' {
			if _, ok := arrayIndex(k); ok {
				anomaly = true
				break
			}
		}
	}
	if !anomaly && n > 1 {
		if n <= 16 {
		outer:
			for i := 1; i < n; i++ {
				ki := key(i)
				for j := range i {
					if bytes.Equal(ki, key(j)) {
						anomaly = true
						break outer
					}
				}
			}
		} else {
			sorted := make([]int, n)
			for i := range sorted {
				sorted[i] = i
			}
			slices.SortFunc(sorted, func(a, b int) int { return bytes.Compare(key(a), key(b)) })
			for i := 1; i < n; i++ {
				if bytes.Equal(key(sorted[i-1]), key(sorted[i])) {
					anomaly = true
					break
				}
			}
		}
	}
	if !anomaly {
		return nil
	}
	// Unique keys in order of first appearance, each with its last entry.
	type prop struct {
		entry int
		index uint32
		isIdx bool
	}
	props := make([]prop, 0, n)
	first := make(map[string]int, n) // key -> position in props
	for i := range n {
		k := key(i)
		if p, ok := first[string(k)]; ok {
			props[p].entry = i
			continue
		}
		first[string(k)] = len(props)
		idx, isIdx := arrayIndex(k)
		props = append(props, prop{entry: i, index: idx, isIdx: isIdx})
	}
	slices.SortStableFunc(props, func(a, b prop) int {
		switch {
		case a.isIdx && b.isIdx:
			return cmp.Compare(a.index, b.index)
		case a.isIdx:
			return -1
		case b.isIdx:
			return 1
		}
		return 0
	})
	order := make([]int, len(props))
	for i, p := range props {
		order[i] = p.entry
	}
	return order
}
