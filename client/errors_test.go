package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestErrorsSayWhat: a refused namespace names itself, and transport
// errors name no internal package and hint at the path on a 404.
func TestErrorsSayWhat(t *testing.T) {
	gs := newGoServer(t, nil, echoSetup("/"))
	m := newTestManager(t, gs.url, nil)
	err := m.Socket("/nope", nil).Connect(ctxT(t))
	var ce *ConnectError
	if !errors.As(err, &ce) || ce.Message != "Invalid namespace" || ce.Namespace != "/nope" ||
		err.Error() != `namespace "/nope": Invalid namespace` {
		t.Fatalf("Connect = %v", err)
	}

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", gs.srv)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	m = newTestManager(t, hs.URL, &Options{Path: "/wrong/", Transports: []string{"polling"}})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = m.Socket("/", nil).Connect(ctx)
	if err == nil || strings.Contains(err.Error(), "eioclient") || !strings.Contains(err.Error(), "HTTP status 404") ||
		!strings.Contains(err.Error(), "/wrong/") {
		t.Fatalf("Connect = %v", err)
	}
}
