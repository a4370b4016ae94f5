package parser

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
)

// maxEncodeDepth bounds the nesting AppendValue follows through containers,
// pointers and interfaces; deeper (or cyclic) values are an error.
const maxEncodeDepth = 1000

// errTooDeepValue is wrapped in the error for values nested beyond
// maxEncodeDepth, which includes every cyclic value.
var errTooDeepValue = errors.New("socketio/parser: value nested too deeply or cyclic")

// AppendValue appends the JSON encoding of v to dst and returns the extended
// buffer.
//
// Every []byte found in v - at the top level, in maps, slices, arrays,
// pointers, interfaces and struct fields - is replaced by a placeholder
// {"_placeholder":true,"num":N} and appended to *attachments, N being its
// index there: attachments are numbered in traversal order (map entries in
// sorted key order), continuing after those already in *attachments. The
// slices are appended as they are, not copied. A nil []byte is encoded as
// null. Only the type []byte itself is binary: named byte-slice types such as
// json.RawMessage are not, and [N]byte arrays are JSON arrays of numbers.
// attachments may be nil when v holds no []byte; a []byte is then an error.
//
// The encoding is the one JavaScript's JSON.stringify produces: compact,
// strings escaped with \" \\ \b \f \n \r \t and lower-case \u00XX for the
// other control characters only (no HTML escaping; U+2028 and U+2029 stay
// literal), invalid UTF-8 replaced by U+FFFD, numbers in the shortest form
// that round-trips (decimal between 1e-7 and 1e21, exponent form outside,
// -0 as 0). NaN and infinities are an error, as are channels, functions,
// complex numbers and values nested more than 1000 levels deep (which
// includes every cyclic value).
//
// Values follow the encoding/json conventions:
//   - json.RawMessage is validated and written as it is, compacted when it
//     holds insignificant whitespace (as JavaScript would re-encode it);
//     json.Number is written as the number it holds. A [RawValue] is
//     written like a json.RawMessage whose placeholders are renumbered and
//     their attachments appended.
//   - Types implementing json.Marshaler or encoding.TextMarshaler (on the
//     value, or on the pointer when the value is addressable) are encoded by
//     encoding/json, which calls those methods and compacts their output.
//   - Maps have string, integer or encoding.TextMarshaler keys, written in
//     sorted order; a nil map or slice is null.
//   - Structs are objects of their exported fields with the encoding/json
//     rules: the "json" tag's name, "-", "omitempty", "omitzero" and
//     "string" options, and promotion of the fields of embedded structs
//     with the same precedence rules for conflicting names.
//
// Types that cannot hold a []byte at all (no []byte and no interface in them,
// as computed once per type) are handed to encoding/json as a whole, with
// HTML escaping off and U+2028/U+2029 made literal again.
//
// On error, dst is returned truncated to its original length, *attachments
// is left as it was, and the error wraps a *json.UnsupportedTypeError,
// *json.UnsupportedValueError or the error of a marshaler where one applies.
func AppendValue(dst []byte, v any, attachments *[][]byte) ([]byte, error) {
	return appendValues(dst, attachments, false, v)
}

// AppendArray appends a JSON array of values to dst with the rules of
// [AppendValue]; AppendArray(dst, &atts, "name", arg1, arg2) builds the data
// of an EVENT. No values give [].
func AppendArray(dst []byte, attachments *[][]byte, values ...any) ([]byte, error) {
	return appendValues(dst, attachments, true, values...)
}

func appendValues(dst []byte, attachments *[][]byte, array bool, values ...any) ([]byte, error) {
	n0 := len(dst)
	var a0 int
	if attachments != nil {
		a0 = len(*attachments)
	}
	e := encoder{atts: attachments}
	var err error
	if array {
		dst = append(dst, '[')
		for i, v := range values {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = e.any(dst, v); err != nil {
				break
			}
		}
		dst = append(dst, ']')
	} else {
		dst, err = e.any(dst, values[0])
	}
	if err != nil {
		if attachments != nil {
			clear((*attachments)[a0:])
			*attachments = (*attachments)[:a0]
		}
		return dst[:n0], err
	}
	return dst, nil
}

