// Package interopapp is the part of the cluster interop apps (the goapp
// commands of adapters/redis/interop and adapters/postgres/interop) that
// does not depend on the adapter: the app contract of those suites
// (README.md there) on a Socket.IO server, its JSON log lines, and the
// process's life (listen, serve, stop on SIGTERM or stdin's end). Each
// goapp builds its adapter and calls Listen, Setup and Serve.
package interopapp

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adapter"
)

const kind = "go"

var stdout sync.Mutex

func logLine(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"event": "log-error", "err": err.Error()})
	}
	stdout.Lock()
	_, _ = os.Stdout.Write(append(b, '\n'))
	stdout.Unlock()
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(2)
}

// plain replaces binary values by {"$bin": hex}, as node-app.js does, so
// that log lines and answers compare between the two implementations.
func plain(v any) any {
	switch v := v.(type) {
	case []byte:
		return map[string]any{"$bin": hex.EncodeToString(v)}
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = plain(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = plain(e)
		}
		return out
	}
	return v
}

func sortKey(v any) string {
	switch v := v.(type) {
	case []byte:
		return "b:" + hex.EncodeToString(v)
	case string:
		return "s:" + v
	}
	b, _ := json.Marshal(plain(v))
	return "j:" + string(b)
}

// decodeAll decodes every argument (binary values as []byte).
func decodeAll(a socketio.Args) []any {
	out := make([]any, a.Len())
	ptrs := make([]any, a.Len())
	for i := range out {
		ptrs[i] = &out[i]
	}
	_ = a.Decode(ptrs...)
	return out
}

// firsts returns the first value of each answer, sorted as node-app.js
// sorts them.
func firsts(answers []socketio.Args) []any {
	out := make([]any, 0, len(answers))
	for _, a := range answers {
		var v any
		if a.Len() > 0 {
			_ = a.Decode(&v)
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b any) int { return cmp.Compare(sortKey(a), sortKey(b)) })
	return out
}

func errString(err error) any {
	if err == nil {
		return nil
	}
	return err.Error()
}

// rooms are room names; numbers (a Node idiom: socket.join(42)) are
// taken as their decimal form.
type rooms []string

func (r *rooms) UnmarshalJSON(b []byte) error {
	var vs []any
	if err := json.Unmarshal(b, &vs); err != nil {
		return err
	}
	*r = make(rooms, len(vs))
	for i, v := range vs {
		(*r)[i] = fmt.Sprint(v)
	}
	return nil
}

// spec selects sockets, as the first argument of most events.
type spec struct {
	Event      string `json:"event"`
	Nsp        string `json:"nsp"`
	To         rooms  `json:"to"`
	Except     rooms  `json:"except"`
	Local      bool   `json:"local"`
	Volatile   bool   `json:"volatile"`
	Compress   *bool  `json:"compress"`
	FromSocket bool   `json:"fromSocket"`
	Timeout    *int   `json:"timeout"`
	Rooms      rooms  `json:"rooms"`
	Close      bool   `json:"close"`
}

func operator(srv *socketio.Server, s *socketio.Socket, sp spec) *socketio.BroadcastOperator {
	var op *socketio.BroadcastOperator
	if sp.Nsp != "" {
		op = srv.Of(sp.Nsp).To()
	} else if sp.FromSocket {
		op = s.Broadcast()
	} else {
		op = srv.Of("/").To()
	}
	if len(sp.To) > 0 {
		op = op.To(sp.To...)
	}
	if len(sp.Except) > 0 {
		op = op.Except(sp.Except...)
	}
	if sp.Local {
		op = op.Local()
	}
	if sp.Volatile {
		op = op.Volatile()
	}
	if sp.Compress != nil {
		op = op.Compress(*sp.Compress)
	}
	return op
}

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func describe(r *socketio.RemoteSocket) map[string]any {
	rooms := slices.Clone(r.Rooms())
	slices.Sort(rooms)
	if rooms == nil {
		rooms = []string{}
	}
	hs := r.Handshake()
	if hs == nil {
		hs = &adapter.Handshake{}
	}
	var auth any
	if len(hs.RawAuth) > 0 && json.Valid(hs.RawAuth) {
		auth = json.RawMessage(hs.RawAuth)
	} else if hs.Auth != nil {
		auth = hs.Auth
	}
	return map[string]any{
		"id":    r.ID(),
		"rooms": rooms,
		"data":  plain(r.Data()),
		"auth":  auth,
		"hs": map[string]any{
			"url":       orNull(hs.URL),
			"issued":    hs.Issued,
			"eio":       orNull(hs.Query.Get("EIO")),
			"transport": orNull(hs.Query.Get("transport")),
			"address":   orNull(hs.Address),
			"secure":    hs.Secure,
			"xdomain":   hs.XDomain,
			"host":      orNull(hs.Headers.Get("Host")),
		},
	}
}

