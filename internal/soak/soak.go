// Package soak runs long, churning loads against a Socket.IO server and
// checks what must hold however long it runs: no message addressed to a
// connected client is lost, every client gets back in after a server
// restart, and once the clients are gone the server's goroutines and heap
// return to their idle baseline. With connection state recovery
// (Config.Recovery), the clients' connections are also reset at random
// and every client must get its session back with nothing lost or
// repeated.
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
	"net"
	"net/http"
	"regexp"
	"runtime"
	"slices"
	"strconv"
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
//
// With connection state recovery on the server, a recovered socket runs
// the connection handler again: it is already in its room (joining again
// does nothing) and gets its "say" handler again (a recovered socket has
// none of the handlers of its previous connection).
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

// RecoveryStats describes the connection state recovery store of the main
// namespace (the adapter.SessionAware adapter's): what RecoveryStatsHandler
// serves.
type RecoveryStats struct {
	StoredPackets int   `json:"stored_packets"` // events kept for recovery
	StoredBytes   int64 `json:"stored_bytes"`   // their size, as counted against MaxBufferedBytes
	KeptSessions  int   `json:"kept_sessions"`  // sessions of disconnected sockets
}

// CurrentRecoveryStats reports the recovery store of srv's main namespace;
// ok is false when srv has no such store (recovery off).
func CurrentRecoveryStats(srv *socketio.Server) (st RecoveryStats, ok bool) {
	a, ok := srv.Of("/").Adapter().(interface {
		Stored() (packets int, bytes int64)
		SessionCount() int
	})
	if !ok {
		return st, false
	}
	st.StoredPackets, st.StoredBytes = a.Stored()
	st.KeptSessions = a.SessionCount()
	return st, true
}

// RecoveryStatsHandler serves CurrentRecoveryStats as JSON (zeros when
// recovery is off).
func RecoveryStatsHandler(srv *socketio.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, _ := CurrentRecoveryStats(srv)
		_ = json.NewEncoder(w).Encode(st)
	})
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

	// Recovery runs the clients against a server with connection state
	// recovery (socketio.Options.ConnectionStateRecovery) and retry
	// deduplication (RetryDedup): each client reconnects by itself after a
	// connection loss and must get its session back, so that its "msg"
	// sequence goes on across the loss with no gap and no duplicate. Its
	// says go through the retry queue (SocketOptions.Retries): a say whose
	// acknowledgement was lost with the connection is sent again after the
	// reconnection, and the server handles it once; the "said" relays the
	// other clients of the room receive check that (no gap, no duplicate).
	// See runRecoveringClient.
	Recovery bool
	// RecoveryWindow is the server's MaxDisconnectionDuration. Zero means
	// 2 minutes, the server's default. A reconnection that does not
	// recover the session after a disconnection shorter than half of it
	// is a failure (Result.Unrecovered).
	RecoveryWindow time.Duration
	// DropEvery, with Recovery, is the mean interval between two forced
	// drops of a client's connection (exponentially distributed): every
	// TCP connection the client opened is reset (SO_LINGER 0). Zero means
	// no drop.
	DropEvery time.Duration
	// ReconnectionDelay and ReconnectionDelayMax, with Recovery, are the
	// clients' client.Options of the same names. Zero means the client's
	// defaults (1 s and 5 s).
	ReconnectionDelay    time.Duration
	ReconnectionDelayMax time.Duration
	// BackWithin, with Recovery, is how long a client may stay
	// disconnected: one still disconnected this long after a connection
	// loss when its lifetime ends counts in Result.NotBack. Zero means
	// 30 s.
	BackWithin time.Duration
}

