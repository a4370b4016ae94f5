package msgpack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/parser"
)

func short(b []byte) string {
	if len(b) > 48 {
		return fmt.Sprintf("%x…(%d bytes)", b[:48], len(b))
	}
	return fmt.Sprintf("%x", b)
}

func shortS(s string) string {
	if len(s) > 96 {
		return fmt.Sprintf("%q…(%d bytes)", s[:96], len(s))
	}
	return fmt.Sprintf("%q", s)
}

func TestAppend(t *testing.T) {
	for _, c := range writerCases() {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s: got %s, want %s", c.name, short(c.got), short(c.want))
		}
	}
}

func TestAppendPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"negative array": func() { AppendArrayHeader(nil, -1) },
		"negative map":   func() { AppendMapHeader(nil, -1) },
		"array 2^32":     func() { AppendArrayHeader(nil, 1<<32) },
		"map 2^32":       func() { AppendMapHeader(nil, 1<<32) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestAppendFloatIntegers checks AppendFloat against AppendInt and
// AppendUint over the integral doubles near each boundary.
func TestAppendFloatIntegers(t *testing.T) {
	for _, v := range []float64{0, 1, 127, 128, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, 1 << 53, 1 << 63, 18446744073709549568} {
		if got, want := AppendFloat(nil, v), AppendUint(nil, uint64(v)); !bytes.Equal(got, want) {
			t.Errorf("AppendFloat(%v) = %x, want %x", v, got, want)
		}
	}
	for _, v := range []float64{-1, -32, -33, -128, -129, -32768, -32769, -1 << 31, -1<<31 - 1, -1 << 53, -1 << 63} {
		if got, want := AppendFloat(nil, v), AppendInt(nil, int64(v)); !bytes.Equal(got, want) {
			t.Errorf("AppendFloat(%v) = %x, want %x", v, got, want)
		}
	}
	for _, v := range []float64{1 << 64, -9223372036854777856, 0.5, -0.5, math.SmallestNonzeroFloat64, math.MaxFloat64, math.Inf(1), math.NaN()} {
		if got := AppendFloat(nil, v); len(got) != 9 || got[0] != 0xcb {
			t.Errorf("AppendFloat(%v) = %x, want a float 64", v, got)
		}
	}
}

func TestFromJSON(t *testing.T) {
	for _, c := range fromJSONCases() {
		prefix := []byte("prefix")
		got, err := FromJSON(prefix, []byte(c.json), c.atts)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s: FromJSON(%s) error %v, want %v", c.name, shortS(c.json), err, c.err)
			}
			if string(got) != "prefix" {
				t.Errorf("%s: dst %q after an error", c.name, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: FromJSON(%s): %v", c.name, shortS(c.json), err)
			continue
		}
		if !bytes.Equal(got[len(prefix):], c.want) || string(got[:len(prefix)]) != "prefix" {
			t.Errorf("%s: FromJSON(%s) = %s, want %s", c.name, shortS(c.json), short(got[len(prefix):]), short(c.want))
		}
	}
}

func TestToJSON(t *testing.T) {
	for _, c := range toJSONCases() {
		prefix := []byte("prefix")
		atts := [][]byte{[]byte("old")}
		got, rest, err := ToJSON(prefix, c.msg, &atts)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s: ToJSON(%s) error %v, want %v", c.name, short(c.msg), err, c.err)
			}
			if string(got) != "prefix" || len(atts) != 1 || rest != nil {
				t.Errorf("%s: dst %q, %d attachments, rest %x after an error", c.name, got, len(atts), rest)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: ToJSON(%s): %v", c.name, short(c.msg), err)
			continue
		}
		// The numbering continues after the attachment already listed.
		want := c.json
		for i := len(c.atts) - 1; i >= 0; i-- {
			want = strings.ReplaceAll(want, fmt.Sprintf(`"num":%d}`, i), fmt.Sprintf(`"num":%d}`, i+1))
		}
		if string(got) != "prefix"+want {
			t.Errorf("%s: ToJSON(%s) = %s, want %s", c.name, short(c.msg), shortS(string(got)), shortS("prefix"+want))
		}
		if !reflect.DeepEqual(atts[1:], nonNil(c.atts)) || string(atts[0]) != "old" {
			t.Errorf("%s: attachments %x, want %x", c.name, atts, c.atts)
		}
		if !bytes.Equal(rest, c.rest) {
			t.Errorf("%s: rest %x, want %x", c.name, rest, c.rest)
		}
		// Without the list, binary data is an error.
		if _, _, err := ToJSON(nil, c.msg, nil); (err != nil) != (len(c.atts) > 0) || err != nil && !errors.Is(err, ErrBinary) {
			t.Errorf("%s: ToJSON without attachments: %v", c.name, err)
		}
		// Every result is valid JSON, FromJSON takes it back, and ToJSON
		// writes it again.
		if !json.Valid([]byte(c.json)) {
			t.Errorf("%s: invalid JSON %q", c.name, c.json)
		}
		checkRoundTrip(t, []byte(c.json), c.atts)
	}
}

