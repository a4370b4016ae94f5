package socketio

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkPollingEchoServe is one long-polling echo round trip over
// loopback TCP (a POST carrying an event with an ack id, then the GET
// that collects the ack), with the server on its own listener (Serve: the
// fast path of internal/h1) and mounted on a plain http.Server ("std").
// The client is the same raw HTTP/1.1 client in both, so the difference is
// the server's.
func BenchmarkPollingEchoServe(b *testing.B) {
	for _, mode := range []string{"fast", "std"} {
		b.Run(mode, func(b *testing.B) {
			srv := NewServer(nil)
			srv.OnConnection(func(s *Socket) {
				s.On("echo", func(e *Event) { _ = e.Ack(e.Args().Spread()...) })
			})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			var hs *http.Server
			done := make(chan struct{})
			if mode == "fast" {
				go func() { defer close(done); _ = srv.Serve(ln) }()
			} else {
				mux := http.NewServeMux()
				mux.Handle("/socket.io/", srv)
				hs = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
				go func() { defer close(done); _ = hs.Serve(ln) }()
			}
			defer func() {
				if hs != nil {
					_ = hs.Close()
				}
				_ = srv.Close()
				<-done
			}()
			get := newRawHTTP(b, ln.Addr().String())
			post := newRawHTTP(b, ln.Addr().String())
			open := get.do("GET", "/socket.io/?EIO=4&transport=polling", "")
			i := strings.Index(open, `"sid":"`)
			if i < 0 {
				b.Fatalf("handshake: %q", open)
			}
			sid := open[i+7 : i+7+strings.IndexByte(open[i+7:], '"')]
			q := "/socket.io/?EIO=4&transport=polling&sid=" + sid
			post.do("POST", q, "40")
			if r := get.do("GET", q, ""); !strings.HasPrefix(r, "40") {
				b.Fatalf("connect: %q", r)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				if r := post.do("POST", q, `421["echo","x"]`); r != "ok" {
					b.Fatalf("POST: %q", r)
				}
				if r := get.do("GET", q, ""); r != `431["x"]` {
					b.Fatalf("GET: %q", r)
				}
			}
		})
	}
}

// rawHTTP is a keep-alive HTTP/1.1 client connection.
type rawHTTP struct {
	tb   testing.TB
	c    net.Conn
	br   *bufio.Reader
	host string
	out  []byte
}

func newRawHTTP(tb testing.TB, addr string) *rawHTTP {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return &rawHTTP{tb: tb, c: c, br: bufio.NewReader(c), host: addr}
}

func (h *rawHTTP) do(method, target, body string) string {
	h.out = append(h.out[:0], method...)
	h.out = append(h.out, ' ')
	h.out = append(h.out, target...)
	h.out = append(h.out, " HTTP/1.1\r\nHost: "...)
	h.out = append(h.out, h.host...)
	h.out = append(h.out, "\r\nAccept: */*\r\n"...)
	if method == "POST" {
		h.out = append(h.out, "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: "...)
		h.out = strconv.AppendInt(h.out, int64(len(body)), 10)
		h.out = append(h.out, "\r\n"...)
	}
	h.out = append(h.out, "\r\n"...)
	h.out = append(h.out, body...)
	if _, err := h.c.Write(h.out); err != nil {
		h.tb.Fatal(err)
	}
	resp, err := http.ReadResponse(h.br, nil)
	if err != nil {
		h.tb.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		h.tb.Fatal(err)
	}
	return string(b)
}
