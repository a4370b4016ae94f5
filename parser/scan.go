package parser

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the package's own JSON scanners. They are iterative: the
// nesting state lives in an explicit stack (a bit set, or a slice of frames
// when placeholders are tracked) that starts on the Go stack and only moves
// to the heap for deeply nested input, so hostile nesting can neither
// overflow the goroutine stack nor cost more than one pass.

// scanCode is the outcome of a scan; scanOK means success.
type scanCode uint8

const (
	scanOK scanCode = iota
	scanEOF
	scanBadChar
	scanBadString
	scanBadNumber
	scanBadLiteral
	scanTooDeep
	scanTrailing
)

var scanMessages = [...]string{
	scanOK:         "ok",
	scanEOF:        "unexpected end of JSON input",
	scanBadChar:    "unexpected character",
	scanBadString:  "invalid string",
	scanBadNumber:  "invalid number",
	scanBadLiteral: "invalid literal",
	scanTooDeep:    "nested too deeply",
	scanTrailing:   "data after the JSON value",
}

// jsonError turns a failed scan into an error wrapping ErrInvalidJSON, or
// ErrTooDeep for nesting beyond the limit.
func jsonError(code scanCode, off int) error {
	if code == scanTooDeep {
		return fmt.Errorf("%w (at offset %d)", ErrTooDeep, off)
	}
	return fmt.Errorf("%w: %s at offset %d", ErrInvalidJSON, scanMessages[code], off)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// skipSpace returns the index of the first non-whitespace byte at or after i.
func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// trimSpace removes JSON whitespace from both ends of data.
func trimSpace(data []byte) []byte {
	i := skipSpace(data, 0)
	j := len(data)
	for j > i && isSpace(data[j-1]) {
		j--
	}
	return data[i:j]
}

// strSpecial marks the bytes that end the fast path of string scanning and
// escaping: control characters, '"' and '\\'.
var strSpecial = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'] = true
	t['\\'] = true
	return t
}()

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// scanString scans the string whose opening quote is at data[i]. It returns
// the index just past the closing quote and whether the string contains
// escapes.
func scanString(data []byte, i int) (end int, esc bool, code scanCode) {
	j := i + 1
	for {
		for j < len(data) && !strSpecial[data[j]] {
			j++
		}
		if j >= len(data) {
			return j, esc, scanEOF
		}
		switch data[j] {
		case '"':
			return j + 1, esc, scanOK
		case '\\':
			esc = true
			if j+1 >= len(data) {
				return j + 1, esc, scanEOF
			}
			switch data[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(data) {
					return len(data), esc, scanEOF
				}
				for k := j + 2; k < j+6; k++ {
					if !isHex(data[k]) {
						return k, esc, scanBadString
					}
				}
				j += 6
			default:
				return j + 1, esc, scanBadString
			}
		default: // a control character
			return j, esc, scanBadString
		}
	}
}

// scanNumber scans the number starting at data[i] ('-' or a digit) and
// returns the index just past it. It does not check what follows.
func scanNumber(data []byte, i int) (int, scanCode) {
	n := len(data)
	j := i
	if data[j] == '-' {
		j++
	}
	switch {
	case j >= n:
		return j, scanEOF
	case data[j] == '0':
		j++
	case '1' <= data[j] && data[j] <= '9':
		j++
		for j < n && isDigit(data[j]) {
			j++
		}
	default:
		return j, scanBadNumber
	}
	if j < n && data[j] == '.' {
		j++
		if j >= n {
			return j, scanEOF
		}
		if !isDigit(data[j]) {
			return j, scanBadNumber
		}
		for j < n && isDigit(data[j]) {
			j++
		}
	}
	if j < n && (data[j] == 'e' || data[j] == 'E') {
		j++
		if j < n && (data[j] == '+' || data[j] == '-') {
			j++
		}
		if j >= n {
			return j, scanEOF
		}
		if !isDigit(data[j]) {
			return j, scanBadNumber
		}
		for j < n && isDigit(data[j]) {
			j++
		}
	}
	return j, scanOK
}