func nonNil(b [][]byte) [][]byte {
	if b == nil {
		return [][]byte{}
	}
	return b
}

// checkRoundTrip checks that the JSON text js, a result of ToJSON, goes
// through FromJSON and ToJSON unchanged, and that FromJSON then gives the
// same bytes again.
func checkRoundTrip(t *testing.T, js []byte, atts [][]byte) {
	t.Helper()
	m, err := FromJSON(nil, js, atts)
	if err != nil {
		if errors.Is(err, ErrTooDeep) {
			return // placeholders or ext arrays one level below MaxDepth
		}
		t.Fatalf("FromJSON(%s): %v", shortS(string(js)), err)
	}
	var atts2 [][]byte
	js2, rest, err := ToJSON(nil, m, &atts2)
	if err != nil || len(rest) != 0 {
		t.Fatalf("ToJSON(FromJSON(%s)) = %s: %v, rest %x", shortS(string(js)), short(m), err, rest)
	}
	if !bytes.Equal(js2, js) || !reflect.DeepEqual(nonNil(atts2), nonNil(atts)) {
		t.Fatalf("round trip of %s gives %s (attachments %x, want %x)", shortS(string(js)), shortS(string(js2)), atts2, atts)
	}
	m2, err := FromJSON(nil, js2, atts2)
	if err != nil || !bytes.Equal(m2, m) {
		t.Fatalf("FromJSON not stable on %s: %x then %x (%v)", shortS(string(js)), m, m2, err)
	}
}

// TestRoundTrip converts JSON texts to MessagePack and back: the result is
// the text as JSON.stringify(JSON.parse(text)) writes it.
func TestRoundTrip(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{`["bcast",{"tag":"pubsub-x","n":123}]`, ""},
		{` [ 1 , 2.5 , -3e-9 , 1e2 , 1E21 , 0.1 , -0 , true , false , null ] `, `[1,2.5,-3e-9,100,1e+21,0.1,0,true,false,null]`},
		{`{"b":1,"2":{"y":[],"x":{}},"1":"s","b":2}`, `{"1":"s","2":{"y":[],"x":{}},"b":2}`},
		{`"\u00e9\ud83d\ude00\n\u2028\u007f\/"`, "\"é😀\\n\u2028\x7f/\""},
		{`[1e400,-1e400]`, `[null,null]`},
		{`[9007199254740993,18446744073709551615,-9223372036854775807]`, `[9007199254740992,18446744073709552000,-9223372036854776000]`},
		{`[123456789012345678901234567890,1.7976931348623157e308,5e-324]`, `[1.2345678901234568e+29,1.7976931348623157e+308,5e-324]`},
		// Renumbered in traversal order: the attachments are swapped.
		{`["a",{"_placeholder":true,"num":1},[{"_placeholder":true,"num":0}]]`, `["a",{"_placeholder":true,"num":0},[{"_placeholder":true,"num":1}]]`},
	} {
		atts := [][]byte{{1}, {2, 2}}
		m, err := FromJSON(nil, []byte(c.in), atts)
		if err != nil {
			t.Fatalf("FromJSON(%s): %v", c.in, err)
		}
		var got [][]byte
		js, _, err := ToJSON(nil, m, &got)
		if err != nil {
			t.Fatalf("ToJSON(%x): %v", m, err)
		}
		want := c.out
		if want == "" {
			want = c.in
		}
		if string(js) != want {
			t.Errorf("%s: got %s, want %s", c.in, js, want)
		}
		checkRoundTrip(t, js, got)
	}
}