// encoder is the state of one AppendValue call.
type encoder struct {
	atts  *[][]byte
	depth int
}

func (e *encoder) enter() error {
	e.depth++
	if e.depth > maxEncodeDepth {
		return fmt.Errorf("%w (more than %d levels)", errTooDeepValue, maxEncodeDepth)
	}
	return nil
}

func (e *encoder) binary(dst, b []byte) ([]byte, error) {
	if b == nil {
		return append(dst, "null"...), nil
	}
	if e.atts == nil {
		return dst, errors.New("socketio/parser: []byte value but no attachment list")
	}
	dst = append(dst, `{"_placeholder":true,"num":`...)
	dst = strconv.AppendInt(dst, int64(len(*e.atts)), 10)
	*e.atts = append(*e.atts, b)
	return append(dst, '}'), nil
}

// any encodes v, taking fast paths without reflection for common types.
func (e *encoder) any(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case string:
		return appendString(dst, x), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), nil
	case uintptr:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case float64:
		return appendFloat(dst, x, 64)
	case float32:
		return appendFloat(dst, float64(x), 32)
	case []byte:
		return e.binary(dst, x)
	case json.RawMessage:
		return appendRaw(dst, x)
	case RawValue:
		return e.rawValue(dst, x)
	case json.Number:
		return appendNumber(dst, x)
	case []any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		if err := e.enter(); err != nil {
			return dst, err
		}
		dst = append(dst, '[')
		for i, el := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = e.any(dst, el); err != nil {
				return dst, err
			}
		}
		e.depth--
		return append(dst, ']'), nil
	case map[string]any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		if err := e.enter(); err != nil {
			return dst, err
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			var err error
			if dst, err = e.any(dst, x[k]); err != nil {
				return dst, err
			}
		}
		e.depth--
		return append(dst, '}'), nil
	}
	return e.reflect(dst, reflect.ValueOf(v))
}

