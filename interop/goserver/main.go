// Command goserver implements the interop "app contract" (interop/CONTRACT.md)
// on this repository's Socket.IO server, so that the interop test suite runs
// unchanged against it and against the official Node server.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/internal/interopapp"
	"github.com/socketio-go/socketio/parser/msgpackparser"
)

func intEnv(name string, def int) int {
	raw := os.Getenv(name)
	if raw == "" {
		return def
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "invalid %s=%s\n", name, raw)
		os.Exit(2)
	}
	return n
}

var stdout sync.Mutex

func logLine(v any) {
	b, _ := json.Marshal(v)
	stdout.Lock()
	os.Stdout.Write(append(b, '\n'))
	stdout.Unlock()
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func main() {
	port := intEnv("PORT", 0)
	opts := &socketio.Options{
		PingInterval:      ms(intEnv("PING_INTERVAL", 25000)),
		PingTimeout:       ms(intEnv("PING_TIMEOUT", 20000)),
		ConnectTimeout:    ms(intEnv("CONNECT_TIMEOUT", 45000)),
		MaxHTTPBufferSize: int64(intEnv("MAX_HTTP_BUFFER_SIZE", 1000000)),
		CORS:              &socketio.CORSOptions{Origins: []string{"*"}},
	}
	if intEnv("PER_MESSAGE_DEFLATE", 0) == 1 {
		// as the official perMessageDeflate: true (threshold 1024)
		opts.PerMessageDeflate = &socketio.PerMessageDeflateOptions{}
	}
	if intEnv("RECOVERY", 0) == 1 {
		// as the official connectionStateRecovery
		// { maxDisconnectionDuration: 120000, skipMiddlewares: true }
		opts.ConnectionStateRecovery = &socketio.ConnectionStateRecovery{
			MaxDisconnectionDuration: 120 * time.Second,
		}
	}
	switch os.Getenv("PARSER") {
	case "", "json":
	case "msgpack":
		opts.Parser = msgpackparser.Parser{}
	default:
		log.Fatalf("invalid PARSER=%s", os.Getenv("PARSER"))
	}
	srv := socketio.NewServer(opts)
	setup(srv)

	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		log.Fatal(err)
	}
	// SERVE=own: the server owns the listener (Serve, with its HTTP/1.1
	// fast path for long-polling); otherwise it is mounted on an
	// http.Server, as most applications do.
	ownListener := os.Getenv("SERVE") == "own"
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := &http.Server{Handler: mux}
	if ownListener {
		go func() { _ = srv.Serve(ln) }()
	} else {
		go func() { _ = hs.Serve(ln) }()
	}
	stdout.Lock()
	fmt.Printf("listening %d\n", ln.Addr().(*net.TCPAddr).Port)
	stdout.Unlock()

	interopapp.WaitForStop()
	// The listener closes first, then the sessions drain (see
	// socketio.Server.Shutdown).
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if ownListener {
		_ = srv.Shutdown(sctx)
		return
	}
	drained := make(chan error, 1)
	hs.RegisterOnShutdown(func() { drained <- srv.Shutdown(sctx) })
	_ = hs.Shutdown(sctx)
	<-drained
}

func logLifecycle(s *socketio.Socket) {
	nsp := s.Namespace().Name()
	logLine(map[string]any{"event": "connection", "nsp": nsp, "id": s.ID(), "recovered": s.Recovered()})
	s.OnDisconnect(func(reason socketio.DisconnectReason) {
		logLine(map[string]string{"event": "disconnect", "nsp": nsp, "id": s.ID(), "reason": string(reason)})
	})
	s.OnError(func(err error) {
		logLine(map[string]string{"event": "error", "nsp": nsp, "id": s.ID(), "message": err.Error()})
	})
}

