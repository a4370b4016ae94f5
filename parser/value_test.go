package parser

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestSplitArray(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`[]`, nil},
		{` [ ] `, nil},
		{`[1]`, []string{`1`}},
		{`["a",1,true,false,null,-1.5e-3]`, []string{`"a"`, `1`, `true`, `false`, `null`, `-1.5e-3`}},
		{`["a,]b",",","[","]","{","}"]`, []string{`"a,]b"`, `","`, `"["`, `"]"`, `"{"`, `"}"`}},
		{`["esc\"aped\\",  "\\\""]`, []string{`"esc\"aped\\"`, `"\\\""`}},
		{`[[1,[2,3]],{"a":[1,{"b":"]"}]},[]]`, []string{`[1,[2,3]]`, `{"a":[1,{"b":"]"}]}`, `[]`}},
		{"\n[ \"a\" ,\t{ \"k\" : [ 1 , 2 ] } , 3\r\n]\n", []string{`"a"`, `{ "k" : [ 1 , 2 ] }`, `3`}},
		{`["\ud800","é😀"]`, []string{`"\ud800"`, `"é😀"`}},
	}
	for _, tt := range tests {
		got, err := SplitArray(nil, []byte(tt.in))
		if err != nil {
			t.Errorf("SplitArray(%q): %v", tt.in, err)
			continue
		}
		var gs []string
		for _, g := range got {
			gs = append(gs, string(g))
		}
		if !reflect.DeepEqual(gs, tt.want) {
			t.Errorf("SplitArray(%q) = %q, want %q", tt.in, gs, tt.want)
		}
	}
	// Appends to dst.
	dst := [][]byte{[]byte("x")}
	got, err := SplitArray(dst, []byte(`[1,2]`))
	if err != nil || len(got) != 3 || string(got[0]) != "x" || string(got[2]) != "2" {
		t.Errorf("append: %q %v", got, err)
	}
	for _, bad := range []string{``, ` `, `{}`, `"a"`, `1`, `[`, `[1`, `[1,`, `[1,]`, `[,1]`, `[1 2]`, `[1]]`, `[1] x`,
		`[1][2]`, `["a]`, `[{]`, `[{"a"}]`, `[{"a":1]`, `[[1}]`, `[01]`, `[nul]`, "[\"\x00\"]", `["\q"]`, `["\u12"]`} {
		dst := [][]byte{[]byte("keep")}
		got, err := SplitArray(dst, []byte(bad))
		if !errors.Is(err, ErrInvalidJSON) {
			t.Errorf("SplitArray(%q) = %q, %v; want ErrInvalidJSON", bad, got, err)
		}
		if len(got) != 1 {
			t.Errorf("SplitArray(%q) did not restore dst: %q", bad, got)
		}
	}
	// Deep nesting is fine (no recursion, no depth limit here).
	deep := "[" + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + ",1]"
	got, err = SplitArray(nil, []byte(deep))
	if err != nil || len(got) != 2 || string(got[1]) != "1" {
		t.Errorf("deep: %d elements, %v", len(got), err)
	}
}

