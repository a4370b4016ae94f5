package nats

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	socketio "github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/internal/faultproxy"
)

func jsOptions() JetStreamOptions {
	p := testPrefix()
	return JetStreamOptions{Options: Options{Prefix: p}, Stream: strings.ReplaceAll(p, ".", "_")}
}

// TestJetStreamCluster runs three Go servers on JetStream, with connection
// state recovery: the operations of the cluster.
func TestJetStreamCluster(t *testing.T) {
	ns := startNATSServer(t)
	opts := jsOptions()
	n1 := startGoNode(t, NewJetStreamAdapter(connect(t, ns.url()), opts), true, setupApp("n1"))
	n2 := startGoNode(t, NewJetStreamAdapter(connect(t, ns.url()), opts), true, setupApp("n2"))
	n3 := startGoNode(t, NewJetStreamAdapter(connect(t, ns.url()), opts), true, setupApp("n3"))
	waitServers(t, 3, n1, n2, n3)
	clusterOps(t, n1, n2, n3)

	// The stream's limits are those documented.
	js, _ := jetstream.New(connect(t, ns.url()))
	s, err := js.Stream(context.Background(), opts.Stream)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	if cfg.MaxAge != 90*time.Second || cfg.MaxBytes != 256<<20 || cfg.Discard != jetstream.DiscardOld || cfg.Subjects[0] != opts.Prefix+".*.log" {
		t.Fatalf("stream config %+v", cfg)
	}
}

// seqClient is a client that records the "seq" events it gets.
type seqClient struct {
	s        *client.Socket
	mu       sync.Mutex
	got      []int
	offsets  []uint64
	bad      []string
	connects chan bool
	progress chan struct{}
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
		var o uint64
		if !offsets {
			if e.Args().Len() != 1 || json.Unmarshal(e.Args().Raw(0), &n) != nil {
				sc.bad = append(sc.bad, fmt.Sprint(e.Args().Len(), " args"))
				return
			}
		} else {
			var err error
			if e.Args().Len() != 2 || json.Unmarshal(e.Args().Raw(0), &n) != nil || json.Unmarshal(e.Args().Raw(1), &off) != nil {
				sc.bad = append(sc.bad, fmt.Sprint(e.Args().Len(), " args"))
				return
			}
			if o, err = strconv.ParseUint(off, 10, 64); err != nil {
				sc.bad = append(sc.bad, "offset "+off)
				return
			}
		}
		sc.got = append(sc.got, n)
		sc.offsets = append(sc.offsets, o)
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
	deadline := time.After(20 * time.Second)
	for sc.count() < n {
		select {
		case <-sc.progress:
		case <-deadline:
			t.Fatalf("got %d events, want %d", sc.count(), n)
		}
	}
}

// checkSet reports the events of 0..n-1 the client did not get, and those
// it got twice.
func (sc *seqClient) missing(n int) (lost, dup []int) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	seen := make(map[int]int, n)
	for _, v := range sc.got {
		seen[v]++
	}
	for i := range n {
		switch seen[i] {
		case 0:
			lost = append(lost, i)
		case 1:
		default:
			dup = append(dup, i)
		}
	}
	return lost, dup
}

// check asserts that the client got 0..n-1 exactly once, in the order of
// the stream (their offsets increase).
func (sc *seqClient) check(t *testing.T, n int) {
	t.Helper()
	sc.mu.Lock()
	if len(sc.bad) > 0 {
		sc.mu.Unlock()
		t.Fatalf("malformed events: %v", sc.bad)
	}
	for i := 1; i < len(sc.offsets); i++ {
		if sc.offsets[i-1] >= sc.offsets[i] {
			sc.mu.Unlock()
			t.Fatalf("event %d (%d) at offset %d after %d", i, sc.got[i], sc.offsets[i], sc.offsets[i-1])
		}
	}
	sc.mu.Unlock()
	if lost, dup := sc.missing(n); len(lost) > 0 || len(dup) > 0 {
		t.Fatalf("lost %v, twice %v (of %d)", lost, dup, n)
	}
	if c := sc.count(); c != n {
		t.Fatalf("got %d events, want %d", c, n)
	}
}

type recoveryNode struct {
	srv  *socketio.Server
	hs   *httptest.Server
	addr string
	sids chan string // the ids of sockets that connected fresh
	data chan any    // the data of sockets that recovered
}

