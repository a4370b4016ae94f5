package msgpack

import (
	"bytes"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
)

// The tables of this file are the exact bytes notepack.io 3.0.1 writes
// (and, where noted, @msgpack/msgpack 2.8.0), taken from running them;
// TestDifferential checks every row against them again.

// x decodes hex, ignoring spaces and the text in quotes, which is taken as
// it is: x(`a3 "abc" c0`).
func x(s string) []byte {
	var out []byte
	for len(s) > 0 {
		switch s[0] {
		case ' ':
			s = s[1:]
		case '"':
			end := strings.IndexByte(s[1:], '"') + 1
			out = append(out, s[1:end]...)
			s = s[end+1:]
		default:
			b, err := hex.DecodeString(s[:2])
			if err != nil {
				panic("x: " + s)
			}
			out = append(out, b...)
			s = s[2:]
		}
	}
	return out
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func rep(s string, n int) []byte { return []byte(strings.Repeat(s, n)) }

// seq returns n bytes 0, 1, 2, ...
func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// jsArray returns the JSON array of n zeros and its MessagePack encoding.
func jsArray(n int) (string, []byte) {
	var sb strings.Builder
	sb.WriteByte('[')
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('0')
	}
	sb.WriteByte(']')
	return sb.String(), append(AppendArrayHeader(nil, n), make([]byte, n)...)
}

// jsObject returns the JSON object {"k0":0,"k1":0,...} of n members and its
// MessagePack encoding.
func jsObject(n int) (string, []byte) {
	var sb strings.Builder
	b := AppendMapHeader(nil, n)
	sb.WriteByte('{')
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		k := "k" + strconv.Itoa(i)
		sb.WriteString(`"` + k + `":0`)
		b = append(AppendString(b, k), 0)
	}
	sb.WriteByte('}')
	return sb.String(), b
}

// writerCase is a writer's output and the JavaScript value notepack.io
// writes the same way.
type writerCase struct {
	name string
	got  []byte
	want []byte
	// js is the value as JSON, the strings "$num:<text>" standing for
	// Number(text) and "$date:<ms>" for new Date(ms); with atts, a JSON
	// text whose placeholders refer to atts. Empty: no JavaScript value.
	js   string
	atts [][]byte
	// node is what notepack.io writes where it differs on purpose.
	node []byte
}

