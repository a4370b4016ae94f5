package msgpack

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestDifferential compares the package with notepack.io 3.0.1,
// @msgpack/msgpack 2.8.0 and socket.io-parser 4.2.7 run by
// testdata/differential.js: every table row (writers, FromJSON, ToJSON),
// the fuzz seed corpus and the inputs found by fuzzing (testdata/fuzz),
// and random values. Byte for byte; the differences are the ones the
// tables and the documentation list.
func TestDifferential(t *testing.T) {
	requireNode(t)
	t.Run("writers", testDiffWriters)
	t.Run("FromJSON", testDiffFromJSON)
	t.Run("ToJSON", testDiffToJSON)
	t.Run("corpus", testDiffCorpus)
}

func testDiffWriters(t *testing.T) {
	var reqs []nodeReq
	var cases []writerCase
	for _, c := range writerCases() {
		switch {
		case c.js == "":
			continue
		case c.atts != nil:
			reqs = append(reqs, nodeReq{Op: "fromjson", JSON: b64([]byte(c.js)), Atts: b64s(c.atts)})
		default:
			reqs = append(reqs, nodeReq{Op: "encode", JSON: b64([]byte(c.js)), Codec: "notepack"})
		}
		cases = append(cases, c)
	}
	for i, a := range runNode(t, reqs) {
		c := cases[i]
		want := c.want
		if c.node != nil {
			want = c.node
		}
		if !a.OK || !bytes.Equal(a.bytes(), want) {
			t.Errorf("%s: notepack.io wrote %s (%s), the table says %s", c.name, short(a.bytes()), a.Error, short(want))
		}
	}
}

func testDiffFromJSON(t *testing.T) {
	cases := fromJSONCases()
	reqs := make([]nodeReq, len(cases))
	for i, c := range cases {
		reqs[i] = nodeReq{Op: "fromjson", JSON: b64([]byte(c.json)), Atts: b64s(c.atts)}
	}
	for i, a := range runNode(t, reqs) {
		c := cases[i]
		switch {
		case c.nodeErr || c.err != nil && c.node == nil:
			if a.OK {
				t.Errorf("%s: Node.js wrote %s, the table says it fails", c.name, short(a.bytes()))
			}
		default:
			want := c.want
			if c.node != nil {
				want = c.node
			}
			if !a.OK || !bytes.Equal(a.bytes(), want) {
				t.Errorf("%s: Node.js wrote %s (%s), the table says %s", c.name, short(a.bytes()), a.Error, short(want))
			}
		}
	}
}

func testDiffToJSON(t *testing.T) {
	cases := toJSONCases()
	var reqs []nodeReq
	for _, c := range cases {
		reqs = append(reqs, nodeReq{Op: "tojson", Msg: b64(c.msg), Codec: "notepack"})
	}
	// The rows whose input @msgpack/msgpack writes: the bytes, and what
	// it decodes them to (the Streams adapter's view).
	var mp []toJSONCase
	for _, c := range cases {
		if c.mp != "" {
			mp = append(mp, c)
			reqs = append(reqs,
				nodeReq{Op: "encode", JSON: b64([]byte(c.mp)), Codec: "msgpack", Float32: c.mp32},
				nodeReq{Op: "tojson", Msg: b64(c.msg), Codec: "msgpack"})
		}
	}
	answers := runNode(t, reqs)
	for i, c := range cases {
		a := answers[i]
		switch {
		case c.nodeErr || c.err != nil && c.node == "":
			if a.OK {
				t.Errorf("%s: Node.js wrote %q, the table says it fails", c.name, a.json())
			}
		case c.node != "":
			if !a.OK || string(a.json()) != c.node || !reflect.DeepEqual(a.atts(), c.nodeAtts) {
				t.Errorf("%s: Node.js wrote %s %x (%s), the table says %s %x", c.name, shortS(string(a.json())), a.atts(), a.Error, shortS(c.node), c.nodeAtts)
			}
		default:
			if !a.OK || string(a.json()) != c.json || !reflect.DeepEqual(a.atts(), c.atts) {
				t.Errorf("%s: Node.js wrote %s %x (%s), the table says %s %x", c.name, shortS(string(a.json())), a.atts(), a.Error, shortS(c.json), c.atts)
			}
		}
	}
	answers = answers[len(cases):]
	for i, c := range mp {
		enc, dec := answers[2*i], answers[2*i+1]
		if !enc.OK || !bytes.Equal(enc.bytes(), c.msg) {
			t.Errorf("%s: @msgpack/msgpack wrote %x (%s), the table says %x", c.name, enc.bytes(), enc.Error, c.msg)
		}
		if !dec.OK || string(dec.json()) != c.json {
			t.Errorf("%s: @msgpack/msgpack decodes to %s (%s), notepack.io to %s", c.name, dec.json(), dec.Error, c.json)
		}
	}
}

