package engineio

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkPollingEcho is one long-polling round of the echo scenario
// through ServeHTTP (a POST carrying a message, then the GET that collects
// the echo), with httptest recorders instead of connections: the
// allocations of the Engine.IO layer per polling round trip.
func BenchmarkPollingEcho(b *testing.B) {
	srv := NewServer(nil, newEchoApp())
	defer srv.Close()
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/engine.io/?EIO=4&transport=polling", nil))
	sid := parseOpen(b, rec.Body.String()).SID
	q := "/engine.io/?EIO=4&transport=polling&sid=" + sid
	b.ReportAllocs()
	for b.Loop() {
		post := httptest.NewRequest(http.MethodPost, q, strings.NewReader("4hello"))
		post.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		pr := httptest.NewRecorder()
		srv.ServeHTTP(pr, post)
		gr := httptest.NewRecorder()
		srv.ServeHTTP(gr, httptest.NewRequest(http.MethodGet, q, nil))
		if pr.Code != http.StatusOK || gr.Body.String() != "4hello" {
			b.Fatalf("POST %d %q, GET %d %q", pr.Code, pr.Body, gr.Code, gr.Body)
		}
	}
}
