package websocket

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestComputeAccept(t *testing.T) {
	// RFC 6455, section 1.3.
	if got, want := computeAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; got != want {
		t.Fatalf("computeAccept = %q, want %q", got, want)
	}
}

// validUpgradeRequest returns a valid handshake request.
func validUpgradeRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/socket.io/", nil)
	r.Header.Set("Connection", "keep-alive, Upgrade")
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	return r
}

func TestIsWebSocketUpgrade(t *testing.T) {
	tests := []struct {
		name string
		edit func(r *http.Request)
		want bool
	}{
		{"valid", func(r *http.Request) {}, true},
		{"case-insensitive", func(r *http.Request) {
			r.Header.Set("Connection", "UPGRADE")
			r.Header.Set("Upgrade", "WebSocket")
		}, true},
		{"token lists", func(r *http.Request) {
			r.Header.Set("Connection", "keep-alive ,\tupgrade")
			r.Header.Set("Upgrade", "h2c, websocket")
		}, true},
		{"multiple header lines", func(r *http.Request) {
			r.Header.Set("Connection", "keep-alive")
			r.Header.Add("Connection", "Upgrade")
		}, true},
		{"POST", func(r *http.Request) { r.Method = http.MethodPost }, false},
		{"no Upgrade", func(r *http.Request) { r.Header.Del("Upgrade") }, false},
		{"no Connection", func(r *http.Request) { r.Header.Del("Connection") }, false},
		{"token substring", func(r *http.Request) { r.Header.Set("Upgrade", "websockets") }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validUpgradeRequest()
			tt.edit(r)
			if got := IsWebSocketUpgrade(r); got != tt.want {
				t.Fatalf("IsWebSocketUpgrade = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUpgradeRejections(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(r *http.Request)
		status int
	}{
		{"missing key", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Key") }, 400},
		{"short key", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "c2hvcnQ=") }, 400},
		{"non-base64 key", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "not base64 at all!!!") }, 400},
		{"two keys", func(r *http.Request) { r.Header.Add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==") }, 400},
		{"wrong version", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") }, 426},
		{"missing version", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Version") }, 426},
		{"POST", func(r *http.Request) { r.Method = http.MethodPost }, 400},
		{"missing Upgrade", func(r *http.Request) { r.Header.Del("Upgrade") }, 400},
		{"missing Connection", func(r *http.Request) { r.Header.Del("Connection") }, 400},
		{"HTTP/1.0", func(r *http.Request) { r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.0", 1, 0 }, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validUpgradeRequest()
			tt.edit(r)
			w := httptest.NewRecorder()
			c, err := Upgrade(w, r, nil)
			if c != nil || !errors.Is(err, ErrBadHandshake) {
				t.Fatalf("Upgrade = %v, %v; want nil, ErrBadHandshake", c, err)
			}
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if w.Body.Len() == 0 {
				t.Fatal("empty error body")
			}
			if v := w.Header().Get("Sec-WebSocket-Version"); (tt.status == 426) != (v == "13") {
				t.Fatalf("Sec-WebSocket-Version response header = %q", v)
			}
		})
	}
}

func TestUpgradeResponseHeader(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := http.Header{}
		h.Set("Set-Cookie", "io=abc; Path=/")
		h.Set("X-Test", "yes")
		h.Set("Sec-WebSocket-Accept", "must-not-override")
		c, err := Upgrade(w, r, &UpgradeOptions{ResponseHeader: h})
		if err != nil {
			t.Errorf("Upgrade: %v", err)
			return
		}
		c.Close(StatusNormalClosure, "")
	}))
	defer hs.Close()
	c, resp, err := Dial(context.Background(), wsURL(hs.URL), nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.CloseNow()
	if got := resp.Header.Get("Set-Cookie"); got != "io=abc; Path=/" {
		t.Errorf("Set-Cookie = %q", got)
	}
	if got := resp.Header.Get("X-Test"); got != "yes" {
		t.Errorf("X-Test = %q", got)
	}
	if got := resp.Header.Values("Sec-WebSocket-Accept"); len(got) != 1 {
		t.Errorf("Sec-WebSocket-Accept = %q", got)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Body == nil {
		t.Errorf("response %v, body %v", resp.Status, resp.Body)
	}
	_, _, err = c.ReadMessage()
	wantCloseError(t, err, StatusNormalClosure, "")
}

// rawHandshake is a client opening handshake with the RFC's sample key.
const rawHandshake = "GET / HTTP/1.1\r\nHost: example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

func TestUpgradeKeepsEarlyBytes(t *testing.T) {
	// The frames are sent in the same write as the handshake, so net/http
	// has them buffered when the handler runs. Both a short tail (fits the
	// embedded buffer) and a long one are tried.
	for _, size := range []int{3, 1500} {
		conns := make(chan *Conn, 1)
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := Upgrade(w, r, nil)
			if err != nil {
				t.Errorf("Upgrade: %v", err)
				return
			}
			conns <- c
		}))
		nc, err := net.Dial("tcp", hs.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		msg1 := strings.Repeat("a", size)
		frames := encodeFrame(rawFrame{fin: true, op: opText, masked: true, payload: []byte(msg1)})
		frames = append(frames, encodeFrame(rawFrame{fin: true, op: opBinary, masked: true, payload: []byte("second")})...)
		if _, err := nc.Write(append([]byte(rawHandshake), frames...)); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(nc)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
			t.Fatalf("handshake response %v, %v", resp, err)
		}
		c := await(t, conns)
		if typ, data := mustRead(t, c); typ != TextMessage || string(data) != msg1 {
			t.Fatalf("first message %v %d bytes", typ, len(data))
		}
		if typ, data := mustRead(t, c); typ != BinaryMessage || string(data) != "second" {
			t.Fatalf("second message %v %q", typ, data)
		}
		c.CloseNow()
		nc.Close()
		hs.Close()
	}
}

