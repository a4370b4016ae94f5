package main

import (
	"context"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/examples/stack/app"
	"github.com/socketio-go/socketio/examples/stack/internal/stacktest"
)

func TestPathPrefix(t *testing.T) {
	srv := app.New(&socketio.Options{Path: path})
	hs := httptest.NewServer(newApp(srv))
	defer hs.Close()
	defer srv.Shutdown(context.Background())
	stacktest.Check(t, hs.URL, client.Options{Path: path})

	// The default path is not served: the client must be told.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s, err := client.Connect(ctx, hs.URL, &client.Options{DisableReconnection: true}, nil); err == nil {
		s.Manager().Close()
		t.Fatal("connected with the default path")
	}
}

func TestReverseProxyStripsPrefix(t *testing.T) {
	srv := app.New(&socketio.Options{Path: path})
	hs := httptest.NewServer(newApp(srv))
	defer hs.Close()
	defer srv.Shutdown(context.Background())
	backend, _ := url.Parse(hs.URL)
	proxy := httptest.NewServer(newProxy(backend, "/edge"))
	defer proxy.Close()
	stacktest.Check(t, proxy.URL, client.Options{Path: "/edge" + path})
}