func writerCases() []writerCase {
	arr15, arr15b := jsArray(15)
	arr16, arr16b := jsArray(16)
	arr64k, arr64kb := jsArray(1<<16 - 1)
	arr65k, arr65kb := jsArray(1 << 16)
	obj15, obj15b := jsObject(15)
	obj16, obj16b := jsObject(16)
	obj65k, obj65kb := jsObject(1 << 16)
	ph := `{"_placeholder":true,"num":0}`
	return []writerCase{
		{name: "nil", got: AppendNil(nil), want: x("c0"), js: "null"},
		{name: "false", got: AppendBool(nil, false), want: x("c2"), js: "false"},
		{name: "true", got: AppendBool(nil, true), want: x("c3"), js: "true"},

		{name: "int 0", got: AppendInt(nil, 0), want: x("00"), js: "0"},
		{name: "int 127", got: AppendInt(nil, 127), want: x("7f"), js: "127"},
		{name: "int 128", got: AppendInt(nil, 128), want: x("cc80"), js: "128"},
		{name: "int 255", got: AppendInt(nil, 255), want: x("ccff"), js: "255"},
		{name: "int 256", got: AppendInt(nil, 256), want: x("cd0100"), js: "256"},
		{name: "int 65535", got: AppendInt(nil, 65535), want: x("cdffff"), js: "65535"},
		{name: "int 65536", got: AppendInt(nil, 65536), want: x("ce00010000"), js: "65536"},
		{name: "int 2^32-1", got: AppendInt(nil, 1<<32-1), want: x("ceffffffff"), js: "4294967295"},
		{name: "int 2^32", got: AppendInt(nil, 1<<32), want: x("cf0000000100000000"), js: "4294967296"},
		{name: "int 2^53-1", got: AppendInt(nil, 1<<53-1), want: x("cf001fffffffffffff"), js: "9007199254740991"},
		{name: "int max", got: AppendInt(nil, math.MaxInt64), want: x("cf7fffffffffffffff")},
		{name: "int -1", got: AppendInt(nil, -1), want: x("ff"), js: "-1"},
		{name: "int -32", got: AppendInt(nil, -32), want: x("e0"), js: "-32"},
		{name: "int -33", got: AppendInt(nil, -33), want: x("d0df"), js: "-33"},
		{name: "int -128", got: AppendInt(nil, -128), want: x("d080"), js: "-128"},
		{name: "int -129", got: AppendInt(nil, -129), want: x("d1ff7f"), js: "-129"},
		{name: "int -32768", got: AppendInt(nil, -32768), want: x("d18000"), js: "-32768"},
		{name: "int -32769", got: AppendInt(nil, -32769), want: x("d2ffff7fff"), js: "-32769"},
		{name: "int -2^31", got: AppendInt(nil, -1<<31), want: x("d280000000"), js: "-2147483648"},
		{name: "int -2^31-1", got: AppendInt(nil, -1<<31-1), want: x("d3ffffffff7fffffff"), js: "-2147483649"},
		{name: "int -2^53+1", got: AppendInt(nil, -1<<53+1), want: x("d3ffe0000000000001"), js: "-9007199254740991"},
		{name: "int min", got: AppendInt(nil, math.MinInt64), want: x("d38000000000000000"), js: `"$num:-9223372036854775808"`},
		{name: "uint 0", got: AppendUint(nil, 0), want: x("00"), js: "0"},
		{name: "uint 200", got: AppendUint(nil, 200), want: x("ccc8"), js: "200"},
		{name: "uint 2^63", got: AppendUint(nil, 1<<63), want: x("cf8000000000000000"), js: `"$num:9223372036854775808"`},
		{name: "uint max", got: AppendUint(nil, math.MaxUint64), want: x("cfffffffffffffffff")},

		{name: "float 1.5", got: AppendFloat(nil, 1.5), want: x("cb3ff8000000000000"), js: "1.5"},
		{name: "float -1.5", got: AppendFloat(nil, -1.5), want: x("cbbff8000000000000"), js: "-1.5"},
		{name: "float 0.1", got: AppendFloat(nil, 0.1), want: x("cb3fb999999999999a"), js: "0.1"},
		{name: "float 5e-324", got: AppendFloat(nil, 5e-324), want: x("cb0000000000000001"), js: "5e-324"},
		{name: "float 3", got: AppendFloat(nil, 3), want: x("03"), js: "3"},
		{name: "float 0", got: AppendFloat(nil, 0), want: x("00"), js: "0"},
		{name: "float -0", got: AppendFloat(nil, math.Copysign(0, -1)), want: x("00"), js: "-0"},
		{name: "float -33", got: AppendFloat(nil, -33), want: x("d0df"), js: "-33"},
		{name: "float 2^32", got: AppendFloat(nil, 1<<32), want: x("cf0000000100000000"), js: "4294967296"},
		{name: "float -2^31-1", got: AppendFloat(nil, -1<<31-1), want: x("d3ffffffff7fffffff"), js: "-2147483649"},
		{name: "float 2^63", got: AppendFloat(nil, 1<<63), want: x("cf8000000000000000"), js: `"$num:9223372036854775808"`},
		{name: "float below 2^64", got: AppendFloat(nil, 18446744073709549568), want: x("cffffffffffffff800"), js: "18446744073709549568"},
		{name: "float -2^63", got: AppendFloat(nil, -1<<63), want: x("d38000000000000000"), js: `"$num:-9223372036854775808"`},
		{name: "float 1e19", got: AppendFloat(nil, 1e19), want: x("cf8ac7230489e80000"), js: "1e19"},
		{name: "float NaN", got: AppendFloat(nil, math.NaN()), want: x("cb7ff8000000000000"), js: `"$num:NaN"`},
		{name: "float +Inf", got: AppendFloat(nil, math.Inf(1)), want: x("cb7ff0000000000000"), js: `"$num:Infinity"`},
		{name: "float -Inf", got: AppendFloat(nil, math.Inf(-1)), want: x("cbfff0000000000000"), js: `"$num:-Infinity"`},
		// notepack.io writes integral values beyond 64 bits modulo 2^64.
		{name: "float 2^64", got: AppendFloat(nil, 1<<64), want: x("cb43f0000000000000"), js: `"$num:18446744073709551616"`, node: x("cf0000000000000000")},
		{name: "float 1e21", got: AppendFloat(nil, 1e21), want: x("cb444b1ae4d6e2ef50"), js: "1e21", node: x("cf35c9adc5dea00000")},
		{name: "float max", got: AppendFloat(nil, math.MaxFloat64), want: x("cb7fefffffffffffff"), js: "1.7976931348623157e308", node: x("cf0000000000000000")},
		{name: "float -1e19", got: AppendFloat(nil, -1e19), want: x("cbc3e158e460913d00"), js: "-1e19", node: x("d37538dcfb76180000")},
		{name: "float below -2^63", got: AppendFloat(nil, -9223372036854777856), want: x("cbc3e0000000000001"), js: "-9223372036854777856", node: x("d37ffffffffffff800")},

		{name: "str empty", got: AppendString(nil, ""), want: x("a0"), js: `""`},
		{name: "str a", got: AppendString(nil, "a"), want: x(`a1 "a"`), js: `"a"`},
		{name: "str 31", got: AppendString(nil, strings.Repeat("x", 31)), want: cat(x("bf"), rep("x", 31)), js: `"` + strings.Repeat("x", 31) + `"`},
		{name: "str 32", got: AppendString(nil, strings.Repeat("x", 32)), want: cat(x("d920"), rep("x", 32)), js: `"` + strings.Repeat("x", 32) + `"`},
		{name: "str 255", got: AppendString(nil, strings.Repeat("x", 255)), want: cat(x("d9ff"), rep("x", 255)), js: `"` + strings.Repeat("x", 255) + `"`},
		{name: "str 256", got: AppendString(nil, strings.Repeat("x", 256)), want: cat(x("da0100"), rep("x", 256)), js: `"` + strings.Repeat("x", 256) + `"`},
		{name: "str 65535", got: AppendString(nil, strings.Repeat("x", 65535)), want: cat(x("daffff"), rep("x", 65535)), js: `"` + strings.Repeat("x", 65535) + `"`},
		{name: "str 65536", got: AppendString(nil, strings.Repeat("x", 65536)), want: cat(x("db00010000"), rep("x", 65536)), js: `"` + strings.Repeat("x", 65536) + `"`},
		{name: "str utf-8", got: AppendString(nil, "é€😀"), want: x("a9 c3a9 e282ac f09f9880"), js: `"é€😀"`},

		{name: "bin empty", got: AppendBinary(nil, nil), want: x("c400"), js: ph, atts: [][]byte{{}}},
		{name: "bin 3", got: AppendBinary(nil, []byte{1, 2, 3}), want: x("c403 010203"), js: ph, atts: [][]byte{{1, 2, 3}}},
		{name: "bin 255", got: AppendBinary(nil, seq(255)), want: cat(x("c4ff"), seq(255)), js: ph, atts: [][]byte{seq(255)}},
		{name: "bin 256", got: AppendBinary(nil, seq(256)), want: cat(x("c50100"), seq(256)), js: ph, atts: [][]byte{seq(256)}},
		{name: "bin 65536", got: AppendBinary(nil, seq(65536)), want: cat(x("c600010000"), seq(65536)), js: ph, atts: [][]byte{seq(65536)}},

		{name: "array 0", got: AppendArrayHeader(nil, 0), want: x("90"), js: "[]"},
		{name: "array 15", got: append(AppendArrayHeader(nil, 15), make([]byte, 15)...), want: arr15b, js: arr15},
		{name: "array 16", got: append(AppendArrayHeader(nil, 16), make([]byte, 16)...), want: arr16b, js: arr16},
		{name: "array 65535", got: append(AppendArrayHeader(nil, 65535), make([]byte, 65535)...), want: arr64kb, js: arr64k},
		{name: "array 65536", got: append(AppendArrayHeader(nil, 65536), make([]byte, 65536)...), want: arr65kb, js: arr65k},
		{name: "array header 16", got: AppendArrayHeader(nil, 16), want: x("dc0010")},
		{name: "array header 2^16", got: AppendArrayHeader(nil, 1<<16), want: x("dd00010000")},
		{name: "map 0", got: AppendMapHeader(nil, 0), want: x("80"), js: "{}"},
		{name: "map 15", got: obj15b, want: cat(x("8f"), obj15b[1:]), js: obj15},
		{name: "map 16", got: obj16b, want: cat(x("de0010"), obj16b[3:]), js: obj16},
		{name: "map 65536", got: obj65kb, want: cat(x("df00010000"), obj65kb[5:]), js: obj65k},
	}
}

