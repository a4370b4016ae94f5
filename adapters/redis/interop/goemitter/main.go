// Command goemitter drives a cluster through this module's Emitter, for
// emitter.test.js: it reads one JSON command a line on stdin and answers
// "ok" or "error: ..." on stdout.
//
// A command: {"op": "emit"|"join"|"leave"|"disconnect"|"sse", "nsp",
// "to": [rooms], "except": [rooms], "volatile", "event", "args": [...],
// "rooms": [...], "close"}. Binary arguments are written {"$bin": hex}.
//
// Environment: REDIS_URL, PREFIX (the adapters' key).
package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"

	goredis "github.com/redis/go-redis/v9"

	redisadapter "github.com/socketio-go/socketio/adapters/redis"
)

type command struct {
	Op       string   `json:"op"`
	NSP      string   `json:"nsp"`
	To       []string `json:"to"`
	Except   []string `json:"except"`
	Volatile bool     `json:"volatile"`
	Event    string   `json:"event"`
	Args     []any    `json:"args"`
	Rooms    []string `json:"rooms"`
	Close    bool     `json:"close"`
}

// binary turns {"$bin": hex} values into []byte.
func binary(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if h, ok := v["$bin"].(string); ok && len(v) == 1 {
			if b, err := hex.DecodeString(h); err == nil {
				return b
			}
		}
		for k, x := range v {
			v[k] = binary(x)
		}
	case []any:
		for i, x := range v {
			v[i] = binary(x)
		}
	}
	return v
}

func run(ctx context.Context, root *redisadapter.Emitter, c command) error {
	e := root
	if c.NSP != "" {
		e = e.Of(c.NSP)
	}
	if len(c.To) > 0 {
		e = e.To(c.To...)
	}
	if len(c.Except) > 0 {
		e = e.Except(c.Except...)
	}
	if c.Volatile {
		e = e.Volatile()
	}
	args := binary(c.Args).([]any)
	switch c.Op {
	case "emit":
		return e.Emit(ctx, c.Event, args...)
	case "join":
		return e.SocketsJoin(ctx, c.Rooms...)
	case "leave":
		return e.SocketsLeave(ctx, c.Rooms...)
	case "disconnect":
		return e.DisconnectSockets(ctx, c.Close)
	case "sse":
		return e.ServerSideEmit(ctx, c.Event, args...)
	}
	return fmt.Errorf("unknown op %q", c.Op)
}

func main() {
	opts, err := goredis.ParseURL(cmp.Or(os.Getenv("REDIS_URL"), "redis://127.0.0.1:6379"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "REDIS_URL:", err)
		os.Exit(2)
	}
	rc := goredis.NewClient(opts)
	defer rc.Close()
	em := redisadapter.NewEmitter(rc, &redisadapter.EmitterOptions{Key: cmp.Or(os.Getenv("PREFIX"), "socket.io")})
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 16<<20)
	for in.Scan() {
		var c command
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			fmt.Println("error:", err)
			continue
		}
		if c.Args == nil {
			c.Args = []any{}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := run(ctx, em, c)
		cancel()
		if err != nil {
			fmt.Println("error:", err)
		} else {
			fmt.Println("ok")
		}
	}
}