// scanLiteral checks that data[i:] starts with lit.
func scanLiteral(data []byte, i int, lit string) (int, scanCode) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(data) {
			return i + k, scanEOF
		}
		if data[i+k] != lit[k] {
			return i + k, scanBadLiteral
		}
	}
	return i + len(lit), scanOK
}

// scanPrimitive scans a string, number or literal at data[i]. It returns
// scanBadChar if data[i] starts none of them.
func scanPrimitive(data []byte, i int) (int, scanCode) {
	switch c := data[i]; {
	case c == '"':
		end, _, code := scanString(data, i)
		return end, code
	case c == '-' || isDigit(c):
		return scanNumber(data, i)
	case c == 't':
		return scanLiteral(data, i, "true")
	case c == 'f':
		return scanLiteral(data, i, "false")
	case c == 'n':
		return scanLiteral(data, i, "null")
	}
	return i, scanBadChar
}

// scanKey scans `"key" :` starting at data[i] (whitespace allowed before
// the key and around the colon). It returns the index after the colon, the
// key's span including its quotes, whether the key has escapes and whether
// whitespace was skipped.
func scanKey(data []byte, i int) (next, kstart, kend int, esc, ws bool, code scanCode) {
	j := skipSpace(data, i)
	ws = j != i
	if j >= len(data) {
		return j, 0, 0, false, ws, scanEOF
	}
	if data[j] != '"' {
		return j, 0, 0, false, ws, scanBadChar
	}
	kstart = j
	kend, esc, code = scanString(data, j)
	if code != scanOK {
		return kend, 0, 0, false, ws, code
	}
	j = skipSpace(data, kend)
	ws = ws || j != kend
	if j >= len(data) {
		return j, 0, 0, false, ws, scanEOF
	}
	if data[j] != ':' {
		return j, 0, 0, false, ws, scanBadChar
	}
	return j + 1, kstart, kend, esc, ws, scanOK
}

// scanValue scans one JSON value starting at or after data[i] (leading
// whitespace is skipped) and returns the index just past it. It reports
// whether it met whitespace anywhere outside strings, including before the
// value. maxDepth limits the nesting of arrays and objects (<= 0: no limit).
func scanValue(data []byte, i int, maxDepth int) (end int, ws bool, code scanCode) {
	var inline [4]uint64
	stack := inline[:0] // bit d set: nesting level d is an object
	depth := 0
	n := len(data)
	var j int
	var kws bool
outer:
	for {
		// A value is expected at i.
		if j = skipSpace(data, i); j != i {
			ws, i = true, j
		}
		if i >= n {
			return i, ws, scanEOF
		}
		switch c := data[i]; c {
		case '{', '[':
			if maxDepth > 0 && depth >= maxDepth {
				return i, ws, scanTooDeep
			}
			w, bit := depth>>6, uint64(1)<<(depth&63)
			if w == len(stack) {
				stack = append(stack, 0)
			}
			if c == '{' {
				stack[w] |= bit
			} else {
				stack[w] &^= bit
			}
			depth++
			if j = skipSpace(data, i+1); j != i+1 {
				ws = true
			}
			i = j
			if i >= n {
				return i, ws, scanEOF
			}
			if c == '[' {
				if data[i] != ']' {
					continue outer
				}
			} else if data[i] != '}' {
				i, _, _, _, kws, code = scanKey(data, i)
				ws = ws || kws
				if code != scanOK {
					return i, ws, code
				}
				continue outer
			}
			// An empty container.
			depth--
			i++
		default:
			if i, code = scanPrimitive(data, i); code != scanOK {
				return i, ws, code
			}
		}
		// A value ended at i: close containers or move to the next item.
		for {
			if depth == 0 {
				return i, ws, scanOK
			}
			if j = skipSpace(data, i); j != i {
				ws, i = true, j
			}
			if i >= n {
				return i, ws, scanEOF
			}
			d := depth - 1
			obj := stack[d>>6]&(uint64(1)<<(d&63)) != 0
			switch c := data[i]; {
			case c == ',':
				i++
				if obj {
					i, _, _, _, kws, code = scanKey(data, i)
					ws = ws || kws
					if code != scanOK {
						return i, ws, code
					}
				}
				continue outer
			case obj && c == '}', !obj && c == ']':
				depth--
				i++
			default:
				return i, ws, scanBadChar
			}
		}
	}
}

