package engineio

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/engineio/packet"
	"github.com/socketio-go/socketio/internal/websocket"
)

func TestPreferredEncoding(t *testing.T) {
	for _, tc := range []struct {
		header []string
		want   string
	}{
		{nil, ""},
		{[]string{""}, ""},
		{[]string{"gzip"}, "gzip"},
		{[]string{"deflate"}, "deflate"},
		{[]string{"gzip, deflate, br"}, "gzip"},
		{[]string{"deflate, gzip"}, "deflate"}, // earlier in the header
		{[]string{"br"}, ""},
		{[]string{"identity"}, ""},
		{[]string{"*"}, "gzip"},
		{[]string{"GZIP"}, "gzip"},
		{[]string{"gzip;q=0.5, deflate"}, "deflate"},
		{[]string{"gzip;q=0, deflate;q=0"}, ""},
		{[]string{"gzip;q=0, *"}, "deflate"}, // the specific entry refuses gzip
		{[]string{"*;q=0.1, gzip;q=0.2"}, "gzip"},
		{[]string{"*;q=0.3, gzip;q=0.2"}, "deflate"},
		{[]string{"br", "deflate;q=0.8"}, "deflate"}, // several header lines
		{[]string{"gzip;q=abc"}, ""},
		{[]string{"gzip deflate"}, ""},
		{[]string{" gzip ; q=1 "}, "gzip"},
	} {
		if got := preferredEncoding(tc.header); got != tc.want {
			t.Errorf("Accept-Encoding %q: %q, want %q", tc.header, got, tc.want)
		}
	}
}

// pollRaw polls with an explicit Accept-Encoding (so that the Go HTTP
// client does not decompress) and returns the response and its raw body.
func (ts *testServer) pollRaw(sid, acceptEncoding string) (*http.Response, []byte) {
	ts.t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.url+"?EIO=4&transport=polling&sid="+sid, nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	// No Accept-Encoding header is added when none is given.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return resp, b
}

func decode(t *testing.T, enc string, b []byte) string {
	t.Helper()
	var r io.Reader = bytes.NewReader(b)
	var err error
	switch enc {
	case "":
		return string(b)
	case "gzip":
		r, err = gzip.NewReader(r)
	case "deflate":
		r, err = zlib.NewReader(r)
	default:
		t.Fatalf("unexpected Content-Encoding %q", enc)
	}
	if err != nil {
		t.Fatalf("%s: %v", enc, err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", enc, err)
	}
	return string(out)
}

func TestPollingCompression(t *testing.T) {
	big := strings.Repeat("compressible ", 100) // 1300 bytes
	for _, tc := range []struct {
		name    string
		opts    *HTTPCompressionOptions
		accept  string
		pkts    []packet.Packet
		wantEnc string
	}{
		{"gzip", nil, "gzip, deflate", []packet.Packet{{Type: packet.Message, Data: []byte(big)}}, "gzip"},
		{"deflate", nil, "deflate", []packet.Packet{{Type: packet.Message, Data: []byte(big)}}, "deflate"},
		{"no Accept-Encoding", nil, "", []packet.Packet{{Type: packet.Message, Data: []byte(big)}}, ""},
		{"unsupported encoding", nil, "br", []packet.Packet{{Type: packet.Message, Data: []byte(big)}}, ""},
		{"below threshold", nil, "gzip", []packet.Packet{{Type: packet.Message, Data: []byte(big[:1022])}}, ""},
		{"at threshold", nil, "gzip", []packet.Packet{{Type: packet.Message, Data: []byte(big[:1023])}}, "gzip"}, // 1024 with the type digit
		{"all packets uncompressed", nil, "gzip", []packet.Packet{
			{Type: packet.Message, Data: []byte(big), NoCompress: true},
			{Type: packet.Message, Data: []byte("x"), NoCompress: true},
		}, ""},
		{"one packet compressible", nil, "gzip", []packet.Packet{
			{Type: packet.Message, Data: []byte(big), NoCompress: true},
			{Type: packet.Message, Data: []byte("x")},
		}, "gzip"},
		{"disabled", &HTTPCompressionOptions{Disable: true}, "gzip", []packet.Packet{{Type: packet.Message, Data: []byte(big)}}, ""},
		{"threshold 100", &HTTPCompressionOptions{Threshold: 100, Level: 1}, "gzip", []packet.Packet{{Type: packet.Message, Data: []byte(big[:200])}}, "gzip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, &Options{HTTPCompression: tc.opts})
			sid := ts.openPolling()
			s := <-ts.app.opened
			if err := s.SendPackets(tc.pkts, false); err != nil {
				t.Fatal(err)
			}
			resp, body := ts.pollRaw(sid, tc.accept)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			enc := resp.Header.Get("Content-Encoding")
			if enc != tc.wantEnc {
				t.Fatalf("Content-Encoding %q, want %q", enc, tc.wantEnc)
			}
			if resp.ContentLength != int64(len(body)) {
				t.Fatalf("Content-Length %d for %d bytes", resp.ContentLength, len(body))
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
				t.Fatalf("Content-Type %q", ct)
			}
			want := string(packet.AppendPayload(nil, tc.pkts))
			if got := decode(t, enc, body); got != want {
				t.Fatalf("body %.60q, want %.60q", got, want)
			}
			if enc != "" && len(body) >= len(want) {
				t.Fatalf("compressed %d bytes to %d", len(want), len(body))
			}
		})
	}

	t.Run("Go HTTP client decompresses transparently", func(t *testing.T) {
		ts := newTestServer(t, nil)
		sid := ts.openPolling()
		s := <-ts.app.opened
		if err := s.Send([]byte(big), false, false); err != nil {
			t.Fatal(err)
		}
		resp := ts.doResp(http.MethodGet, "EIO=4&transport=polling&sid="+sid, "", nil)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if !resp.Uncompressed || string(b) != "4"+big {
			t.Fatalf("uncompressed %v, body %.40q", resp.Uncompressed, b)
		}
	})
}

