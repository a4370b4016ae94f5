package socketio

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The attacks behind the CVEs of the official packages (engine.io,
// socket.io-parser, ws), replayed against this server: each may only end
// the attacker's own connection, never the process or other connections.
// docs/security.md lists them.

// survivor is a connected client that must keep working.
func survivor(t *testing.T, env *testEnv) func() {
	c := env.dial()
	c.connect("/", "")
	return func() {
		t.Helper()
		c.send(`2["echo","alive"]`)
		if got := c.nextText(); got != `2["echo-back","alive"]` {
			t.Fatalf("bystander got %s", got)
		}
	}
}

// rawConn opens a TCP connection to the test server.
func (env *testEnv) rawConn(t *testing.T) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(env.hs.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// wsHandshake performs a WebSocket handshake by hand on conn, with extra
// header lines, and returns the reader positioned after the response.
func wsHandshake(t *testing.T, conn net.Conn, extra string) *bufio.Reader {
	t.Helper()
	var key [16]byte
	_, _ = rand.Read(key[:])
	fmt.Fprintf(conn, "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n%s\r\n",
		base64.StdEncoding.EncodeToString(key[:]), extra)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake status %d", resp.StatusCode)
	}
	return br
}

// readUntilEOF reads until the server closes conn, and fails the test if
// it does not within 5s.
func readUntilEOF(t *testing.T, conn net.Conn, r io.Reader) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, r); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("the server did not close the connection")
		}
	}
}

// CVE-2022-21676 (engine.io): a WebSocket frame with reserved bits set
// crashed the process.
func TestCVE_2022_21676_ReservedBits(t *testing.T) {
	env := echoServer(t, nil)
	check := survivor(t, env)
	conn := env.rawConn(t)
	br := wsHandshake(t, conn, "")
	// A masked text frame with RSV2 and RSV3 set.
	_, _ = conn.Write([]byte{0x80 | 0x20 | 0x10 | 0x1, 0x80 | 1, 0, 0, 0, 0, '4'})
	readUntilEOF(t, conn, br)
	check()
}

// CVE-2022-41940 (engine.io): a connection reset in the middle of a request
// crashed the process.
func TestCVE_2022_41940_ConnectionReset(t *testing.T) {
	env := echoServer(t, nil)
	check := survivor(t, env)
	reset := func(conn net.Conn) {
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close sends RST
		}
		conn.Close()
	}
	// During a WebSocket frame.
	conn := env.rawConn(t)
	wsHandshake(t, conn, "")
	_, _ = conn.Write([]byte{0x81, 0x80 | 100, 1, 2, 3, 4, 'x'})
	reset(conn)
	// During a long-polling POST body and a pending GET.
	resp, err := http.Get(env.hs.URL + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sid := strings.SplitN(strings.SplitN(string(body), `"sid":"`, 2)[1], `"`, 2)[0]
	post := env.rawConn(t)
	fmt.Fprintf(post, "POST /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n40", sid)
	reset(post)
	get := env.rawConn(t)
	fmt.Fprintf(get, "GET /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\n\r\n", sid)
	reset(get)
	check()
}

