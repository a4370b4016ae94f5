package postgres

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// interopDir holds the mixed-cluster suite: the Node app of the official
// packages, the Go app (interop/goapp), the Go emitter command
// (interop/goemitter) and the driver (cluster.test.js).
const interopDir = "interop"

// requireNodePackages skips (or fails, under CI) when Node.js or the npm
// packages of interop/ are missing.
func requireNodePackages(t testing.TB) {
	t.Helper()
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node not found in PATH: install Node.js 20+ to run the mixed Go + Node cluster tests"
	} else {
		for _, pkg := range []string{"socket.io", "socket.io-client", "@socket.io/postgres-adapter", "@socket.io/postgres-emitter", "pg"} {
			if _, err := os.Stat(filepath.Join(interopDir, "node_modules", pkg, "package.json")); err != nil {
				missing = "adapters/postgres/interop/node_modules/" + pkg + " is missing: run `npm ci` in adapters/postgres/interop/"
				break
			}
		}
	}
	switch {
	case missing == "":
	case os.Getenv("CI") != "":
		t.Fatal(missing + " (CI is set: a missing dependency fails the run)")
	default:
		t.Skip(missing)
	}
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
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-concurrency=1", "--test-reporter=spec", "cluster.test.js")
	cmd.Dir = interopDir
	cmd.Env = append(os.Environ(), "GO_APP_BIN="+bin, "GO_EMITTER_BIN="+emitter, "PG_URL="+url)
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test cluster.test.js failed after %v: %v\n%s", time.Since(start).Round(time.Millisecond), err, out)
	}
	var summary []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "ℹ ") || strings.HasPrefix(l, "# ") {
			summary = append(summary, l)
		}
	}
	t.Logf("mixed cluster suite passed in %v\n%s", time.Since(start).Round(time.Millisecond), strings.Join(summary, "\n"))
}