// fromJSONCase is a FromJSON conversion.
type fromJSONCase struct {
	name string
	json string
	atts [][]byte // nil: none
	want []byte   // nil with err
	err  error
	// node is what notepack.io writes (after socket.io-parser's
	// reconstruction) where it differs on purpose; nodeErr that it fails.
	node    []byte
	nodeErr bool
}

func fromJSONCases() []fromJSONCase {
	deep := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	tooDeep := "[" + deep + "]"
	tooDeepObj := strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1)
	arr16, arr16b := jsArray(16)
	obj16, obj16b := jsObject(16)
	ph := func(n int) string { return `{"_placeholder":true,"num":` + strconv.Itoa(n) + `}` }
	return []fromJSONCase{
		{name: "null", json: "null", want: x("c0")},
		{name: "true", json: "true", want: x("c3")},
		{name: "false", json: "false", want: x("c2")},
		{name: "whitespace", json: " \t\r\n 1 \n", want: x("01")},

		{name: "0", json: "0", want: x("00")},
		{name: "127", json: "127", want: x("7f")},
		{name: "128", json: "128", want: x("cc80")},
		{name: "65536", json: "65536", want: x("ce00010000")},
		{name: "2^32", json: "4294967296", want: x("cf0000000100000000")},
		{name: "2^53-1", json: "9007199254740991", want: x("cf001fffffffffffff")},
		{name: "2^53", json: "9007199254740992", want: x("cf0020000000000000")},
		{name: "-33", json: "-33", want: x("d0df")},
		{name: "-2^31-1", json: "-2147483649", want: x("d3ffffffff7fffffff")},
		{name: "-2^53+1", json: "-9007199254740991", want: x("d3ffe0000000000001")},
		{name: "-2^63", json: "-9223372036854775808", want: x("d38000000000000000")},
		{name: "below -2^63 rounds to it", json: "-9223372036854775809", want: x("d38000000000000000")},
		{name: "-0", json: "-0", want: x("00")},
		{name: "0.0", json: "0.0", want: x("00")},
		{name: "-0.0", json: "-0.0", want: x("00")},
		{name: "1.0", json: "1.0", want: x("01")},
		{name: "1e2", json: "1e2", want: x("64")},
		{name: "1E2", json: "1E2", want: x("64")},
		{name: "1.5e1", json: "1.5e1", want: x("0f")},
		{name: "100e-2", json: "100e-2", want: x("01")},
		{name: "1.5", json: "1.5", want: x("cb3ff8000000000000")},
		{name: "-1.5", json: "-1.5", want: x("cbbff8000000000000")},
		{name: "0.1", json: "0.1", want: x("cb3fb999999999999a")},
		{name: "1e-7", json: "1e-7", want: x("cb3e7ad7f29abcaf48")},
		{name: "5e-324", json: "5e-324", want: x("cb0000000000000001")},
		{name: "1e400 is Infinity", json: "1e400", want: x("cb7ff0000000000000")},
		{name: "-1e400 is -Infinity", json: "-1e400", want: x("cbfff0000000000000")},
		{name: "1e-400 is 0", json: "1e-400", want: x("00")},
		{name: "-1e-400 is -0", json: "-1e-400", want: x("00")},
		{name: "1e19", json: "1e19", want: x("cf8ac7230489e80000")},
		// Exact integers where JavaScript rounds; float 64 where
		// notepack.io wraps modulo 2^64.
		{name: "2^53+1 exact", json: "9007199254740993", want: x("cf0020000000000001"), node: x("cf0020000000000000")},
		{name: "2^63-1 exact", json: "9223372036854775807", want: x("cf7fffffffffffffff"), node: x("cf8000000000000000")},
		{name: "-2^63+1 exact", json: "-9223372036854775807", want: x("d38000000000000001"), node: x("d38000000000000000")},
		{name: "2^64-1 exact", json: "18446744073709551615", want: x("cfffffffffffffffff"), node: x("cf0000000000000000")},
		{name: "2^64", json: "18446744073709551616", want: x("cb43f0000000000000"), node: x("cf0000000000000000")},
		{name: "1e20", json: "1e20", want: x("cb4415af1d78b58c40"), node: x("cf6bc75e2d63100000")},
		{name: "1e21", json: "1e21", want: x("cb444b1ae4d6e2ef50"), node: x("cf35c9adc5dea00000")},
		{name: "-1e19", json: "-1e19", want: x("cbc3e158e460913d00"), node: x("d37538dcfb76180000")},
		{name: "max double", json: "1.7976931348623157e308", want: x("cb7fefffffffffffff"), node: x("cf0000000000000000")},

		{name: "str empty", json: `""`, want: x("a0")},
		{name: "str a", json: `"a"`, want: x(`a1 "a"`)},
		{name: "str escapes", json: `"\"\\\/\b\f\n\r\t\u0000\u001f\u00e9\u20AC"`, want: x(`af 22 5c 2f 08 0c 0a 0d 09 00 1f c3a9 e282ac`)},
		{name: "str surrogate pair", json: `"\ud83d\ude00"`, want: x("a4 f09f9880")},
		{name: "str utf-8", json: `"é€😀"`, want: x("a9 c3a9 e282ac f09f9880")},
		{name: "str U+2028 DEL", json: "\"\\u2028\u2029\x7f\"", want: x("a7 e280a8 e280a9 7f")},
		{name: "str 32 after escapes", json: `"` + strings.Repeat(`\n`, 32) + `"`, want: cat(x("d920"), rep("\n", 32))},
		{name: "str 256 after escapes", json: `"` + strings.Repeat(`\u00e9`, 128) + `"`, want: cat(x("da0100"), rep("é", 128))},
		{name: "str 65536 plain", json: `"` + strings.Repeat("x", 65536) + `"`, want: cat(x("db00010000"), rep("x", 65536))},
		{name: "str invalid utf-8", json: "\"a\xffb\xe2\x82c\xf0\x9f\x98\"", want: x(`ac "a" efbfbd "b" efbfbd "c" efbfbd`)},
		{name: "str long lone surrogate", json: `"` + strings.Repeat("x", 33) + `\ud800"`, want: cat(x("d924"), rep("x", 33), x("efbfbd"))},
		// notepack.io's encoder for short strings merges an unpaired
		// surrogate with the next UTF-16 unit.
		{name: "str lone high surrogate", json: `"\ud800"`, want: x("a3 efbfbd"), node: x("a4 f0908080")},
		{name: "str lone low surrogate", json: `"\udc00x"`, want: x(`a4 efbfbd "x"`), node: x("a4 f09081b8")},
		{name: "str high surrogate then letter", json: `"\ud800\u0041"`, want: x(`a4 efbfbd "A"`), node: x("a4 f0908181")},

		{name: "array empty", json: "[]", want: x("90")},
		{name: "array nested", json: "[1,[2,[3]]]", want: x("92 01 92 02 91 03")},
		{name: "array 16", json: arr16, want: arr16b},
		{name: "array spaces", json: " [ 1 , [ ] ] ", want: x("92 01 90")},
		{name: "depth 100", json: deep, want: cat(rep("\x91", MaxDepth-1), x("90"))},
		{name: "depth 101", json: tooDeep, err: ErrTooDeep, node: cat(rep("\x91", MaxDepth), x("90"))},
		{name: "object depth 101", json: tooDeepObj, err: ErrTooDeep, node: cat(bytes.Repeat(x(`81 a1 "a"`), MaxDepth+1), x("01"))},
		{name: "object empty", json: "{}", want: x("80")},
		{name: "object", json: `{"a":1,"b":[true,null]}`, want: x(`82 a1 "a" 01 a1 "b" 92 c3 c0`)},
		{name: "object spaces", json: ` { "a" : [ 1 , 2 ] } `, want: x(`81 a1 "a" 92 01 02`)},
		{name: "object 16", json: obj16, want: obj16b},
		{name: "object key order kept", json: `{"b":1,"a":2}`, want: x(`82 a1 "b" 01 a1 "a" 02`)},
		{name: "object array indexes first", json: `{"b":1,"2":2,"1":3}`, want: x(`83 a1 "1" 03 a1 "2" 02 a1 "b" 01`)},
		{name: "object repeated key", json: `{"a":1,"a":2}`, want: x(`81 a1 "a" 02`)},
		{name: "object repeated key keeps its place", json: `{"a":1,"b":2,"a":3}`, want: x(`82 a1 "a" 03 a1 "b" 02`)},
		{name: "object largest index", json: `{"x":0,"4294967295":2,"4294967294":1}`, want: x(`83 aa "4294967294" 01 a1 "x" 00 aa "4294967295" 02`)},
		{name: "object not indexes", json: `{"01":1,"1":2,"-1":3,"1.5":4}`, want: x(`84 a1 "1" 02 a2 "01" 01 a2 "-1" 03 a3 "1.5" 04`)},
		{name: "object __proto__", json: `{"__proto__":{"x":1},"a":2}`, want: x(`82 a9 "__proto__" 81 a1 "x" 01 a1 "a" 02`)},
		{name: "object escaped keys", json: `{"\u0061":1,"a":2,"\u0031":3}`, want: x(`82 a1 "1" 03 a1 "a" 02`)},

		{name: "placeholder", json: "[" + ph(0) + "]", atts: [][]byte{{1, 2, 3}}, want: x("91 c403 010203")},
		{name: "placeholders", json: `["a",` + ph(1) + `,{"x":` + ph(0) + `}]`, atts: [][]byte{{1}, seq(300)}, want: cat(x(`93 a1 "a" c5012c`), seq(300), x(`81 a1 "x" c401 01`))},
		{name: "placeholder bin 32", json: ph(0), atts: [][]byte{seq(70000)}, want: cat(x("c600011170"), seq(70000))},
		{name: "placeholder members in any order", json: `{"num":0,"x":[1],"_placeholder":true}`, atts: [][]byte{{7}}, want: x("c401 07")},
		{name: "placeholder num 1.0", json: `{"_placeholder":true,"num":1.0}`, atts: [][]byte{{7}, {8}}, want: x("c401 08")},
		{name: "placeholder empty attachment", json: ph(0), atts: [][]byte{{}}, want: x("c400")},
		{name: "placeholder without attachments", json: ph(0), want: x(`82 ac "_placeholder" c3 a3 "num" 00`)},
		{name: "placeholder _placeholder not true", json: `{"_placeholder":"true","num":0}`, atts: [][]byte{{7}}, want: x(`82 ac "_placeholder" a4 "true" a3 "num" 00`)},
		{name: "placeholder repeated within budget", json: "[" + ph(0) + "," + ph(0) + "]", atts: [][]byte{{}, {1, 2}}, want: x("92 c400 c400")},
		// socket.io-parser throws "illegal attachments".
		{name: "placeholder num out of range", json: ph(2), atts: [][]byte{{7}}, want: x(`82 ac "_placeholder" c3 a3 "num" 02`), nodeErr: true},
		// Node.js writes the 1 MiB attachment 3 times.
		{name: "placeholder repeated beyond budget", json: "[" + ph(0) + "," + ph(0) + "," + ph(0) + "]", atts: [][]byte{make([]byte, 1<<20)}, err: ErrTooLarge,
			node: cat(x("93"), x("c600100000"), make([]byte, 1<<20), x("c600100000"), make([]byte, 1<<20), x("c600100000"), make([]byte, 1<<20))},

		{name: "broadcast", json: `["bcast",{"tag":"pubsub-span-x","n":123}]`, want: x(`92 a5 "bcast" 82 a3 "tag" ad "pubsub-span-x" a1 "n" 7b`)},

		{name: "empty", json: "", err: ErrInvalidJSON},
		{name: "spaces only", json: "  ", err: ErrInvalidJSON},
		{name: "trailing", json: "1 2", err: ErrInvalidJSON},
		{name: "trailing comma", json: "[1,]", err: ErrInvalidJSON},
		{name: "leading zero", json: "01", err: ErrInvalidJSON},
		{name: "plus", json: "+1", err: ErrInvalidJSON},
		{name: "dot", json: "1.", err: ErrInvalidJSON},
		{name: "exponent", json: "1e", err: ErrInvalidJSON},
		{name: "minus", json: "-", err: ErrInvalidJSON},
		{name: "NaN", json: "NaN", err: ErrInvalidJSON},
		{name: "unterminated string", json: `"abc`, err: ErrInvalidJSON},
		{name: "control character", json: "\"a\nb\"", err: ErrInvalidJSON},
		{name: "bad escape", json: `"\x"`, err: ErrInvalidJSON},
		{name: "short unicode escape", json: `"\u12"`, err: ErrInvalidJSON},
		{name: "single quotes", json: `'a'`, err: ErrInvalidJSON},
		{name: "unquoted key", json: `{a:1}`, err: ErrInvalidJSON},
		{name: "missing colon", json: `{"a" 1}`, err: ErrInvalidJSON},
		{name: "unclosed array", json: `[1`, err: ErrInvalidJSON},
		{name: "unclosed object", json: `{"a":1`, err: ErrInvalidJSON},
		{name: "tru", json: `tru`, err: ErrInvalidJSON},
		{name: "BOM", json: "\ufeff1", err: ErrInvalidJSON},
	}
}

