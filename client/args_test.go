package client

import (
	"fmt"
	"testing"

	"github.com/socketio-go/socketio/internal/sioargs"
)

// TestArgsStringAndRaw: Args print as JSON, and Raw out of range returns
// nil instead of panicking.
func TestArgsStringAndRaw(t *testing.T) {
	sa, err := sioargs.Parse([]byte(`["hello",2]`), nil)
	if err != nil {
		t.Fatal(err)
	}
	a := Args{a: sa}
	if got := fmt.Sprint(a); got != `["hello",2]` {
		t.Errorf("Sprint = %s", got)
	}
	if a.Raw(2) != nil || a.Raw(-1) != nil || string(a.Raw(1)) != "2" {
		t.Errorf("Raw: %q %q %q", a.Raw(2), a.Raw(-1), a.Raw(1))
	}
}
