package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"time"

	socketio "github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/client"
)

// startServer starts a server for the examples: "/" greets with "hello"
// and acknowledges "add" with the sum of its arguments; "/admin" refuses
// clients without the right token.
func startServer() (url string, stop func()) {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		_ = s.Emit("hello", "welcome", []byte{1, 2, 3})
		s.On("add", func(e *socketio.Event) {
			var a, b int
			if e.Decode(&a, &b) == nil {
				_ = e.Ack(a + b)
			}
		})
	})
	admin := srv.Of("/admin")
	admin.Use(func(_ context.Context, s *socketio.Socket) error {
		if s.Handshake().Auth["token"] != "secret" {
			return &socketio.ConnectError{Message: "forbidden", Data: map[string]any{"hint": "token"}}
		}
		return nil
	})
	admin.OnConnection(func(s *socketio.Socket) {
		s.On("whoami", func(e *socketio.Event) { _ = e.Ack("admin") })
	})
	hs := httptest.NewServer(srv)
	return hs.URL, func() {
		_ = srv.Close()
		hs.Close()
	}
}

// Connect a socket, receive an event with binary data and call the server
// with an acknowledgement.
func ExampleConnect() {
	url, stop := startServer()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	m, err := client.NewManager(url, nil)
	if err != nil {
		panic(err)
	}
	defer m.Close()
	s := m.Socket("/", nil)
	hello := make(chan string, 1)
	s.On("hello", func(e *client.Event) {
		var text string
		var data []byte
		_ = e.Decode(&text, &data)
		hello <- fmt.Sprint(text, " ", data)
	})
	if err := s.Connect(ctx); err != nil {
		panic(err)
	}
	fmt.Println(<-hello)

	args, err := s.Timeout(time.Second).EmitWithAck(ctx, "add", 2, 3)
	if err != nil {
		panic(err)
	}
	var sum int
	_ = args.Decode(&sum)
	fmt.Println("2 + 3 =", sum)
	// Output:
	// welcome [1 2 3]
	// 2 + 3 = 5
}

// A middleware refusal comes back as a *ConnectError with the server's
// data.
func ExampleConnectError() {
	url, stop := startServer()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	_, err := client.Connect(ctx, url+"/admin", nil, &client.SocketOptions{Auth: map[string]string{"token": "wrong"}})
	var ce *client.ConnectError
	if errors.As(err, &ce) {
		fmt.Println(ce.Message, string(ce.Data))
	}

	s, err := client.Connect(ctx, url+"/admin", nil, &client.SocketOptions{Auth: map[string]string{"token": "secret"}})
	if err != nil {
		panic(err)
	}
	defer s.Manager().Close()
	args, _ := s.EmitWithAck(ctx, "whoami")
	fmt.Println(string(args.Raw(0)))
	// Output:
	// forbidden {"hint":"token"}
	// "admin"
}

// Several namespaces share the connection of their Manager.
func ExampleManager_Socket() {
	url, stop := startServer()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	m, _ := client.NewManager(url, &client.Options{Transports: []string{client.TransportWebSocket}})
	defer m.Close()
	main := m.Socket("/", nil)
	admin := m.Socket("/admin", &client.SocketOptions{
		// Called before each (re)connection.
		AuthFunc: func(context.Context) (any, error) { return map[string]string{"token": "secret"}, nil },
	})
	for _, s := range []*client.Socket{main, admin} {
		if err := s.Connect(ctx); err != nil {
			panic(err)
		}
	}
	fmt.Println(main.Connected(), admin.Connected(), m.Transport())
	// Output: true true websocket
}

// Timeout bounds the wait for an acknowledgement; the error matches
// ErrAckTimeout and context.DeadlineExceeded.
func ExampleSocket_Timeout() {
	url, stop := startServer()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	s, err := client.Connect(ctx, url, nil, nil)
	if err != nil {
		panic(err)
	}
	defer s.Manager().Close()
	_, err = s.Timeout(50*time.Millisecond).EmitWithAck(ctx, "nobody-answers")
	fmt.Println(errors.Is(err, client.ErrAckTimeout), errors.Is(err, context.DeadlineExceeded))
	// Output: true true
}

// OnAny sees every event; OnAnyOutgoing every event sent.
func ExampleSocket_OnAny() {
	url, stop := startServer()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	m, _ := client.NewManager(url, nil)
	defer m.Close()
	s := m.Socket("/", nil)
	seen := make(chan string, 1)
	s.OnAny(func(e *client.Event) { seen <- "in: " + e.Name() })
	s.OnAnyOutgoing(func(event string, args []any) { fmt.Println("out:", event, args) })
	if err := s.Connect(ctx); err != nil {
		panic(err)
	}
	fmt.Println(<-seen)
	_, _ = s.EmitWithAck(ctx, "add", 1, 1)
	// Output:
	// in: hello
	// out: add [1 1]
}

// A Pool shares one Manager between the namespaces of a server, like io()
// of socket.io-client.
func ExamplePool() {
	url, stop := startServer()
	defer stop()
	var p client.Pool
	defer p.Close()
	a, _ := p.Socket(url+"/", nil, nil)
	b, _ := p.Socket(url+"/admin", nil, nil)
	c, _ := p.Socket(url+"/admin", &client.Options{ForceNew: true}, nil)
	fmt.Println(a.Manager() == b.Manager(), b.Manager() == c.Manager())
	// Output: true false
}
