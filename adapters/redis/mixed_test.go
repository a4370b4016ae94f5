package redis

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/nodetest"
)

// interopDir holds the mixed-cluster suite: the Node app of the official
// packages, the Go app (interop/goapp) and the driver (cluster.test.js).
const interopDir = "interop"

// requireNodePackages skips (or fails, under CI) when Node.js or the npm
// packages of interop/ are missing.
func requireNodePackages(t testing.TB) {
	t.Helper()
	nodetest.Require(t, interopDir, "socket.io", "socket.io-client", "@socket.io/redis-adapter", "@socket.io/redis-streams-adapter", "@socket.io/redis-emitter", "@msgpack/msgpack", "redis")
}

// TestMixedCluster runs interop/cluster.test.js, recovery.test.js and
// emitter.test.js (the official @socket.io/redis-emitter 5.1.0 and ours
// driving a Go and a Node server): Go
// servers (this module's adapters, interop/goapp) and official Node servers
// (socket.io 4.8.4 with @socket.io/redis-adapter 8.3.0 or
// @socket.io/redis-streams-adapter 0.3.1) in one cluster on Redis, sharded,
// classic and Streams, driven by official clients; connection state
// recovery across the servers of a Streams cluster. See interop/README.md.
func TestMixedCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the mixed cluster suite starts Node and Go servers")
	}
	requireNodePackages(t)
	addr := redisAddr(t)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin, emitter := filepath.Join(dir, "goapp"), filepath.Join(dir, "goemitter")
	build := exec.CommandContext(ctx, "go", "build", "-o", dir, "./interop/goapp", "./interop/goemitter")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./interop/goapp ./interop/goemitter: %v\n%s", err, out)
	}

	nodetest.Run(t, ctx, interopDir, []string{"GO_APP_BIN=" + bin, "GO_EMITTER_BIN=" + emitter, "REDIS_URL=redis://" + addr},
		"cluster.test.js", "recovery.test.js", "emitter.test.js")
}