// testDiffCorpus runs the fuzz seeds, the fuzz corpus files and random
// values through both sides.
func testDiffCorpus(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	texts := jsonSeeds()
	texts = append(texts, corpusFiles(t, "FuzzFromJSON")...)
	for range 3000 {
		texts = append(texts, string(randJSON(r, nil, 0)))
	}
	var msgs [][]byte
	msgs = append(msgs, msgSeeds()...)
	for _, f := range [...]string{"FuzzToJSON", "FuzzDecode"} {
		for _, s := range corpusFiles(t, f) {
			msgs = append(msgs, []byte(s))
		}
	}
	for range 3000 {
		msgs = append(msgs, randMsg(r, nil, 0))
	}
	// An empty first attachment, so that repeated placeholders stay within
	// the budget.
	atts := [][]byte{{}, {0xde, 0xad}}
	var reqs []nodeReq
	for _, s := range texts {
		reqs = append(reqs, nodeReq{Op: "fromjson", JSON: b64([]byte(s)), Atts: b64s(atts)})
	}
	for _, m := range msgs {
		reqs = append(reqs, nodeReq{Op: "tojson", Msg: b64(m), Codec: "notepack"})
	}
	answers := runNode(t, reqs)
	counts := map[string]int{}
	for i, s := range texts {
		got, err := FromJSON(nil, []byte(s), atts)
		outcome := compareFromJSON([]byte(s), got, err, answers[i])
		if outcome == "" {
			t.Errorf("FromJSON(%s) = %s, %v; Node.js %s (%s)", shortS(s), short(got), err, short(answers[i].bytes()), answers[i].Error)
		}
		counts["FromJSON: "+outcome]++
	}
	answers = answers[len(texts):]
	for i, m := range msgs {
		var gotAtts [][]byte
		got, rest, err := ToJSON(nil, m, &gotAtts)
		outcome := compareToJSON(m, got, rest, gotAtts, err, answers[i])
		if outcome == "" {
			t.Errorf("ToJSON(%s) = %s %x, rest %x, %v; Node.js %s %x (%s)", short(m), shortS(string(got)), gotAtts, rest, err,
				shortS(string(answers[i].json())), answers[i].atts(), answers[i].Error)
		}
		counts["ToJSON: "+outcome]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t.Logf("%6d %s", counts[k], k)
	}
}

// compareFromJSON classifies a FromJSON result against Node.js's: "same",
// a documented difference, or "" for an unexplained one.
func compareFromJSON(in, got []byte, err error, a nodeAns) string {
	switch {
	case err == nil && a.OK && bytes.Equal(got, a.bytes()):
		return "same bytes"
	case err != nil && !a.OK:
		return "both fail"
	case errors.Is(err, ErrTooDeep):
		return "deeper than MaxDepth (documented)"
	case errors.Is(err, ErrTooLarge):
		return "attachments repeated beyond their size (documented)"
	}
	if err == nil && a.OK && bytes.Equal(asNotepackNumbers(got), a.bytes()) {
		return "numbers beyond 2^53 or 64 bits (documented)"
	}
	if why := jsonDifference(in); why != "" {
		return why + " (documented)"
	}
	return ""
}

// asNotepackNumbers rewrites every number of msg as notepack.io writes
// the double JavaScript holds for it: integers rounded to doubles, and
// integral doubles beyond 64 bits wrapped modulo 2^64.
func asNotepackNumbers(msg []byte) []byte {
	var out []byte
	for off := 0; off < len(msg); {
		h, err := readHead(msg, off)
		if err != nil {
			return nil
		}
		var d float64
		switch h.k {
		case kInt:
			d = float64(h.i)
		case kUint:
			d = float64(h.u)
		case kFloat:
			d = h.f
		default:
			out = append(out, msg[off:h.end]...) // a header, or a whole scalar
			off = h.end
			continue
		}
		off = h.end
		switch {
		case d != math.Trunc(d) || math.IsInf(d, 0):
			out = AppendFloat(out, d)
		case d >= 1<<64:
			out = appendBE64(append(out, 0xcf), uint64(math.Mod(d, 1<<64)))
		case d < -1<<63:
			out = appendBE64(append(out, 0xd3), -uint64(math.Mod(-d, 1<<64)))
		default:
			out = AppendFloat(out, d)
		}
	}
	return out
}

