package sioargs

import (
	"errors"
	"testing"

	"github.com/socketio-go/socketio/parser"
)

func TestArgs(t *testing.T) {
	atts := [][]byte{{1, 2}}
	name, a, err := ParseEvent([]byte(`["ev", 1, {"_placeholder":true,"num":0}, "s"]`), atts)
	if err != nil || name != "ev" || len(a.Elems) != 3 {
		t.Fatalf("%q %v %v", name, a, err)
	}
	var n int
	var b []byte
	var s string
	if err := a.Decode(errors.New("x"), &n, &b, nil); err != nil || n != 1 || len(b) != 2 {
		t.Fatalf("%v %v %v", n, b, err)
	}
	invalid := errors.New("invalid")
	if err := a.Decode(invalid, nil, nil, nil, &s); !errors.Is(err, invalid) {
		t.Fatalf("too many: %v", err)
	}
	if err := a.Decode(invalid, &s); !errors.Is(err, invalid) {
		t.Fatalf("type mismatch: %v", err)
	}
	out, err := parser.AppendArray(nil, new([][]byte), a.Spread()...)
	if err != nil || string(out) != `[1,{"_placeholder":true,"num":0},"s"]` {
		t.Fatalf("Spread: %s %v", out, err)
	}
	if j := a.AppendJSON(nil); string(j) != `[1,{"_placeholder":true,"num":0},"s"]` || len(j) > a.JSONLen() {
		t.Fatalf("AppendJSON %s (%d)", j, a.JSONLen())
	}
	if a, err := Parse([]byte(`[]`), nil); err != nil || len(a.Elems) != 0 || string(a.AppendJSON(nil)) != "[]" {
		t.Fatalf("%v %v", a, err)
	}
	for _, bad := range []string{`[]`, `{}`, `[`, `[{}]`} {
		if _, _, err := ParseEvent([]byte(bad), nil); err == nil {
			t.Errorf("ParseEvent(%s) succeeded", bad)
		}
	}
	if _, err := Parse([]byte(`{}`), nil); err == nil {
		t.Error("Parse({}) succeeded")
	}
}