// Fatal reports a startup error on stderr and exits with status 2.
func Fatal(format string, args ...any) { fatal(format, args...) }

// Listen opens 127.0.0.1:$PORT (0 or unset: a free port) and returns the
// listener, its port, and the app's label ("go:<port>").
func Listen() (ln net.Listener, port int, label string) {
	if p := os.Getenv("PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			fatal("invalid PORT=%s", p)
		}
		port = n
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		fatal("listen: %v", err)
	}
	port = ln.Addr().(*net.TCPAddr).Port
	return ln, port, fmt.Sprintf("%s:%d", kind, port)
}

// Serve serves srv on ln, prints "listening <port>", and shuts srv down
// when WaitForStop returns.
func Serve(srv *socketio.Server, ln net.Listener, port int) {
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := &http.Server{Handler: mux}
	go func() { _ = hs.Serve(ln) }()
	stdout.Lock()
	fmt.Printf("listening %d\n", port)
	stdout.Unlock()

	WaitForStop()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	_ = hs.Shutdown(sctx)
}

// WaitForStop returns on SIGTERM, on an interrupt, or, with
// EXIT_ON_STDIN_EOF=1, when stdin ends (the test that started the process
// went away).
func WaitForStop() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if os.Getenv("EXIT_ON_STDIN_EOF") == "1" {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}
	<-ctx.Done()
}

// Setup installs the app contract on srv: the middleware that joins the
// rooms and sets the data of the handshake's auth, and the handlers.
func Setup(srv *socketio.Server, label string) { setup(srv, label) }

func setup(srv *socketio.Server, label string) {
	// Rooms and data come from the handshake's auth, before the client is
	// told it is connected.
	srv.Use(func(_ context.Context, s *socketio.Socket) error {
		auth := s.Handshake().Auth
		if rooms, ok := auth["rooms"].([]any); ok {
			for _, r := range rooms {
				s.Join(fmt.Sprint(r))
			}
		}
		if d, ok := auth["data"]; ok {
			s.SetData(d)
		}
		return nil
	})

	srv.OnConnection(func(s *socketio.Socket) {
		rooms := slices.Clone(s.Rooms())
		slices.Sort(rooms)
		logLine(map[string]any{"event": "connection", "nsp": "/", "id": s.ID(), "rooms": rooms, "recovered": s.Recovered()})
		s.OnDisconnect(func(reason socketio.DisconnectReason) {
			logLine(map[string]any{"event": "disconnect", "nsp": "/", "id": s.ID(), "reason": string(reason)})
		})
		handlers(srv, s, label)
	})

	srv.Of("/aux").OnConnection(func(s *socketio.Socket) {
		logLine(map[string]any{"event": "connection", "nsp": "/aux", "id": s.ID()})
		s.OnDisconnect(func(reason socketio.DisconnectReason) {
			logLine(map[string]any{"event": "disconnect", "nsp": "/aux", "id": s.ID(), "reason": string(reason)})
		})
	})

	// Server-side events from the other servers.
	for _, name := range []string{"whoami", "echo", "note"} {
		srv.OnServerSideEmit(name, func(e *socketio.ServerEvent) {
			logLine(map[string]any{"event": "server-side", "name": name, "args": plain(decodeAll(e.Args())), "ack": e.HasAck()})
			if !e.HasAck() {
				return
			}
			switch name {
			case "whoami":
				_ = e.Ack(label)
			case "echo":
				if e.Args().Len() > 0 {
					_ = e.Ack(e.Args().Spread()[0])
				} else {
					_ = e.Ack(nil)
				}
			}
		})
	}
}