// jsonDifference names the documented differences a JSON text may meet.
func jsonDifference(in []byte) string {
	switch {
	case regexpSurrogate(in):
		return "unpaired surrogate"
	case bytes.Contains(in, []byte("_placeholder")) || bytes.Contains(in, []byte(`\u`)) && bytes.Contains(in, []byte("num")):
		return "invalid placeholder (socket.io-parser throws)"
	}
	return ""
}

// regexpSurrogate reports whether in has a \uD800-\uDFFF escape.
func regexpSurrogate(in []byte) bool {
	for i := 0; i+6 <= len(in); i++ {
		if in[i] == '\\' && in[i+1] == 'u' && (in[i+2]|0x20) == 'd' && strings.IndexByte("89abcdefABCDEF", in[i+3]) >= 0 {
			return true
		}
	}
	return false
}

// compareToJSON classifies a ToJSON result against Node.js's.
func compareToJSON(msg, got, rest []byte, atts [][]byte, err error, a nodeAns) string {
	if err == nil && len(rest) != 0 {
		err = errors.New("trailing bytes") // notepack.io decodes whole messages
	}
	switch {
	case err == nil && a.OK && bytes.Equal(got, a.json()) && reflect.DeepEqual(nonNil(atts), nonNil(a.atts())):
		return "same JSON and attachments"
	case err != nil && !a.OK:
		return "both fail"
	case errors.Is(err, ErrTooDeep):
		return "deeper than MaxDepth (documented)"
	case errors.Is(err, ErrMapKey):
		return "key neither string nor number (documented)"
	}
	if oddTimestamp(msg) {
		return "timestamp extension in another form (documented)"
	}
	if bytes.Contains(msg, []byte("\xa9__proto__")) {
		// A Date, a Buffer or an ArrayBuffer set as prototype makes
		// socket.io-parser throw or take the object for binary.
		return "__proto__ holding what Node.js cannot encode (documented)"
	}
	return ""
}

// oddTimestamp reports whether msg holds an extension of type -1 other
// than the three forms notepack.io reads right (d6, d7, c7 of 12 bytes).
func oddTimestamp(msg []byte) bool {
	for off := 0; off < len(msg); {
		h, err := readHead(msg, off)
		if err != nil {
			// Truncated or invalid: look at the bytes left one by one.
			off++
			continue
		}
		if h.k == kExt && h.et == -1 {
			if c := msg[off]; !(c == 0xd6 || c == 0xd7 || c == 0xc7 && h.n == 12) {
				return true
			}
		}
		off = h.end // into containers, over the rest
	}
	return false
}

// corpusFiles returns the inputs of the corpus files of a fuzz target
// (testdata/fuzz/<target>/*), each the first []byte argument.
func corpusFiles(t *testing.T, target string) []string {
	files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", target, "*"))
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		if len(lines) < 2 || lines[0] != "go test fuzz v1" {
			t.Fatalf("%s: not a fuzz corpus file", f)
		}
		arg := strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")")
		s, err := strconv.Unquote(arg)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, s)
	}
	return out
}

// Random values. The pools hold the edge cases; the shapes are random.

var randNumbers = []string{
	"0", "-0", "1", "-1", "127", "128", "-32", "-33", "255", "256", "65535", "65536", "4294967295", "4294967296",
	"-2147483648", "-2147483649", "9007199254740991", "9007199254740992", "1.5", "-0.5", "0.1", "1e2", "1E-2", "1e21",
	"1e20", "123456789.125", "5e-324", "1e400", "-1e400", "1e-400", "0.000001", "0.0000001", "2.5e-7", "1.7976931348623157e308",
	"18446744073709549568", "-9223372036854775808", "100e-2", "3.0", "-12e1",
}