func TestEventName(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`["foo"]`, "foo"},
		{` [ "foo" , 1]`, "foo"},
		{`["message-with-ack",1,"2"]`, "message-with-ack"},
		{`["a\"b\\c\/d\n\u00e9\ud83d\ude00"]`, "a\"b\\c/d\né😀"},
		{`["\ud800x"]`, "\ufffdx"},
		{`["é😀"]`, "é😀"},
		{`[""]`, ""},
		// Numbers as JavaScript turns them into property keys.
		{`[1]`, "1"},
		{`[0]`, "0"},
		{`[-0]`, "0"},
		{`[1.0]`, "1"},
		{`[1e2]`, "100"},
		{`[1.5]`, "1.5"},
		{`[-3]`, "-3"},
		{`[1e21]`, "1e+21"},
		{`[1e-7]`, "1e-7"},
		{`[12345678901234567890]`, "12345678901234567000"},
		{`[1e400]`, "Infinity"},
		{`[-1e400]`, "-Infinity"},
		// Only the name is examined.
		{`["foo", this is not looked at`, "foo"},
	}
	for _, tt := range tests {
		got, err := EventName([]byte(tt.in))
		if err != nil || got != tt.want {
			t.Errorf("EventName(%s) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{``, `{}`, `"a"`, `[`, `[]`, `[null]`, `[true]`, `[{}]`, `[[]]`, `["a`, `["\x"]`, `[01]`, `[-]`} {
		if got, err := EventName([]byte(bad)); err == nil {
			t.Errorf("EventName(%s) = %q, want an error", bad, got)
		}
	}
}

func TestHasPlaceholders(t *testing.T) {
	for in, want := range map[string]bool{
		`[1,"a"]`:                              false,
		`{"_placeholder":true,"num":0}`:        true,
		`{"\u005fplaceholder":true,"num":0}`:   true,
		`{"_placeholde\u0072":true,"num":0}`:   true,
		`"_placeholder"`:                       true, // may: a byte search
		`{"placeholder":true}`:                 false,
		`["\n\t\"\\"]`:                         false,
		``:                                     false,
		`{"_placeholder":true,"num":0}trail`:   true,
		`[{"x":{"_placeholder":true,"num":1}}`: true,
	} {
		if got := HasPlaceholders([]byte(in)); got != want {
			t.Errorf("HasPlaceholders(%s) = %v", in, got)
		}
	}
}

type withBytes struct {
	Name  string            `json:"name"`
	Data  []byte            `json:"data"`
	List  [][]byte          `json:"list"`
	Map   map[string][]byte `json:"map"`
	Inner *struct {
		B []byte `json:"b"`
	} `json:"inner"`
}

func TestDecodeValue(t *testing.T) {
	atts := [][]byte{{1, 2}, {3}, {}}
	ph := func(n int) string { return string(appendPlaceholder(nil, n)) }

	t.Run("bytes", func(t *testing.T) {
		var b []byte
		if err := DecodeValue([]byte(" "+ph(1)+" "), atts, &b); err != nil || string(b) != "\x03" {
			t.Errorf("placeholder: %v %v", b, err)
		}
		if err := DecodeValue([]byte(`{"num":0,"_placeholder":true}`), atts, &b); err != nil || string(b) != "\x01\x02" {
			t.Errorf("reordered placeholder: %v %v", b, err)
		}
		if err := DecodeValue([]byte(`"AQID"`), atts, &b); err != nil || string(b) != "\x01\x02\x03" {
			t.Errorf("base64: %v %v", b, err)
		}
		if err := DecodeValue([]byte(`null`), atts, &b); err != nil || b != nil {
			t.Errorf("null: %v %v", b, err)
		}
		var ute *json.UnmarshalTypeError
		if err := DecodeValue([]byte(ph(3)), atts, &b); !errors.As(err, &ute) {
			t.Errorf("out of range placeholder: %v", err)
		}
		if err := DecodeValue([]byte(`5`), atts, &b); !errors.As(err, &ute) {
			t.Errorf("number into []byte: %v", err)
		}
	})

	t.Run("struct", func(t *testing.T) {
		raw := `{"name":"n","data":` + ph(0) + `,"list":[` + ph(1) + `,` + ph(2) + `,null],"map":{"k":` + ph(0) + `},"inner":{"b":` + ph(1) + `}}`
		var v withBytes
		if err := DecodeValue([]byte(raw), atts, &v); err != nil {
			t.Fatal(err)
		}
		if v.Name != "n" || string(v.Data) != "\x01\x02" || len(v.List) != 3 || string(v.List[0]) != "\x03" ||
			v.List[1] == nil || len(v.List[1]) != 0 || v.List[2] != nil || string(v.Map["k"]) != "\x01\x02" || string(v.Inner.B) != "\x03" {
			t.Errorf("got %+v", v)
		}
		var ll [][]byte
		if err := DecodeValue([]byte(`[`+ph(2)+`,`+ph(0)+`]`), atts, &ll); err != nil || len(ll) != 2 || string(ll[1]) != "\x01\x02" {
			t.Errorf("[][]byte: %v %v", ll, err)
		}
	})

	t.Run("any", func(t *testing.T) {
		var v any
		raw := `{"a":[1,` + ph(0) + `],"b":` + ph(1) + `,"c":{"d":` + ph(2) + `},"e":{"_placeholder":true,"num":9}}`
		if err := DecodeValue([]byte(raw), atts, &v); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"a": []any{1.0, []byte{1, 2}},
			"b": []byte{3},
			"c": map[string]any{"d": []byte{}},
			"e": map[string]any{"_placeholder": true, "num": 9.0},
		}
		if !reflect.DeepEqual(v, want) {
			t.Errorf("got %#v", v)
		}
		var top any
		if err := DecodeValue([]byte(ph(1)), atts, &top); err != nil || !reflect.DeepEqual(top, []byte{3}) {
			t.Errorf("top-level placeholder into any: %#v %v", top, err)
		}
		var l []any
		if err := DecodeValue([]byte(`["x",`+ph(0)+`]`), atts, &l); err != nil || !reflect.DeepEqual(l, []any{"x", []byte{1, 2}}) {
			t.Errorf("[]any: %#v %v", l, err)
		}
		var m map[string]any
		if err := DecodeValue([]byte(`{"k":`+ph(1)+`}`), atts, &m); err != nil || !reflect.DeepEqual(m, map[string]any{"k": []byte{3}}) {
			t.Errorf("map[string]any: %#v %v", m, err)
		}
		// Without attachments a placeholder is plain data.
		if err := DecodeValue([]byte(ph(0)), nil, &top); err != nil || !reflect.DeepEqual(top, map[string]any{"_placeholder": true, "num": 0.0}) {
			t.Errorf("no attachments: %#v %v", top, err)
		}
	})

	t.Run("raw message", func(t *testing.T) {
		var r json.RawMessage
		if err := DecodeValue([]byte(` "\ud800" `), nil, &r); err != nil || string(r) != `"\ud800"` {
			t.Errorf("lone surrogate: %s %v", r, err)
		}
		if err := DecodeValue([]byte(ph(0)), atts, &r); err != nil || string(r) != ph(0) {
			t.Errorf("placeholder: %s %v", r, err)
		}
		if err := DecodeValue([]byte(`{"a":`), nil, &r); !errors.Is(err, ErrInvalidJSON) {
			t.Errorf("malformed: %v", err)
		}
	})

	t.Run("scalars", func(t *testing.T) {
		var s string
		if err := DecodeValue([]byte(`"plain"`), nil, &s); err != nil || s != "plain" {
			t.Errorf("string: %q %v", s, err)
		}
		if err := DecodeValue([]byte(`"a\u00e9\n"`), nil, &s); err != nil || s != "aé\n" {
			t.Errorf("escaped string: %q %v", s, err)
		}
		var f float64
		if err := DecodeValue([]byte(`1.5`), nil, &f); err != nil || f != 1.5 {
			t.Errorf("float: %v %v", f, err)
		}
		var n int
		var ute *json.UnmarshalTypeError
		if err := DecodeValue([]byte(`"x"`), nil, &n); !errors.As(err, &ute) {
			t.Errorf("string into int: %v", err)
		}
		if err := DecodeValue([]byte(`"x"`), nil, &s); err != nil {
			t.Fatal(err)
		}
		if err := DecodeValue([]byte(`{"name":5}`), nil, &withBytes{}); !errors.As(err, &ute) {
			t.Errorf("type mismatch in struct: %v", err)
		}
		if err := DecodeValue([]byte(`{`), nil, &n); err == nil {
			t.Error("malformed: no error")
		}
	})

	t.Run("bad destination", func(t *testing.T) {
		var iue *json.InvalidUnmarshalError
		if err := DecodeValue([]byte(`1`), nil, nil); !errors.As(err, &iue) {
			t.Errorf("nil: %v", err)
		}
		if err := DecodeValue([]byte(`1`), nil, 5); !errors.As(err, &iue) {
			t.Errorf("non-pointer: %v", err)
		}
		if err := DecodeValue([]byte(`"a"`), nil, (*[]byte)(nil)); !errors.As(err, &iue) {
			t.Errorf("nil *[]byte: %v", err)
		}
		if err := DecodeValue([]byte(`1`), nil, (*any)(nil)); !errors.As(err, &iue) {
			t.Errorf("nil *any: %v", err)
		}
	})
}

func TestReindexAttachments(t *testing.T) {
	a, b, c := []byte("a"), []byte("b"), []byte("c")
	atts := [][]byte{a, b, c}
	ph := func(n int) string { return string(appendPlaceholder(nil, n)) }
	args := [][]byte{
		[]byte(`"x"`),
		[]byte(`{"k":` + ph(2) + `,"l":[` + ph(0) + `]}`),
		[]byte(ph(2)),
		[]byte(`{"_placeholder":true,"num":7}`), // not an attachment: plain data
	}
	newArgs, newAtts, err := ReindexAttachments(args, atts)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`"x"`, `{"k":` + ph(0) + `,"l":[` + ph(1) + `]}`, ph(2), `{"_placeholder":true,"num":7}`}
	for i := range want {
		if string(newArgs[i]) != want[i] {
			t.Errorf("arg %d = %s, want %s", i, newArgs[i], want[i])
		}
	}
	if !reflect.DeepEqual(newAtts, [][]byte{c, a, c}) {
		t.Errorf("attachments %q", newAtts)
	}
	if &newArgs[2][0] != &args[2][0] {
		t.Error("an already numbered argument was copied")
	}
	if string(args[1]) != `{"k":`+ph(2)+`,"l":[`+ph(0)+`]}` {
		t.Error("input modified")
	}

	// Echoing every argument of an event keeps everything as it is.
	data := []byte(`["message",` + ph(0) + `,` + ph(1) + `]`)
	elems, _ := SplitArray(nil, data)
	newArgs, newAtts, err = ReindexAttachments(elems[1:], [][]byte{a, b})
	if err != nil || string(newArgs[0]) != ph(0) || string(newArgs[1]) != ph(1) || len(newAtts) != 2 {
		t.Errorf("echo: %q %q %v", newArgs, newAtts, err)
	}
	// Only the second argument kept.
	newArgs, newAtts, err = ReindexAttachments(elems[2:], [][]byte{a, b})
	if err != nil || string(newArgs[0]) != ph(0) || !reflect.DeepEqual(newAtts, [][]byte{b}) {
		t.Errorf("subset: %q %q %v", newArgs, newAtts, err)
	}
	// No placeholders, no attachments.
	newArgs, newAtts, err = ReindexAttachments([][]byte{[]byte(`1`)}, nil)
	if err != nil || string(newArgs[0]) != "1" || newAtts != nil {
		t.Errorf("plain: %q %q %v", newArgs, newAtts, err)
	}
	// Malformed JSON.
	if _, _, err := ReindexAttachments([][]byte{[]byte(`{"_placeholder":true,`)}, atts); !errors.Is(err, ErrInvalidJSON) {
		t.Errorf("malformed: %v", err)
	}
	if _, _, err := ReindexAttachments([][]byte{[]byte(ph(0) + "x")}, atts); !errors.Is(err, ErrInvalidJSON) {
		t.Errorf("trailing data: %v", err)
	}
}

// A binary event decoded, its arguments relayed and decoded again: the
// server side of the conformance suite's binary echo.
func TestBinaryEcho(t *testing.T) {
	var d Decoder
	in, err := decodeAll(t, &d, `52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
		[][]byte{{1, 2, 3}, {4, 5, 6}})
	if err != nil {
		t.Fatal(err)
	}
	elems, err := SplitArray(nil, in.Data)
	if err != nil {
		t.Fatal(err)
	}
	if name, _ := EventName(in.Data); name != "message-with-ack" {
		t.Fatalf("name %q", name)
	}
	args, atts, err := ReindexAttachments(elems[1:], in.Attachments)
	if err != nil {
		t.Fatal(err)
	}
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = json.RawMessage(a)
	}
	out := Packet{Type: Ack, Namespace: in.Namespace, ID: in.ID}
	out.Data, err = AppendArray(nil, nil, vals...)
	if err != nil {
		t.Fatal(err)
	}
	out.Attachments = atts
	if s := string(out.AppendText(nil)); s != `62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]` {
		t.Errorf("ack %s", s)
	}
	var b []byte
	if err := DecodeValue(args[1], atts, &b); err != nil || string(b) != "\x04\x05\x06" {
		t.Errorf("second argument %v %v", b, err)
	}
}