var (
	bytesType         = reflect.TypeFor[[]byte]()
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// reflect encodes v, which may be the zero Value.
func (e *encoder) reflect(dst []byte, v reflect.Value) ([]byte, error) {
	if !v.IsValid() {
		return append(dst, "null"...), nil
	}
	t := v.Type()
	if t == rawValueType {
		return e.reflectRawValue(dst, v)
	}
	ti := typeInfoOf(t)
	if ti.marshals || ti.ptrMarshals && v.CanAddr() {
		if !ti.marshals {
			v = v.Addr()
		}
		if !v.CanInterface() {
			return dst, fmt.Errorf("socketio/parser: cannot encode unexported %v", t)
		}
		return appendJSON(dst, v.Interface())
	}
	switch t.Kind() {
	case reflect.Bool:
		return strconv.AppendBool(dst, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(dst, v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(dst, v.Uint(), 10), nil
	case reflect.Float32:
		return appendFloat(dst, v.Float(), 32)
	case reflect.Float64:
		return appendFloat(dst, v.Float(), 64)
	case reflect.String:
		if t == jsonNumberType {
			return appendNumber(dst, json.Number(v.String()))
		}
		return appendString(dst, v.String()), nil
	case reflect.Chan, reflect.Func, reflect.Complex64, reflect.Complex128, reflect.UnsafePointer:
		return dst, fmt.Errorf("socketio/parser: %w", &json.UnsupportedTypeError{Type: t})
	}
	if !ti.binary {
		if v.CanAddr() {
			// Let encoding/json see addressable fields, as it would have.
			v = v.Addr()
		}
		if !v.CanInterface() {
			return dst, fmt.Errorf("socketio/parser: cannot encode unexported %v", t)
		}
		return appendJSON(dst, v.Interface())
	}
	if err := e.enter(); err != nil {
		return dst, err
	}
	var err error
	switch t.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			dst = append(dst, "null"...)
		} else {
			dst, err = e.reflect(dst, v.Elem())
		}
	case reflect.Slice:
		switch {
		case t == bytesType:
			dst, err = e.binary(dst, v.Bytes())
		case v.IsNil():
			dst = append(dst, "null"...)
		default:
			dst, err = e.list(dst, v)
		}
	case reflect.Array:
		dst, err = e.list(dst, v)
	case reflect.Map:
		dst, err = e.mapValue(dst, v)
	case reflect.Struct:
		dst, err = e.structValue(dst, v, ti.fields())
	default:
		err = fmt.Errorf("socketio/parser: %w", &json.UnsupportedTypeError{Type: t})
	}
	e.depth--
	return dst, err
}

var jsonNumberType = reflect.TypeFor[json.Number]()

func (e *encoder) list(dst []byte, v reflect.Value) ([]byte, error) {
	dst = append(dst, '[')
	for i := range v.Len() {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = e.reflect(dst, v.Index(i)); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

func (e *encoder) mapValue(dst []byte, v reflect.Value) ([]byte, error) {
	if v.IsNil() {
		return append(dst, "null"...), nil
	}
	type entry struct {
		key string
		val reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		k, err := mapKey(it.Key())
		if err != nil {
			return dst, err
		}
		entries = append(entries, entry{k, it.Value()})
	}
	slices.SortFunc(entries, func(a, b entry) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	dst = append(dst, '{')
	for i, en := range entries {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, en.key)
		dst = append(dst, ':')
		var err error
		if dst, err = e.reflect(dst, en.val); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// mapKey returns the object key for a map key, like encoding/json: strings
// as they are, then encoding.TextMarshaler, then integers in decimal.
func mapKey(k reflect.Value) (string, error) {
	if k.Kind() == reflect.String {
		return k.String(), nil
	}
	if tm, ok := k.Interface().(encoding.TextMarshaler); ok {
		if k.Kind() == reflect.Pointer && k.IsNil() {
			return "", nil
		}
		b, err := tm.MarshalText()
		if err != nil {
			return "", fmt.Errorf("socketio/parser: map key: %w", err)
		}
		return string(b), nil
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	return "", fmt.Errorf("socketio/parser: %w", &json.UnsupportedTypeError{Type: k.Type()})
}

func (e *encoder) structValue(dst []byte, v reflect.Value, fields []field) ([]byte, error) {
	dst = append(dst, '{')
	first := true
next:
	for i := range fields {
		f := &fields[i]
		fv := v
		for _, x := range f.index {
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue next // a field of a nil embedded pointer
				}
				fv = fv.Elem()
			}
			fv = fv.Field(x)
		}
		if f.omitEmpty && isEmptyValue(fv) || f.omitZero && f.isZero(fv) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, f.key...)
		var err error
		if f.quoted {
			dst, err = e.quoted(dst, fv)
		} else {
			dst, err = e.reflect(dst, fv)
		}
		if err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// quoted encodes a field with the ",string" option: its JSON encoding
// wrapped in a JSON string. A nil pointer stays null.
func (e *encoder) quoted(dst []byte, v reflect.Value) ([]byte, error) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return append(dst, "null"...), nil
		}
		v = v.Elem()
	}
	var buf [64]byte
	b, err := e.reflect(buf[:0], v)
	if err != nil {
		return dst, err
	}
	return appendString(dst, b), nil
}

func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64,
		reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// appendFloat formats f like JavaScript's Number.prototype.toString (and
// encoding/json): decimal notation for magnitudes in [1e-7, 1e21) - with
// the 1e-6 boundary encoding/json uses - exponent notation otherwise, the
// shortest digits that round-trip at the given bit size, and -0 as 0.
func appendFloat(dst []byte, f float64, bits int) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, fmt.Errorf("socketio/parser: %w", &json.UnsupportedValueError{
			Value: reflect.ValueOf(f), Str: strconv.FormatFloat(f, 'g', -1, bits),
		})
	}
	if f == 0 {
		return append(dst, '0'), nil
	}
	format := byte('f')
	if abs := math.Abs(f); bits == 64 && (abs < 1e-6 || abs >= 1e21) ||
		bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// "1e-07" -> "1e-7", as JavaScript writes it.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

// hexDigits are the lower-case hex digits JavaScript uses in \u escapes.
const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string escaped like JavaScript's
// JSON.stringify, except that invalid UTF-8 becomes \ufffd.
func appendString[S string | []byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !strSpecial[c] {
				i++
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
			continue
		}
		// A short conversion, so that the []byte case does not allocate.
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendRaw appends a json.RawMessage: validated, and compacted only when
// it holds whitespace outside strings. An empty message is null.
func appendRaw(dst, raw []byte) ([]byte, error) {
	if len(raw) == 0 {
		return append(dst, "null"...), nil
	}
	ws, off, code := scanAll(raw, 0)
	if code != scanOK {
		return dst, fmt.Errorf("socketio/parser: json.RawMessage: %w", jsonError(code, off))
	}
	if !ws {
		return append(dst, raw...), nil
	}
	return appendCompact(dst, raw), nil
}

// appendCompact appends the valid JSON text src without the whitespace
// outside its strings.
func appendCompact(dst, src []byte) []byte {
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case isSpace(c):
			i++
		case c == '"':
			end, _, _ := scanString(src, i)
			dst = append(dst, src[i:end]...)
			i = end
		default:
			j := i + 1
			for j < len(src) && !isSpace(src[j]) && src[j] != '"' {
				j++
			}
			dst = append(dst, src[i:j]...)
			i = j
		}
	}
	return dst
}