var randStrings = []string{
	"", "a", "bcast", "pubsub-span-x", `\"`, `\\`, `\/`, `\n\t\r\b\f`, `\u0000`, `\u001f`, `\u00e9`, "é", "€", "😀",
	`\ud83d\ude00`, "\u2028", "\x7f", strings.Repeat("x", 31), strings.Repeat("y", 32), strings.Repeat("z", 300),
	"__proto__", "0", "1", "10", "4294967294", "4294967295", "01", "-1", "1.5", "_placeholder", "num", "toJSON", "constructor",
}

var randKeys = []string{"a", "b", "c", "0", "1", "2", "10", "4294967294", "4294967295", "01", "é", "__proto__", "type", "data", "nsp"}

func randJSON(r *rand.Rand, dst []byte, depth int) []byte {
	ws := func() {
		if r.IntN(8) == 0 {
			dst = append(dst, " \t\n\r"[r.IntN(4)])
		}
	}
	ws()
	switch n := r.IntN(10); {
	case n < 2 && depth < 6:
		dst = append(dst, '[')
		for i := range r.IntN(5) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = randJSON(r, dst, depth+1)
		}
		dst = append(dst, ']')
	case n < 4 && depth < 6:
		dst = append(dst, '{')
		for i := range r.IntN(6) {
			if i > 0 {
				dst = append(dst, ',')
			}
			ws()
			dst = append(dst, '"')
			dst = append(dst, randKeys[r.IntN(len(randKeys))]...)
			dst = append(dst, '"')
			ws()
			dst = append(dst, ':')
			dst = randJSON(r, dst, depth+1)
		}
		dst = append(dst, '}')
	case n < 6:
		dst = append(dst, randNumbers[r.IntN(len(randNumbers))]...)
	case n < 8:
		dst = append(dst, '"')
		for range r.IntN(3) {
			dst = append(dst, randStrings[r.IntN(len(randStrings))]...)
		}
		dst = append(dst, '"')
	default:
		dst = append(dst, []string{"true", "false", "null", `{"_placeholder":true,"num":0}`, `{"_placeholder":true,"num":1}`}[r.IntN(5)]...)
	}
	ws()
	return dst
}