// scanAll checks that data is exactly one JSON value, possibly surrounded by
// whitespace.
func scanAll(data []byte, maxDepth int) (ws bool, off int, code scanCode) {
	end, ws, code := scanValue(data, 0, maxDepth)
	if code != scanOK {
		return ws, end, code
	}
	if j := skipSpace(data, end); j != len(data) {
		return ws, j, scanTrailing
	} else if j != end {
		ws = true
	}
	return ws, 0, scanOK
}

// phSpan is the position of a valid placeholder object in a JSON text and
// the attachment it refers to.
type phSpan struct {
	start, end int
	num        int
}

// phFrame is one open array or object during a placeholder scan.
type phFrame struct {
	start  int   // offset of the opening bracket
	nspans int   // number of spans recorded before this container opened
	num    int   // value of the last "num" member, if numOK
	obj    bool  // an object, not an array
	key    uint8 // class of the member being read (keyOther, keyPlaceholder, keyNum)
	ph     uint8 // last "_placeholder" member: 0 absent, 1 true, 2 anything else
	numOK  bool  // the last "num" member is a usable index
	bad    bool  // holds an illegal placeholder not inside a valid one
}

const (
	keyOther uint8 = iota
	keyPlaceholder
	keyNum
)

// member records the value data[vstart:vend] of the member being read when
// f is an object whose current key is "_placeholder" or "num". Later
// members with the same key override earlier ones, as with JSON.parse.
func (f *phFrame) member(data []byte, vstart, vend int, container bool, nAtt int) {
	if !f.obj {
		return
	}
	switch f.key {
	case keyPlaceholder:
		f.ph = 2
		if !container && data[vstart] == 't' {
			f.ph = 1
		}
	case keyNum:
		f.numOK = false
		if c := data[vstart]; !container && (c == '-' || isDigit(c)) {
			f.num, f.numOK = parseIndex(data[vstart:vend], nAtt)
		}
	}
}

// scanPlaceholders scans one JSON value starting at or after data[i] like
// scanValue and also checks its placeholder objects the way
// socket.io-parser reconstructs a binary packet: an object whose
// "_placeholder" member is true must have a "num" member that is an integer
// index into nAtt attachments; the contents of a valid placeholder are not
// looked at. It reports illegal when an invalid placeholder exists, and
// appends the spans of the outermost valid placeholders to *spans when
// spans is not nil.
func scanPlaceholders(data []byte, i, maxDepth, nAtt int, spans *[]phSpan) (end int, illegal bool, code scanCode) {
	var inline [16]phFrame
	stack := inline[:0]
	n := len(data)
	var kstart, kend int
	var esc bool
outer:
	for {
		// A value is expected at i.
		i = skipSpace(data, i)
		if i >= n {
			return i, illegal, scanEOF
		}
		closing := false
		switch c := data[i]; c {
		case '{', '[':
			if maxDepth > 0 && len(stack) >= maxDepth {
				return i, illegal, scanTooDeep
			}
			nsp := 0
			if spans != nil {
				nsp = len(*spans)
			}
			stack = append(stack, phFrame{start: i, nspans: nsp, obj: c == '{'})
			i = skipSpace(data, i+1)
			if i >= n {
				return i, illegal, scanEOF
			}
			if c == '[' {
				if data[i] != ']' {
					continue outer
				}
			} else if data[i] != '}' {
				i, kstart, kend, esc, _, code = scanKey(data, i)
				if code != scanOK {
					return i, illegal, code
				}
				stack[len(stack)-1].key = keyClass(data[kstart+1:kend-1], esc)
				continue outer
			}
			i++
			closing = true
		default:
			start := i
			if i, code = scanPrimitive(data, i); code != scanOK {
				return i, illegal, code
			}
			if len(stack) == 0 {
				return i, illegal, scanOK
			}
			stack[len(stack)-1].member(data, start, i, false, nAtt)
		}
		// A value ended at i. When closing, it is the innermost container.
		for {
			if closing {
				f := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if f.obj && f.ph == 1 {
					if f.numOK {
						f.bad = false
						if spans != nil {
							*spans = append((*spans)[:f.nspans], phSpan{start: f.start, end: i, num: f.num})
						}
					} else {
						f.bad = true
					}
				}
				if len(stack) == 0 {
					return i, illegal || f.bad, scanOK
				}
				p := &stack[len(stack)-1]
				p.bad = p.bad || f.bad
				p.member(data, f.start, i, true, nAtt)
				closing = false
			}
			i = skipSpace(data, i)
			if i >= n {
				return i, illegal, scanEOF
			}
			f := &stack[len(stack)-1]
			switch c := data[i]; {
			case c == ',':
				i++
				if f.obj {
					i, kstart, kend, esc, _, code = scanKey(data, i)
					if code != scanOK {
						return i, illegal, code
					}
					f.key = keyClass(data[kstart+1:kend-1], esc)
				}
				continue outer
			case f.obj && c == '}', !f.obj && c == ']':
				i++
				closing = true
			default:
				return i, illegal, scanBadChar
			}
		}
	}
}

