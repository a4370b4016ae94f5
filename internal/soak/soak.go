// Package soak runs long, churning loads against a Socket.IO server and
// checks what must hold however long it runs: no message addressed to a
// connected client is lost, every client gets back in after a server
// restart, and once the clients are gone the server's goroutines and heap
// return to their idle baseline.
//
// The server side is App (the handlers) and Stats (an HTTP endpoint that
// reports goroutines and heap after a GC). The client side is Run (churn)
// and Storm (reconnect storm), built on the client package. cmd/socketio-soak
// runs them in two processes; the package tests run short versions in one.
package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/client"
)

// App installs the soak application on srv: a socket joins the room named
// in its auth ("room"); "say" is acknowledged and relayed to the room. It
// returns a function that broadcasts sequenced "msg" events to every room
// at rate messages per second in total, until ctx ends.
func App(srv *socketio.Server, rooms int) (ticker func(ctx context.Context, rate int)) {
	srv.OnConnection(func(s *socketio.Socket) {
		room, _ := s.Handshake().Auth["room"].(string)
		if room != "" {
			s.Join(room)
		}
		s.On("say", func(e *socketio.Event) {
			_ = s.To(room).Emit("said", e.Args().Spread()...)
			_ = e.Ack(true)
		})
	})
	return func(ctx context.Context, rate int) {
		if rate <= 0 || rooms <= 0 {
			return
		}
		seqs := make([]int64, rooms)
		interval := time.Second / time.Duration(rate)
		t := time.NewTicker(max(interval, time.Millisecond))
		defer t.Stop()
		perTick := max(1, int(time.Duration(rate)*max(interval, time.Millisecond)/time.Second))
		next := 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			for i := 0; i < perTick; i++ {
				r := next % rooms
				next++
				seqs[r]++
				_ = srv.To(RoomName(r)).Emit("msg", r, seqs[r])
			}
		}
	}
}

// RoomName is the name of room i.
func RoomName(i int) string { return fmt.Sprintf("room-%d", i) }

// ServerStats is what the Stats endpoint reports.
type ServerStats struct {
	Goroutines  int    `json:"goroutines"`
	HeapInuse   uint64 `json:"heap_inuse"`
	HeapObjects uint64 `json:"heap_objects"`
	Sessions    int    `json:"sessions"`
}

// Stats serves ServerStats as JSON, after a garbage collection.
func Stats(srv *socketio.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(CurrentStats(srv))
	})
}

// CurrentStats measures the process after a garbage collection.
func CurrentStats(srv *socketio.Server) ServerStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return ServerStats{
		Goroutines:  runtime.NumGoroutine(),
		HeapInuse:   m.HeapInuse,
		HeapObjects: m.HeapObjects,
		Sessions:    srv.Engine().SessionCount(),
	}
}

// Config describes a churn run.
type Config struct {
	URL         string        // the server, e.g. http://127.0.0.1:3000
	Clients     int           // clients connected at any time
	Duration    time.Duration // how long the churn lasts
	Rooms       int           // rooms, assigned round-robin
	MinLifetime time.Duration // a client disconnects after a random
	MaxLifetime time.Duration // lifetime in [MinLifetime, MaxLifetime)
	SayEvery    time.Duration // each client sends "say" this often (0: never)
	Transports  []string      // nil: polling then websocket
}

// Result is the outcome of a churn run.
type Result struct {
	Sessions      int64 // client sessions (connections that reached connect)
	ConnectErrors int64
	Messages      int64 // "msg" events received
	Gaps          int64 // sequence gaps inside one session: lost messages
	Says          int64 // "say" acknowledged
	SayErrors     int64 // "say" not acknowledged while connected
	// Errors counts the errors behind ConnectErrors and SayErrors, by
	// message.
	Errors map[string]int64
}

func (r Result) String() string {
	str := fmt.Sprintf("sessions %d (connect errors %d), msg received %d, gaps %d, say acked %d (failed %d)",
		r.Sessions, r.ConnectErrors, r.Messages, r.Gaps, r.Says, r.SayErrors)
	if len(r.Errors) > 0 {
		str += fmt.Sprintf("; errors: %v", r.Errors)
	}
	return str
}

// errorKind is err's message without what differs between connections (the
// request URL, addresses), so that errors group by kind.
func errorKind(err error) string {
	msg := urlRE.ReplaceAllString(err.Error(), "URL")
	return addrRE.ReplaceAllString(msg, "ADDR")
}