// Result is the outcome of a churn run.
type Result struct {
	Sessions      int64 // client sessions (connections that reached connect)
	ConnectErrors int64
	Messages      int64 // "msg" events received
	Gaps          int64 // sequence gaps inside one session: lost messages
	Says          int64 // "say" acknowledged
	SayErrors     int64 // "say" not acknowledged while connected
	// Errors counts the errors behind ConnectErrors and SayErrors (and,
	// with Recovery, Unrecovered and NotBack), by message, and the
	// connections that closed during a client's lifetime (with Recovery,
	// other than by a drop), which are not failures.
	Errors map[string]int64

	// With Config.Recovery only (String reports them then). A session is
	// then a client's lifetime: Gaps counts the "msg" events missing from
	// its sequence across its recovered reconnections, Says the says
	// acknowledged (each sent until acknowledged, within 10 s) and
	// ConnectErrors every failed connection attempt.
	Recovery       bool
	Duplicates     int64         // "msg" events received twice (or out of order) by a client
	Said           int64         // "said" relays received
	SaidGaps       int64         // says of another client missing from what a client received
	SaidDuplicates int64         // says of another client received twice (handled twice)
	Drops          int64         // forced drops (a connected client's connections reset)
	Reconnections  int64         // reconnections after a connection loss
	Recovered      int64         // reconnections that got the session back
	Unrecovered    int64         // reconnections that did not, after a short disconnection: a failure
	Expired        int64         // reconnections that did not, after more than half the RecoveryWindow
	NotBack        int64         // clients still disconnected BackWithin after a loss at the end of their lifetime
	SlowestBack    time.Duration // the longest disconnection that ended with a reconnection
}

func (r Result) String() string {
	str := fmt.Sprintf("sessions %d (connect errors %d), msg received %d, gaps %d, say acked %d (failed %d)",
		r.Sessions, r.ConnectErrors, r.Messages, r.Gaps, r.Says, r.SayErrors)
	if r.Recovery {
		str += fmt.Sprintf(", msg duplicates %d, said received %d (gaps %d, duplicates %d); "+
			"drops %d, reconnections %d (recovered %d, not recovered %d, expired %d, slowest %v), not back %d",
			r.Duplicates, r.Said, r.SaidGaps, r.SaidDuplicates,
			r.Drops, r.Reconnections, r.Recovered, r.Unrecovered, r.Expired, r.SlowestBack.Round(time.Millisecond), r.NotBack)
	}
	if len(r.Errors) > 0 {
		str += fmt.Sprintf("; errors: %v", r.Errors)
	}
	return str
}

// Failed reports whether r shows a lost, duplicated or unacknowledged
// message, a connect error, or (with Recovery) a reconnection that should
// have recovered its session and did not, or a client that did not come
// back.
func (r Result) Failed() bool {
	if r.Gaps != 0 || r.SayErrors != 0 || r.ConnectErrors != 0 {
		return true
	}
	return r.Recovery && (r.Duplicates != 0 || r.SaidGaps != 0 || r.SaidDuplicates != 0 || r.Unrecovered != 0 || r.NotBack != 0)
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
	var n, slowest atomic.Int64
	res.Recovery = cfg.Recovery
	for i := 0; i < cfg.Clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				id := n.Add(1)
				if cfg.Recovery {
					runRecoveringClient(ctx, cfg, int(id), &res, fail, &slowest)
				} else {
					runClient(ctx, cfg, int(id), &res, fail)
				}
			}
		}()
		if i%100 == 99 {
			time.Sleep(10 * time.Millisecond) // ramp up
		}
	}
	wg.Wait()
	res.SlowestBack = time.Duration(slowest.Load())
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

