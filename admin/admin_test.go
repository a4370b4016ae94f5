package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adapter/cluster"
	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/internal/leakcheck"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

const testPassword = "s3cret"

// testHash is a bcrypt hash of testPassword, at the lowest cost to keep
// the tests fast.
var testHash = func() string {
	h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
}()

// server is an instrumented server under test.
type server struct {
	srv   *socketio.Server
	hs    *httptest.Server
	admin *Admin
}

func newServer(t *testing.T, opts *socketio.Options, aopts Options) *server {
	t.Helper()
	srv := socketio.NewServer(opts)
	a, err := Instrument(srv, aopts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		a.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	return &server{srv: srv, hs: hs, admin: a}
}

// msg is one line of dashboard.mjs.
type msg struct {
	Ev   string            `json:"ev"`
	Args []json.RawMessage `json:"args"`
}

func (m msg) arg(i int, dst any) error {
	if i >= len(m.Args) {
		return fmt.Errorf("%s has no argument %d", m.Ev, i)
	}
	return json.Unmarshal(m.Args[i], dst)
}

// dashboard is the official socket.io-client, connected to the admin
// namespace as the official dashboard connects (interop/dashboard.mjs).
type dashboard struct {
	t     *testing.T
	in    io.WriteCloser
	lines chan msg
	seen  []msg
}

func interopDir(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs("interop")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "socket.io-client", "package.json")); err != nil {
		t.Fatal("admin/interop/node_modules is missing: run `npm ci` in admin/interop/")
	}
	return dir
}

func openDashboard(t *testing.T, url string, auth map[string]any) *dashboard {
	t.Helper()
	authJSON, _ := json.Marshal(auth)
	cmd := exec.Command("node", filepath.Join(interopDir(t), "dashboard.mjs"), url, "/admin", string(authJSON))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &dashboard{t: t, in: in, lines: make(chan msg, 1024)}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(d.lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m msg
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Errorf("dashboard line %q: %v", sc.Text(), err)
				continue
			}
			d.lines <- m
		}
	}()
	t.Cleanup(func() {
		_ = in.Close() // the script closes its socket and exits
		for range d.lines {
		}
		<-readerDone
		_ = cmd.Wait()
	})
	return d
}

// expect waits for an event ev (any event if ev is "") for which match
// returns true, and returns it.
func (d *dashboard) expect(ev string, match func(m msg) bool) msg {
	d.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-d.lines:
			if !ok {
				d.t.Fatalf("dashboard exited while waiting for %s", ev)
			}
			d.seen = append(d.seen, m)
			if (ev == "" || m.Ev == ev) && (match == nil || match(m)) {
				return m
			}
		case <-deadline:
			var evs []string
			for _, m := range d.seen {
				if m.Ev == ev || len(evs) < 20 {
					b, _ := json.Marshal(m)
					evs = append(evs, string(b))
				}
			}
			d.t.Fatalf("no matching %s; saw %v", ev, evs)
		}
	}
}

func (d *dashboard) emit(ev string, args ...any) {
	d.t.Helper()
	b, _ := json.Marshal(map[string]any{"emit": ev, "args": args})
	if _, err := d.in.Write(append(b, '\n')); err != nil {
		d.t.Fatal(err)
	}
}

