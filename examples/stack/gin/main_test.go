package main

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/examples/stack/app"
	"github.com/socketio-go/socketio/examples/stack/internal/stacktest"
)

func TestGin(t *testing.T) {
	srv := app.New(nil)
	hs := httptest.NewServer(newEngine(srv))
	defer hs.Close()
	defer srv.Shutdown(context.Background())
	stacktest.Check(t, hs.URL, client.Options{})
}