// runRecoveringClient is one client's lifetime with Config.Recovery: it
// connects, receives, says and has its connections dropped until its
// lifetime ends, reconnecting by itself after each loss.
//
// The checks, all on the Manager's dispatcher (handlers run one at a time,
// in the order the packets arrived):
//   - "msg": the room's sequence goes on across recovered reconnections
//     (the events missed while disconnected are handled before the
//     OnConnect handlers, on either side of which nothing may be missing
//     or repeated). A reconnection that does not recover starts a new
//     sequence, as a new session.
//   - "said": the says of each other client of the room arrive once each,
//     in order (n, the sender's counter, increases by one), with the same
//     rule at reconnections. A say handled twice by the server (its
//     acknowledgement lost with a connection, the retry not deduplicated)
//     shows as a duplicate.
//   - every reconnection recovers its session, unless the disconnection
//     lasted more than half the recovery window.
func runRecoveringClient(ctx context.Context, cfg Config, id int, res *Result, fail func(*int64, error), slowest *atomic.Int64) {
	room := RoomName(id % max(cfg.Rooms, 1))
	life := cfg.MinLifetime
	if d := cfg.MaxLifetime - cfg.MinLifetime; d > 0 {
		life += rand.N(d)
	}
	window := cfg.RecoveryWindow
	if window <= 0 {
		window = 2 * time.Minute
	}
	backWithin := cfg.BackWithin
	if backWithin <= 0 {
		backWithin = 30 * time.Second
	}
	lctx, cancel := context.WithTimeout(ctx, life)
	defer cancel()
	var conns dropDialer
	m, err := client.NewManager(cfg.URL, &client.Options{
		Transports:           cfg.Transports,
		Dialer:               conns.dial,
		ReconnectionDelay:    cfg.ReconnectionDelay,
		ReconnectionDelayMax: cfg.ReconnectionDelayMax,
	})
	if err != nil {
		fail(&res.ConnectErrors, err)
		return
	}
	defer m.Close()
	// Retries without an ack timeout: a say is sent again only after a
	// reconnection, until it is acknowledged. It carries the sender's
	// name, unique across the Runs against the server (their ids are
	// not), and its number.
	sender := strconv.FormatUint(rand.Uint64(), 36)
	s := m.Socket("/", &client.SocketOptions{Auth: map[string]any{"room": room}, Retries: 1})

	var (
		mu        sync.Mutex
		connected bool                         // connected once
		dropped   int                          // drops not yet matched with a connection close
		downAt    time.Time                    // the last disconnection, until the reconnection
		connErrs  int                          // failed connection attempts
		last      int64     = -1               // the last "msg" sequence number
		said                = map[string]int{} // the last say counter received, by sender
	)
	m.OnClose(func(r client.DisconnectReason, err error) {
		mu.Lock()
		expected := dropped > 0
		if expected {
			dropped--
		}
		mu.Unlock()
		if lctx.Err() == nil && !expected {
			fail(nil, fmt.Errorf("connection closed (%s): %w", r, err))
		}
	})
	s.OnConnectError(func(err error) {
		if lctx.Err() != nil {
			return
		}
		mu.Lock()
		connErrs++
		mu.Unlock()
		fail(&res.ConnectErrors, err)
	})
	s.OnDisconnect(func(client.DisconnectReason) {
		mu.Lock()
		downAt = time.Now()
		mu.Unlock()
	})
	s.OnConnect(func() {
		recovered := s.Recovered()
		mu.Lock()
		defer mu.Unlock()
		if !connected {
			connected = true
			return
		}
		var down time.Duration
		if !downAt.IsZero() {
			down = time.Since(downAt)
		}
		downAt = time.Time{}
		for {
			old := slowest.Load()
			if int64(down) <= old || slowest.CompareAndSwap(old, int64(down)) {
				break
			}
		}
		atomic.AddInt64(&res.Reconnections, 1)
		switch {
		case recovered:
			atomic.AddInt64(&res.Recovered, 1)
			return
		case down < window/2:
			fail(&res.Unrecovered, fmt.Errorf("session not recovered after a disconnection of %v", down.Round(100*time.Millisecond)))
		default:
			atomic.AddInt64(&res.Expired, 1)
		}
		// A new session: new sequences.
		last = -1
		clear(said)
	})
	s.On("msg", func(e *client.Event) {
		var r int
		var seq int64
		if e.Decode(&r, &seq) != nil {
			return
		}
		atomic.AddInt64(&res.Messages, 1)
		mu.Lock()
		switch {
		case last < 0:
		case seq <= last:
			atomic.AddInt64(&res.Duplicates, 1)
		case seq > last+1:
			atomic.AddInt64(&res.Gaps, seq-last-1)
		}
		last = max(last, seq)
		mu.Unlock()
	})
	s.On("said", func(e *client.Event) {
		var from string
		var n int
		if e.Decode(&from, &n) != nil {
			return
		}
		atomic.AddInt64(&res.Said, 1)
		mu.Lock()
		prev, ok := said[from]
		switch {
		case !ok:
		case n <= prev:
			atomic.AddInt64(&res.SaidDuplicates, 1)
		case n > prev+1:
			atomic.AddInt64(&res.SaidGaps, int64(n-prev-1))
		}
		said[from] = max(prev, n)
		mu.Unlock()
	})

	cctx, ccancel := context.WithTimeout(lctx, 20*time.Second)
	err = s.Connect(cctx)
	ccancel()
	if err != nil {
		mu.Lock()
		counted := connErrs > 0
		mu.Unlock()
		if lctx.Err() == nil && !counted {
			fail(&res.ConnectErrors, err)
		}
		return
	}
	atomic.AddInt64(&res.Sessions, 1)

	// The drops, at random moments while connected.
	var dwg sync.WaitGroup
	if cfg.DropEvery > 0 {
		dwg.Add(1)
		go func() {
			defer dwg.Done()
			for {
				t := time.NewTimer(time.Duration(rand.ExpFloat64() * float64(cfg.DropEvery)))
				select {
				case <-lctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
				// Only the connections dialed before the socket was seen
				// connected: not those of a reconnection that may have
				// started meanwhile.
				n := conns.dialed()
				if !s.Connected() {
					continue
				}
				mu.Lock()
				dropped++
				mu.Unlock()
				conns.reset(n)
				atomic.AddInt64(&res.Drops, 1)
			}
		}()
	}
	defer dwg.Wait()
	defer func() {
		// At the end of the lifetime: back after the last loss?
		if s.Connected() {
			return
		}
		mu.Lock()
		down := downAt
		mu.Unlock()
		if !down.IsZero() && time.Since(down) > backWithin {
			fail(&res.NotBack, fmt.Errorf("not reconnected %v after a connection loss", time.Since(down).Round(time.Second)))
		}
	}()

	if cfg.SayEvery <= 0 {
		<-lctx.Done()
		return
	}
	t := time.NewTicker(cfg.SayEvery)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-lctx.Done():
			return
		case <-t.C:
		}
		if lctx.Err() != nil {
			// (Both were ready.) A say sent now would follow one given
			// up at the end of the lifetime, maybe never handled: a gap
			// for the others.
			return
		}
		actx, acancel := context.WithTimeout(lctx, 10*time.Second)
		_, err := s.EmitWithAck(actx, "say", sender, n)
		acancel()
		switch {
		case err == nil:
			atomic.AddInt64(&res.Says, 1)
		case lctx.Err() == nil:
			fail(&res.SayErrors, err)
		}
	}
}

// dropDialer dials a client's TCP connections and resets them on demand.
// It keeps them as they are (no wrapper: the client sees real
// *net.TCPConn), so it cannot tell a closed one from an open one: reset
// resets them all (closing a closed one does nothing) and forgets them.
type dropDialer struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (d *dropDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.conns = append(d.conns, c)
	d.mu.Unlock()
	return c, nil
}

// dialed returns the number of connections dialed since the last reset.
func (d *dropDialer) dialed() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.conns)
}

// reset closes the first n connections dialed since the last reset with a
// TCP reset (SO_LINGER 0), like a network failure, and forgets them.
func (d *dropDialer) reset(n int) {
	d.mu.Lock()
	conns := d.conns[:n:n]
	d.conns = slices.Clone(d.conns[n:])
	d.mu.Unlock()
	for _, c := range conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
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