// goClient connects a Go client to namespace nsp of url.
func goClient(t *testing.T, url, nsp string) *client.Socket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := client.Connect(ctx, url+nsp, &client.Options{Transports: []string{"websocket"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Manager().Close)
	return s
}

type serializedSocket struct {
	ID        string         `json:"id"`
	ClientID  string         `json:"clientId"`
	Transport string         `json:"transport"`
	Nsp       string         `json:"nsp"`
	Data      map[string]any `json:"data"`
	Handshake struct {
		Address string            `json:"address"`
		Headers map[string]string `json:"headers"`
		Query   map[string]string `json:"query"`
		Issued  int64             `json:"issued"`
		Time    string            `json:"time"`
		URL     string            `json:"url"`
	} `json:"handshake"`
	Rooms []string `json:"rooms"`
}

func TestInstrumentOptions(t *testing.T) {
	srv := socketio.NewServer(nil)
	defer srv.Close()
	if _, err := Instrument(srv, Options{}); !errors.Is(err, ErrNoAuth) {
		t.Errorf("no auth: %v, want ErrNoAuth", err)
	}
	if _, err := Instrument(srv, Options{Auth: &BasicAuth{Username: "admin", PasswordHash: "plain"}}); !errors.Is(err, ErrInvalidHash) {
		t.Errorf("plain password: %v, want ErrInvalidHash", err)
	}
}

// TestDashboard drives the admin namespace with the official client, as
// the dashboard does: login, the greeting, the live reports, the actions,
// and a login again with the session id.
func TestDashboard(t *testing.T) {
	s := newServer(t, nil, Options{
		Auth:          &BasicAuth{Username: "admin", PasswordHash: testHash},
		ServerID:      "go-1",
		StatsInterval: 200 * time.Millisecond,
	})
	events := make(chan string, 16)
	s.srv.OnConnection(func(sock *socketio.Socket) {
		sock.SetData(map[string]any{"user": "ann"})
		sock.On("hello", func(e *socketio.Event) { _ = sock.Emit("welcome", "ann") })
		sock.OnDisconnect(func(r socketio.DisconnectReason) { events <- "disconnect " + string(r) })
	})

	bad := openDashboard(t, s.hs.URL, map[string]any{"username": "admin", "password": "wrong"})
	if m := bad.expect("connect_error", nil); string(m.Args[0]) != `"invalid credentials"` {
		t.Fatalf("wrong password: %s", m.Args[0])
	}

	user := goClient(t, s.hs.URL, "/")
	d := openDashboard(t, s.hs.URL, map[string]any{"username": "admin", "password": testPassword})
	var session string
	if err := d.expect("session", nil).arg(0, &session); err != nil || len(session) != 16 {
		t.Fatalf("session id %q %v", session, err)
	}
	var config struct{ SupportedFeatures []string }
	_ = d.expect("config", nil).arg(0, &config)
	want := []string{"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"}
	if !slices.Equal(config.SupportedFeatures, want) {
		t.Errorf("features %v, want %v", config.SupportedFeatures, want)
	}
	var all []serializedSocket
	_ = d.expect("all_sockets", nil).arg(0, &all)
	var sock *serializedSocket
	for i := range all {
		if all[i].ID == user.ID() {
			sock = &all[i]
		}
	}
	if sock == nil {
		t.Fatalf("all_sockets has no %s: %+v", user.ID(), all)
	}
	if sock.Nsp != "/" || sock.Transport != "websocket" || len(sock.ClientID) != 12 ||
		!slices.Equal(sock.Rooms, []string{user.ID()}) || sock.Data["user"] != "ann" ||
		sock.Handshake.Query["EIO"] != "4" || sock.Handshake.Headers["host"] == "" || sock.Handshake.Issued == 0 {
		t.Errorf("serialized socket: %+v", *sock)
	}

	stats := d.expect("server_stats", func(m msg) bool {
		var st serverStats
		_ = m.arg(0, &st)
		return slices.Contains(st.Namespaces, namespaceStats{Name: "/admin", SocketsCount: 1})
	})
	var st serverStats
	_ = stats.arg(0, &st)
	if st.ServerID != "go-1" || st.PID != os.Getpid() || st.Uptime <= 0 ||
		!slices.Contains(st.Namespaces, namespaceStats{Name: "/", SocketsCount: 1}) {
		t.Errorf("server_stats: %+v", st)
	}
	if !strings.Contains(string(stats.Args[0]), `"aggregatedEvents":[`) {
		t.Errorf("server_stats without aggregatedEvents: %s", stats.Args[0])
	}

	// Live reports: a new socket, its events both ways, its rooms.
	user2 := goClient(t, s.hs.URL, "/")
	var connected serializedSocket
	d.expect("socket_connected", func(m msg) bool {
		_ = m.arg(0, &connected)
		var ts string
		_ = m.arg(1, &ts)
		_, err := time.Parse(time.RFC3339, ts)
		return connected.ID == user2.ID() && err == nil
	})
	welcomed := make(chan struct{})
	user2.On("welcome", func(*client.Event) { close(welcomed) })
	if err := user2.Emit("hello", 1, "x"); err != nil {
		t.Fatal(err)
	}
	d.expect("event_received", func(m msg) bool {
		var nsp, id string
		var args []any
		_ = m.arg(0, &nsp)
		_ = m.arg(1, &id)
		_ = m.arg(2, &args)
		return nsp == "/" && id == user2.ID() && fmt.Sprint(args) == "[hello 1 x]"
	})
	d.expect("event_sent", func(m msg) bool { return strings.Contains(string(m.Args[2]), `["welcome","ann"]`) })
	<-welcomed
	// The packets of this exchange are in the next statistics.
	d.expect("server_stats", func(m msg) bool {
		return strings.Contains(string(m.Args[0]), `"type":"packetsIn"`) && strings.Contains(string(m.Args[0]), `"type":"bytesIn"`)
	})

	// Actions: join a room (the socket's own room as the filter, as the
	// dashboard's socket page does), then disconnect the socket.
	d.emit("join", "/", "vip", user.ID())
	d.expect("room_joined", func(m msg) bool {
		return string(m.Args[0]) == `"/"` && string(m.Args[1]) == `"vip"` && string(m.Args[2]) == `"`+user.ID()+`"`
	})
	if rooms := s.srv.Socket(user.ID()).Rooms(); !slices.Contains(rooms, "vip") {
		t.Errorf("rooms after join: %v", rooms)
	}
	d.emit("leave", "/", "vip", user.ID())
	d.expect("room_left", func(m msg) bool { return string(m.Args[1]) == `"vip"` })

	disconnected := make(chan string, 1)
	user.OnDisconnect(func(r client.DisconnectReason) { disconnected <- string(r) })
	userID := user.ID()
	d.emit("_disconnect", "/", false, userID)
	d.expect("socket_disconnected", func(m msg) bool {
		return string(m.Args[1]) == `"`+userID+`"` && string(m.Args[2]) == `"server namespace disconnect"`
	})
	if got := <-events; got != "disconnect server namespace disconnect" {
		t.Errorf("server saw %q", got)
	}
	if r := <-disconnected; r != "io server disconnect" {
		t.Errorf("client saw %q", r)
	}

	// An action on a namespace that does not exist creates nothing.
	d.emit("_disconnect", "/nope", false, nil)
	d.emit("emit", "/", nil, "news", "extra!")
	got := make(chan string, 1)
	user2.On("news", func(e *client.Event) {
		var s string
		_ = e.Decode(&s)
		got <- s
	})
	if g := <-got; g != "extra!" {
		t.Errorf("emit action: %q", g)
	}
	for _, n := range s.srv.Stats().Namespaces {
		if n.Name == "/nope" {
			t.Error("an action created namespace /nope")
		}
	}

	// The session id logs in without the password.
	again := openDashboard(t, s.hs.URL, map[string]any{"sessionId": session})
	again.expect("config", nil)
}

func TestReadOnlyProduction(t *testing.T) {
	s := newServer(t, nil, Options{NoAuth: true, ReadOnly: true, Production: true, StatsInterval: 100 * time.Millisecond})
	user := goClient(t, s.hs.URL, "/")
	d := openDashboard(t, s.hs.URL, map[string]any{})
	var config struct{ SupportedFeatures []string }
	_ = d.expect("config", nil).arg(0, &config)
	if !slices.Equal(config.SupportedFeatures, []string{"AGGREGATED_EVENTS"}) {
		t.Errorf("features %v", config.SupportedFeatures)
	}
	d.emit("_disconnect", "/", false, user.ID())
	// Stats keep coming, and nothing else: no socket list, no reports,
	// and the action was ignored.
	d.expect("server_stats", nil)
	d.expect("server_stats", nil)
	for _, m := range d.seen {
		if m.Ev != "connect" && m.Ev != "config" && m.Ev != "server_stats" {
			t.Errorf("unexpected %s in production mode", m.Ev)
		}
	}
	if s.srv.Socket(user.ID()) == nil {
		t.Error("read-only dashboard disconnected a socket")
	}

	// Once closed, nothing more is aggregated (nor sent).
	s.admin.Close()
	_ = s.admin.events.take()
	goClient(t, s.hs.URL, "/")
	if ev := s.admin.events.take(); len(ev) != 0 {
		t.Errorf("events aggregated after Close: %+v", ev)
	}
	s.admin.Close() // idempotent
}

// TestCluster runs two servers on an in-process bus: the dashboard
// connected to one sees the sockets and the statistics of both, and its
// actions reach a socket of the other.
func TestCluster(t *testing.T) {
	bus := cluster.NewBus()
	newNode := func(id string) *server {
		return newServer(t, &socketio.Options{Adapter: bus.Factory(cluster.Options{})},
			Options{NoAuth: true, ServerID: id, StatsInterval: 100 * time.Millisecond})
	}
	a, b := newNode("A"), newNode("B")
	onB := goClient(t, b.hs.URL, "/")
	d := openDashboard(t, a.hs.URL, map[string]any{})
	var all []serializedSocket
	_ = d.expect("all_sockets", nil).arg(0, &all)
	if !slices.ContainsFunc(all, func(s serializedSocket) bool { return s.ID == onB.ID() }) {
		t.Errorf("all_sockets lacks the socket of server B: %+v", all)
	}
	for _, id := range []string{"A", "B"} {
		d.expect("server_stats", func(m msg) bool {
			var st serverStats
			_ = m.arg(0, &st)
			return st.ServerID == id
		})
	}
	disconnected := make(chan string, 1)
	onB.OnDisconnect(func(r client.DisconnectReason) { disconnected <- string(r) })
	idB := onB.ID()
	d.emit("_disconnect", "/", false, idB)
	d.expect("socket_disconnected", func(m msg) bool { return string(m.Args[1]) == `"`+idB+`"` })
	if r := <-disconnected; r != "io server disconnect" {
		t.Errorf("client on B saw %q", r)
	}
}
