package socketio

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestArgsStringAndRaw: Args print as JSON, and Raw out of range returns
// nil (which does not decode) instead of panicking.
func TestArgsStringAndRaw(t *testing.T) {
	a, err := newArgs([]byte(`["hello",{"n":1},{"_placeholder":true,"num":0}]`), [][]byte{{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	want := `["hello",{"n":1},{"_placeholder":true,"num":0}]`
	if got := fmt.Sprint(a); got != want {
		t.Errorf("Sprint = %s, want %s", got, want)
	}
	if got := fmt.Sprintf("%v", struct{ A Args }{a}); got != "{"+want+"}" {
		t.Errorf("%%v in a struct = %s", got)
	}
	for _, i := range []int{-1, 3, 100} {
		if r := a.Raw(i); r != nil {
			t.Errorf("Raw(%d) = %s, want nil", i, r)
		}
		var v any
		if json.Unmarshal(a.Raw(i), &v) == nil {
			t.Errorf("Raw(%d) decodes", i)
		}
	}
	if string(a.Raw(0)) != `"hello"` {
		t.Errorf("Raw(0) = %s", a.Raw(0))
	}
}
