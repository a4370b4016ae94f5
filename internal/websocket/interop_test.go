package websocket

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// nodeTestdata returns the testdata directory if Node.js and the pinned npm
// package ws are available. Otherwise the test is skipped, or fails when
// the CI environment variable is set.
func nodeTestdata(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	unavailable := func(msg string) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if _, err := exec.LookPath("node"); err != nil {
		unavailable("node not found in PATH: install Node.js to run the interop tests")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ws", "package.json")); err != nil {
		unavailable("testdata/node_modules/ws is missing: run `npm ci` in internal/websocket/testdata to run the interop tests")
	}
	return dir
}

// TestInteropNodeClient runs the ws client in testdata/ws_client.js against
// an echo server built on Upgrade.
func TestInteropNodeClient(t *testing.T) {
	runNodeEchoClient(t, &UpgradeOptions{ReadLimit: 8 << 20}, "ws_client.js", "/socket.io/?EIO=4")
}

// TestInteropNodeClientDeflate runs testdata/ws_deflate_client.js, a ws
// client offering permessage-deflate, against an echo server accepting it.
func TestInteropNodeClientDeflate(t *testing.T) {
	runNodeEchoClient(t, &UpgradeOptions{ReadLimit: 8 << 20, Compression: &CompressionOptions{}}, "ws_deflate_client.js", "/")
}

// runNodeEchoClient runs testdata/script against an echo server upgrading
// with opts at path: the script prints "ok", then closes with 4000 "done".
func runNodeEchoClient(t *testing.T, opts *UpgradeOptions, script, path string) {
	t.Helper()
	dir := nodeTestdata(t)
	final := make(chan error, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Upgrade(w, r, opts)
		if err != nil {
			t.Errorf("Upgrade: %v", err)
			return
		}
		go func() {
			defer c.CloseNow()
			for {
				typ, data, err := c.ReadMessage()
				if err != nil {
					final <- err
					return
				}
				if err := c.WriteMessage(typ, data); err != nil {
					final <- err
					return
				}
			}
		}()
	}))
	defer hs.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script, wsURL(hs.URL)+path)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("node %s: %v\n%s", script, err, out)
	}
	wantCloseError(t, await(t, final), 4000, "done")
}

// TestInteropNodeServer dials the ws server in testdata/ws_server.js.
func TestInteropNodeServer(t *testing.T) { testInteropNodeServer(t, false) }

// TestInteropNodeServerDeflate dials the ws server in testdata/ws_server.js
// with permessage-deflate enabled on both ends, and checks that the server's
// compressed messages are read (a large compressible message arrives in far
// fewer bytes than its size) and that ours are accepted.
func TestInteropNodeServerDeflate(t *testing.T) { testInteropNodeServer(t, true) }

// countingConn counts the bytes read from a net.Conn.
type countingConn struct {
	net.Conn
	read atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func testInteropNodeServer(t *testing.T, deflate bool) {
	dir := nodeTestdata(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := []string{"ws_server.js"}
	if deflate {
		args = append(args, "deflate")
	}
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		cmd.Wait()
	}()
	lines := bufio.NewScanner(stdout)
	var port int
	if !lines.Scan() {
		t.Fatalf("ws_server.js printed no port: %v\n%s", lines.Err(), stderr.Bytes())
	}
	if _, err := fmt.Sscanf(lines.Text(), "PORT %d", &port); err != nil {
		t.Fatalf("ws_server.js: unexpected output %q: %v", lines.Text(), err)
	}

	var counted *countingConn
	dopts := &DialOptions{
		Header:    http.Header{"Cookie": {"sid=42"}},
		ReadLimit: 8 << 20,
	}
	if deflate {
		dopts.Compression = &CompressionOptions{Level: flate.BestSpeed}
		dopts.NetDial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			nc, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			counted = &countingConn{Conn: nc}
			return counted, nil
		}
	}
	c, resp, err := Dial(ctx, fmt.Sprintf("ws://127.0.0.1:%d/", port), dopts)
	if err != nil {
		t.Fatalf("Dial: %v\n%s", err, stderr.Bytes())
	}
	defer c.CloseNow()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %s", resp.Status)
	}

	expect := func(typ MessageType, want []byte) {
		t.Helper()
		gotTyp, got := mustRead(t, c)
		if gotTyp != typ || !bytes.Equal(got, want) {
			t.Fatalf("got %v %.60q (%d bytes), want %v %.60q (%d bytes)", gotTyp, got, len(got), typ, want, len(want))
		}
	}
	// Greeting, a fragmented message, and the server's notice that it got
	// the pong answering its ping.
	expect(TextMessage, []byte("welcome cookie=sid=42"))
	if deflate {
		if c.dfl == nil {
			t.Fatalf("permessage-deflate not negotiated: %q", resp.Header.Get("Sec-WebSocket-Extensions"))
		}
		before := counted.read.Load()
		if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "permessage-deflate; server_no_context_takeover; client_no_context_takeover" {
			t.Fatalf("negotiated %q", ext)
		}
		want := "extensions=permessage-deflate " + strings.Repeat("big ", 100000)
		expect(TextMessage, []byte(want))
		if n := counted.read.Load() - before; n > 20000 {
			t.Fatalf("read %d bytes for a %d-byte message: not compressed", n, len(want))
		}
	}
	expect(TextMessage, []byte("frag-mented"))
	expect(TextMessage, []byte("pong:srv-ping"))

	echo := []Message{
		{Type: TextMessage, Data: []byte("hello")},
		{Type: BinaryMessage, Data: []byte{0, 1, 2, 255}},
		{Type: TextMessage, Data: []byte{}},
		{Type: BinaryMessage, Data: payload(3<<20, BinaryMessage, 1)},
		{Type: TextMessage, Data: payload(70_000, TextMessage, 2)},
	}
	for _, m := range echo {
		if err := c.WriteMessage(m.Type, m.Data); err != nil {
			t.Fatal(err)
		}
		expect(m.Type, m.Data)
	}
	var batch []Message
	for i := range 100 {
		typ := MessageType(1 + i%2)
		batch = append(batch, Message{Type: typ, Data: payload(i*50, typ, uint64(i))})
	}
	if err := c.WriteMessages(batch); err != nil {
		t.Fatal(err)
	}
	for _, m := range batch {
		expect(m.Type, m.Data)
	}

	if err := c.WriteMessage(TextMessage, []byte("close-me")); err != nil {
		t.Fatal(err)
	}
	r := await(t, readAsync(c))
	wantCloseError(t, r.err, 4001, "bye")

	// The server saw our echo of its close frame and exits.
	var rest []string
	for lines.Scan() {
		rest = append(rest, lines.Text())
	}
	if err := cmd.Wait(); err != nil || len(rest) != 1 || rest[0] != "CLOSED 4001" {
		t.Fatalf("ws_server.js: %v, output %q\n%s", err, rest, stderr.Bytes())
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("timed out")
	}
}
