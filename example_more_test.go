package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"testing/fstest"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/client"
)

// The options most applications set: a CORS policy for pages served from
// another origin, and the browser client served next to the server.
func ExampleNewServer() {
	srv := socketio.NewServer(&socketio.Options{
		CORS: &socketio.CORSOptions{
			Origins:     []string{"https://app.example.com"},
			Credentials: true, // cookies, for sticky sessions behind a load balancer
		},
		// /socket.io/socket.io.min.js and the other bundles, from the
		// npm-installed client.
		ServeClient:  os.DirFS("node_modules/socket.io-client/dist"),
		PingInterval: 10 * time.Second, // detect dead connections sooner than the 25 s default
	})
	http.Handle("/socket.io/", srv)
}

// A typed handler receives the first argument decoded into a Go value; a
// client sending something else reaches the OnError handlers instead.
func ExampleHandle() {
	type Move struct {
		X, Y int
	}
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("move", socketio.Handle(func(s *socketio.Socket, m Move) {
			_ = s.Broadcast().Emit("moved", s.ID(), m)
		}))
		s.OnError(func(err error) { log.Println("bad event:", err) })
	})
}

// Namespaces split one connection into independent channels, each with its
// own middlewares, handlers and rooms.
func ExampleServer_Of() {
	srv := socketio.NewServer(nil)
	admin := srv.Of("/admin")
	admin.Use(func(ctx context.Context, s *socketio.Socket) error {
		if s.Handshake().Auth["token"] != "let me in" {
			return &socketio.ConnectError{Message: "forbidden"}
		}
		return nil
	})
	admin.OnConnection(func(s *socketio.Socket) {
		_ = s.Emit("stats", map[string]int{"sockets": len(srv.Sockets())})
	})
}

// Rooms group sockets for broadcasts. A socket is always in the room named
// after its id; it leaves every room when it disconnects.
func ExampleSocket_Join() {
	srv := socketio.NewServer(nil)
	rooms := make(chan []string, 1)
	srv.OnConnection(func(s *socketio.Socket) {
		s.Join("match:42", "spectators")
		s.Leave("spectators")
		got := s.Rooms()
		for i, r := range got {
			if r == s.ID() {
				got[i] = "<own id>"
			}
		}
		rooms <- got
		_ = srv.To("match:42").Emit("score", 1, 0)
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := client.Connect(ctx, hs.URL, nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Manager().Close()
	score := make(chan string, 1)
	s.On("score", func(e *client.Event) {
		var home, away int
		_ = e.Decode(&home, &away)
		score <- fmt.Sprintf("%d-%d", home, away)
	})
	fmt.Println(<-rooms)
	fmt.Println("score", <-score)
	// Unordered output:
	// [<own id> match:42]
	// score 1-0
}

// A socket middleware sees every event before the handlers: here, a rate
// limit.
func ExampleSocket_Use() {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		var last time.Time
		s.Use(func(e *socketio.Event) error {
			if time.Since(last) < 100*time.Millisecond {
				return errors.New("slow down") // the event is dropped; OnError gets this
			}
			last = time.Now()
			return nil
		})
	})
}

// FetchSockets lists the sockets of a room, on every server of a cluster,
// with their data.
func ExampleServer_FetchSockets() {
	srv := socketio.NewServer(nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	sockets, err := srv.In("match:42").FetchSockets(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, rs := range sockets {
		log.Println(rs.ID(), rs.Data())
	}
}

// ClientHandler serves the official browser client from an npm install,
// here a stand-in file system. Browsers revalidate it with its ETag.
func ExampleClientHandler() {
	dist := fstest.MapFS{"socket.io.min.js": {Data: []byte("/* the client */")}}
	// With a real install: socketio.ClientHandler(os.DirFS("node_modules/socket.io-client/dist"))
	hs := httptest.NewServer(socketio.ClientHandler(dist))
	defer hs.Close()

	res, err := http.Get(hs.URL + "/js/socket.io.min.js")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println(res.Status, res.Header.Get("Content-Type"), string(body))

	req, _ := http.NewRequest("GET", hs.URL+"/js/socket.io.min.js", nil)
	req.Header.Set("If-None-Match", res.Header.Get("ETag"))
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	res.Body.Close()
	fmt.Println(res.Status)

	res, _ = http.Get(hs.URL + "/js/app.js")
	res.Body.Close()
	fmt.Println(res.Status)
	// Output:
	// 200 OK application/javascript; charset=utf-8 /* the client */
	// 304 Not Modified
	// 404 Not Found
}

// Retries of the official client's "retries" option (or this module's
// client's) run the handler once.
func ExampleRetryDedupOptions() {
	srv := socketio.NewServer(&socketio.Options{
		RetryDedup: &socketio.RetryDedupOptions{Window: 2 * time.Minute},
	})
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("pay", socketio.HandleAck(func(ctx context.Context, s *socketio.Socket, amount int) (string, error) {
			return fmt.Sprintf("paid %d", amount), nil // once per payment, however many retries
		}))
	})
}
