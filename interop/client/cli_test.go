package interopclient

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runCLI runs the socketio command and returns its stdout, stderr and
// exit status.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cmd := exec.CommandContext(ctx, cliBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// TestCLI runs the socketio command end to end against both servers.
func TestCLI(t *testing.T) {
	build(t)
	t.Run("help", func(t *testing.T) {
		t.Parallel()
		out, _, code := runCLI(t, "--help")
		for _, f := range []string{"--ns", "--transport", "--auth", "--ack", "--timeout", "--path", "emit", "listen", "_binary"} {
			if !strings.Contains(out, f) {
				t.Errorf("--help does not document %s", f)
			}
		}
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		for _, args := range [][]string{{}, {"bogus"}, {"emit", "http://x"}, {"emit", "--transport", "carrier-pigeon", "http://x", "e"}, {"emit", "http://x", "e", "{bad"}, {"listen", "--ack", "http://x"}} {
			if _, stderr, code := runCLI(t, args...); code != 2 || !strings.Contains(stderr, "socketio:") {
				t.Errorf("%q: exit %d, stderr %q", args, code, stderr)
			}
		}
	})
	forTargets(t, func(t *testing.T, target string) {
		srv := shared(t, target)
		for _, tr := range []string{"polling", "websocket", ""} {
			name := tr
			if name == "" {
				name = "upgrade"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				flags := []string{}
				if tr != "" {
					flags = append(flags, "--transport", tr)
				}
				cli := func(args ...string) (string, string, int) {
					t.Helper()
					return runCLI(t, append(append([]string{args[0]}, flags...), args[1:]...)...)
				}
				// --ack prints the acknowledgement; binary as markers;
				// flags in any order before the positional arguments.
				out, stderr, code := cli("emit", "--timeout", "5s", "--ack", srv.url(), "echo-ack", `{"a":[1,"é"]}`, `{"_binary":"AQID"}`, `[{"x":{"_binary":""}}]`, "9007199254740991")
				if code != 0 || out != `[{"a":[1,"é"]},{"_binary":"AQID"},[{"x":{"_binary":""}}],9007199254740991]`+"\n" {
					t.Fatalf("emit --ack: exit %d, stdout %q, stderr %q", code, out, stderr)
				}
				out, _, code = cli("emit", "--ack", "--ns", "/custom", srv.url(), "echo-ack")
				if code != 0 || out != "[]\n" {
					t.Fatalf("emit --ns: exit %d, stdout %q", code, out)
				}
				out, _, code = cli("emit", "--ack", "--auth", `{"role":"admin"}`, srv.url()+"/admin", "echo-ack", `"in admin"`)
				if code != 0 || out != "[\"in admin\"]\n" {
					t.Fatalf("emit to the URL's namespace: exit %d, stdout %q", code, out)
				}
				// connect_error: clear message, exit 1.
				out, stderr, code = cli("emit", "--auth", `{"token":"reject"}`, srv.url(), "echo-ack")
				if code != 1 || out != "" || !strings.Contains(stderr, "not authorized") || !strings.Contains(stderr, "4001") {
					t.Fatalf("refused: exit %d, stdout %q, stderr %q", code, out, stderr)
				}
				out, stderr, code = cli("emit", "--ns", "/nope", srv.url(), "x")
				if code != 1 || !strings.Contains(stderr, "Invalid namespace") {
					t.Fatalf("invalid namespace: exit %d, stdout %q, stderr %q", code, out, stderr)
				}
				// Ack timeout: "echo" never acknowledges.
				start := time.Now()
				out, stderr, code = cli("emit", "--ack", "--timeout", "300ms", srv.url(), "echo", "1")
				if code != 1 || out != "" || !strings.Contains(stderr, "timed out") || time.Since(start) < 300*time.Millisecond {
					t.Fatalf("ack timeout: exit %d, stdout %q, stderr %q", code, out, stderr)
				}
			})
		}
		t.Run("listen", func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			cmd := exec.CommandContext(ctx, cliBin, "listen", "--transport", "websocket", srv.url())
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait for "connected as <id>".
			errLines := bufio.NewScanner(stderr)
			if !errLines.Scan() || !strings.Contains(errLines.Text(), "connected as") {
				t.Fatalf("listen stderr: %q", errLines.Text())
			}
			go func() { _, _ = io.Copy(io.Discard, stderr) }()
			tok := token()
			out, _, code := runCLI(t, "emit", srv.url(), "emit-all", `"`+tok+`"`, `{"bin":{"_binary":"AAEC/w=="}}`)
			if code != 0 {
				t.Fatalf("emit-all: exit %d %s", code, out)
			}
			lines := bufio.NewScanner(stdout)
			want := `["all-event","` + tok + `",{"bin":{"_binary":"AAEC/w=="}}]`
			for {
				if !lines.Scan() {
					t.Fatalf("listen ended before %s", want)
				}
				if lines.Text() == want {
					break
				}
				if !strings.HasPrefix(lines.Text(), `["`) {
					t.Fatalf("listen printed %q", lines.Text())
				}
			}
			_ = cmd.Process.Signal(syscall.SIGINT)
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			if err := cmd.Wait(); err != nil {
				t.Fatalf("listen after SIGINT: %v", err)
			}
		})
	})
	t.Run("unreachable", func(t *testing.T) {
		_, stderr, code := runCLI(t, "listen", "--timeout", "500ms", "http://127.0.0.1:1")
		if code != 1 || !strings.Contains(stderr, "socketio:") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	})
}
