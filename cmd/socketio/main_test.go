package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/internal/leakcheck"
)

// TestMain fails the run if goroutines started by the tests outlive them.
func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

func TestParseArgs(t *testing.T) {
	var out bytes.Buffer
	c, err := parseArgs([]string{"emit", "--ack", "--timeout", "2s", "--transport", "websocket", "--auth", `{"a":1}`, "--ns", "/x", "http://h/ignored", "ev", "1", `{"_binary":"AQ=="}`}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !c.ack || c.timeout != 2*time.Second || c.transport != "websocket" || string(c.auth) != `{"a":1}` || c.ns != "/x" || c.event != "ev" || len(c.args) != 2 {
		t.Fatalf("%+v", c)
	}
	if b, ok := c.args[1].([]byte); !ok || len(b) != 1 || b[0] != 1 {
		t.Fatalf("binary marker: %#v", c.args[1])
	}
	c, err = parseArgs([]string{"listen", "http://h/admin"}, &out)
	if err != nil || c.ns != "/admin" || c.timeout != 5*time.Second || c.path != "/socket.io/" {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := parseArgs([]string{"emit", "-h"}, &out); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "--transport") {
		t.Fatalf("help: %v", err)
	}
	for _, bad := range [][]string{
		{}, {"nope"}, {"listen"}, {"listen", "a", "b"}, {"emit", "u"}, {"emit", "--timeout", "0s", "u", "e"},
		{"emit", "--auth", "[1]", "u", "e"}, {"emit", "--transport", "x", "u", "e"}, {"emit", "u", "e", "{"},
		{"emit", "u", "e", `{"_binary":"!"}`}, {"listen", "--ack", "u"}, {"emit", "--nope", "u", "e"},
	} {
		var ue *errUsage
		if _, err := parseArgs(bad, &out); !errors.As(err, &ue) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestMarkers(t *testing.T) {
	v, err := decodeArg(`{"list":[{"_binary":"AAE="},1.5e300,{"_binary":"x","other":1}]}`)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	if string(b) != `{"list":["AAE=",1.5e300,{"_binary":"x","other":1}]}` {
		t.Fatalf("%s", b) // json.Marshal shows the []byte as base64
	}
	if v, _ := decodeArg(`"plain"`); string(v.(json.RawMessage)) != `"plain"` {
		t.Fatalf("%v", v)
	}
}

func TestRunUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"emit"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--help") {
		t.Fatalf("exit %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "listen") {
		t.Fatalf("exit %d", code)
	}
}

// TestArgHints: a flag after the URL and a bare word get a hint.
func TestArgHints(t *testing.T) {
	var out bytes.Buffer
	_, err := parseArgs([]string{"emit", "http://h", "ping", "1", "--ack"}, &out)
	if err == nil || !strings.Contains(err.Error(), "--ack is a flag: flags go before the URL") {
		t.Errorf("flag after the URL: %v", err)
	}
	_, err = parseArgs([]string{"emit", "http://h", "ping", "hello"}, &out)
	if err == nil || !strings.Contains(err.Error(), `'"hello"'`) {
		t.Errorf("bare word: %v", err)
	}
	// A negative number is an argument, not a flag.
	if c, err := parseArgs([]string{"emit", "http://h", "ping", "-1"}, &out); err != nil || len(c.args) != 1 {
		t.Errorf("-1: %v", err)
	}
}

// lockedWriter is a bytes.Buffer safe for concurrent use.
type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
	ch chan struct{}
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case w.ch <- struct{}{}:
	default:
	}
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// waitFor waits until w holds s.
func (w *lockedWriter) waitFor(t *testing.T, s string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for !strings.Contains(w.String(), s) {
		select {
		case <-w.ch:
		case <-timeout:
			t.Fatalf("no %q in %q", s, w.String())
		}
	}
}

// TestListenConnectedOnce: listen says "connected as" once per connection
// (it said it twice when the client ran OnConnect handlers registered
// after Connect for the first connection).
func TestListenConnectedOnce(t *testing.T) {
	for _, transport := range []string{"websocket", "polling"} {
		t.Run(transport, func(t *testing.T) {
			srv := socketio.NewServer(nil)
			srv.OnConnection(func(s *socketio.Socket) { _ = s.Emit("welcome", 1) })
			hs := httptest.NewServer(srv)
			defer hs.Close()
			defer srv.Close()
			stdout := &lockedWriter{ch: make(chan struct{}, 1)}
			stderr := &lockedWriter{ch: make(chan struct{}, 1)}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan int)
			go func() { done <- run(ctx, []string{"listen", "--transport", transport, hs.URL}, stdout, stderr) }()
			stdout.waitFor(t, `["welcome",1]`)
			cancel()
			if code := <-done; code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if n := strings.Count(stderr.String(), "connected as"); n != 1 {
				t.Fatalf("%d times connected as: %s", n, stderr.String())
			}
		})
	}
}