// toJSONCase is a ToJSON conversion.
type toJSONCase struct {
	name string
	msg  []byte
	json string
	atts [][]byte
	rest []byte
	err  error
	// node is the JSON of the official server where it differs on
	// purpose (with nodeAtts), nodeErr that it fails.
	node     string
	nodeAtts [][]byte
	nodeErr  bool
	// mp is the value whose @msgpack/msgpack encoding msg is (in the
	// notation of writerCase.js), mp32 with forceFloat32.
	mp   string
	mp32 bool
}

func toJSONCases() []toJSONCase {
	deep := cat(rep("\x91", MaxDepth-1), x("90"))
	ph := func(n int) string { return `{"_placeholder":true,"num":` + strconv.Itoa(n) + `}` }
	return []toJSONCase{
		{name: "nil", msg: x("c0"), json: "null"},
		{name: "false", msg: x("c2"), json: "false"},
		{name: "true", msg: x("c3"), json: "true"},

		{name: "fixint", msg: x("7f"), json: "127"},
		{name: "negative fixint", msg: x("e0"), json: "-32"},
		{name: "uint 8", msg: x("cc80"), json: "128"},
		{name: "uint 16", msg: x("cdffff"), json: "65535"},
		{name: "uint 32", msg: x("ceffffffff"), json: "4294967295"},
		{name: "uint 64", msg: x("cf0000000100000000"), json: "4294967296"},
		{name: "uint 64 2^53+1 rounds", msg: x("cf0020000000000001"), json: "9007199254740992"},
		{name: "uint 64 2^53+3 rounds to even", msg: x("cf0020000000000003"), json: "9007199254740996"},
		{name: "uint 64 max", msg: x("cfffffffffffffffff"), json: "18446744073709552000"},
		{name: "int 8", msg: x("d080"), json: "-128"},
		{name: "int 16", msg: x("d18000"), json: "-32768"},
		{name: "int 32", msg: x("d280000000"), json: "-2147483648"},
		{name: "int 64", msg: x("d3ffffffff7fffffff"), json: "-2147483649"},
		{name: "int 64 min", msg: x("d38000000000000000"), json: "-9223372036854776000"},
		{name: "int 64 positive", msg: x("d30000000000000005"), json: "5"},
		{name: "uint 8 small", msg: x("cc05"), json: "5"},
		{name: "float 64", msg: x("cb3ff8000000000000"), json: "1.5"},
		{name: "float 64 -0", msg: x("cb8000000000000000"), json: "0"},
		{name: "float 64 integral", msg: x("cb4059000000000000"), json: "100"},
		{name: "float 64 1e21", msg: x("cb444b1ae4d6e2ef50"), json: "1e+21"},
		{name: "float 64 1e-7", msg: x("cb3e7ad7f29abcaf48"), json: "1e-7"},
		{name: "float 64 NaN", msg: x("cb7ff8000000000000"), json: "null"},
		{name: "float 64 Infinity", msg: x("cb7ff0000000000000"), json: "null"},
		{name: "float 64 -Infinity", msg: x("cbfff0000000000000"), json: "null"},
		{name: "float 32", msg: x("96 ca3dcccccd ca3fc00000 03 00 ca5a000000 ca6258d727"), json: "[0.10000000149011612,1.5,3,0,9007199254740992,1.0000000200408773e+21]",
			mp: `[0.1,1.5,3,-0,9007199254740994,1e21]`, mp32: true},
		{name: "float 32 NaN", msg: x("ca7fc00000"), json: "null"},
		{name: "msgpack numbers", msg: x("96 cb4340000000000001 cbc340000000000001 cf0000000100000000 d3ffffffff7fffffff 00 cb3fe0000000000000"),
			json: "[9007199254740994,-9007199254740994,4294967296,-2147483649,0,0.5]", mp: "[9007199254740994,-9007199254740994,4294967296,-2147483649,-0,0.5]"},

		{name: "str empty", msg: x("a0"), json: `""`},
		{name: "str 8", msg: x(`d9 01 "a"`), json: `"a"`},
		{name: "str 16", msg: x(`da 0001 "a"`), json: `"a"`},
		{name: "str 32", msg: x(`db 00000001 "a"`), json: `"a"`},
		{name: "str escapes", msg: x(`ab 22 5c 2f 08 0c 0a 0d 09 00 1f 7f`), json: `"\"\\/\b\f\n\r\t\u0000\u001f` + "\x7f\""},
		{name: "str utf-8", msg: x("af c3a9 e282ac f09f9880 e280a8 e280a9"), json: "\"é€😀\u2028\u2029\""},
		{name: "str invalid utf-8", msg: x("b0 ff e28241 f08080 eda080 c080 f4908080"), json: "\"\ufffd\ufffdA" + strings.Repeat("\ufffd", 12) + "\""},
		{name: "str truncated utf-8", msg: x("a3 f09f98"), json: "\"\ufffd\""},
		{name: "str U+FFFD", msg: x("a3 efbfbd"), json: "\"\ufffd\""},

		{name: "bin", msg: x("c403 010203"), json: ph(0), atts: [][]byte{{1, 2, 3}}},
		{name: "bin empty", msg: x("c400"), json: ph(0), atts: [][]byte{{}}},
		{name: "bin 16", msg: cat(x("c5012c"), seq(300)), json: ph(0), atts: [][]byte{seq(300)}},
		{name: "bin 32", msg: cat(x("c600011170"), seq(70000)), json: ph(0), atts: [][]byte{seq(70000)}},
		{name: "bins in order", msg: x(`93 c40101 81 a1 "x" c40102 c40103`), json: `[` + ph(0) + `,{"x":` + ph(1) + `},` + ph(2) + `]`, atts: [][]byte{{1}, {2}, {3}}},

		{name: "array empty", msg: x("90"), json: "[]"},
		{name: "array 16", msg: x("dc0001 01"), json: "[1]"},
		{name: "array 32", msg: x("dd00000001 01"), json: "[1]"},
		{name: "depth 100", msg: deep, json: strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)},
		{name: "depth 101", msg: cat(x("91"), deep), err: ErrTooDeep, node: strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)},
		{name: "map empty", msg: x("80"), json: "{}"},
		{name: "map 16", msg: x(`de0001 a1 "a" 01`), json: `{"a":1}`},
		{name: "map 32", msg: x(`df00000001 a1 "a" 01`), json: `{"a":1}`},
		{name: "map", msg: x(`82 a1 "b" 92 c3 c0 a1 "a" 01`), json: `{"b":[true,null],"a":1}`},
		{name: "map array indexes first", msg: x(`84 a1 "b" 01 a1 "2" 02 a1 "1" 03 aa "4294967295" 04`), json: `{"1":3,"2":2,"b":1,"4294967295":4}`},
		{name: "map repeated key", msg: x(`83 a1 "a" 01 a1 "b" 02 a1 "a" 03`), json: `{"a":3,"b":2}`},
		{name: "map repeated key, bins in final order", msg: x(`83 a1 "a" c40101 a1 "0" c40102 a1 "a" c40103`), json: `{"0":` + ph(0) + `,"a":` + ph(1) + `}`, atts: [][]byte{{2}, {3}}},
		{name: "map repeated invalid utf-8 key", msg: x(`82 a1 ff 01 a1 fe 02`), json: "{\"\ufffd\":2}"},
		{name: "map __proto__", msg: x(`83 a9 "__proto__" 81 a1 "x" 01 a1 "a" 02 a9 "__proto__" c0`), json: `{"a":2}`},
		{name: "map number keys", msg: x(`85 01 a1 "a" cb3ff8000000000000 02 d0df 03 cb7ff8000000000000 04 cb7ff0000000000000 05`), json: `{"1":"a","1.5":2,"-33":3,"NaN":4,"Infinity":5}`},
		{name: "map big number keys", msg: x(`82 cb444b1ae4d6e2ef50 01 cfffffffffffffffff 02`), json: `{"1e+21":1,"18446744073709552000":2}`},
		{name: "map -0 key", msg: x(`82 a1 "a" 01 cb8000000000000000 02`), json: `{"0":2,"a":1}`},
		{name: "map nested reordered", msg: x(`81 a1 "m" 92 82 a1 "z" c40101 a1 "0" c40102 c40103`), json: `{"m":[{"0":` + ph(0) + `,"z":` + ph(1) + `},` + ph(2) + `]}`, atts: [][]byte{{2}, {1}, {3}}},
		{name: "map big", msg: func() []byte { _, b := jsObject(20); return b }(), json: func() string { s, _ := jsObject(20); return s }()},
		{name: "map big repeated", msg: cat(x("de0011"), func() []byte { _, b := jsObject(16); return b[3:] }(), x(`a2 "k3" 05`)), json: strings.Replace(func() string { s, _ := jsObject(16); return s }(), `"k3":0`, `"k3":5`, 1)},

		{name: "undefined", msg: x("d40000"), json: "null"},
		{name: "undefined in array", msg: x("92 d40000 01"), json: "[null,1]"},
		{name: "undefined in map", msg: x(`83 a1 "a" d40000 a1 "b" 01 a1 "c" d400ff`), json: `{"b":1}`},
		{name: "undefined then value", msg: x(`83 a1 "a" d40000 a1 "b" 01 a1 "a" 02`), json: `{"a":2,"b":1}`},
		{name: "value then undefined", msg: x(`82 a1 "a" 02 a1 "a" d40000`), json: `{}`},

		{name: "timestamp 32 zero", msg: x("d6ff00000000"), json: `"1970-01-01T00:00:00.000Z"`, mp: `"$date:0"`},
		{name: "timestamp 32", msg: x("d6ff66322ec0"), json: `"2024-05-01T12:00:00.000Z"`, mp: `"$date:1714564800000"`},
		{name: "timestamp 32 max", msg: x("d6ffffffffff"), json: `"2106-02-07T06:28:15.000Z"`, mp: `"$date:4294967295000"`},
		{name: "timestamp 64", msg: x("d7ff7735940000000001"), json: `"1970-01-01T00:00:01.500Z"`, mp: `"$date:1500"`},
		{name: "timestamp 64 1ms", msg: x("d7ff003d090000000000"), json: `"1970-01-01T00:00:00.001Z"`, mp: `"$date:1.5"`},
		{name: "timestamp 64 2^32 s", msg: x("d7ff0000000100000000"), json: `"2106-02-07T06:28:16.000Z"`, mp: `"$date:4294967296000"`},
		{name: "timestamp 64 max", msg: x("d7ffee2e1f03ffffffff"), json: `"2514-05-30T01:53:03.999Z"`, mp: `"$date:17179869183999"`},
		{name: "timestamp 64 ns beyond 1e9", msg: x("d7fffffffffc00000000"), json: `"1970-01-01T00:00:01.073Z"`},
		{name: "timestamp 96 -1ms", msg: x("c70cff3b8b87c0ffffffffffffffff"), json: `"1969-12-31T23:59:59.999Z"`, mp: `"$date:-1"`},
		{name: "timestamp 96 -1.5s", msg: x("c70cff1dcd6500fffffffffffffffe"), json: `"1969-12-31T23:59:58.500Z"`, mp: `"$date:-1500"`},
		{name: "timestamp 96 2^34 s", msg: x("c70cff000000000000000400000000"), json: `"2514-05-30T01:53:04.000Z"`, mp: `"$date:17179869184000"`},
		{name: "timestamp 96 max date", msg: x("c70cff00000000000007dba8218000"), json: `"+275760-09-13T00:00:00.000Z"`, mp: `"$date:8640000000000000"`},
		{name: "timestamp 96 min date", msg: x("c70cff00000000fffff82457de8000"), json: `"-271821-04-20T00:00:00.000Z"`, mp: `"$date:-8640000000000000"`},
		{name: "timestamp 96 year -1", msg: x("c70cff00000000fffffff184aa5080"), json: `"-000001-01-01T00:00:00.000Z"`, mp: `"$date:-62198755200000"`},
		{name: "timestamp 96 year 10000", msg: x("c70cff000000000000003afff44180"), json: `"+010000-01-01T00:00:00.000Z"`, mp: `"$date:253402300800000"`},
		{name: "timestamp 96 beyond max", msg: x("c70cff00000000000007dba8218001"), json: "null"},
		{name: "timestamp 96 huge", msg: x("c70cff000000007fffffffffffffff"), json: "null"},
		{name: "timestamp 96 rounding", msg: x("c70cffffffffff0000000000000000"), json: `"1970-01-01T00:00:04.294Z"`},
		{name: "timestamp in array", msg: x("92 d6ff00000001 c0"), json: `["1970-01-01T00:00:01.000Z",null]`},
		{name: "notepack.io's old date", msg: x("d700 0000018f34069e00"), json: `"2024-05-01T12:00:00.000Z"`},
		{name: "notepack.io's old date invalid", msg: x("d700 7fffffffffffffff"), json: "null"},
		// Valid timestamps for @msgpack/msgpack; notepack.io reads 12
		// bytes after any ext 8 of type -1.
		{name: "timestamp 32 in ext 8", msg: x("c704ff00000001"), json: `"1970-01-01T00:00:01.000Z"`, nodeErr: true},
		{name: "timestamp 96 in ext 16", msg: x("c8000cff000000000000000000000001"), json: `"1970-01-01T00:00:01.000Z"`, node: `[-1,` + ph(0) + `]`, nodeAtts: [][]byte{x("000000000000000000000001")}},
		{name: "timestamp of 1 byte", msg: x("d4ff00"), err: ErrInvalid, node: `[-1,` + ph(0) + `]`, nodeAtts: [][]byte{{0}}},
		{name: "timestamp of 16 bytes", msg: cat(x("d8ff"), make([]byte, 16)), err: ErrInvalid, node: `[-1,` + ph(0) + `]`, nodeAtts: [][]byte{make([]byte, 16)}},

		{name: "ext fixext 1", msg: x("d405aa"), json: `[5,` + ph(0) + `]`, atts: [][]byte{{0xaa}}},
		{name: "ext fixext 2", msg: x("d5f0aabb"), json: `[-16,` + ph(0) + `]`, atts: [][]byte{{0xaa, 0xbb}}},
		{name: "ext fixext 4", msg: x("d6050a0b0c0d"), json: `[5,` + ph(0) + `]`, atts: [][]byte{{10, 11, 12, 13}}},
		{name: "ext fixext 8", msg: x("d7050102030405060708"), json: `[5,` + ph(0) + `]`, atts: [][]byte{{1, 2, 3, 4, 5, 6, 7, 8}}},
		{name: "ext fixext 16", msg: cat(x("d805"), seq(16)), json: `[5,` + ph(0) + `]`, atts: [][]byte{seq(16)}},
		{name: "ext 8", msg: x("c70305010203"), json: `[5,` + ph(0) + `]`, atts: [][]byte{{1, 2, 3}}},
		{name: "ext 16", msg: x("c8000305010203"), json: `[5,` + ph(0) + `]`, atts: [][]byte{{1, 2, 3}}},
		{name: "ext 32", msg: x("c90000000305010203"), json: `[5,` + ph(0) + `]`, atts: [][]byte{{1, 2, 3}}},
		{name: "ext 8 empty", msg: x("c70007"), json: `[7,` + ph(0) + `]`, atts: [][]byte{{}}},
		{name: "ext type 0 fixext 2", msg: x("d5000102"), json: `[0,` + ph(0) + `]`, atts: [][]byte{{1, 2}}},
		{name: "ext type 0 fixext 4", msg: x("d60001020304"), json: `[0,` + ph(0) + `]`, atts: [][]byte{{1, 2, 3, 4}}},
		{name: "ext type 0 fixext 16", msg: cat(x("d800"), seq(16)), json: `[0,` + ph(0) + `]`, atts: [][]byte{seq(16)}},
		{name: "ext 8 type 0 is binary", msg: x("c70300010203"), json: ph(0), atts: [][]byte{{1, 2, 3}}},
		{name: "ext 16 type 0 is binary", msg: x("c8000300010203"), json: ph(0), atts: [][]byte{{1, 2, 3}}},
		{name: "ext 32 type 0 is binary", msg: x("c90000000300010203"), json: ph(0), atts: [][]byte{{1, 2, 3}}},

		{name: "broadcast", msg: x(`93 a6 "mkGbCM" 83 a4 "type" 02 a4 "data" 92 a5 "bcast" 81 a3 "tag" a4 "span" a3 "nsp" a1 "/" 83 a5 "rooms" 91 a4 "span" a6 "except" 90 a5 "flags" 80`),
			json: `["mkGbCM",{"type":2,"data":["bcast",{"tag":"span"}],"nsp":"/"},{"rooms":["span"],"except":[],"flags":{}}]`},

		{name: "rest", msg: x("01 02 03"), json: "1", rest: x("02 03"), nodeErr: true},
		{name: "empty", msg: nil, err: ErrTruncated},
		{name: "0xc1", msg: x("c1"), err: ErrInvalid},
		{name: "truncated str", msg: x(`a5 "abc"`), err: ErrTruncated},
		{name: "truncated uint", msg: x("cd01"), err: ErrTruncated},
		{name: "truncated array", msg: x("92 01"), err: ErrTruncated},
		{name: "truncated map", msg: x(`82 a1 "a" 01 a1 "b"`), err: ErrTruncated},
		{name: "truncated ext", msg: x("d6ff0000"), err: ErrTruncated},
		{name: "str of 4 GiB", msg: x(`db ffffffff "abc"`), err: ErrTruncated},
		{name: "bin of 4 GiB", msg: x("c6 ffffffff 00"), err: ErrTruncated},
		{name: "ext of 4 GiB", msg: x("c9 ffffffff 05 00"), err: ErrTruncated},
		{name: "array of 4 Gi", msg: x("dd ffffffff 00"), err: ErrTruncated},
		{name: "map of 4 Gi", msg: x("df ffffffff 00 00"), err: ErrTruncated},
		{name: "map of 1 with 1 byte", msg: x("81 00"), err: ErrTruncated},
		// notepack.io makes these keys strings with String(key).
		{name: "nil key", msg: x("81 c0 01"), err: ErrMapKey, node: `{"null":1}`},
		{name: "bool key", msg: x("81 c3 01"), err: ErrMapKey, node: `{"true":1}`},
		{name: "array key", msg: x("81 92 01 02 01"), err: ErrMapKey, node: `{"1,2":1}`},
		{name: "map key", msg: x("81 80 01"), err: ErrMapKey, node: `{"[object Object]":1}`},
		{name: "bin key", msg: x(`81 c401 "a" 01`), err: ErrMapKey, node: `{"a":1}`},
		{name: "undefined key", msg: x("81 d40000 01"), err: ErrMapKey, node: `{"undefined":1}`},
	}
}
