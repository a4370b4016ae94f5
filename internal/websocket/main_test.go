package websocket

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run if goroutines started by the tests outlive them.
func TestMain(m *testing.M) {
	before := len(userGoroutines())
	code := m.Run()
	if code == 0 {
		if err := checkGoroutineLeaks(before); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// checkGoroutineLeaks waits briefly for the number of goroutines to drop
// back to want (a goroutine finishing its exit cannot be awaited directly)
// and reports the remaining stacks otherwise.
func checkGoroutineLeaks(want int) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		gs := userGoroutines()
		if len(gs) <= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("goroutine leak: %d goroutines, want %d:\n\n%s",
				len(gs), want, strings.Join(gs, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// userGoroutines returns the stacks of all goroutines except the caller and
// those the runtime, testing and os/signal packages start on their own.
func userGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var gs []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 || strings.Contains(g, "os/signal.signal_recv") ||
			strings.Contains(g, "testing.(*F).Fuzz") || strings.Contains(g, "internal/fuzz.") {
			continue
		}
		gs = append(gs, g)
	}
	return gs
}