// TestNumbersLikeJS checks number formatting against parser.AppendValue,
// which formats as JavaScript does, for integer forms beyond 2^53.
func TestNumbersLikeJS(t *testing.T) {
	for _, v := range []int64{1<<53 + 1, -1<<53 - 1, math.MaxInt64, math.MinInt64, 1<<62 + 12345, -1<<60 - 777} {
		got, _, err := ToJSON(nil, AppendInt(nil, v), nil)
		want, _ := parser.AppendValue(nil, float64(v), nil)
		if err != nil || string(got) != string(want) {
			t.Errorf("%d: %s, want %s (%v)", v, got, want, err)
		}
	}
}

// TestStringsLikeParser checks that ToJSON writes valid UTF-8 strings as
// parser.AppendValue, which writes them as JSON.stringify.
func TestStringsLikeParser(t *testing.T) {
	var all strings.Builder
	for r := rune(0); r < 0x3000; r++ {
		all.WriteRune(r)
	}
	for _, s := range []string{"", "plain", "\x00\x01\x1f\x7f\"\\/<>&'", all.String(), "\U0010ffff\U00010000"} {
		got, _, err := ToJSON(nil, AppendString(nil, s), nil)
		want, _ := parser.AppendValue(nil, s, nil)
		if err != nil || string(got) != string(want) {
			t.Errorf("%q: %s, want %s (%v)", s, shortS(string(got)), shortS(string(want)), err)
		}
	}
}

func TestToJSONAttachmentsNotCopied(t *testing.T) {
	msg := x("92 c403 010203 c400")
	var atts [][]byte
	if _, _, err := ToJSON(nil, msg, &atts); err != nil {
		t.Fatal(err)
	}
	if &atts[0][0] != &msg[3] || atts[1] == nil || cap(atts[0]) != 3 {
		t.Fatalf("attachments %x are not the sub-slices of the input", atts)
	}
}

func TestToJSONErrorRestores(t *testing.T) {
	atts := [][]byte{{9}}
	// The error (no attachment list) comes after a first attachment.
	out, _, err := ToJSON([]byte("x"), x("92 c40101 c1"), &atts)
	if !errors.Is(err, ErrInvalid) || string(out) != "x" || len(atts) != 1 {
		t.Fatalf("%q %x %v", out, atts, err)
	}
}

func TestDecode(t *testing.T) {
	msg := x(`93 a6 "mkGbCM" 83 a4 "type" 02 a4 "data" 92 a5 "bcast" c403010203 a3 "nsp" a1 "/" 88 a5 "rooms" 91 a4 "span" ` +
		`01 cb3ff8000000000000 cb3ff8000000000000 ca3fc00000 a1 ff cfffffffffffffffff a1 "e" d6ff00000001 a1 "n" c0 a1 "t" c3 a1 "f" c2`)
	v, rest, err := Decode(append(msg, 0x7f))
	if err != nil || !bytes.Equal(rest, []byte{0x7f}) {
		t.Fatalf("Decode: %v, rest %x", err, rest)
	}
	want := []any{
		"mkGbCM",
		map[string]any{"type": int64(2), "data": []any{"bcast", []byte{1, 2, 3}}, "nsp": "/"},
		map[string]any{"rooms": []any{"span"}, "1": 1.5, "1.5": 1.5, "\ufffd": uint64(math.MaxUint64),
			"e": Ext{Type: -1, Data: []byte{0, 0, 0, 1}}, "n": nil, "t": true, "f": false},
	}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("Decode = %#v\nwant %#v", v, want)
	}
	tm, ok := v.([]any)[2].(map[string]any)["e"].(Ext).Time()
	if !ok || !tm.Equal(time.Unix(1, 0)) {
		t.Fatalf("Time() = %v, %v", tm, ok)
	}
	for _, c := range []struct {
		msg  string
		want any
	}{
		{"cc80", int64(128)}, {"d3 8000000000000000", int64(math.MinInt64)}, {"cf 7fffffffffffffff", int64(math.MaxInt64)},
		{"cf 8000000000000000", uint64(1 << 63)}, {"e0", int64(-32)}, {"c400", []byte{}}, {"90", []any{}}, {"80", map[string]any{}},
		{"d40000", Ext{Type: 0, Data: []byte{0}}}, {"c70005", Ext{Type: 5, Data: []byte{}}},
	} {
		v, _, err := Decode(x(c.msg))
		if err != nil || !reflect.DeepEqual(v, c.want) {
			t.Errorf("Decode(%s) = %#v, %v; want %#v", c.msg, v, err, c.want)
		}
	}
	for _, c := range toJSONCases() {
		if c.err == nil || errors.Is(c.err, ErrInvalid) && c.msg[0] != 0xc1 {
			continue
		}
		_, rest, err := Decode(c.msg)
		if !errors.Is(err, c.err) || rest != nil {
			t.Errorf("%s: Decode error %v, want %v", c.name, err, c.err)
		}
	}
}

