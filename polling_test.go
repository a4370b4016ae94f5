package socketio

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/parser"
)

// pclient is a raw protocol client over HTTP long-polling.
type pclient struct {
	t   *testing.T
	hc  *http.Client
	url string // with EIO, transport and sid
	sid string
	dec parser.Decoder
}

// pollResp is the answer to a GET.
type pollResp struct {
	status int
	body   string
	err    error
}

func (env *testEnv) dialPolling() *pclient {
	env.t.Helper()
	base := env.hs.URL + "/socket.io/?EIO=4&transport=polling"
	hc := http.DefaultClient
	if !ownListener {
		hc = env.hs.Client()
	}
	c := &pclient{t: env.t, hc: hc}
	r := c.do(http.MethodGet, base, "")
	if r.err != nil || r.status != http.StatusOK || !strings.HasPrefix(r.body, "0{") {
		env.t.Fatalf("polling handshake: %d %q %v", r.status, r.body, r.err)
	}
	var open struct {
		SID      string
		Upgrades []string
	}
	if err := json.Unmarshal([]byte(r.body[1:]), &open); err != nil || open.SID == "" {
		env.t.Fatalf("open packet %q: %v", r.body, err)
	}
	c.sid = open.SID
	c.url = base + "&sid=" + open.SID
	return c
}

func (c *pclient) do(method, url, body string) pollResp {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return pollResp{err: err}
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return pollResp{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return pollResp{status: resp.StatusCode, body: string(b), err: err}
}

// getRaw sends a GET and returns the answer as it is.
func (c *pclient) getRaw() pollResp { return c.do(http.MethodGet, c.url, "") }

// getAsync sends a GET on another goroutine.
func (c *pclient) getAsync() <-chan pollResp {
	ch := make(chan pollResp, 1)
	go func() { ch <- c.getRaw() }()
	return ch
}

// waitPollPending waits until the long-polling GET of s's connection is
// pending in the server (its session writable).
func waitPollPending(t *testing.T, s *Socket) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !s.conn.sess.Writable() {
		if time.Now().After(deadline) {
			t.Fatal("no poll pending")
		}
		time.Sleep(time.Millisecond)
	}
}

func (c *pclient) get() string {
	c.t.Helper()
	r := c.getRaw()
	if r.err != nil || r.status != http.StatusOK {
		c.t.Fatalf("GET: %d %q %v", r.status, r.body, r.err)
	}
	return r.body
}

// post sends Engine.IO packets in one payload.
func (c *pclient) post(pkts ...string) {
	c.t.Helper()
	r := c.do(http.MethodPost, c.url, strings.Join(pkts, "\x1e"))
	if r.err != nil || r.status != http.StatusOK || r.body != "ok" {
		c.t.Fatalf("POST %q: %d %q %v", pkts, r.status, r.body, r.err)
	}
}