var (
	urlRE  = regexp.MustCompile(`"?https?://[^ "]*"?`)
	addrRE = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+:\d+`)
)

// Run keeps cfg.Clients clients connected for cfg.Duration, each living a
// random lifetime and replaced when it leaves, and checks the "msg"
// sequences each session receives for gaps.
func Run(ctx context.Context, cfg Config) (Result, error) {
	res := Result{Errors: map[string]int64{}}
	var emu sync.Mutex
	fail := func(counter *int64, err error) {
		if counter != nil {
			atomic.AddInt64(counter, 1)
		}
		emu.Lock()
		res.Errors[errorKind(err)]++
		emu.Unlock()
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var wg sync.WaitGroup
	var n atomic.Int64
	for i := 0; i < cfg.Clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				id := n.Add(1)
				runClient(ctx, cfg, int(id), &res, fail)
			}
		}()
		if i%100 == 99 {
			time.Sleep(10 * time.Millisecond) // ramp up
		}
	}
	wg.Wait()
	emu.Lock()
	defer emu.Unlock()
	return res, nil
}

// runClient is one client session: connect, receive and say until its
// lifetime ends, then leave.
func runClient(ctx context.Context, cfg Config, id int, res *Result, fail func(*int64, error)) {
	room := RoomName(id % max(cfg.Rooms, 1))
	life := cfg.MinLifetime
	if d := cfg.MaxLifetime - cfg.MinLifetime; d > 0 {
		life += rand.N(d)
	}
	lctx, cancel := context.WithTimeout(ctx, life)
	defer cancel()
	m, err := client.NewManager(cfg.URL, &client.Options{Transports: cfg.Transports, DisableReconnection: true})
	if err != nil {
		fail(&res.ConnectErrors, err)
		return
	}
	defer m.Close()
	m.OnClose(func(r client.DisconnectReason, err error) {
		if lctx.Err() == nil {
			fail(nil, fmt.Errorf("connection closed (%s): %w", r, err))
		}
	})
	s := m.Socket("/", &client.SocketOptions{Auth: map[string]any{"room": room}})
	var (
		mu   sync.Mutex
		last int64 = -1
	)
	s.On("msg", func(e *client.Event) {
		var r int
		var seq int64
		if e.Decode(&r, &seq) != nil {
			return
		}
		atomic.AddInt64(&res.Messages, 1)
		mu.Lock()
		if last >= 0 && seq != last+1 {
			atomic.AddInt64(&res.Gaps, seq-last-1)
		}
		last = seq
		mu.Unlock()
	})
	cctx, ccancel := context.WithTimeout(lctx, 20*time.Second)
	err = s.Connect(cctx)
	ccancel()
	if err != nil {
		if lctx.Err() == nil {
			fail(&res.ConnectErrors, err)
		}
		return
	}
	atomic.AddInt64(&res.Sessions, 1)
	if cfg.SayEvery <= 0 {
		<-lctx.Done()
		return
	}
	t := time.NewTicker(cfg.SayEvery)
	defer t.Stop()
	for {
		select {
		case <-lctx.Done():
			return
		case <-t.C:
		}
		actx, acancel := context.WithTimeout(lctx, 10*time.Second)
		_, err := s.EmitWithAck(actx, "say", id)
		acancel()
		switch {
		case err == nil:
			atomic.AddInt64(&res.Says, 1)
		case lctx.Err() == nil:
			fail(&res.SayErrors, err)
		}
	}
}

// StormClients connects n clients that reconnect on their own (default
// backoff and jitter) and returns them once all are connected. onConnect is
// called each time one of them connects (the first time included); it must
// be safe for concurrent use.
func StormClients(ctx context.Context, url string, n int, transports []string, onConnect func()) ([]*client.Socket, error) {
	socks := make([]*client.Socket, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 200)
	for i := range socks {
		m, err := client.NewManager(url, &client.Options{Transports: transports})
		if err != nil {
			CloseAll(socks)
			return nil, err
		}
		s := m.Socket("/", nil)
		s.OnConnect(onConnect)
		socks[i] = s
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			errs <- s.Connect(ctx)
		}()
	}
	var first error
	for range socks {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		CloseAll(socks)
		return nil, first
	}
	return socks, nil
}

// CloseAll closes the clients' Managers.
func CloseAll(socks []*client.Socket) {
	var wg sync.WaitGroup
	for _, s := range socks {
		if s == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Manager().Close()
		}()
	}
	wg.Wait()
}

// WaitConnected waits until the connect counter reaches want, or ctx ends.
func WaitConnected(ctx context.Context, connects *atomic.Int64, want int64) error {
	for connects.Load() < want {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d connections: %w", connects.Load(), want, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}