func TestExtTime(t *testing.T) {
	for _, c := range []struct {
		msg  string
		want time.Time
	}{
		{"d6ff 66322ec0", time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)},
		{"d7ff 77359400 00000001", time.Unix(1, 5e8)},
		{"c70cff 3b8b87c0 ffffffffffffffff", time.Unix(-1, 999e6)},
		{"c70cff 00000000 000007dba8218000", time.Unix(8.64e12, 0)},
	} {
		v, _, err := Decode(x(c.msg))
		if err != nil {
			t.Fatal(err)
		}
		if tm, ok := v.(Ext).Time(); !ok || !tm.Equal(c.want) {
			t.Errorf("%s: %v, %v; want %v", c.msg, tm, ok, c.want)
		}
	}
	for _, e := range []Ext{{Type: 0, Data: make([]byte, 4)}, {Type: -1, Data: make([]byte, 5)}} {
		if _, ok := e.Time(); ok {
			t.Errorf("%v is a time", e)
		}
	}
}

func TestSkip(t *testing.T) {
	for _, c := range toJSONCases() {
		rest, err := Skip(c.msg)
		switch {
		case c.err == nil || errors.Is(c.err, ErrMapKey) || errors.Is(c.err, ErrInvalid) && c.msg[0] != 0xc1:
			if err != nil || !bytes.Equal(rest, c.rest) {
				t.Errorf("%s: Skip = %x, %v; want %x", c.name, rest, err, c.rest)
			}
		case !errors.Is(err, c.err) || rest != nil:
			t.Errorf("%s: Skip error %v, want %v", c.name, err, c.err)
		}
	}
}

func TestMapEntries(t *testing.T) {
	msg := x(`84 a3 "uid" a6 "mkGbCM" a4 "type" 07 01 c0 a6 "packet" 83 a4 "type" 02 a4 "data" 91 a1 "a" a3 "nsp" a1 "/" 2a`)
	var keys []string
	var vals []string
	rest, err := MapEntries(msg, func(k string, v []byte) error {
		keys = append(keys, k)
		vals = append(vals, fmt.Sprintf("%x", v))
		return nil
	})
	if err != nil || !bytes.Equal(rest, []byte{0x2a}) {
		t.Fatalf("MapEntries: %v, rest %x", err, rest)
	}
	if want := []string{"uid", "type", "1", "packet"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("keys %q, want %q", keys, want)
	}
	if vals[3] != fmt.Sprintf("%x", x(`83 a4 "type" 02 a4 "data" 91 a1 "a" a3 "nsp" a1 "/"`)) || vals[1] != "07" {
		t.Fatalf("values %q", vals)
	}
	stop := errors.New("stop")
	if _, err := MapEntries(msg, func(string, []byte) error { return stop }); err != stop {
		t.Fatalf("fn error: %v", err)
	}
	for msg, want := range map[string]error{"91 01": ErrType, "": ErrTruncated, "81 c0 01": ErrMapKey, "81 a1 61": ErrTruncated, "82 01 01 01 c1": ErrInvalid} {
		if _, err := MapEntries(x(msg), func(string, []byte) error { return nil }); !errors.Is(err, want) {
			t.Errorf("MapEntries(%s): %v, want %v", msg, err, want)
		}
	}
}