// CVE-2020-36048 (engine.io): a huge POST body was buffered (the default
// limit was 100 MB).
func TestCVE_2020_36048_HugeBody(t *testing.T) {
	env := echoServer(t, nil)
	check := survivor(t, env)
	resp, err := http.Get(env.hs.URL + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sid := strings.SplitN(strings.SplitN(string(body), `"sid":"`, 2)[1], `"`, 2)[0]
	conn := env.rawConn(t)
	fmt.Fprintf(conn, "POST /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n4", sid)
	resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	check()
}

// CVE-2022-2421 and CVE-2023-32695 (socket.io-parser): placeholders whose
// num is not a valid index (an object, a string such as "toString", a
// negative or fractional number) were not validated or threw.
func TestCVE_2022_2421_2023_32695_BadPlaceholders(t *testing.T) {
	for _, num := range []string{`"toString"`, `"__proto__"`, `{}`, `-1`, `0.5`, `1e9`, `null`, `[0]`} {
		t.Run(num, func(t *testing.T) {
			env := echoServer(t, nil)
			check := survivor(t, env)
			c := env.dial()
			c.connect("/", "")
			c.send(`51-["echo",{"_placeholder":true,"num":` + num + `}]`)
			c.sendBinary([]byte{1})
			c.waitClosed()
			check()
		})
	}
}

// GHSA-2m8v-j782-fhvr (socket.io-parser < 4.2.7): a binary packet that
// announces zero attachments. Here, as in socket.io-parser 4.2.7, it is an
// invalid packet: the connection is closed, whether an attachment follows or
// not.
func TestGHSA_2m8v_j782_fhvr_ZeroAttachments(t *testing.T) {
	for _, wire := range []string{`50-["echo","x"]`, `500-["echo","x"]`, `60-0[]`, `50-/,["echo"]`} {
		t.Run(wire, func(t *testing.T) {
			env := echoServer(t, nil)
			check := survivor(t, env)
			c := env.dial()
			c.connect("/", "")
			c.send(wire)
			c.waitClosed()
			check()
		})
	}
}

// CVE-2024-38355 (socket.io < 4.6.2): an event named "error" from a client,
// with no "error" listener on the socket, threw in the EventEmitter and
// killed the process. Here a client event's name is only a key: "error" and
// the names that mean something to a JavaScript object reach the handler
// registered for them, if any, and the connection goes on. (The names
// socket.io-parser reserves, "newListener" and "removeListener" among them,
// are invalid packets there and here: TestDecodeErrors in package parser.)
func TestCVE_2024_38355_ErrorEvent(t *testing.T) {
	env := echoServer(t, nil)
	got := make(chan string, 4)
	env.srv.OnConnection(func(s *Socket) {
		s.On("error", func(e *Event) { got <- "error " + e.Args().String() })
	})
	check := survivor(t, env)
	c := env.dial()
	c.connect("/", "")
	for _, name := range []string{"error", "__proto__", "constructor", "hasOwnProperty", "toString", "emit", "on"} {
		c.send(`2["` + name + `"]`)
		c.send(`2["` + name + `",{"x":1},null]`)
	}
	c.send(`2["echo","still"]`)
	if g := c.nextText(); g != `2["echo-back","still"]` {
		t.Fatalf("got %s", g)
	}
	for _, want := range []string{`error []`, `error [{"x":1},null]`} {
		select {
		case g := <-got:
			if g != want {
				t.Fatalf("error handler got %q, want %q", g, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the error handler did not run")
		}
	}
	check()
}

// CVE-2020-28481 (socket.io < 2.4.0): every origin was allowed by default,
// so any web page could talk to the server with its visitor's cookies.
// Here, with no CORS option, a browser request from another origin is
// refused, polling and WebSocket alike, and no Access-Control-Allow-Origin
// is sent.
func TestCVE_2020_28481_DefaultCORS(t *testing.T) {
	env := echoServer(t, nil)
	req, _ := http.NewRequest("GET", env.hs.URL+"/socket.io/?EIO=4&transport=polling", nil)
	req.Header.Set("Origin", "https://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("cross-origin handshake: %d, Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	conn := env.rawConn(t)
	fmt.Fprintf(conn, "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		t.Fatal("cross-origin WebSocket accepted")
	}
}

// CVE-2020-36049 (socket.io-parser): a large packet exhausted memory. Here
// the sizes of messages, attachments and their count are all bounded.
func TestCVE_2020_36049_LargePacket(t *testing.T) {
	env := echoServer(t, &Options{MaxHTTPBufferSize: 1 << 16})
	check := survivor(t, env)
	c := env.dial()
	c.connect("/", "")
	_ = c.ws.WriteMessage(1, []byte(`42["echo","`+strings.Repeat("x", 1<<17)+`"]`))
	c.waitClosed()
	check()
}

// CVE-2021-32640 (ws): a crafted Sec-WebSocket-Protocol header took
// super-linear time to parse. The server does not parse it.
func TestCVE_2021_32640_ProtocolHeader(t *testing.T) {
	env := echoServer(t, nil)
	conn := env.rawConn(t)
	start := time.Now()
	wsHandshake(t, conn, "Sec-WebSocket-Protocol: b"+strings.Repeat(" ", 50000)+"x\r\n")
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("handshake took %v", d)
	}
}

// CVE-2024-37890 (ws): a request with more headers than the HTTP server
// allows crashed the process.
func TestCVE_2024_37890_ManyHeaders(t *testing.T) {
	env := echoServer(t, nil)
	check := survivor(t, env)
	conn := env.rawConn(t)
	var b strings.Builder
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&b, "X-H%d: v\r\n", i)
	}
	fmt.Fprintf(conn, "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n%s\r\n", b.String())
	br := bufio.NewReader(conn)
	if resp, err := http.ReadResponse(br, nil); err == nil {
		resp.Body.Close()
	}
	check()
}