// basicHandlers are common to every namespace: "hello", "echo",
// "echo-uncompressed", "echo-ack".
func basicHandlers(s *socketio.Socket) {
	s.On("echo", func(e *socketio.Event) {
		_ = s.Emit("echo", e.Args().Spread()...)
	})
	s.On("echo-uncompressed", func(e *socketio.Event) {
		_ = s.Compress(false).Emit("echo", e.Args().Spread()...)
	})
	s.On("echo-ack", func(e *socketio.Event) {
		if e.HasAck() {
			_ = e.Ack(e.Args().Spread()...)
		}
	})
	_ = s.Emit("hello", map[string]any{
		"id":   s.ID(),
		"nsp":  s.Namespace().Name(),
		"auth": json.RawMessage(s.Handshake().RawAuth),
	})
}

// rest returns the arguments after the first n, for re-emission.
func rest(e *socketio.Event, n int) []any {
	all := e.Args().Spread()
	if len(all) < n {
		return nil
	}
	return all[n:]
}

func str(e *socketio.Event, i int) string {
	var v string
	if e.Args().Len() > i {
		_ = json.Unmarshal(e.Args().Raw(i), &v)
	}
	return v
}

func boolArg(e *socketio.Event, i int) bool {
	var v bool
	if e.Args().Len() > i {
		_ = json.Unmarshal(e.Args().Raw(i), &v)
	}
	return v
}

// rooms decodes argument i as a room or a list of rooms.
func rooms(e *socketio.Event, i int) []string {
	if e.Args().Len() <= i {
		return nil
	}
	var list []string
	if json.Unmarshal(e.Args().Raw(i), &list) == nil {
		return list
	}
	return []string{str(e, i)}
}

func ack(e *socketio.Event, args ...any) {
	if e.HasAck() {
		_ = e.Ack(args...)
	}
}

