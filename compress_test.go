package socketio

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// getEncoded polls with Accept-Encoding: gzip and returns the
// Content-Encoding and the decoded body.
func (c *pclient) getEncoded() (string, string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "gzip") // set explicitly: not decoded by the client
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	enc := resp.Header.Get("Content-Encoding")
	var r io.Reader = resp.Body
	if enc == "gzip" {
		if r, err = gzip.NewReader(resp.Body); err != nil {
			c.t.Fatal(err)
		}
	}
	b, err := io.ReadAll(r)
	if err != nil || resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET: %d %v", resp.StatusCode, err)
	}
	return enc, string(b)
}

// TestCompressFlag checks that Compress(false) on emits and broadcasts
// reaches the transport: a long-polling response made only of such packets
// is not compressed, while the default compresses it.
func TestCompressFlag(t *testing.T) {
	env := newTestEnv(t, nil)
	socks := make(chan *Socket, 1)
	env.srv.OnConnection(func(s *Socket) { socks <- s })
	c := env.dialPolling()
	c.post("40")
	if body := c.get(); !strings.HasPrefix(body, "40{") {
		t.Fatalf("connect: %q", body)
	}
	s := recv(t, socks)
	if e := s.Volatile().Compress(false); !e.volatile || !e.uncompressed {
		t.Fatalf("Volatile().Compress(false): %+v", e)
	}
	if e := s.Compress(false).Volatile(); !e.volatile || !e.uncompressed {
		t.Fatalf("Compress(false).Volatile(): %+v", e)
	}
	if b := s.Compress(false).Broadcast(); !b.flags.NoCompress {
		t.Fatalf("Compress(false).Broadcast(): %+v", b.flags)
	}
	big := strings.Repeat("compressible ", 100)
	want := `42["big","` + big + `"]`
	for _, tc := range []struct {
		name    string
		emit    func() error
		wantEnc string
	}{
		{"Emit", func() error { return s.Emit("big", big) }, "gzip"},
		{"Compress(false).Emit", func() error { return s.Compress(false).Emit("big", big) }, ""},
		{"Compress(true).Emit", func() error { return s.Compress(true).Emit("big", big) }, "gzip"},
		{"broadcast", func() error { return env.srv.Emit("big", big) }, "gzip"},
		{"broadcast Compress(false)", func() error { return env.srv.Compress(false).Emit("big", big) }, ""},
		{"To(room).Compress(false)", func() error { return env.srv.To(s.ID()).Compress(false).Emit("big", big) }, ""},
	} {
		if err := tc.emit(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		enc, body := c.getEncoded()
		if enc != tc.wantEnc || body != want {
			t.Fatalf("%s: Content-Encoding %q (want %q), body %.40q", tc.name, enc, tc.wantEnc, body)
		}
	}
}