func TestArrayItems(t *testing.T) {
	msg := x(`93 a6 "mkGbCM" 81 a1 "a" 92 01 02 c0 ff`)
	var items []string
	rest, err := ArrayItems(msg, func(v []byte) error {
		items = append(items, fmt.Sprintf("%x", v))
		return nil
	})
	if err != nil || !bytes.Equal(rest, []byte{0xff}) {
		t.Fatalf("ArrayItems: %v, rest %x", err, rest)
	}
	if want := []string{fmt.Sprintf("%x", x(`a6 "mkGbCM"`)), fmt.Sprintf("%x", x(`81 a1 "a" 92 01 02`)), "c0"}; !reflect.DeepEqual(items, want) {
		t.Fatalf("items %q, want %q", items, want)
	}
	for msg, want := range map[string]error{"81 01 01": ErrType, "": ErrTruncated, "92 01": ErrTruncated, "91 c1": ErrInvalid} {
		if _, err := ArrayItems(x(msg), func([]byte) error { return nil }); !errors.Is(err, want) {
			t.Errorf("ArrayItems(%s): %v, want %v", msg, err, want)
		}
	}
}

// TestHugeHeaders checks that headers claiming 4 GiB fail at once without
// allocating more than the error.
func TestHugeHeaders(t *testing.T) {
	for _, msg := range []string{"db ffffffff", "c6 ffffffff", "c9 ffffffff 01", "dd ffffffff", "df ffffffff", "92 dd ffffffff 01"} {
		b := x(msg)
		// TotalAlloc counts every goroutine's allocations (the test
		// framework's, parallel tests'), so the readers run many times and
		// the average is checked: a header taken at its word would
		// allocate 4 GiB on the first run.
		const runs = 100
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range runs {
			if _, err := Skip(b); !errors.Is(err, ErrTruncated) {
				t.Fatalf("Skip(%s): %v", msg, err)
			}
			if _, _, err := Decode(b); !errors.Is(err, ErrTruncated) {
				t.Fatalf("Decode(%s): %v", msg, err)
			}
			if _, _, err := ToJSON(nil, b, nil); !errors.Is(err, ErrTruncated) {
				t.Fatalf("ToJSON(%s): %v", msg, err)
			}
		}
		runtime.ReadMemStats(&after)
		if n := (after.TotalAlloc - before.TotalAlloc) / runs; n > 4096 {
			t.Errorf("%s: %d bytes allocated per run", msg, n)
		}
	}
}

// TestDepth checks MaxDepth for every reader, on arrays and maps.
func TestDepth(t *testing.T) {
	arr := func(n int) []byte { return cat(rep("\x91", n-1), x("90")) }
	mp := func(n int) []byte { return cat(bytes.Repeat(x(`81 a1 "a"`), n-1), x("80")) }
	for name, build := range map[string]func(int) []byte{"array": arr, "map": mp} {
		ok, deep := build(MaxDepth), build(MaxDepth+1)
		if _, err := Skip(ok); err != nil {
			t.Errorf("%s: Skip at MaxDepth: %v", name, err)
		}
		if _, _, err := Decode(ok); err != nil {
			t.Errorf("%s: Decode at MaxDepth: %v", name, err)
		}
		if _, _, err := ToJSON(nil, ok, nil); err != nil {
			t.Errorf("%s: ToJSON at MaxDepth: %v", name, err)
		}
		if _, err := Skip(deep); !errors.Is(err, ErrTooDeep) {
			t.Errorf("%s: Skip beyond MaxDepth: %v", name, err)
		}
		if _, _, err := Decode(deep); !errors.Is(err, ErrTooDeep) {
			t.Errorf("%s: Decode beyond MaxDepth: %v", name, err)
		}
		if _, _, err := ToJSON(nil, deep, nil); !errors.Is(err, ErrTooDeep) {
			t.Errorf("%s: ToJSON beyond MaxDepth: %v", name, err)
		}
	}
	// Far beyond: no stack growth to speak of.
	huge := rep("\x91", 1<<20)
	if _, err := Skip(huge); !errors.Is(err, ErrTooDeep) {
		t.Fatal(err)
	}
	if _, err := FromJSON(nil, rep("[", 1<<20), nil); !errors.Is(err, ErrTooDeep) {
		t.Fatal(err)
	}
}

