// Package difffuzz runs the official JavaScript parsers next to our
// decoders, for the differential tests and fuzz targets of packages
// engineio/packet and parser. It is test-only: nothing else imports it.
//
// [Start] launches one Node.js process running testdata/oracle.js with the
// npm packages pinned in testdata/package-lock.json (engine.io-parser 5.2.3
// and socket.io-parser 4.2.7, the versions socket.io 4.8 uses). The process
// reads one JSON request per line and answers each on one line; it lives as
// long as the test or fuzz target that started it and ends when its input is
// closed, so it also ends with a fuzzing worker that is killed. See
// testdata/oracle.js for the requests.
package difffuzz

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Oracle is a running oracle.js process.
type Oracle struct {
	mu  sync.Mutex
	cmd *exec.Cmd
	in  io.WriteCloser
	w   *bufio.Writer
	out *bufio.Reader
	err error // the first I/O error; the process is then unusable
}

// dir returns the testdata directory next to this file.
func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata")
}

// Start starts an oracle for the duration of tb: it is stopped by
// tb.Cleanup. When Node.js or the npm packages are missing it skips tb, or
// fails it when the environment variable CI is set.
func Start(tb testing.TB) *Oracle {
	tb.Helper()
	d := dir()
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node not found in PATH: install Node.js 20+ to compare with the official parsers"
	} else {
		for _, pkg := range []string{"engine.io-parser", "socket.io-parser"} {
			if _, err := os.Stat(filepath.Join(d, "node_modules", pkg, "package.json")); err != nil {
				missing = "internal/difffuzz/testdata/node_modules/" + pkg + " is missing: run `npm ci` in internal/difffuzz/testdata/"
				break
			}
		}
	}
	switch {
	case missing == "":
	case os.Getenv("CI") != "":
		tb.Fatal(missing + " (CI is set: a missing dependency fails the run)")
	default:
		tb.Skip(missing)
	}
	cmd := exec.Command("node", "oracle.js")
	cmd.Dir = d
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	o := &Oracle{cmd: cmd, in: in, w: bufio.NewWriter(in), out: bufio.NewReaderSize(out, 64<<10)}
	tb.Cleanup(func() {
		if err := o.close(); err != nil {
			tb.Errorf("difffuzz: %v", err)
		}
	})
	return o
}

// close ends the process: it exits when its input closes.
func (o *Oracle) close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.in.Close()
	err := o.cmd.Wait()
	if o.err != nil {
		return nil // already reported
	}
	if err != nil {
		return fmt.Errorf("node oracle.js: %w", err)
	}
	return nil
}

// Call sends req, encoded as JSON, and decodes the answer into ans. An
// exception in oracle.js or a broken process fails t.
func (o *Oracle) Call(t testing.TB, req, ans any) {
	t.Helper()
	if err := o.call(req, ans); err != nil {
		t.Fatalf("difffuzz: %v", err)
	}
}

func (o *Oracle) call(req, ans any) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	line, err := json.Marshal(req)
	if err != nil {
		return err
	}
	o.w.Write(line)
	o.w.WriteByte('\n')
	if err := o.w.Flush(); err != nil {
		o.err = fmt.Errorf("writing to node: %w", err)
		return o.err
	}
	line, err = o.out.ReadBytes('\n')
	if err != nil {
		o.err = fmt.Errorf("reading from node: %w", err)
		return o.err
	}
	var fail struct{ Fail string }
	if err := json.Unmarshal(line, &fail); err != nil {
		return fmt.Errorf("answer %q: %w", line, err)
	}
	if fail.Fail != "" {
		return errors.New("oracle.js: " + fail.Fail)
	}
	return json.Unmarshal(line, ans)
}

// B64 encodes b for a request; nil stays nil (JSON null).
func B64(b []byte) *string {
	if b == nil {
		return nil
	}
	s := base64.StdEncoding.EncodeToString(b)
	return &s
}

// Mutate returns a copy of b with one to four random edits, for the
// mutations the plain differential tests run without -fuzz: insert a
// fragment of alphabet, delete a byte, replace a byte with a fragment, or
// duplicate a part.
func Mutate(rng *rand.Rand, b []byte, alphabet []string) []byte {
	b = append([]byte{}, b...)
	for range 1 + rng.IntN(4) {
		i := 0
		if len(b) > 0 {
			i = rng.IntN(len(b) + 1)
		}
		frag := alphabet[rng.IntN(len(alphabet))]
		switch op := rng.IntN(4); {
		case op == 0 || len(b) == 0:
			b = append(b[:i:i], append([]byte(frag), b[i:]...)...)
		case op == 1 && i < len(b):
			b = append(b[:i:i], b[i+1:]...)
		case op == 2 && i < len(b):
			b = append(b[:i:i], append([]byte(frag), b[i+1:]...)...)
		default:
			j := rng.IntN(len(b) + 1)
			lo, hi := min(i, j), max(i, j)
			b = append(b[:hi:hi], append(append([]byte{}, b[lo:hi]...), b[hi:]...)...)
		}
	}
	return b
}
