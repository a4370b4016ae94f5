package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/benchmarks/internal/sioclient"
)

// TestRelay drives the relay with the load generator's client: the
// Engine.IO open and Socket.IO CONNECT, a broadcast reaching every client
// (the sender too) with the same bytes, several queued broadcasts arriving
// in order, and an acknowledged echo.
func TestRelay(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(serve))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var clients []*sioclient.Conn
	for range 3 {
		c, err := sioclient.Dial(ctx, sioclient.DialOptions{Addr: addr})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if err := c.Connect(); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(c.SID, "relay") {
			t.Fatalf("sid %q", c.SID)
		}
		clients = append(clients, c)
	}
	// Every client is registered once its CONNECT was answered.
	msgs := []string{`42["bcast",1,2,"x"]`, `42["bcast",2,3,"y"]`, `42["bcast",3,4,"z"]`}
	var payloads [][]byte
	for _, m := range msgs {
		payloads = append(payloads, []byte(m))
	}
	if err := clients[0].WriteText(payloads...); err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		for _, want := range msgs {
			got, err := c.Next()
			if err != nil {
				t.Fatalf("client %d: %v", i, err)
			}
			if string(got) != want {
				t.Fatalf("client %d got %q, want %q", i, got, want)
			}
		}
	}
	if err := clients[1].WriteText([]byte(`427["echo",5,"a"]`)); err != nil {
		t.Fatal(err)
	}
	got, err := clients[1].Next()
	if err != nil {
		t.Fatal(err)
	}
	if want := `437[5,"a"]`; !bytes.Equal(got, []byte(want)) {
		t.Fatalf("ack %q, want %q", got, want)
	}
}
