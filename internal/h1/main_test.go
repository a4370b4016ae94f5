package h1

import (
	"os"
	"testing"

	"github.com/socketio-go/socketio/internal/leakcheck"
)

// TestMain fails the run if goroutines started by the tests outlive them.
func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }
