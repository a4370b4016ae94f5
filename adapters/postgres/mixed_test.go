package postgres

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/nodetest"
)

// interopDir holds the mixed-cluster suite: the Node app of the official
// packages, the Go app (interop/goapp), the Go emitter command
// (interop/goemitter) and the driver (cluster.test.js).
const interopDir = "interop"

// requireNodePackages skips (or fails, under CI) when Node.js or the npm
// packages of interop/ are missing.
func requireNodePackages(t testing.TB) {
	t.Helper()
	nodetest.Require(t, interopDir, "socket.io", "socket.io-client", "@socket.io/postgres-adapter", "@socket.io/postgres-emitter", "pg")
}

// TestMixedCluster runs interop/cluster.test.js: Go servers (this module,
// interop/goapp) and official Node servers (socket.io 4.8.4 with
// @socket.io/postgres-adapter 0.5.0) in one cluster on PostgreSQL, driven
// by official clients, and the official @socket.io/postgres-emitter 0.1.1
// and this module's Emitter driving them. See interop/README.md.
func TestMixedCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the mixed cluster suite starts Node and Go servers")
	}
	requireNodePackages(t)
	url := pgURL(t)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin, emitter := filepath.Join(dir, "goapp"), filepath.Join(dir, "goemitter")
	build := exec.CommandContext(ctx, "go", "build", "-o", dir, "./interop/goapp", "./interop/goemitter")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./interop/goapp ./interop/goemitter: %v\n%s", err, out)
	}
	nodetest.Run(t, ctx, interopDir, []string{"GO_APP_BIN=" + bin, "GO_EMITTER_BIN=" + emitter, "PG_URL=" + url}, "cluster.test.js")
}
