package h1

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// On a TLS listener, HTTP/1.1 requests for the path take the fast path
// (with Request.TLS set) and an HTTP/2 connection (ALPN) goes to net/http
// untouched.
func TestTLSAndHTTP2(t *testing.T) {
	// httptest's certificate and a client that trusts it.
	ref := httptest.NewTLSServer(http.NotFoundHandler())
	cert := ref.TLS.Certificates[0]
	pool := ref.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	ref.Close()

	var fastTLS bool
	fast := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fastTLS = r.TLS != nil && r.TLS.HandshakeComplete
		_, _ = io.WriteString(w, r.Proto)
	})
	srv := &Server{
		Path:    "/fast/",
		Handler: fast,
		Fallback: &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, "fallback "+r.Proto)
			}),
			ErrorLog: log.New(io.Discard, "", 0),
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}})
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(tln) }()
	defer func() {
		_ = srv.Close()
		<-errc
		srv.wg.Wait()
	}()
	url := "https://" + ln.Addr().String() + "/fast/"

	h1 := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}
	defer h1.CloseIdleConnections()
	get := func(tr http.RoundTripper) string {
		t.Helper()
		c := &http.Client{Transport: tr, Timeout: 20 * time.Second}
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := get(h1); got != "HTTP/1.1" || !fastTLS {
		t.Fatalf("HTTP/1.1 over TLS: %q, TLS state %v", got, fastTLS)
	}
	h2 := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	defer h2.CloseIdleConnections()
	if got := get(h2); got != "fallback HTTP/2.0" {
		t.Fatalf("HTTP/2: %q", got)
	}
}