// TestWebSocketPerMessageDeflate checks that the option enables the
// extension on both WebSocket entry points (handshake and upgrade) and that
// compressed messages flow both ways; without it, the offer is declined.
func TestWebSocketPerMessageDeflate(t *testing.T) {
	big := strings.Repeat("compressible ", 200)
	dial := func(ts *testServer, query string) (*websocket.Conn, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, resp, err := websocket.Dial(ctx, ts.wsURL(query), &websocket.DialOptions{Compression: &websocket.CompressionOptions{}})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { _ = c.CloseNow() })
		return c, resp.Header.Get("Sec-WebSocket-Extensions")
	}
	const want = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

	off := newTestServer(t, nil)
	if _, ext := dial(off, "EIO=4&transport=websocket"); ext != "" {
		t.Fatalf("negotiated %q with compression off", ext)
	}

	ts := newTestServer(t, &Options{PerMessageDeflate: &PerMessageDeflateOptions{}})
	c, ext := dial(ts, "EIO=4&transport=websocket")
	if ext != want {
		t.Fatalf("negotiated %q", ext)
	}
	parseOpen(t, readText(t, c))
	writeText(t, c, "4"+big)
	if got := readText(t, c); got != "4"+big {
		t.Fatalf("echo %.40q", got)
	}

	// Upgrade from polling.
	sid := ts.openPolling()
	c, ext = dial(ts, "EIO=4&transport=websocket&sid="+sid)
	if ext != want {
		t.Fatalf("negotiated %q on upgrade", ext)
	}
	writeText(t, c, "2probe")
	if got := readText(t, c); got != "3probe" {
		t.Fatalf("got %q", got)
	}
	writeText(t, c, "5")
	writeText(t, c, "4"+big)
	if got := readText(t, c); got != "4"+big {
		t.Fatalf("echo %.40q", got)
	}
}

// BenchmarkCompressBody measures the compression of a 16 KiB long-polling
// payload (pooled writers, pooled output).
func BenchmarkCompressBody(b *testing.B) {
	body := []byte(strings.Repeat(`42["chat",{"user":"alice","text":"hello there"}]`+"\x1e", 340))
	for _, enc := range []string{"gzip", "deflate"} {
		for _, level := range []int{1, 6} {
			b.Run(fmt.Sprintf("%s/level=%d", enc, level), func(b *testing.B) {
				hc := newHTTPCompression(&HTTPCompressionOptions{Level: level})
				dst := make([]byte, 0, 64<<10)
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					out, got := hc.compressBody(dst[:0], body, []string{enc})
					if got != enc || len(out) == 0 {
						b.Fatal(got)
					}
				}
			})
		}
	}
}

func TestCompressionOptionsEffective(t *testing.T) {
	srv := NewServer(nil, newEchoApp())
	o := srv.Options()
	srv.Close()
	if o.PerMessageDeflate != nil || o.HTTPCompression == nil || o.HTTPCompression.Disable || o.HTTPCompression.Threshold != 1024 {
		t.Fatalf("defaults: %+v %+v", o.PerMessageDeflate, o.HTTPCompression)
	}
	srv = NewServer(&Options{PerMessageDeflate: &PerMessageDeflateOptions{Level: 1}, HTTPCompression: &HTTPCompressionOptions{Disable: true}}, newEchoApp())
	o = srv.Options()
	srv.Close()
	if d := o.PerMessageDeflate; d == nil || d.Threshold != 1024 || d.Level != 1 || !o.HTTPCompression.Disable {
		t.Fatalf("set: %+v %+v", o.PerMessageDeflate, o.HTTPCompression)
	}
	for _, bad := range []*Options{
		{PerMessageDeflate: &PerMessageDeflateOptions{Level: 10}},
		{HTTPCompression: &HTTPCompressionOptions{Level: -3}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewServer(%+v) did not panic", bad)
				}
			}()
			NewServer(bad, newEchoApp())
		}()
	}
}
