package websocket

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

// The advisories of the npm ws package (the official server's and client's
// WebSocket implementation), replayed against this one. docs/security.md
// lists them with the engine.io and socket.io ones.

// GHSA-2mhh-w6q8-5hxw (ws < 1.0.1, remote memory disclosure): a ping whose
// payload the library allocated uninitialized leaked memory in the pong.
// Here a pong echoes exactly the ping's payload, and a ping longer than a
// control frame may be is a protocol error.
func TestGHSA_2mhh_w6q8_5hxw_PingPayload(t *testing.T) {
	srv, cli := newPair(t, nil, nil)
	res := readAsync(srv)
	for _, p := range [][]byte{nil, {0}, bytes.Repeat([]byte{0xAA}, 125)} {
		writeRaw(t, cli.nc, rawFrame{fin: true, op: opPing, masked: true, payload: p})
		if f := readRaw(t, cli.nc); f.op != opPong || !bytes.Equal(f.payload, p) {
			t.Fatalf("ping %d bytes: got %+v", len(p), f)
		}
	}
	writeRaw(t, cli.nc, rawFrame{fin: true, op: opPing, masked: true, payload: make([]byte, 126)})
	if f := readRaw(t, cli.nc); f.op != opClose || closeCode(f.payload) != StatusProtocolError {
		t.Fatalf("got %+v, want close 1002", f)
	}
	if err := await(t, res).err; err == nil {
		t.Fatal("no error after an oversized ping")
	}
}

// CVE-2016-10542 (ws < 1.1.1): no limit on the size of a message, so one
// frame announcing a huge payload exhausted memory. Here the header alone
// gets a close 1009, before anything is allocated for the payload.
func TestCVE_2016_10542_HugeFrame(t *testing.T) {
	srv, cli := newPair(t, &UpgradeOptions{ReadLimit: 1 << 20}, nil)
	res := readAsync(srv)
	// A frame header announcing 2^62 bytes, and no payload.
	hdr := []byte{0x82, 0x80 | 127, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}
	if _, err := cli.nc.Write(hdr); err != nil {
		t.Fatal(err)
	}
	if f := readRaw(t, cli.nc); f.op != opClose || closeCode(f.payload) != StatusMessageTooBig {
		t.Fatalf("got %+v, want close 1009", f)
	}
	if err := await(t, res).err; err == nil {
		t.Fatal("no error")
	}
}

// GHSA-96hv-2xvq-fx4p (ws 8.0.0 to 8.20.1): a message in very many tiny
// fragments cost memory per fragment far beyond its size, past maxPayload.
// Here fragments are copied into one buffer as they arrive: 100,000
// one-byte fragments cost about what a 100 KB message costs.
func TestGHSA_96hv_2xvq_fx4p_TinyFragments(t *testing.T) {
	const n = 100_000
	srv, cli := newPair(t, &UpgradeOptions{ReadLimit: n}, nil)
	frames := make([]rawFrame, 0, n+1)
	for i := range n {
		op := byte(opContinuation)
		if i == 0 {
			op = opBinary
		}
		frames = append(frames, rawFrame{op: op, masked: true, payload: []byte{byte(i)}})
	}
	frames = append(frames, rawFrame{fin: true, op: opContinuation, masked: true})
	var wire bytes.Buffer
	for _, f := range frames {
		wire.Write(encodeFrame(f))
	}
	go func() { _, _ = cli.nc.Write(wire.Bytes()) }()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	typ, data, err := srv.ReadMessage()
	runtime.ReadMemStats(&after)
	if err != nil || typ != BinaryMessage || len(data) != n {
		t.Fatalf("got %v, %d bytes, %v", typ, len(data), err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16*n {
		t.Fatalf("reading %d one-byte fragments allocated %d bytes (%d per fragment)", n, alloc, alloc/n)
	}
	// One byte more than the limit, in fragments, is refused.
	srv2, cli2 := newPair(t, &UpgradeOptions{ReadLimit: 10}, nil)
	res := readAsync(srv2)
	var over []rawFrame
	for i := range 11 {
		op := byte(opContinuation)
		if i == 0 {
			op = opBinary
		}
		over = append(over, rawFrame{fin: i == 10, op: op, masked: true, payload: []byte{1}})
	}
	writeRaw(t, cli2.nc, over...)
	if f := readRaw(t, cli2.nc); f.op != opClose || closeCode(f.payload) != StatusMessageTooBig {
		t.Fatalf("got %+v, want close 1009", f)
	}
	if err := await(t, res).err; err == nil {
		t.Fatal("no error")
	}
}

// GHSA-5v72-xg48-5rpm (ws < 3.3.1 / 2.3.1 / 1.1.5): a Sec-WebSocket-Extensions
// header naming Object.prototype properties crashed the process. Here the
// handshake succeeds without an extension and the connection works, whether
// the header is interpreted (compression on) or not.
func TestGHSA_5v72_xg48_5rpm_ExtensionsHeader(t *testing.T) {
	t.Run("compression off", func(t *testing.T) { testExtensionsHeader(t, nil) })
	// With compression on, the header is parsed: the offers are invalid and
	// declined.
	t.Run("compression on", func(t *testing.T) {
		testExtensionsHeader(t, &UpgradeOptions{Compression: &CompressionOptions{}})
	})
}

func testExtensionsHeader(t *testing.T, opts *UpgradeOptions) {
	ch := make(chan *Conn, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Upgrade(w, r, opts)
		if err != nil {
			t.Errorf("Upgrade: %v", err)
			close(ch)
			return
		}
		ch <- c
	}))
	defer hs.Close()
	for _, ext := range []string{
		"constructor", "hasOwnProperty; __proto__=1", "permessage-deflate; constructor; toString=x, __proto__",
		strings.Repeat("x;", 2000), strings.Repeat("permessage-deflate; x, ", 300),
	} {
		// By hand: the dialer drops Sec-WebSocket-Extensions.
		nc, err := net.Dial("tcp", strings.TrimPrefix(hs.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Extensions: %s\r\n\r\n", ext)
		br := bufio.NewReader(nc)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("extensions %.40q: %v", ext, err)
		}
		if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Extensions") != "" {
			t.Fatalf("extensions %.40q: status %d, extensions %q", ext, resp.StatusCode, resp.Header.Get("Sec-WebSocket-Extensions"))
		}
		srv, ok := <-ch
		if !ok {
			t.FailNow()
		}
		writeRaw(t, nc, rawFrame{fin: true, op: opText, masked: true, payload: []byte("ok")})
		if _, data := mustRead(t, srv); string(data) != "ok" {
			t.Fatalf("got %q", data)
		}
		srv.CloseNow()
		nc.Close()
	}
}
