package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/internal/faultproxy"
)

func streamsOptions() StreamsOptions {
	p := randomPrefix()
	return StreamsOptions{StreamName: p, ChannelPrefix: p, SessionKeyPrefix: p + ":session:", BlockTime: time.Second}
}

// TestStreamsGoCluster runs two Go servers on one Redis stream, without
// connection state recovery: broadcasts (rooms, binary), requests and
// acknowledgements across them.
func TestStreamsGoCluster(t *testing.T) {
	c := newClient(t)
	opts := streamsOptions()
	n1 := startGoNode(t, NewStreamsAdapter(c, opts), joinFromAuth)
	n2 := startGoNode(t, NewStreamsAdapter(c, opts), joinFromAuth)
	a, b, ea, eb := twoGoServers(t, n1, n2)
	_ = n2.srv.Except(b.ID()).Emit("all")
	if got := recv(t, ea); got != `all []` {
		t.Fatalf("got %s", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b.On("question", func(e *client.Event) { _ = e.Ack("b") })
	a.On("question", func(e *client.Event) { _ = e.Ack("a") })
	acks, err := n1.srv.EmitWithAck(ctx, "question")
	if err != nil || len(acks) != 2 {
		t.Fatalf("acks %v %v", acks, err)
	}
	for _, ch := range []<-chan string{ea, eb} {
		if got := recv(t, ch); got != `question []` {
			t.Fatalf("got %s", got)
		}
	}
	// The stream orders a socketsLeave before the next broadcast.
	if err := n2.srv.In("room").SocketsLeave("room"); err != nil {
		t.Fatal(err)
	}
	_ = n2.srv.To("room").Emit("r", 2)
	_ = n2.srv.Emit("after")
	for _, ch := range []<-chan string{ea, eb} {
		if got := recv(t, ch); got != `after []` {
			t.Fatalf("got %s after a socketsLeave", got)
		}
	}
}

// TestStreamsMalformedEntries writes garbage entries to the stream and
// garbage messages to the channels: the servers drop them and keep
// working.
func TestStreamsMalformedEntries(t *testing.T) {
	c := newClient(t)
	opts := streamsOptions()
	n1 := startGoNode(t, NewStreamsAdapter(c, opts), joinFromAuth)
	n2 := startGoNode(t, NewStreamsAdapter(c, opts), joinFromAuth)
	_, ea := dial(t, n1.url, nil)
	ctx := context.Background()
	bad := [][]any{
		{"uid", "x", "nsp", "/", "type", "3", "data", "{"},
		{"uid", "x", "nsp", "/", "type", "3", "data", "!!!not base64"},
		{"uid", "x", "nsp", "/", "type", "3", "data", "kQ=="}, // msgpack [1]
		{"uid", "x", "nsp", "/", "type", "99", "data", "{}"},
		{"uid", "x", "nsp", "/", "type", "x"},
		{"uid", "x", "nsp", "/", "type", "3", "data", `{"packet":{"data":5},"opts":{"rooms":[],"except":[]}}`},
		{"uid", "x", "nsp", "/", "type", "4", "data", `{"opts":{"rooms":5}}`},
		{"nsp", "/"},
		{"junk", "1"},
	}
	for _, v := range bad {
		if err := c.XAdd(ctx, &goredis.XAddArgs{Stream: opts.StreamName, Values: v}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, ch := range []string{opts.ChannelPrefix + "#/#", opts.ChannelPrefix + "#/#" + n1.srv.Of("/").Adapter().(*StreamsAdapter).UID() + "#"} {
		for _, p := range []string{"", "\xc1", "{", "\x81\xa4type\x03", controlPrefix + "takeover", controlPrefix + "taken\x00x"} {
			if err := c.Publish(ctx, ch, p).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	_ = n2.srv.Emit("still", "ok")
	if got := recv(t, ea); got != `still ["ok"]` {
		t.Fatalf("got %s", got)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := n1.srv.ServerSideEmitWithAck(rctx, "hello"); err != nil {
		t.Fatal(err)
	}
}

// seqClient is a client that records the "seq" events it gets.
type seqClient struct {
	s        *client.Socket
	mu       sync.Mutex
	got      []int
	offsets  []string
	bad      []string
	connects chan bool
	progress chan struct{}
}

func newSeqClient(t *testing.T, url string, transports []string) *seqClient {
	t.Helper()
	return startSeqClient(t, url, transports, true)
}

// startSeqClient connects a seqClient; with offsets, its events carry
// offsets (the server has connection state recovery).
func startSeqClient(t *testing.T, url string, transports []string, offsets bool) *seqClient {
	t.Helper()
	m, err := client.NewManager(url, &client.Options{
		Transports:          transports,
		ReconnectionDelay:   10 * time.Millisecond,
		RandomizationFactor: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	sc := &seqClient{s: m.Socket("/", nil), connects: make(chan bool, 16), progress: make(chan struct{}, 1)}
	sc.s.On("seq", func(e *client.Event) {
		var n int
		var off string
		sc.mu.Lock()
		defer sc.mu.Unlock()
		if !offsets {
			if e.Args().Len() != 1 || json.Unmarshal(e.Args().Raw(0), &n) != nil {
				sc.bad = append(sc.bad, fmt.Sprint(e.Args().Len(), " args"))
				return
			}
		} else if e.Args().Len() != 2 || json.Unmarshal(e.Args().Raw(0), &n) != nil || json.Unmarshal(e.Args().Raw(1), &off) != nil || !offsetPattern.MatchString(off) {
			sc.bad = append(sc.bad, fmt.Sprint(e.Args().Len(), " args"))
			return
		}
		sc.got = append(sc.got, n)
		sc.offsets = append(sc.offsets, off)
		select {
		case sc.progress <- struct{}{}:
		default:
		}
	})
	sc.s.OnConnect(func() { sc.connects <- sc.s.Recovered() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sc.s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if recovered := <-sc.connects; recovered {
		t.Fatal("recovered at the first connection")
	}
	return sc
}

func (sc *seqClient) count() int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return len(sc.got)
}

// waitCount waits until the client got n events.
func (sc *seqClient) waitCount(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for sc.count() < n {
		select {
		case <-sc.progress:
		case <-deadline:
			t.Fatalf("got %d events, want %d", sc.count(), n)
		}
	}
}

// checkSet asserts that the client got 0..n-1 exactly once.
func (sc *seqClient) checkSet(t *testing.T, n int) {
	t.Helper()
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if len(sc.bad) > 0 {
		t.Fatalf("malformed events: %v", sc.bad)
	}
	seen := make(map[int]bool, n)
	for _, v := range sc.got {
		if seen[v] {
			t.Fatalf("event %d twice", v)
		}
		seen[v] = true
	}
	for i := range n {
		if !seen[i] {
			t.Fatalf("event %d missing (got %d of %d)", i, len(sc.got), n)
		}
	}
}

// check asserts that the client got 0..n-1 exactly once, in the order of
// the stream (their offsets increase).
func (sc *seqClient) check(t *testing.T, n int) {
	t.Helper()
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if len(sc.bad) > 0 {
		t.Fatalf("malformed events: %v", sc.bad)
	}
	seen := make(map[int]bool, n)
	for i, v := range sc.got {
		if seen[v] {
			t.Fatalf("event %d (%d) twice", i, v)
		}
		seen[v] = true
		if i > 0 && compareIDs(sc.offsets[i-1], sc.offsets[i]) >= 0 {
			t.Fatalf("event %d (%d) at offset %s after %s", i, v, sc.offsets[i], sc.offsets[i-1])
		}
	}
	for i := range n {
		if !seen[i] {
			t.Fatalf("event %d missing (got %d of %d)", i, len(sc.got), n)
		}
	}
	if len(sc.got) != n {
		t.Fatalf("got %d events, want %d", len(sc.got), n)
	}
}

type recoveryNode struct {
	srv  *socketio.Server
	hs   *httptest.Server
	addr string
	sids chan string // the ids of sockets that connected fresh
}

func startRecoveryNode(t *testing.T, c goredis.UniversalClient, opts StreamsOptions) *recoveryNode {
	t.Helper()
	n := &recoveryNode{sids: make(chan string, 16)}
	n.srv = socketio.NewServer(&socketio.Options{
		Adapter:                 NewStreamsAdapter(c, opts),
		ConnectionStateRecovery: &socketio.ConnectionStateRecovery{},
	})
	n.srv.OnConnection(func(s *socketio.Socket) {
		if !s.Recovered() {
			s.Join("r")
			n.sids <- s.ID()
		}
	})
	n.hs = httptest.NewServer(n.srv)
	n.addr = strings.TrimPrefix(n.hs.URL, "http://")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.srv.Shutdown(ctx)
		n.hs.Close()
	})
	return n
}

// TestStreamsRecoveryAcrossServers moves a client from one server to
// another in the middle of a stream of broadcasts from both servers (to
// everyone, to a room, to the socket alone): by a reset, by a clean close
// and half-open (the first server still holds the old connection when the
// client comes back on the second). Each time the client gets its session
// back on the other server, and in the end every event exactly once, in
// order.
func TestStreamsRecoveryAcrossServers(t *testing.T) {
	faults := []struct {
		name string
		cut  func(p *faultproxy.Proxy)
	}{
		{"reset", (*faultproxy.Proxy).Reset},
		{"close", (*faultproxy.Proxy).Drop},
		{"half-open", (*faultproxy.Proxy).HalfOpen},
	}
	transports := map[string][]string{
		"websocket": {client.TransportWebSocket},
		"polling":   {client.TransportPolling},
	}
	for tname, tr := range transports {
		for _, f := range faults {
			t.Run(tname+"/"+f.name, func(t *testing.T) {
				c := newClient(t)
				opts := streamsOptions()
				nodes := []*recoveryNode{startRecoveryNode(t, c, opts), startRecoveryNode(t, c, opts)}
				p, err := faultproxy.New(nodes[0].addr)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = p.Close() })
				sc := newSeqClient(t, "http://"+p.Addr(), tr)
				sid := <-nodes[0].sids

				stop := make(chan struct{})
				sent := make(chan int, 1)
				go func() {
					n := 0
					defer func() { sent <- n }()
					for {
						select {
						case <-stop:
							return
						default:
						}
						srv := nodes[n%2].srv
						switch n % 3 {
						case 0:
							_ = srv.Emit("seq", n)
						case 1:
							_ = srv.To("r").Emit("seq", n)
						default:
							_ = srv.To(sid).Emit("seq", n)
						}
						n++
						time.Sleep(500 * time.Microsecond)
					}
				}()
				for i := 1; i <= 4; i++ {
					sc.waitCount(t, sc.count()+20)
					p.SetTarget(nodes[i%2].addr)
					f.cut(p)
					select {
					case recovered := <-sc.connects:
						if !recovered {
							t.Fatalf("cut %d: not recovered", i)
						}
					case <-time.After(15 * time.Second):
						t.Fatalf("cut %d: no reconnection", i)
					}
					if sc.s.ID() != sid {
						t.Fatalf("cut %d: id %s, want %s", i, sc.s.ID(), sid)
					}
				}
				sc.waitCount(t, sc.count()+20)
				close(stop)
				n := <-sent
				sc.waitCount(t, n)
				sc.check(t, n)
				select {
				case id := <-nodes[0].sids:
					t.Fatalf("a fresh socket %s connected", id)
				case id := <-nodes[1].sids:
					t.Fatalf("a fresh socket %s connected", id)
				default:
				}
			})
		}
	}
}

// TestStreamsSessionEncoding checks the stored form of a session against
// what the official adapter writes: base64 of the MessagePack object
// {sid, pid, rooms, data}.
func TestStreamsSessionEncoding(t *testing.T) {
	raw, err := encodeSession("p1", "s1", []string{"s1", "r"}, map[string]any{"user": "ann", "bin": []byte{1, 2}}, "1-0", "")
	if err != nil {
		t.Fatal(err)
	}
	st, data, err := decodeSession(raw)
	if err != nil {
		t.Fatal(err)
	}
	if st.SID != "s1" || st.PID != "p1" || strings.Join(st.Rooms, ",") != "s1,r" || st.Since != "1-0" {
		t.Fatalf("decoded %+v", st)
	}
	m, _ := data.(map[string]any)
	if m["user"] != "ann" || fmt.Sprint(m["bin"]) != "[1 2]" {
		t.Fatalf("data %#v", data)
	}
	// @msgpack/msgpack's encoding of {sid:"s",pid:"p",rooms:["s"],data:{}}.
	official := "hKNzaWShc6NwaWShcKVyb29tc5Ghc6RkYXRhgA=="
	st, data, err = decodeSession(official)
	if err != nil || st.SID != "s" || st.PID != "p" || len(st.Rooms) != 1 || fmt.Sprint(data) != "map[]" {
		t.Fatalf("official session: %+v %v %v", st, data, err)
	}
	for _, bad := range []string{"", "!", "kQ==", "gA=="} {
		if _, _, err := decodeSession(bad); err == nil {
			t.Errorf("decodeSession(%q) succeeded", bad)
		}
	}
}

func TestCompareIDs(t *testing.T) {
	for _, c := range []struct {
		x, y string
		want int
	}{
		{"1-0", "1-0", 0}, {"1-0", "1-1", -1}, {"10-0", "9-5", 1}, {"0-0", "1700000000000-0", -1}, {"5-10", "5-9", 1},
	} {
		if got := compareIDs(c.x, c.y); got != c.want {
			t.Errorf("compareIDs(%s, %s) = %d", c.x, c.y, got)
		}
	}
}

// TestStreamsRecoveryAfterServerDeath kills the server of a client (its
// Redis connections close, as a crashed process's do, and the client's
// connection resets) while the other server broadcasts: the client
// recovers its session on the other server — its id, its rooms, its data —
// and gets every event exactly once.
func TestStreamsRecoveryAfterServerDeath(t *testing.T) {
	for _, tr := range []string{client.TransportWebSocket, client.TransportPolling} {
		t.Run(tr, func(t *testing.T) {
			opts := streamsOptions()
			dying := goredis.NewClient(&goredis.Options{Addr: redisAddr(t)})
			t.Cleanup(func() { _ = dying.Close() })
			a := startRecoveryNode(t, dying, opts)
			b := startRecoveryNode(t, newClient(t), opts)
			a.srv.OnConnection(func(s *socketio.Socket) { s.SetData(map[string]any{"user": "ann"}) })
			data := make(chan any, 1)
			b.srv.OnConnection(func(s *socketio.Socket) {
				if s.Recovered() {
					data <- s.Data()
				}
			})
			p, err := faultproxy.New(a.addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Close() })
			sc := newSeqClient(t, "http://"+p.Addr(), []string{tr})
			sid := <-a.sids
			_ = b.srv.To("r").Emit("seq", 0)
			sc.waitCount(t, 1)
			// The data set in the connection handler reaches Redis within
			// SessionFlushInterval.
			waitLiveData(t, dying, opts.SessionKeyPrefix+"live:*", "ann")

			// The death: a's Redis connections close (its subscriptions
			// vanish, it can keep nothing), then its client's connection.
			_ = dying.Close()
			for i := 1; i <= 10; i++ {
				_ = b.srv.To("r").Emit("seq", i)
			}
			p.SetTarget(b.addr)
			p.Reset()
			select {
			case recovered := <-sc.connects:
				if !recovered {
					t.Fatal("not recovered after the death of its server")
				}
			case <-time.After(15 * time.Second):
				t.Fatal("no reconnection")
			}
			if sc.s.ID() != sid {
				t.Fatalf("id %s, want %s", sc.s.ID(), sid)
			}
			if d := fmt.Sprint(<-data); d != "map[user:ann]" {
				t.Fatalf("data %s", d)
			}
			for i := 11; i <= 20; i++ {
				_ = b.srv.To("r").Emit("seq", i)
			}
			sc.waitCount(t, 21)
			sc.check(t, 21)
		})
	}
}

// waitLiveData waits until the live session under pattern holds want in
// its data.
func waitLiveData(t *testing.T, c goredis.UniversalClient, pattern, want string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(5 * time.Second)
	for {
		keys, err := c.Keys(ctx, pattern).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			raw, _ := c.Get(ctx, k).Result()
			if _, data, err := decodeSession(raw); err == nil && strings.Contains(fmt.Sprint(data), want) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no live session with %q in its data under %s", want, pattern)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStreamsRedisRestart restarts Redis (with its append-only file) in the
// middle of a stream of broadcasts from two servers: every client of both
// gets every broadcast exactly once — those sent while Redis was down wait
// in the servers and go out when it is back. With connection state
// recovery, in the order of the stream.
func TestStreamsRedisRestart(t *testing.T) {
	for _, recovery := range []bool{false, true} {
		t.Run(fmt.Sprintf("recovery=%t", recovery), func(t *testing.T) {
			r := startRedisServer(t, "--appendonly", "yes", "--appendfsync", "always")
			opts := streamsOptions()
			logs := &logSink{}
			opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
			var urls []string
			var srvs []*socketio.Server
			for range 2 {
				c := goredis.NewClient(&goredis.Options{Addr: r.addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
				t.Cleanup(func() { _ = c.Close() })
				if recovery {
					n := startRecoveryNode(t, c, opts)
					urls, srvs = append(urls, n.hs.URL), append(srvs, n.srv)
				} else {
					n := startGoNode(t, NewStreamsAdapter(c, opts), nil)
					urls, srvs = append(urls, n.url), append(srvs, n.srv)
				}
			}
			var clients []*seqClient
			for _, u := range urls {
				for _, tr := range []string{client.TransportWebSocket, client.TransportPolling} {
					clients = append(clients, startSeqClient(t, u, []string{tr}, recovery))
				}
			}
			n := 0
			send := func(k int) {
				for range k {
					if err := srvs[n%2].Emit("seq", n); err != nil {
						t.Fatalf("broadcast %d: %v", n, err)
					}
					n++
				}
			}
			send(50)
			for _, c := range clients {
				c.waitCount(t, 50)
			}
			r.stop()
			send(50) // while Redis is down
			// The servers try to write them and fail.
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(logs.String(), "writing to the stream failed") {
				if time.Now().After(deadline) {
					t.Fatalf("no failed write while Redis is down; logs:\n%s", logs.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			r.start()
			send(50)
			for _, c := range clients {
				c.waitCount(t, n)
				if recovery {
					c.check(t, n)
				} else {
					c.checkSet(t, n)
				}
			}
			if !strings.Contains(logs.String(), "writing to the stream again") {
				t.Errorf("no recovery logged:\n%s", logs.String())
			}
		})
	}
}