// TestFromJSONLargeContainers checks the headers moved after the fact.
func TestFromJSONLargeContainers(t *testing.T) {
	for _, n := range []int{15, 16, 65535, 65536, 70000} {
		js, want := jsArray(n)
		got, err := FromJSON(nil, []byte(`[`+js+`,1]`), nil)
		if err != nil || !bytes.Equal(got, cat(x("92"), want, x("01"))) {
			t.Errorf("array %d: %s, %v", n, short(got), err)
		}
		js, want = jsObject(n)
		got, err = FromJSON(nil, []byte(`[`+js+`,1]`), nil)
		if err != nil || !bytes.Equal(got, cat(x("92"), want, x("01"))) {
			t.Errorf("object %d: %s, %v", n, short(got), err)
		}
	}
	// A long key and a long string after escapes.
	long := strings.Repeat("é", 40000)
	got, err := FromJSON(nil, []byte(`{"`+long+`":"\n`+long+`"}`), nil)
	want := cat(x("81"), AppendString(nil, long), AppendString(nil, "\n"+long))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("long strings: %s, %v", short(got), err)
	}
}

// TestJSOrderLarge checks repeated keys and array indexes in maps of more
// than 16 entries, both ways.
func TestJSOrderLarge(t *testing.T) {
	var in strings.Builder
	in.WriteByte('{')
	for i := range 40 {
		fmt.Fprintf(&in, `"k%d":%d,"%d":%d,`, i%20, i, 39-i, i)
	}
	in.WriteString(`"z":0}`)
	var want strings.Builder
	want.WriteByte('{')
	for i := range 40 {
		fmt.Fprintf(&want, `"%d":%d,`, i, 39-i)
	}
	for i := range 20 {
		fmt.Fprintf(&want, `"k%d":%d,`, i, i+20)
	}
	want.WriteString(`"z":0}`)
	m, err := FromJSON(nil, []byte(in.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	js, _, err := ToJSON(nil, m, nil)
	if err != nil || string(js) != want.String() {
		t.Fatalf("got %s, %v\nwant %s", js, err, want.String())
	}
	// The same map written in the input's order by hand.
	var raw []byte
	raw = AppendMapHeader(raw, 81)
	for i := range 40 {
		raw = AppendInt(AppendString(raw, fmt.Sprintf("k%d", i%20)), int64(i))
		raw = AppendInt(AppendInt(raw, int64(39-i)), int64(i))
	}
	raw = AppendInt(AppendString(raw, "z"), 0)
	js, _, err = ToJSON(nil, raw, nil)
	if err != nil || string(js) != want.String() {
		t.Fatalf("got %s, %v\nwant %s", js, err, want.String())
	}
}

func TestFromJSONBudget(t *testing.T) {
	a := []byte{1, 2, 3}
	ph := `{"_placeholder":true,"num":0}`
	// A placeholder inside a placeholder gives its bytes back.
	nested := `{"_placeholder":true,"num":0,"x":` + ph + `}`
	if got, err := FromJSON(nil, []byte(nested), [][]byte{a}); err != nil || !bytes.Equal(got, x("c403010203")) {
		t.Fatalf("%x %v", got, err)
	}
	if _, err := FromJSON(nil, []byte("["+ph+","+ph+"]"), [][]byte{a}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("repeated attachment: %v", err)
	}
	if _, err := FromJSON(nil, []byte("["+ph+","+ph+"]"), [][]byte{a, a}); err != nil {
		t.Fatalf("within the budget: %v", err)
	}
}

func TestFromJSONAllocs(t *testing.T) {
	in := []byte(`["bcast",{"tag":"pubsub-span-x","n":123,"ok":[true,null,1.5]}]`)
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() {
		if _, err := FromJSON(buf, in, nil); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("FromJSON: %v allocations", n)
	}
	m, _ := FromJSON(nil, in, nil)
	if n := testing.AllocsPerRun(100, func() {
		if _, _, err := ToJSON(buf, m, nil); err != nil {
			t.Fatal(err)
		}
	}); n > 1 { // 1.5 goes through parser.AppendValue
		t.Errorf("ToJSON: %v allocations", n)
	}
}