func startRecoveryNode(t *testing.T, natsURL string, opts JetStreamOptions) *recoveryNode {
	t.Helper()
	n := &recoveryNode{sids: make(chan string, 16), data: make(chan any, 16)}
	n.srv = socketio.NewServer(&socketio.Options{
		Adapter:                 NewJetStreamAdapter(connect(t, natsURL), opts),
		ConnectionStateRecovery: &socketio.ConnectionStateRecovery{MaxDisconnectionDuration: 30 * time.Second},
	})
	n.srv.OnConnection(recoveryApp(n.sids, n.data))
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

// recoveryApp joins a new socket to "r" and gives it data; it reports new
// sockets on sids and the data of recovered ones on data (either may be
// nil).
func recoveryApp(sids chan<- string, data chan<- any) func(s *socketio.Socket) {
	return func(s *socketio.Socket) {
		if s.Recovered() {
			if data != nil {
				data <- s.Data()
			}
			return
		}
		s.Join("r")
		s.SetData(map[string]any{"user": "ann"})
		if sids != nil {
			sids <- s.ID()
		}
	}
}

// TestJetStreamRecoveryAcrossServers moves a client from one server to
// another in the middle of a stream of broadcasts from both servers (to
// everyone, to a room, to the socket alone): by a reset, by a clean close
// and half-open (the first server still holds the old connection when the
// client comes back on the second). Each time the client gets its session
// back on the other server, and in the end every event exactly once, in
// order.
func TestJetStreamRecoveryAcrossServers(t *testing.T) {
	ns := startNATSServer(t)
	faults := []struct {
		name string
		cut  func(p *faultproxy.Proxy)
	}{
		{"reset", (*faultproxy.Proxy).Reset},
		{"close", (*faultproxy.Proxy).Drop},
		{"half-open", (*faultproxy.Proxy).HalfOpen},
	}
	for _, tr := range []string{client.TransportWebSocket, client.TransportPolling} {
		for _, f := range faults {
			t.Run(tr+"/"+f.name, func(t *testing.T) {
				opts := jsOptions()
				nodes := []*recoveryNode{startRecoveryNode(t, ns.url(), opts), startRecoveryNode(t, ns.url(), opts)}
				p, err := faultproxy.New(nodes[0].addr)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = p.Close() })
				sc := startSeqClient(t, "http://"+p.Addr(), []string{tr}, true)
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
					select {
					case d := <-nodes[i%2].data:
						if fmt.Sprint(d) != "map[user:ann]" {
							t.Fatalf("cut %d: data %v", i, d)
						}
					case <-time.After(5 * time.Second):
						t.Fatalf("cut %d: no recovered connection on the server", i)
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

// TestSessionEncoding: the stored form of a session round-trips, binary
// data included, and garbage does not decode.
func TestSessionEncoding(t *testing.T) {
	raw, err := encodeSession("p1", "s1", []string{"s1", "r"}, map[string]any{"user": "ann", "bin": []byte{1, 2}}, 42, "abc", time.UnixMilli(5))
	if err != nil {
		t.Fatal(err)
	}
	st, data, err := decodeSession(raw)
	if err != nil {
		t.Fatal(err)
	}
	if st.SID != "s1" || st.PID != "p1" || strings.Join(st.Rooms, ",") != "s1,r" || st.Since != 42 || st.Owner != "abc" || st.Expires != 5 {
		t.Fatalf("decoded %+v", st)
	}
	m, _ := data.(map[string]any)
	if m["user"] != "ann" || fmt.Sprint(m["bin"]) != "[1 2]" {
		t.Fatalf("data %#v", data)
	}
	for _, bad := range []string{"", "!", "\x91\x01", "\x80", "\x82\xa3sid\xa1s\xa3pid\x01"} {
		if _, _, err := decodeSession([]byte(bad)); err == nil {
			t.Errorf("decodeSession(%q) succeeded", bad)
		}
	}
}

// TestStreamFull: past MaxBytes the stream discards its oldest entries
// (writes never fail); a client whose missed packets were discarded gets a
// fresh session, and later broadcasts reach it.
func TestStreamFull(t *testing.T) {
	ns := startNATSServer(t)
	opts := jsOptions()
	opts.MaxBytes = 16 << 10
	n := startRecoveryNode(t, ns.url(), opts)
	p, err := faultproxy.New(n.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	sc := startSeqClient(t, "http://"+p.Addr(), []string{client.TransportWebSocket}, true)
	<-n.sids
	_ = n.srv.Emit("seq", 0)
	sc.waitCount(t, 1)
	// The client cannot come back until the stream discarded what it
	// missed.
	p.SetTarget("127.0.0.1:1")
	p.Drop()
	_, watch := dial(t, n.hs.URL, nil)
	// Far more than 16 KiB while the client is away. The last one reaches
	// the watcher once read back from the stream, so written (the reader
	// of this server may have missed the first ones: discarded before it
	// read them).
	big := strings.Repeat("x", 1000)
	for i := range 100 {
		if err := n.srv.Emit("filler", i, big); err != nil {
			t.Fatal(err)
		}
	}
	for {
		if got := recv(t, watch); strings.HasPrefix(got, "filler [99,") {
			break
		}
	}
	p.SetTarget(n.addr)
	select {
	case recovered := <-sc.connects:
		if recovered {
			t.Fatal("recovered although the stream discarded what the client missed")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no reconnection")
	}
	select {
	case <-n.sids: // a fresh socket
	case <-time.After(5 * time.Second):
		t.Fatal("no fresh socket")
	}
	_ = n.srv.Emit("seq", 1)
	sc.waitCount(t, 2)
}