// keyClass classifies an object key (without its quotes).
func keyClass(raw []byte, esc bool) uint8 {
	if esc {
		if len(raw) > 6*len("_placeholder") {
			return keyOther
		}
		var buf [16]byte
		raw = unescape(buf[:0], raw)
	}
	switch string(raw) {
	case "_placeholder":
		return keyPlaceholder
	case "num":
		return keyNum
	}
	return keyOther
}

// parseIndex interprets a JSON number token as an attachment index: a
// number with an integer value (0, 1.0, 1e0, -0 all qualify) in [0, nAtt).
func parseIndex(tok []byte, nAtt int) (int, bool) {
	if len(tok) <= 9 {
		v, k := 0, 0
		if tok[0] == '-' {
			k = 1 // only "-0" can pass below
		}
		all := true
		for _, c := range tok[k:] {
			if !isDigit(c) {
				all = false
				break
			}
			v = v*10 + int(c-'0')
		}
		if all {
			if k == 1 && v != 0 {
				return 0, false
			}
			return v, v < nAtt
		}
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f >= float64(nAtt) {
		return 0, false
	}
	return int(f), true
}

// unescape appends the decoded form of the JSON string contents s (without
// quotes, already validated) to dst. Like encoding/json, it decodes a
// surrogate pair to one rune and an unpaired surrogate to U+FFFD.
func unescape(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			j := i + 1
			for j < len(s) && s[j] != '\\' {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		e := s[i+1]
		i += 2
		switch e {
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
			r := hex4(s[i:])
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					r2 = hex4(s[i+2:])
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, e)
		}
	}
	return dst
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// firstElement finds the first element of the JSON array data (leading
// whitespace allowed) and returns its span; for an empty array, start is
// the index of the closing bracket. A string or number element is checked
// and must be followed by ',' or ']'; other elements are not scanned (end is
// then start+1). The rest of data is not looked at.
func firstElement(data []byte) (start, end int, esc bool, code scanCode) {
	i := skipSpace(data, 0)
	if i >= len(data) {
		return i, i, false, scanEOF
	}
	if data[i] != '[' {
		return i, i, false, scanBadChar
	}
	i = skipSpace(data, i+1)
	if i >= len(data) {
		return i, i, false, scanEOF
	}
	switch c := data[i]; {
	case c == ']':
		return i, i, false, scanOK
	case c == '"':
		end, esc, code = scanString(data, i)
	case c == '-' || isDigit(c):
		end, code = scanNumber(data, i)
	default:
		return i, i + 1, false, scanOK
	}
	if code != scanOK {
		return i, end, esc, code
	}
	// The element must be followed by the next one or the end of the array.
	if j := skipSpace(data, end); j >= len(data) {
		return i, j, esc, scanEOF
	} else if data[j] != ',' && data[j] != ']' {
		return i, j, esc, scanBadChar
	}
	return i, end, esc, scanOK
}