// decode splits a GET payload into Socket.IO packets (attachments
// reassembled), answering pings.
func (c *pclient) decode(body string) []*parser.Packet {
	c.t.Helper()
	var out []*parser.Packet
	for _, seg := range strings.Split(body, "\x1e") {
		var (
			p   *parser.Packet
			err error
		)
		switch {
		case strings.HasPrefix(seg, "b"):
			b, derr := base64.StdEncoding.DecodeString(seg[1:])
			if derr != nil {
				c.t.Fatalf("base64 %q: %v", seg, derr)
			}
			p, err = c.dec.DecodeBinary(b)
		case strings.HasPrefix(seg, "4"):
			p, err = c.dec.DecodeText([]byte(seg[1:]))
		case seg == "2":
			c.post("3")
			continue
		default:
			c.t.Fatalf("unexpected Engine.IO packet %q", seg)
		}
		if err != nil {
			c.t.Fatalf("decode %q: %v", seg, err)
		}
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// connect joins a namespace over polling and returns the socket id.
func (c *pclient) connect(nsp, auth string) string {
	c.t.Helper()
	prefix := ""
	if nsp != "/" {
		prefix = nsp + ","
	}
	c.post("40" + prefix + auth)
	body := c.get()
	pkts := c.decode(body)
	if len(pkts) != 1 || pkts[0].Type != parser.Connect || pkts[0].Namespace != nsp {
		c.t.Fatalf("connect %s: got %q", nsp, body)
	}
	var p struct{ SID string }
	if err := json.Unmarshal(pkts[0].Data, &p); err != nil || p.SID == "" {
		c.t.Fatalf("CONNECT payload %s", pkts[0].Data)
	}
	return p.SID
}

// pollingEchoServer is the echo application of the protocol test suite,
// plus a handler that asks the client a question.
func pollingEchoServer(t *testing.T, opts *Options) (*testEnv, <-chan *Socket, <-chan ackOutcome) {
	env := newTestEnv(t, opts)
	socks := make(chan *Socket, 4)
	answers := make(chan ackOutcome, 4)
	env.srv.OnConnection(func(s *Socket) {
		s.On("echo", func(e *Event) { _ = s.Emit("echo-back", e.Args().Spread()...) })
		s.On("ack", func(e *Event) { _ = e.Ack(e.Args().Spread()...) })
		s.On("ask", func(e *Event) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			args, err := s.EmitWithAck(ctx, "question", "q")
			answers <- ackOutcome{args, err}
		})
		socks <- s
	})
	return env, socks, answers
}

type ackOutcome struct {
	args Args
	err  error
}

func TestPollingFullFlow(t *testing.T) {
	env, socks, answers := pollingEchoServer(t, nil)
	c := env.dialPolling()
	sid := c.connect("/", `{"token":"p"}`)
	s := recv(t, socks)
	if s.ID() != sid || s.Transport() != "polling" || s.ConnID() != c.sid {
		t.Fatalf("socket %s %s %s, want %s polling %s", s.ID(), s.Transport(), s.ConnID(), sid, c.sid)
	}
	if tok := s.Handshake().Auth["token"]; tok != "p" {
		t.Fatalf("auth %v", s.Handshake().Auth)
	}

	// Exact wire strings: what is POSTed, then what the next GET returns.
	steps := []struct {
		name string
		post []string
		want string
	}{
		{"event", []string{`42["echo","hi",{"n":[1,2]}]`}, `42["echo-back","hi",{"n":[1,2]}]`},
		{"ack", []string{`421["ack",1,"2"]`}, `431[1,"2"]`},
		{"empty ack", []string{`4233["ack"]`}, `4333[]`},
		{"binary event", []string{`451-["echo",{"_placeholder":true,"num":0}]`, "bAQID"},
			"451-[\"echo-back\",{\"_placeholder\":true,\"num\":0}]\x1ebAQID"},
		{"binary ack", []string{`452-9["ack",{"_placeholder":true,"num":0},"x",{"_placeholder":true,"num":1}]`, "bAQID", "bBAUG"},
			"462-9[{\"_placeholder\":true,\"num\":0},\"x\",{\"_placeholder\":true,\"num\":1}]\x1ebAQID\x1ebBAUG"},
		{"two events in one POST", []string{`42["echo",1]`, `42["echo",2]`}, ""},
	}
	for _, st := range steps {
		c.post(st.post...)
		if st.want == "" {
			// Two handlers answered: collect until both are there (they
			// may come in one GET or two).
			var got []string
			for len(got) < 2 {
				for _, p := range c.decode(c.get()) {
					got = append(got, string(p.AppendText(nil)))
				}
			}
			if got[0] != `2["echo-back",1]` || got[1] != `2["echo-back",2]` {
				t.Fatalf("%s: got %q", st.name, got)
			}
			continue
		}
		if got := c.get(); got != st.want {
			t.Fatalf("%s: GET %q, want %q", st.name, got, st.want)
		}
	}

	// A server emit reaches the GET that is waiting.
	pending := c.getAsync()
	waitPollPending(t, s)
	if err := s.Emit("push", 1); err != nil {
		t.Fatal(err)
	}
	if r := recv(t, pending); r.status != http.StatusOK || r.body != `42["push",1]` {
		t.Fatalf("pending GET: %d %q %v", r.status, r.body, r.err)
	}

	// Packets queued while no GET is pending go out together in the next
	// one, in order.
	for _, ev := range []string{"a", "b", "c"} {
		if err := s.Emit(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Emit("bin", []byte{0xff}); err != nil {
		t.Fatal(err)
	}
	if got, want := c.get(), "42[\"a\"]\x1e42[\"b\"]\x1e42[\"c\"]\x1e451-[\"bin\",{\"_placeholder\":true,\"num\":0}]\x1eb/w=="; got != want {
		t.Fatalf("batched GET %q, want %q", got, want)
	}

	// The server asks, the client answers over POST.
	c.post(`42["ask"]`)
	pkts := c.decode(c.get())
	if len(pkts) != 1 || pkts[0].ID == parser.NoID || string(pkts[0].Data) != `["question","q"]` {
		t.Fatalf("question: %d packets, first %v", len(pkts), pkts)
	}
	c.post(`43` + strconv.FormatInt(pkts[0].ID, 10) + `["answer",7]`)
	a := recv(t, answers)
	var str string
	var n int
	if a.err != nil || a.args.Decode(&str, &n) != nil || str != "answer" || n != 7 {
		t.Fatalf("answer %v %v", a.args, a.err)
	}

	// The client leaves the namespace, then closes.
	disc := make(chan DisconnectReason, 1)
	s.OnDisconnect(func(r DisconnectReason) { disc <- r })
	c.post("41")
	if r := recv(t, disc); r != ReasonClientNamespaceDisconnect {
		t.Fatalf("reason %q", r)
	}
	c.post("1")
	if r := c.getRaw(); r.status != http.StatusOK || r.body != "6" {
		// The GET in flight when the client closed gets a noop.
		t.Fatalf("GET after close: %d %q", r.status, r.body)
	}
	if r := c.getRaw(); r.status != http.StatusBadRequest {
		t.Fatalf("second GET after close: %d %q", r.status, r.body)
	}
}

// TestPollingMultiplexedNamespaces: the main and a custom namespace on one
// polling session, packets of both batched in one GET.
func TestPollingMultiplexedNamespaces(t *testing.T) {
	env := newTestEnv(t, nil)
	socks := make(chan *Socket, 2)
	env.srv.OnConnection(func(s *Socket) { socks <- s })
	env.srv.Of("/custom").OnConnection(func(s *Socket) { socks <- s })
	c := env.dialPolling()
	c.connect("/", "")
	main := recv(t, socks)
	c.connect("/custom", "")
	custom := recv(t, socks)
	if main.ConnID() != custom.ConnID() {
		t.Fatal("not the same connection")
	}
	_ = main.Emit("m")
	_ = custom.Emit("c")
	if got, want := c.get(), "42[\"m\"]\x1e42/custom,[\"c\"]"; got != want {
		t.Fatalf("GET %q, want %q", got, want)
	}
}

// TestPollingSlowConsumer: a polling client that does not come back for its
// packets is disconnected with "transport error" once more than
// WriteQueueSize packets wait for it; volatile packets are dropped instead,
// without closing anything.
func TestPollingSlowConsumer(t *testing.T) {
	type step struct {
		volatile bool
		binary   bool // one attachment: two Engine.IO packets
		wantErr  error
	}
	v := step{volatile: true}
	n := step{}
	b := step{binary: true}
	vb := step{volatile: true, binary: true}
	full := func(s step) step { s.wantErr = ErrSlowConsumer; return s }
	tests := []struct {
		name  string
		steps []step
	}{
		{"volatile only is dropped", []step{v, v, v, v, v, v, v, v, v, v, n, n, n, n, n}},
		{"sixth packet closes", []step{n, n, n, n, n, full(n)}},
		{"volatile dropped when full", []step{v, n, n, v, n, n, n, v, v, full(n)}},
		{"binary counts its attachments", []step{b, b, full(b)}},
		{"binary then text fits", []step{b, b, n}},
		{"binary does not fit the last slot", []step{n, n, n, n, full(b)}},
		{"volatile binary dropped", []step{n, n, n, n, vb, vb, n}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, &Options{WriteQueueSize: 5})
			c, s, reasons := env.pollingSocket()
			closed := false
			for i, st := range tt.steps {
				args := []any{i}
				if st.binary {
					args = append(args, []byte{byte(i)})
				}
				var err error
				if st.volatile {
					err = s.Volatile().Emit("e", args...)
				} else {
					err = s.Emit("e", args...)
				}
				if !errors.Is(err, st.wantErr) && !(st.wantErr == nil && err == nil) {
					t.Fatalf("step %d: Emit = %v, want %v", i, err, st.wantErr)
				}
				if st.wantErr != nil {
					closed = true
					break
				}
				if !s.Connected() {
					t.Fatalf("step %d: disconnected", i)
				}
			}
			if !closed {
				// Nothing closed: the GET returns the non-volatile packets.
				var want []string
				for i, st := range tt.steps {
					if st.volatile {
						continue
					}
					if st.binary {
						want = append(want, `451-["e",`+strconv.Itoa(i)+`,{"_placeholder":true,"num":0}]`,
							"b"+base64.StdEncoding.EncodeToString([]byte{byte(i)}))
					} else {
						want = append(want, `42["e",`+strconv.Itoa(i)+`]`)
					}
				}
				if got := c.get(); got != strings.Join(want, "\x1e") {
					t.Fatalf("GET %q, want %q", got, strings.Join(want, "\x1e"))
				}
				return
			}
			if r := recv(t, reasons); r != ReasonTransportError {
				t.Fatalf("reason %q, want %q", r, ReasonTransportError)
			}
			if s.Connected() {
				t.Fatal("still connected")
			}
			if err := s.Emit("late"); !errors.Is(err, ErrDisconnected) {
				t.Fatalf("Emit after close: %v", err)
			}
			if r := c.getRaw(); r.status != http.StatusBadRequest {
				t.Fatalf("GET after slow-consumer close: %d %q", r.status, r.body)
			}
		})
	}
}

// TestPollingClientThatDoesNotReadBlocksNoBroadcast: a polling client that
// sends its GET and then does not read the answer (a large one, more than
// the sockets hold) must not hold up the broadcast that answers it, nor
// the other clients of the room. On the server's own listener the answer
// is written by the broadcasting goroutine itself (see engineio's
// detached polls), so this is what keeps that write from blocking.
func TestPollingClientThatDoesNotReadBlocksNoBroadcast(t *testing.T) {
	env := newTestEnv(t, nil)
	socks := make(chan *Socket, 2)
	env.srv.OnConnection(func(s *Socket) {
		s.Join("room")
		socks <- s
	})
	stalled, other := env.dialPolling(), env.dialPolling()
	stalled.connect("/", "")
	s := recv(t, socks)
	other.connect("/", "")

	// The stalled client's GET, on a connection of its own it never reads.
	nc := rawGET(t, stalled.url)
	defer nc.Close()
	waitPollPending(t, s)

	big := strings.Repeat("x", 16<<20)
	done := make(chan error, 1)
	go func() { done <- env.srv.To("room").Emit("big", big) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Emit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the broadcast is blocked by a client that does not read")
	}
	body := other.get()
	if pkts := other.decode(body); len(pkts) != 1 || len(pkts[0].Data) != len(big)+len(`["big",""]`) {
		t.Fatalf("the other client got %d bytes", len(body))
	}
}

// TestPollingGETConnectionDropped: the client's connection closing under
// its pending GET closes the session with "transport error", as with the
// official server (its poll request closed prematurely), whether the
// poll waits in a handler (mounted on net/http) or is detached (on the
// server's own listener).
func TestPollingGETConnectionDropped(t *testing.T) {
	env := newTestEnv(t, nil)
	c, s, reasons := env.pollingSocket()
	nc := rawGET(t, c.url)
	waitPollPending(t, s)
	_ = nc.Close()
	if r := recv(t, reasons); r != ReasonTransportError {
		t.Fatalf("disconnect reason %q, want %q", r, ReasonTransportError)
	}
}

// rawGET sends a GET for pollURL on a connection of its own, which the
// caller reads or closes.
func rawGET(t *testing.T, pollURL string) net.Conn {
	t.Helper()
	u, err := url.Parse(pollURL)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(nc, "GET "+u.RequestURI()+" HTTP/1.1\r\nHost: "+u.Host+"\r\n\r\n"); err != nil {
		_ = nc.Close()
		t.Fatal(err)
	}
	return nc
}

// pollingSocket connects one polling client to "/" and returns it, its
// server-side socket and the socket's disconnect reason once it comes.
func (env *testEnv) pollingSocket() (*pclient, *Socket, <-chan DisconnectReason) {
	env.t.Helper()
	socks := make(chan *Socket, 1)
	reasons := make(chan DisconnectReason, 1)
	env.srv.OnConnection(func(s *Socket) {
		s.OnDisconnect(func(r DisconnectReason) { reasons <- r })
		socks <- s
	})
	c := env.dialPolling()
	c.connect("/", "")
	return c, recv(env.t, socks), reasons
}