// rawServer serves one TCP connection with handle.
func rawServer(t *testing.T, handle func(nc net.Conn, br *bufio.Reader, req *http.Request)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		br := bufio.NewReader(nc)
		req, err := http.ReadRequest(br)
		if err != nil {
			t.Errorf("ReadRequest: %v", err)
			return
		}
		handle(nc, br, req)
	}()
	return "ws://" + ln.Addr().String() + "/path?q=1"
}

func TestDialKeepsEarlyBytes(t *testing.T) {
	url := rawServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {
		if req.URL.RequestURI() != "/path?q=1" {
			t.Errorf("request URI %q", req.URL.RequestURI())
		}
		resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + computeAccept(req.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"
		b := append([]byte(resp), encodeFrame(rawFrame{fin: true, op: opText, payload: []byte("early")})...)
		b = append(b, encodeFrame(rawFrame{fin: true, op: opText, payload: []byte(strings.Repeat("x", 300))})...)
		nc.Write(b)
		io.Copy(io.Discard, br) // until the client closes
	})
	c, _, err := Dial(context.Background(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, data := mustRead(t, c); string(data) != "early" {
		t.Fatalf("got %q", data)
	}
	if _, data := mustRead(t, c); len(data) != 300 {
		t.Fatalf("got %d bytes", len(data))
	}
	c.Close(StatusNormalClosure, "")
}

func TestDialRejected(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "go away", http.StatusForbidden)
	}))
	defer hs.Close()
	c, resp, err := Dial(context.Background(), wsURL(hs.URL), nil)
	if c != nil || !errors.Is(err, ErrBadHandshake) {
		t.Fatalf("Dial = %v, %v; want ErrBadHandshake", c, err)
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("response %v", resp)
	}
	if body, _ := io.ReadAll(resp.Body); strings.TrimSpace(string(body)) != "go away" {
		t.Fatalf("body %q", body)
	}
}

func TestDialBadAccept(t *testing.T) {
	url := rawServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {
		io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
	})
	_, _, err := Dial(context.Background(), url, nil)
	if !errors.Is(err, ErrBadHandshake) {
		t.Fatalf("Dial error %v, want ErrBadHandshake", err)
	}
}

func TestDialUpgradeRejectsVersion(t *testing.T) {
	// A server rejecting the handshake with 426 is reported as such.
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("Sec-WebSocket-Version", "12")
		Upgrade(w, r, nil)
	}))
	defer hs.Close()
	_, resp, err := Dial(context.Background(), wsURL(hs.URL), nil)
	if !errors.Is(err, ErrBadHandshake) || resp == nil || resp.StatusCode != http.StatusUpgradeRequired ||
		resp.Header.Get("Sec-WebSocket-Version") != "13" {
		t.Fatalf("Dial = %v, %v", resp, err)
	}
}

func TestDialContextCancel(t *testing.T) {
	accepted := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := rawServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {
		// Never answer; cancel the dial instead.
		close(accepted)
		cancel()
		io.Copy(io.Discard, br) // until the client gives up
	})
	_, _, err := Dial(ctx, url, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial error %v, want context.Canceled", err)
	}
	await(t, accepted)
}

func TestDialHeadersAndTLS(t *testing.T) {
	type seen struct{ cookie, auth, host string }
	got := make(chan seen, 1)
	hs := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Header.Get("Cookie"), r.Header.Get("Authorization"), r.Host}
		c, err := Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("Upgrade: %v", err)
			return
		}
		go func() {
			defer c.CloseNow()
			typ, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			c.WriteMessage(typ, data)
			c.ReadMessage() // until closed
		}()
	}))
	defer hs.Close()
	pool := x509.NewCertPool()
	pool.AddCert(hs.Certificate())
	h := http.Header{}
	h.Set("Cookie", "sid=1")
	h.Set("Authorization", "Bearer x")
	h.Set("Sec-WebSocket-Extensions", "permessage-deflate") // dropped
	url := "wss" + strings.TrimPrefix(hs.URL, "https")
	c, _, err := Dial(context.Background(), url, &DialOptions{Header: h, TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.CloseNow()
	s := await(t, got)
	if s.cookie != "sid=1" || s.auth != "Bearer x" || s.host != strings.TrimPrefix(hs.URL, "https://") {
		t.Fatalf("server saw %+v", s)
	}
	if err := c.WriteMessage(TextMessage, []byte("over tls")); err != nil {
		t.Fatal(err)
	}
	if _, data := mustRead(t, c); string(data) != "over tls" {
		t.Fatalf("echo %q", data)
	}
	c.Close(StatusNormalClosure, "")
}
