package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"regexp"
	"sync"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/engineio"
)

// A chat server in a few lines: every message is relayed to the other
// sockets of the room.
func Example() {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		s.Join("lobby")
		s.On("chat message", func(e *socketio.Event) {
			var msg string
			if err := e.Decode(&msg); err == nil {
				_ = s.To("lobby").Emit("chat message", msg)
			}
		})
		s.OnDisconnect(func(r socketio.DisconnectReason) { log.Println(s.ID(), "left:", r) })
	})
	http.Handle("/socket.io/", srv)
	log.Fatal(http.ListenAndServe(":3000", nil))
}

// Middlewares authenticate connections: an error refuses the connection and
// reaches the client as a connect_error with its message and data.
func ExampleServer_Use() {
	srv := socketio.NewServer(nil)
	srv.Use(func(ctx context.Context, s *socketio.Socket) error {
		token, _ := s.Handshake().Auth["token"].(string)
		if token != "secret" {
			return &socketio.ConnectError{Message: "not authorized", Data: map[string]any{"code": 401}}
		}
		s.SetData(map[string]string{"user": "alice"})
		return nil
	})
}

// Typed handlers decode the arguments into Go types; HandleAck answers the
// client's acknowledgement with the handler's result.
func ExampleHandleAck() {
	type Order struct {
		Item string `json:"item"`
		Qty  int    `json:"qty"`
	}
	type Receipt struct {
		ID string `json:"id"`
	}
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		// Client: const receipt = await socket.emitWithAck("order", {item: "tea", qty: 2})
		s.On("order", socketio.HandleAck(func(ctx context.Context, s *socketio.Socket, o Order) (Receipt, error) {
			if o.Qty <= 0 {
				return Receipt{}, errors.New("quantity must be positive") // client gets {"error": "..."}
			}
			return Receipt{ID: "r-1"}, nil
		}))
	})
}

// The server asks a client and waits for its answer; the context bounds the
// wait.
func ExampleSocket_EmitWithAck() {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		ctx, cancel := context.WithTimeout(s.Context(), 5*time.Second)
		defer cancel()
		answer, err := s.EmitWithAck(ctx, "are you there?")
		if errors.Is(err, socketio.ErrAckTimeout) {
			s.Disconnect(true)
			return
		}
		var reply string
		if err == nil && answer.Decode(&reply) == nil {
			log.Println("client answered", reply)
		}
	})
}

// Broadcasts select sockets by room; the operator is immutable and can be
// kept.
func ExampleBroadcastOperator() {
	srv := socketio.NewServer(nil)
	admins := srv.To("admins")
	_ = admins.Emit("alert", "disk almost full")
	_ = srv.To("room1", "room2").Except("muted").Emit("news", map[string]any{"title": "hello"})
	_ = srv.Volatile().Emit("tick", time.Now().Unix()) // dropped for clients that cannot take it now

	// Acknowledgements from every selected socket, within a deadline.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	answers, err := srv.To("voters").EmitWithAck(ctx, "vote?")
	log.Println(len(answers), "answers", err)
}

// Serve the Socket.IO server alone and shut it down on SIGINT: Shutdown
// closes the listener first, then drains the connections, and
// ListenAndServe returns ErrServerClosed.
func ExampleServer_ListenAndServe() {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) { _ = s.Emit("hello") })

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.ListenAndServe(":3000"); !errors.Is(err, socketio.ErrServerClosed) {
		log.Fatal(err)
	}
}

// On your own http.Server, shut down in this order: http.Server.Shutdown
// closes the listener (reconnecting clients then reach the next process),
// runs the RegisterOnShutdown hook, which starts the Socket.IO Shutdown
// (it closes the WebSockets and releases the long-polls, which
// http.Server.Shutdown does not), and waits for the long-polls to end.
func ExampleServer_Shutdown() {
	srv := socketio.NewServer(nil)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := &http.Server{Addr: ":3000", Handler: mux}
	go func() {
		if err := hs.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Fatal(err)
		}
	}()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	<-ctx.Done()

	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	drained := make(chan error, 1)
	hs.RegisterOnShutdown(func() { drained <- srv.Shutdown(sctx) })
	err := hs.Shutdown(sctx)
	if err = errors.Join(err, <-drained); err != nil {
		log.Print(err)
	}
}

