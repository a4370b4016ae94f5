// Package interopclient tests the Go client (package client) and the
// socketio command against the official Node socket.io 4.8 server
// (interop/servers/node/app.js) and against this module's server
// (interop/goserver),
// as separate processes speaking the interop app contract
// (interop/CONTRACT.md). Every feature runs in the three transport modes:
// polling only, websocket only, and polling upgraded to websocket.
//
// Node.js and the npm packages of interop/ (npm ci) are needed for the
// node target; without them the node tests are skipped, or fail when the
// CI environment variable is set.
package interopclient

import (
	"os"
	"testing"

	"github.com/socketio-go/socketio/internal/leakcheck"
)

type runner struct{ m *testing.M }

func (r runner) Run() int {
	code := r.m.Run()
	stopShared()
	removeBuilds()
	return code
}

// TestMain stops the shared servers, then fails the run if goroutines
// started by the tests outlive them.
func TestMain(m *testing.M) { os.Exit(leakcheck.Run(runner{m})) }
