// Package leakcheck lets a test binary fail when goroutines started by its
// tests outlive them. It has no dependency and is meant for TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// Runner is what TestMain receives (*testing.M).
type Runner interface{ Run() int }

// Run runs the tests and, if they passed, checks that no goroutine started
// by them is still running. It returns the exit code.
func Run(m Runner) int {
	before := len(goroutines())
	code := m.Run()
	if code == 0 {
		if err := Check(before, 5*time.Second); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	return code
}

// Check waits up to timeout for the number of goroutines to drop back to
// want (a goroutine finishing its exit cannot be awaited directly) and
// returns an error listing the remaining stacks otherwise.
func Check(want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		gs := goroutines()
		if len(gs) <= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("goroutine leak: %d goroutines, want %d:\n\n%s", len(gs), want, strings.Join(gs, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// goroutines returns the stacks of all goroutines except the caller and
// those the runtime, testing and os/signal packages start on their own.
func goroutines() []string {
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
