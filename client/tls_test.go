package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	socketio "github.com/socketio-go/socketio"
)

// CVE-2016-10536 (engine.io-client < 1.6.9): the client did not verify the
// server's certificate by default (rejectUnauthorized false), so anyone on
// the path could read and change the traffic. Here a server certificate
// that does not chain to a trusted root fails the connection by default,
// over both transports, and is accepted only through TLSConfig.
func TestCVE_2016_10536_TLSVerifiedByDefault(t *testing.T) {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(*socketio.Socket) {})
	hs := httptest.NewTLSServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	for _, tr := range []string{TransportPolling, TransportWebSocket} {
		m, err := NewManager(hs.URL, &Options{Transports: []string{tr}, DisableReconnection: true})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = m.Socket("/", nil).Connect(ctx)
		cancel()
		m.Close()
		var unknown x509.UnknownAuthorityError
		if err == nil || !(errors.As(err, &unknown) || strings.Contains(err.Error(), "certificate")) {
			t.Fatalf("%s: connecting to a server with an untrusted certificate: %v, want a certificate error", tr, err)
		}

		roots := x509.NewCertPool()
		roots.AddCert(hs.Certificate())
		m, err = NewManager(hs.URL, &Options{Transports: []string{tr}, DisableReconnection: true, TLSConfig: &tls.Config{RootCAs: roots}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
		err = m.Socket("/", nil).Connect(ctx)
		cancel()
		m.Close()
		if err != nil {
			t.Fatalf("%s: with the certificate trusted: %v", tr, err)
		}
	}
}
