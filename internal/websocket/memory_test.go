package websocket

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

func TestConnSize(t *testing.T) {
	// The embedded read buffer is sized so that Conn fills a malloc size
	// class (160 bytes on 64-bit platforms).
	if size := unsafe.Sizeof(Conn{}); size > 160 {
		t.Errorf("Conn is %d bytes, want <= 160", size)
	}
}

// TestIdleConnMemory measures the heap retained per idle server connection
// whose goroutine is blocked in ReadMessage, excluding goroutine stacks.
// The figure includes the client side of each loopback connection (a raw
// net.Conn), so it overstates the server's share by a few hundred bytes.
func TestIdleConnMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens many connections")
	}
	// The asserted bound is generous: the measured figure is well below
	// it (see the test log), so the assertion is not sensitive to noise.
	const maxPerConn = 3 << 10
	for _, tc := range []struct {
		name string
		// inHandler reads in the HTTP handler goroutine instead of
		// returning from the handler; the net/http request state then
		// stays reachable, so only a looser bound is asserted.
		inHandler bool
		bound     float64
	}{
		{"reader goroutine", false, maxPerConn},
		{"blocking handler", true, 2 * maxPerConn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			per := measureIdleConns(t, 1000, tc.inHandler)
			t.Logf("heap per idle connection: %.0f bytes", per)
			if per > tc.bound {
				t.Errorf("heap per idle connection = %.0f bytes, want <= %.0f", per, tc.bound)
			}
		})
	}
}

// measureIdleConns opens n idle connections and returns the heap growth
// per connection.
func measureIdleConns(t *testing.T, n int, inHandler bool) float64 {
	// Buffers sized up front so that they are part of the baseline.
	servers := make(chan *Conn, n+10)
	clients := make([]net.Conn, 0, n)
	done := make(chan struct{}, n+10)
	reading := make(chan struct{}, n+10)

	read := func(c *Conn) {
		defer func() { done <- struct{}{} }()
		reading <- struct{}{}
		c.ReadMessage() // blocks until the connection is closed
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("Upgrade: %v", err)
			return
		}
		servers <- c
		if inHandler {
			read(c)
		} else {
			go read(c)
		}
	}))
	defer hs.Close()
	addr := hs.Listener.Addr().String()

	dial := func() net.Conn {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		if _, err := io.WriteString(nc, rawHandshake); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReaderSize(nc, 512), nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("handshake: %v %v", resp, err)
		}
		await(t, reading)
		return nc
	}
	closeAll := func(clients []net.Conn) {
		for _, nc := range clients {
			nc.Close()
		}
		for range clients {
			c := <-servers
			c.CloseNow()
			await(t, done)
		}
	}

	// Warm up the server, pools and runtime structures.
	var warm []net.Conn
	for range 10 {
		warm = append(warm, dial())
	}
	closeAll(warm)

	before := heapInUse()
	for range n {
		clients = append(clients, dial())
	}
	after := heapInUse()
	closeAll(clients)
	return float64(after-before) / float64(n)
}

// heapInUse returns the bytes of live heap objects after a full collection.
func heapInUse() uint64 {
	var ms runtime.MemStats
	// Two cycles: the first may leave objects freed by finalizers and
	// pool victim caches for the second.
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestIdleConnMemoryDeflate measures the heap retained per idle server
// connection that negotiated permessage-deflate and exchanged one
// compressed message each way. Without context takeover (the default) an
// idle connection must cost what one without compression does; with it,
// the figure is the documented price of keeping the compressor and the
// decompression history.
func TestIdleConnMemoryDeflate(t *testing.T) {
	if testing.Short() {
		t.Skip("opens many connections")
	}
	for _, tc := range []struct {
		name  string
		opts  CompressionOptions
		n     int
		bound float64
	}{
		{"no context takeover", CompressionOptions{}, 1000, 3 << 10},
		{"context takeover", CompressionOptions{CompressContextTakeover: true, DecompressContextTakeover: true}, 50, 2 << 20},
		{"context takeover, best speed", CompressionOptions{Level: 1, CompressContextTakeover: true, DecompressContextTakeover: true}, 50, 2 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			per := measureIdleDeflateConns(t, tc.n, &tc.opts)
			t.Logf("heap per idle connection: %.0f bytes", per)
			if per > tc.bound {
				t.Errorf("heap per idle connection = %.0f bytes, want <= %.0f", per, tc.bound)
			}
		})
	}
}

// measureIdleDeflateConns opens n connections with compression, sends a
// compressed message each way on each, and returns the heap growth per
// connection once they are idle.
func measureIdleDeflateConns(t *testing.T, n int, opts *CompressionOptions) float64 {
	servers := make(chan *Conn, n+10)
	clients := make([]net.Conn, 0, n)
	done := make(chan struct{}, n+10)
	reading := make(chan struct{}, n+10)
	msg := bytes.Repeat([]byte("compressible "), 200)
	zmsg := compressRaw(t, msg)

	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Upgrade(w, r, &UpgradeOptions{Compression: opts})
		if err != nil || c.dfl == nil {
			t.Errorf("Upgrade: %v, compression %v", err, c != nil && c.dfl != nil)
			return
		}
		servers <- c
		go func() {
			defer func() { done <- struct{}{} }()
			if err := c.WriteMessage(TextMessage, msg); err != nil {
				t.Errorf("write: %v", err)
				return
			}
			if _, data, err := c.ReadMessage(); err != nil || !bytes.Equal(data, msg) {
				t.Errorf("read: %v", err)
				return
			}
			reading <- struct{}{}
			c.ReadMessage() // blocks until the connection is closed
		}()
	}))
	defer hs.Close()
	addr := hs.Listener.Addr().String()

	dial := func() net.Conn {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		hsReq := strings.Replace(rawHandshake, "\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n", 1)
		if _, err := io.WriteString(nc, hsReq); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReaderSize(nc, 512)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("handshake: %v %v", resp, err)
		}
		if f := readRaw(t, br); f.rsv != 4 {
			t.Fatalf("server message not compressed: %+v", f)
		}
		writeRaw(t, nc, rawFrame{fin: true, rsv: 4, op: opText, masked: true, payload: zmsg})
		await(t, reading)
		return nc
	}
	closeAll := func(clients []net.Conn) {
		for _, nc := range clients {
			nc.Close()
		}
		for range clients {
			c := <-servers
			c.CloseNow()
			await(t, done)
		}
	}

	var warm []net.Conn
	for range 10 {
		warm = append(warm, dial())
	}
	closeAll(warm)

	before := heapInUse()
	for range n {
		clients = append(clients, dial())
	}
	after := heapInUse()
	closeAll(clients)
	return float64(after-before) / float64(n)
}
