package socketio

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/socketio-go/socketio/parser"
)

func TestListenAndServe(t *testing.T) {
	srv := NewServer(nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("handshake status %d", resp.StatusCode)
	}
	resp, err = http.Get("http://" + ln.Addr().String() + "/other")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("other path: %d", resp.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := recv(t, served); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve returned %v", err)
	}
	if err := srv.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
	if err := srv.Shutdown(ctx); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("second Shutdown: %v", err)
	}
}

// TestServeClosesListenerFirst: Shutdown and Close close the listener of
// Serve before they disconnect the sockets, so that a client reconnecting
// at once never lands on the server that is going away.
func TestServeClosesListenerFirst(t *testing.T) {
	for _, graceful := range []bool{true, false} {
		name := map[bool]string{true: "Shutdown", false: "Close"}[graceful]
		t.Run(name, func(t *testing.T) {
			srv := NewServer(nil)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ln) }()
			dialed := make(chan error, 1)
			srv.OnConnection(func(s *Socket) {
				s.OnDisconnect(func(DisconnectReason) {
					c, err := net.Dial("tcp", addr)
					if err == nil {
						c.Close()
					}
					dialed <- err
				})
			})
			env := &testEnv{t: t, srv: srv, hs: &httptest.Server{URL: "http://" + addr}}
			c := env.dial()
			c.send("0")
			if p := c.next(); p.Type != parser.Connect {
				t.Fatalf("CONNECT answered with %v", p.Type)
			}
			if graceful {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				err = srv.Shutdown(ctx)
			} else {
				err = srv.Close()
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := recv(t, dialed); err == nil {
				t.Fatal("the listener accepted a connection while the sockets were disconnected")
			}
			if err := recv(t, served); !errors.Is(err, ErrServerClosed) {
				t.Fatalf("Serve returned %v", err)
			}
		})
	}
}

func TestOptionsValidation(t *testing.T) {
	for name, opts := range map[string]*Options{
		"negative connect timeout":  {ConnectTimeout: -1},
		"unknown transport":         {Transports: []string{"carrier-pigeon"}},
		"wildcard with credentials": {CORS: &CORSOptions{Origins: []string{"*"}, Credentials: true}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("NewServer did not panic")
				}
			}()
			NewServer(opts)
		})
	}
}