// Dynamic namespaces are created on demand when their name matches.
func ExampleServer_OfRegexp() {
	srv := socketio.NewServer(nil)
	workspaces := srv.OfRegexp(regexp.MustCompile(`^/workspace-\d+$`))
	workspaces.OnConnection(func(s *socketio.Socket) {
		log.Println("joined", s.Namespace().Name())
	})
}

// Connection state recovery: a client that lost its connection gets its
// socket back — same id, rooms and data — with the events sent while it was
// away. The official clients and this module's client do it by themselves.
func ExampleConnectionStateRecovery() {
	srv := socketio.NewServer(&socketio.Options{
		ConnectionStateRecovery: &socketio.ConnectionStateRecovery{}, // sessions kept 2 minutes
	})
	connections := make(chan string, 2)
	left := make(chan socketio.DisconnectReason, 1)
	srv.OnConnection(func(s *socketio.Socket) {
		connections <- fmt.Sprintf("server: %s recovered=%v", s.ID(), s.Recovered())
		s.OnDisconnect(func(r socketio.DisconnectReason) { left <- r })
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()

	// A client whose network the example can cut.
	var (
		mu    sync.Mutex
		conns []net.Conn
		down  bool
	)
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return nil, errors.New("network down")
		}
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			conns = append(conns, c)
		}
		return c, err
	}
	m, _ := client.NewManager(hs.URL, &client.Options{
		Transports:        []string{client.TransportWebSocket},
		Dialer:            dial,
		ReconnectionDelay: 10 * time.Millisecond,
	})
	defer m.Close()
	s := m.Socket("/", nil)
	news := make(chan string, 1)
	s.On("news", func(e *client.Event) {
		var v string
		_ = e.Decode(&v) // the offset, an extra last argument, is ignored
		news <- v
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Connect(ctx); err != nil {
		fmt.Println(err)
		return
	}
	first := <-connections
	id := s.ID()

	mu.Lock()
	down = true
	for _, c := range conns {
		_ = c.Close()
	}
	mu.Unlock()
	fmt.Println("server: disconnected,", <-left)
	_ = srv.Emit("news", "sent while the client was away")
	mu.Lock()
	down = false
	mu.Unlock()

	fmt.Println(first == fmt.Sprintf("server: %s recovered=false", id))
	fmt.Println(<-connections == fmt.Sprintf("server: %s recovered=true", id))
	fmt.Println("client:", <-news)
	// Output:
	// server: disconnected, transport close
	// true
	// true
	// client: sent while the client was away
}

// Typed handlers for an event with only an acknowledgement and for one
// with two arguments and an acknowledgement.
func ExampleHandleAck2() {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		// Client: const state = await socket.emitWithAck("getState")
		s.On("getState", socketio.HandleAck0(func(ctx context.Context, s *socketio.Socket) (map[string]any, error) {
			return map[string]any{"rooms": s.Rooms()}, nil
		}))
		// Client: const ok = await socket.emitWithAck("say", "lobby", "hello")
		s.On("say", socketio.HandleAck2(func(ctx context.Context, s *socketio.Socket, room, text string) (bool, error) {
			if text == "" {
				return false, errors.New("empty message")
			}
			return true, s.To(room).Emit("said", text)
		}))
	})
}

// A handler that waits for the client with its event's context lets the
// socket's next events run meanwhile, as in Node.js: the client may send
// other events (and get their answers) before it answers.
func ExampleEvent_Context() {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("start", func(e *socketio.Event) {
			ctx, cancel := context.WithTimeout(e.Context(), 2*time.Second)
			defer cancel()
			answer, err := s.EmitWithAck(ctx, "question")
			log.Println(answer, err)
		})
		s.On("lookup", socketio.HandleAck0(func(ctx context.Context, s *socketio.Socket) (string, error) {
			return "found", nil // runs while "start" waits
		}))
	})
}

// Detach lets the socket's next events start while a handler does
// something slow that they need not wait for.
func ExampleEvent_Detach() {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("report", func(e *socketio.Event) {
			e.Detach()
			time.Sleep(time.Second) // a slow query: the socket's next events run meanwhile
			_ = s.Emit("report ready")
		})
	})
}

// Refused requests are logged (sampled); a hook sees each of them, as
// io.engine.on("connection_error") in Node.js.
func ExampleServer_OnConnectionError() {
	srv := socketio.NewServer(&socketio.Options{
		Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil)), // nil: slog.Default()
	})
	srv.OnConnectionError(func(r *http.Request, err *engineio.RequestError) {
		log.Printf("refused %s from %s: %v", r.URL, r.RemoteAddr, err)
	})
}