func handlers(srv *socketio.Server, s *socketio.Socket, label string) {
	nsp := srv.Of("/")
	ack := func(e *socketio.Event, v any) {
		if e.HasAck() {
			_ = e.Ack(v)
		}
	}
	specOf := func(e *socketio.Event) (spec, bool) {
		var sp spec
		if err := e.Decode(&sp); err != nil {
			ack(e, map[string]any{"err": "bad spec: " + err.Error()})
			return sp, false
		}
		return sp, true
	}
	rest := func(e *socketio.Event, n int) []any {
		all := e.Args().Spread()
		if len(all) < n {
			return nil
		}
		return all[n:]
	}

	s.On("info", func(e *socketio.Event) {
		ack(e, map[string]any{"label": label, "kind": kind, "id": s.ID()})
	})

	s.On("set-data", func(e *socketio.Event) {
		var v any
		if err := e.Decode(&v); err != nil {
			ack(e, map[string]any{"err": err.Error()})
			return
		}
		s.SetData(v)
		ack(e, true)
	})

	// Operations that wait for the cluster run on their own goroutine: the
	// socket's events (and its answers to a broadcast with
	// acknowledgements) keep flowing meanwhile, as with the Node server.
	s.On("server-count", func(e *socketio.Event) {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			n, err := nsp.Adapter().ServerCount(ctx)
			if err != nil {
				ack(e, map[string]any{"error": err.Error()})
				return
			}
			ack(e, n)
		}()
	})

	s.On("broadcast", func(e *socketio.Event) {
		sp, ok := specOf(e)
		if !ok {
			return
		}
		err := operator(srv, s, sp).Emit(sp.Event, rest(e, 1)...)
		if err != nil {
			ack(e, map[string]any{"err": err.Error()})
			return
		}
		ack(e, true)
	})

	s.On("broadcast-ack", func(e *socketio.Event) {
		sp, ok := specOf(e)
		if !ok {
			return
		}
		timeout := 2000
		if sp.Timeout != nil {
			timeout = *sp.Timeout
		}
		op := operator(srv, s, sp)
		args := rest(e, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(timeout)*time.Millisecond)
			defer cancel()
			answers, err := op.EmitWithAck(ctx, sp.Event, args...)
			ack(e, map[string]any{"err": errString(err), "responses": firsts(answers)})
		}()
	})

	s.On("fetch", func(e *socketio.Event) {
		sp, ok := specOf(e)
		if !ok {
			return
		}
		op := operator(srv, s, sp)
		timeout := 10 * time.Second
		if sp.Timeout != nil {
			timeout = time.Duration(*sp.Timeout) * time.Millisecond
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			socks, err := op.FetchSockets(ctx)
			out := make([]map[string]any, 0, len(socks))
			for _, r := range socks {
				out = append(out, describe(r))
			}
			slices.SortFunc(out, func(a, b map[string]any) int { return cmp.Compare(a["id"].(string), b["id"].(string)) })
			ack(e, map[string]any{"err": errString(err), "sockets": out})
		}()
	})

	s.On("join", func(e *socketio.Event) {
		if sp, ok := specOf(e); ok {
			ack(e, operator(srv, s, sp).SocketsJoin(sp.Rooms...) == nil)
		}
	})

	s.On("leave", func(e *socketio.Event) {
		if sp, ok := specOf(e); ok {
			ack(e, operator(srv, s, sp).SocketsLeave(sp.Rooms...) == nil)
		}
	})

	s.On("disconnect-sockets", func(e *socketio.Event) {
		if sp, ok := specOf(e); ok {
			ack(e, operator(srv, s, sp).DisconnectSockets(sp.Close) == nil)
		}
	})

	s.On("sse", func(e *socketio.Event) {
		var event string
		if err := e.Decode(&event); err != nil {
			ack(e, map[string]any{"err": err.Error()})
			return
		}
		if err := srv.ServerSideEmit(event, rest(e, 1)...); err != nil {
			ack(e, map[string]any{"err": err.Error()})
			return
		}
		ack(e, true)
	})

	s.On("sse-ack", func(e *socketio.Event) {
		var event string
		if err := e.Decode(&event); err != nil {
			ack(e, map[string]any{"err": err.Error()})
			return
		}
		args := rest(e, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			answers, err := srv.ServerSideEmitWithAck(ctx, event, args...)
			ack(e, map[string]any{"err": errString(err), "responses": firsts(answers)})
		}()
	})
}
