// Command relay is the "plain Go relay" floor of the shallow-queue fan-out
// scenario (socketio-bench -scenarios shallow): the way a Go programmer
// would write a broadcast relay with gorilla/websocket, with no Socket.IO
// machinery. It speaks just enough Engine.IO/Socket.IO for the suite's load
// generator (open packet, CONNECT answer, "bcast" and "echo" events) and:
//
//   - accepts WebSocket connections with gorilla/websocket's Upgrader and
//     reads each with gorilla's ReadMessage in a goroutine per connection;
//   - keeps one writer goroutine per connection for the connection's whole
//     life, parked on a channel while its queue is empty;
//   - for every "bcast" event, encodes the WebSocket frame once (as
//     gorilla's PreparedMessage does) and appends the same bytes to every
//     connection's queue, waking its writer, which writes everything queued
//     in one write call to the network connection.
//
// Unlike cmd/rawfloor (an on-demand writer, which a closed-loop publisher
// with few broadcasts in flight makes start and exit for every broadcast),
// its writers live while the connection is idle: it spends memory per idle
// connection (two goroutines) to make a shallow queue's wake-up a channel
// send. It sends no pings.
//
// Usage: PORT=3000 relay
package main

import (
	"bytes"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof" // served only with PPROF set
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"

	"github.com/socketio-go/socketio/benchmarks/internal/wsframe"
)

type conn struct {
	ws *websocket.Conn
	nc net.Conn

	mu      sync.Mutex
	pending []byte
	spare   []byte
	dead    bool
	wake    chan struct{} // capacity 1: a write is due
}

var (
	regMu sync.RWMutex
	conns = map[*conn]struct{}{}
	ids   atomic.Uint64
)

var upgrader = websocket.Upgrader{
	ReadBufferSize:  4096,
	WriteBufferSize: 4096,
	CheckOrigin:     func(*http.Request) bool { return true },
}

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "3000"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		log.Fatal(err)
	}
	if addr := os.Getenv("PPROF"); addr != "" {
		// net/http/pprof on its own loopback address, as cmd/benchserver.
		go func() { log.Println(http.ListenAndServe(addr, nil)) }()
	}
	log.Printf("relay listening on %s", ln.Addr())
	log.Fatal(http.Serve(ln, http.HandlerFunc(serve)))
}

func serve(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	sid := "relay" + strconv.FormatUint(ids.Add(1), 36)
	c := &conn{ws: ws, nc: ws.NetConn(), wake: make(chan struct{}, 1)}
	c.send(wsframe.Text(nil, []byte(`0{"sid":"`+sid+`","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)))
	// Control frames are answered through the writer too: it alone
	// writes to the connection.
	ws.SetPingHandler(func(p string) error {
		c.send(wsframe.Control(websocket.PongMessage, []byte(p)))
		return nil
	})
	done := make(chan struct{})
	go func() { c.writeLoop(); close(done) }()
	regMu.Lock()
	conns[c] = struct{}{}
	regMu.Unlock()
	defer func() {
		regMu.Lock()
		delete(conns, c)
		regMu.Unlock()
		c.mu.Lock()
		c.dead = true
		c.mu.Unlock()
		select {
		case c.wake <- struct{}{}:
		default:
		}
		<-done
	}()
	for {
		typ, p, err := ws.ReadMessage()
		if err != nil {
			return
		}
		if typ == websocket.TextMessage {
			handle(c, sid, p)
		}
	}
}

var bcastPrefix = []byte(`42["bcast"`)

func handle(c *conn, sid string, p []byte) {
	switch {
	case bytes.HasPrefix(p, bcastPrefix):
		// Encode once, deliver the same bytes to every connection.
		f := wsframe.Text(nil, p)
		regMu.RLock()
		for o := range conns {
			o.send(f)
		}
		regMu.RUnlock()
	case len(p) > 2 && p[0] == '4' && p[1] == '2' && p[2] >= '0' && p[2] <= '9':
		// 42<id>["echo",args...] -> 43<id>[args...]
		i := 2
		for i < len(p) && p[i] >= '0' && p[i] <= '9' {
			i++
		}
		rest := p[i:]
		const ev = `["echo"`
		if !bytes.HasPrefix(rest, []byte(ev)) {
			return
		}
		args := rest[len(ev):]
		out := make([]byte, 0, len(p))
		out = append(out, '4', '3')
		out = append(out, p[2:i]...)
		out = append(out, '[')
		if len(args) > 0 && args[0] == ',' {
			args = args[1:]
		}
		out = append(out, args...)
		c.send(wsframe.Text(nil, out))
	case len(p) >= 2 && p[0] == '4' && p[1] == '0':
		c.send(wsframe.Text(nil, []byte(`40{"sid":"`+sid+`"}`)))
	}
}

// send appends a pre-encoded frame to the connection's queue and wakes its
// writer.
func (c *conn) send(f []byte) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	c.pending = append(c.pending, f...)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// writeLoop writes whatever is queued, in one write call, each time it is
// woken, until the connection is dead.
func (c *conn) writeLoop() {
	for range c.wake {
		for {
			c.mu.Lock()
			if c.dead {
				c.mu.Unlock()
				return
			}
			if len(c.pending) == 0 {
				c.mu.Unlock()
				break
			}
			b := c.pending
			c.pending, c.spare = c.spare[:0], nil
			c.mu.Unlock()
			_, err := c.nc.Write(b)
			c.mu.Lock()
			c.spare = b[:0]
			if err != nil {
				c.dead = true
				c.mu.Unlock()
				_ = c.nc.Close()
				return
			}
			c.mu.Unlock()
		}
	}
}