func setup(srv *socketio.Server) {
	root := srv.Of("/")
	root.Use(func(_ context.Context, s *socketio.Socket) error {
		if s.Handshake().Auth["token"] == "reject" {
			return &socketio.ConnectError{Message: "not authorized", Data: map[string]any{"code": 4001, "reason": "bad token"}}
		}
		return nil
	})
	root.OnConnection(func(s *socketio.Socket) {
		logLifecycle(s)
		s.On("join", func(e *socketio.Event) {
			s.Join(rooms(e, 0)...)
			ack(e, slices.Sorted(slices.Values(s.Rooms()))) // the contract lists them sorted
		})
		s.On("leave", func(e *socketio.Event) {
			s.Leave(str(e, 0))
			ack(e, slices.Sorted(slices.Values(s.Rooms()))) // the contract lists them sorted
		})
		s.On("rooms", func(e *socketio.Event) { ack(e, slices.Sorted(slices.Values(s.Rooms()))) })
		s.On("to-room", func(e *socketio.Event) {
			_ = s.To(rooms(e, 0)...).Emit("room-event", rest(e, 1)...)
		})
		s.On("in-room", func(e *socketio.Event) {
			_ = srv.In(rooms(e, 0)...).Emit("room-event", rest(e, 1)...)
		})
		s.On("except-room", func(e *socketio.Event) {
			_ = srv.Except(rooms(e, 0)...).Emit("except-event", rest(e, 1)...)
		})
		s.On("broadcast", func(e *socketio.Event) {
			_ = s.Broadcast().Emit("broadcast-event", e.Args().Spread()...)
		})
		s.On("emit-all", func(e *socketio.Event) {
			_ = srv.Emit("all-event", e.Args().Spread()...)
		})
		s.On("multi-room", func(e *socketio.Event) {
			_ = s.To(rooms(e, 0)...).Emit("room-event", rest(e, 1)...)
		})
		s.On("get-state", socketio.HandleAck0(func(ctx context.Context, s *socketio.Socket) (map[string]any, error) {
			return map[string]any{"ok": true, "id": s.ID()}, nil
		}))
		s.On("say", socketio.HandleAck2(func(ctx context.Context, s *socketio.Socket, room, text string) (string, error) {
			if text == "" {
				return "", errors.New("empty message")
			}
			return room + ": " + text, nil
		}))
		s.On("note", socketio.Handle(func(s *socketio.Socket, n float64) {}))
		s.On("ask", func(e *socketio.Event) {
			ctx, cancel := context.WithTimeout(e.Context(), 2*time.Second)
			defer cancel()
			answer, err := s.EmitWithAck(ctx, "question", rest(e, 0)[:min(1, e.Args().Len())]...)
			if err != nil || answer.Len() == 0 {
				ack(e, map[string]any{"ok": false})
				return
			}
			ack(e, map[string]any{"ok": true, "answer": answer.Spread()[0]})
		})
		s.On("ask-all", func(e *socketio.Event) {
			room := str(e, 0)
			go func() { // do not block this socket's other events
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				answers, err := srv.In(room).EmitWithAck(ctx, "question", rest(e, 1)[:min(1, max(0, e.Args().Len()-1))]...)
				if err != nil {
					ack(e, map[string]any{"ok": false})
					return
				}
				vals := make([]any, 0, len(answers))
				for _, a := range answers {
					if a.Len() > 0 {
						vals = append(vals, a.Spread()[0])
					} else {
						vals = append(vals, nil)
					}
				}
				slices.SortFunc(vals, func(x, y any) int {
					bx, _ := json.Marshal(x)
					by, _ := json.Marshal(y)
					return strings.Compare(string(bx), string(by))
				})
				ack(e, map[string]any{"ok": true, "answers": vals})
			}()
		})
		s.On("fetch-sockets", func(e *socketio.Event) {
			socks, err := srv.In(rooms(e, 0)...).FetchSockets(e.Context())
			if err != nil {
				ack(e, []string{})
				return
			}
			ids := make([]string, 0, len(socks))
			for _, rs := range socks {
				ids = append(ids, rs.ID())
			}
			slices.Sort(ids)
			ack(e, ids)
		})
		s.On("sockets-join", func(e *socketio.Event) {
			_ = srv.In(rooms(e, 0)...).SocketsJoin(str(e, 1))
			ack(e, true)
		})
		s.On("sockets-leave", func(e *socketio.Event) {
			_ = srv.In(rooms(e, 0)...).SocketsLeave(str(e, 1))
			ack(e, true)
		})
		s.On("disconnect-sockets", func(e *socketio.Event) {
			_ = srv.In(rooms(e, 0)...).DisconnectSockets(boolArg(e, 1))
		})
		s.On("disconnect-me", func(e *socketio.Event) { s.Disconnect(boolArg(e, 0)) })
		s.On("big-ack", func(e *socketio.Event) {
			var n int
			if e.Args().Len() > 0 {
				_ = json.Unmarshal(e.Args().Raw(0), &n)
			}
			ack(e, strings.Repeat("x", n))
		})
		s.On("volatile", func(e *socketio.Event) {
			_ = s.Volatile().Emit("volatile-event", e.Args().Spread()...)
		})
		basicHandlers(s)
	})

	srv.Of("/custom").OnConnection(func(s *socketio.Socket) {
		logLifecycle(s)
		basicHandlers(s)
	})

	admin := srv.Of("/admin")
	admin.Use(func(_ context.Context, s *socketio.Socket) error {
		role, ok := s.Handshake().Auth["role"]
		if role != "admin" {
			if !ok {
				role = nil
			}
			return &socketio.ConnectError{Message: "forbidden", Data: map[string]any{"role": role}}
		}
		return nil
	})
	admin.OnConnection(func(s *socketio.Socket) {
		logLifecycle(s)
		basicHandlers(s)
	})

	srv.OfRegexp(regexp.MustCompile(`^/dyn-[a-z0-9]+$`)).OnConnection(func(s *socketio.Socket) {
		logLifecycle(s)
		basicHandlers(s)
	})
}