// appendNumber appends a json.Number after checking it is a JSON number;
// the empty Number is 0, as with encoding/json.
func appendNumber(dst []byte, n json.Number) ([]byte, error) {
	if n == "" {
		return append(dst, '0'), nil
	}
	b := []byte(n)
	if c := b[0]; c == '-' || isDigit(c) {
		if end, code := scanNumber(b, 0); code == scanOK && end == len(b) {
			return append(dst, b...), nil
		}
	}
	return dst, fmt.Errorf("socketio/parser: invalid json.Number %q", string(n))
}

// jsonEncoder is a pooled encoding/json encoder writing to its own buffer.
type jsonEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var jsonEncoders = sync.Pool{New: func() any {
	je := new(jsonEncoder)
	je.enc = json.NewEncoder(&je.buf)
	je.enc.SetEscapeHTML(false)
	return je
}}

// appendJSON appends v encoded by encoding/json without HTML escaping and
// with U+2028 and U+2029 written literally, as JSON.stringify does.
func appendJSON(dst []byte, v any) ([]byte, error) {
	je := jsonEncoders.Get().(*jsonEncoder)
	defer jsonEncoders.Put(je)
	je.buf.Reset()
	if err := je.enc.Encode(v); err != nil {
		return dst, fmt.Errorf("socketio/parser: %w", err)
	}
	out := bytes.TrimSuffix(je.buf.Bytes(), []byte{'\n'})
	if je.buf.Cap() > 64<<10 {
		je.buf = bytes.Buffer{} // do not keep large buffers in the pool
	}
	if !bytes.Contains(out, []byte(`\u202`)) {
		return append(dst, out...), nil
	}
	return appendLineSeparators(dst, out), nil
}

// appendLineSeparators appends the valid JSON text src with the escapes
// \u2028 and \u2029 in its strings replaced by the characters themselves.
func appendLineSeparators(dst, src []byte) []byte {
	inString := false
	start := 0
	for i := 0; i < len(src); i++ {
		switch c := src[i]; {
		case c == '"':
			inString = !inString
		case c == '\\' && inString:
			if i+5 < len(src) && src[i+1] == 'u' && src[i+2] == '2' && src[i+3] == '0' &&
				src[i+4] == '2' && (src[i+5] == '8' || src[i+5] == '9') {
				dst = append(dst, src[start:i]...)
				dst = append(dst, 0xe2, 0x80, 0xa8+src[i+5]-'8')
				start = i + 6
				i += 5
			} else {
				i++ // skip the escaped character
			}
		}
	}
	return append(dst, src[start:]...)
}