func randMsg(r *rand.Rand, dst []byte, depth int) []byte {
	n := r.IntN(24)
	if depth >= 5 && n < 4 {
		n += 4
	}
	switch n {
	case 0, 1: // array in any header form
		k := r.IntN(5)
		dst = randHeader(r, dst, k, 0x90, 0xdc)
		for range k {
			dst = randMsg(r, dst, depth+1)
		}
	case 2, 3: // map, keys mostly strings
		k := r.IntN(5)
		dst = randHeader(r, dst, k, 0x80, 0xde)
		for range k {
			switch r.IntN(8) {
			case 0:
				dst = AppendInt(dst, int64(r.IntN(12))-1)
			case 1:
				dst = AppendFloat(dst, []float64{1.5, math.Copysign(0, -1), math.NaN(), math.Inf(1), 1e21, 0.1}[r.IntN(6)])
			default:
				dst = AppendString(dst, randKeys[r.IntN(len(randKeys))])
			}
			dst = randMsg(r, dst, depth+1)
		}
	case 4: // integer in a random form
		dst = randInt(r, dst)
	case 5:
		dst = AppendInt(dst, int64(r.Uint64()>>r.IntN(64))*int64(1-2*r.IntN(2)))
	case 6:
		dst = AppendUint(dst, r.Uint64()>>r.IntN(64))
	case 7:
		f := []float64{0, math.Copysign(0, -1), 1.5, 0.1, 1e21, 1e-7, 5e-324, math.MaxFloat64, math.Inf(-1), math.NaN(), float64(1<<53 + 1), r.NormFloat64() * 1e6}[r.IntN(12)]
		if r.IntN(2) == 0 {
			dst = append(dst, 0xca)
			dst = binary.BigEndian.AppendUint32(dst, math.Float32bits(float32(f)))
		} else {
			dst = appendBE64(append(dst, 0xcb), math.Float64bits(f))
		}
	case 8, 9: // string in any header form
		s := []byte(randStrings[r.IntN(len(randStrings))])
		if r.IntN(4) == 0 {
			s = append(s, []byte{0xff, 0xe2, 0x82, 0xed, 0xa0, 0x80, 0xf0, 0x9f, 0x98}[r.IntN(9):]...)
		}
		dst = randStrHeader(r, dst, len(s))
		dst = append(dst, s...)
	case 10:
		dst = AppendBinary(dst, make([]byte, r.IntN(300)))
	case 11: // timestamps as notepack.io and @msgpack/msgpack write them
		switch r.IntN(4) {
		case 0:
			dst = append(dst, 0xd6, 0xff)
			dst = binary.BigEndian.AppendUint32(dst, r.Uint32())
		case 1:
			dst = append(dst, 0xd7, 0xff)
			dst = binary.BigEndian.AppendUint64(dst, r.Uint64())
		case 2:
			dst = append(dst, 0xc7, 12, 0xff)
			dst = binary.BigEndian.AppendUint32(dst, r.Uint32())
			dst = binary.BigEndian.AppendUint64(dst, uint64(r.Int64N(1<<40)-1<<39))
		default:
			dst = append(dst, 0xd7, 0x00)
			dst = binary.BigEndian.AppendUint64(dst, uint64(r.Int64N(1<<53)-1<<52))
		}
	case 12: // other extensions
		size := []int{1, 2, 4, 8, 16, r.IntN(20)}[r.IntN(6)]
		typ := byte([]int{0, 1, 5, 127, -128 & 0xff, -2 & 0xff}[r.IntN(6)])
		switch {
		case size == 1 && r.IntN(2) == 0:
			dst = append(dst, 0xd4, typ)
		case size == 2 && r.IntN(2) == 0:
			dst = append(dst, 0xd5, typ)
		case size == 4 && r.IntN(2) == 0:
			dst = append(dst, 0xd6, typ)
		case size == 8 && r.IntN(2) == 0:
			dst = append(dst, 0xd7, typ)
		case size == 16 && r.IntN(2) == 0:
			dst = append(dst, 0xd8, typ)
		default:
			dst = append(dst, []byte{0xc7, 0xc8, 0xc9}[r.IntN(3)])
			switch dst[len(dst)-1] {
			case 0xc7:
				dst = append(dst, byte(size))
			case 0xc8:
				dst = binary.BigEndian.AppendUint16(dst, uint16(size))
			default:
				dst = binary.BigEndian.AppendUint32(dst, uint32(size))
			}
			dst = append(dst, typ)
		}
		for range size {
			dst = append(dst, byte(r.IntN(256)))
		}
	case 13:
		dst = append(dst, 0xd4, 0, byte(r.IntN(256))) // undefined
	default:
		dst = append(dst, []byte{0xc0, 0xc2, 0xc3, 0x00, 0x7f, 0xe0, 0xff}[r.IntN(7)])
	}
	return dst
}

func randHeader(r *rand.Rand, dst []byte, n int, fix, b16 byte) []byte {
	switch r.IntN(4) {
	case 0:
		return binary.BigEndian.AppendUint16(append(dst, b16), uint16(n))
	case 1:
		return binary.BigEndian.AppendUint32(append(dst, b16+1), uint32(n))
	}
	return append(dst, fix|byte(n))
}

func randStrHeader(r *rand.Rand, dst []byte, n int) []byte {
	switch k := r.IntN(4); {
	case k == 0 && n < 256:
		return append(dst, 0xd9, byte(n))
	case k == 1:
		return binary.BigEndian.AppendUint16(append(dst, 0xda), uint16(n))
	case k == 2:
		return binary.BigEndian.AppendUint32(append(dst, 0xdb), uint32(n))
	}
	return appendStrHeader(dst, n)
}

func randInt(r *rand.Rand, dst []byte) []byte {
	v := r.Uint64()
	switch r.IntN(8) {
	case 0:
		return append(dst, 0xcc, byte(v))
	case 1:
		return binary.BigEndian.AppendUint16(append(dst, 0xcd), uint16(v))
	case 2:
		return binary.BigEndian.AppendUint32(append(dst, 0xce), uint32(v))
	case 3:
		return binary.BigEndian.AppendUint64(append(dst, 0xcf), v>>r.IntN(64))
	case 4:
		return append(dst, 0xd0, byte(v))
	case 5:
		return binary.BigEndian.AppendUint16(append(dst, 0xd1), uint16(v))
	case 6:
		return binary.BigEndian.AppendUint32(append(dst, 0xd2), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xd3), uint64(int64(v)>>r.IntN(64)))
}
