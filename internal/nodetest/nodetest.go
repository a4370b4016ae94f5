// Package nodetest runs the Node.js side of tests that compare with the
// official npm packages: it checks that node and a directory's npm packages
// are installed, and runs node:test suites.
package nodetest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Require skips t, or fails it when the CI environment variable is set
// (where a missing dependency must fail the run), unless node is in PATH
// and each of pkgs is installed in dir/node_modules (installed by `npm
// ci` in dir from its lockfile).
func Require(t testing.TB, dir string, pkgs ...string) {
	t.Helper()
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node not found in PATH: install Node.js 20+"
	} else {
		for _, pkg := range pkgs {
			if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
				abs, _ := filepath.Abs(dir)
				missing = filepath.Join(abs, "node_modules", pkg) + " is missing: run `npm ci` in " + abs
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

// Run runs the node:test files in dir, one at a time, with env added to
// this process's environment, within ctx. It fails t with the output if
// the suite fails, and logs the summary lines otherwise.
func Run(t testing.TB, ctx context.Context, dir string, env []string, files ...string) {
	t.Helper()
	args := append([]string{"--test", "--test-concurrency=1", "--test-reporter=spec"}, files...)
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		t.Fatalf("node --test %s failed after %v: %v\n%s", strings.Join(files, " "), took, err, out)
	}
	var summary []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "ℹ ") {
			summary = append(summary, l)
		}
	}
	t.Logf("node --test %s passed in %v\n%s", strings.Join(files, " "), took, strings.Join(summary, "\n"))
}
