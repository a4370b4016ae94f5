package socketio

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketio-go/socketio/parser"
)

// TestV2ClientInterop runs interop/v2/test/v2.test.js: the official
// socket.io-client 2.5.0 (and a 4.8 client for a mixed broadcast) against
// this server with AllowEIO3, and a v2 client refused without it.
func TestV2ClientInterop(t *testing.T) {
	modules, _ := filepath.Abs("interop/v2/node_modules")
	node, err := exec.LookPath("node")
	if _, serr := os.Stat(filepath.Join(modules, "socket.io-client", "package.json")); err != nil || serr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node or interop/v2/node_modules missing: run npm ci in interop/v2 (%v, %v)", err, serr)
		}
		t.Skip("node or interop/v2/node_modules missing: run npm ci in interop/v2")
	}
	run := func(t *testing.T, urlOn, urlOff string) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, "--test", "--test-concurrency=1", "--test-reporter=spec", "test/v2.test.js")
		cmd.Dir = "interop/v2"
		cmd.Env = append(os.Environ(), "URL_ON="+urlOn, "URL_OFF="+urlOff)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "fail 0") || strings.Contains(string(out), "pass 0") {
			t.Fatalf("node --test: %v\n%s", err, out)
		}
		t.Logf("%s", out)
	}
	t.Run("go", func(t *testing.T) {
		env := newTestEnv(t, &Options{
			AllowEIO3:    true,
			PingInterval: v2PingInterval * time.Millisecond,
			PingTimeout:  v2PingTimeout * time.Millisecond,
		})
		left := serveV2App(env.srv)
		off := newTestEnv(t, nil)
		run(t, env.hs.URL, off.hs.URL)
		// Each mode's /admin client left with admin.disconnect().
		waitUntil(t, func() bool { return left.Load() == 4 })
	})
	// The reference: the same tests against the official server.
	t.Run("official socket.io 4.8.4", func(t *testing.T) {
		cmd := exec.Command(node, "official-server.cjs")
		cmd.Dir = "interop/v2"
		cmd.Env = append(os.Environ(), fmt.Sprintf("PING_INTERVAL=%d", v2PingInterval), fmt.Sprintf("PING_TIMEOUT=%d", v2PingTimeout))
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			_ = stdin.Close() // the server exits when its stdin closes
			_ = cmd.Wait()
		}()
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			t.Fatalf("official server: %v", err)
		}
		var on, off string
		if _, err := fmt.Sscanf(strings.TrimSpace(line), "URL_ON=%s URL_OFF=%s", &on, &off); err != nil {
			t.Fatalf("official server printed %q: %v", line, err)
		}
		run(t, on, off)
	})
}

// The heartbeat of the servers of TestV2ClientInterop, in milliseconds: a
// v2 client must ping within 3 s; the test waits longer. (Shorter ones
// made the official server drop clients on a loaded machine.)
const (
	v2PingInterval = 1000
	v2PingTimeout  = 2000
)

// serveV2App is the server side of interop/v2/test/v2.test.js.
// It returns the count of /admin sockets that left with "client namespace
// disconnect".
func serveV2App(srv *Server) *atomic.Int32 {
	var left atomic.Int32
	srv.OnConnection(func(s *Socket) {
		s.Join("mix")
		s.On("whoami", func(e *Event) {
			_ = e.Ack(map[string]any{"id": s.ID(), "query": s.Handshake().Query.Get("token")})
		})
		s.On("echo", func(e *Event) { _ = e.Ack(e.Args().Spread()...) })
		s.On("emit-back", func(e *Event) { _ = s.Emit("back", e.Args().Spread()...) })
		s.On("ask", func(e *Event) {
			e.Detach()
			ctx, cancel := context.WithTimeout(s.Context(), 5*time.Second)
			defer cancel()
			a, err := s.EmitWithAck(ctx, "question", 21)
			if err == nil {
				_ = s.Emit("answer", a.Spread()...)
			}
		})
		s.On("bin", func(e *Event) { _ = e.Ack(e.Args().Spread()...) })
		s.On("send-bin", func(e *Event) {
			_ = s.Emit("bin", []byte{0, 1, 2}, map[string]any{"nested": []byte{9, 8}})
		})
		s.On("kick", func(e *Event) { s.Disconnect(false) })
		s.On("broadcast", func(e *Event) {
			var v any
			_ = e.Decode(&v)
			_ = srv.To("mix").Emit("news", v, []byte{7, 7})
			_ = e.Ack(len(srv.Sockets()))
		})
	})
	admin := srv.Of("/admin")
	admin.OnConnection(func(s *Socket) {
		_ = s.Emit("hello", map[string]any{"id": s.ID(), "auth": s.Handshake().Auth})
		s.OnDisconnect(func(r DisconnectReason) {
			if r == ReasonClientNamespaceDisconnect {
				left.Add(1)
			}
		})
		s.On("echo", func(e *Event) { _ = e.Ack(e.Args().Spread()...) })
	})
	srv.Of("/private").Use(func(context.Context, *Socket) error { return errors.New("not authorized") })
	srv.Of("/private-data").Use(func(context.Context, *Socket) error {
		return &ConnectError{Message: "refused", Data: map[string]any{"code": 42}}
	})
	return &left
}

func TestV3ConnectQueryAsAuth(t *testing.T) {
	for nsp, want := range map[string]string{
		"/admin":                     `{}`,
		"/admin?":                    `{}`,
		"/admin?token=abc":           `{"token":"abc"}`,
		"/admin?a=1&b=x+y&a=2":       `{"a":"2","b":"x y"}`,
		"/admin?k=%C3%A9%2&e&=v":     `{"k":"é%2","e":"","":"v"}`,
		"/admin?q=%22quoted%22%0A&z": `{"q":"\"quoted\"\n","z":""}`,
	} {
		p := v3Connect(&parser.Packet{Type: parser.Connect, Namespace: nsp, ID: parser.NoID})
		if p.Namespace != "/admin" || string(p.Data) != want {
			t.Errorf("%q: namespace %q auth %s, want /admin %s", nsp, p.Namespace, p.Data, want)
		}
	}
}

// A v2 client that sends CONNECT for a namespace it joined (with another
// query) is closed, as by the official server, which compares namespaces
// without their query.
func TestV3SecondConnectCloses(t *testing.T) {
	env := newTestEnv(t, &Options{AllowEIO3: true})
	env.srv.Of("/admin")
	ts := env.hs
	hc := http.DefaultClient
	if !ownListener {
		hc = ts.Client()
	}
	get := func(q string) string {
		resp, err := hc.Get(ts.URL + "/socket.io/?EIO=3&transport=polling" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	post := func(q, body string) {
		resp, err := hc.Post(ts.URL+"/socket.io/?EIO=3&transport=polling"+q, "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	open := get("")
	var h struct{ SID string }
	// The CONNECT of / (a v3 client is connected to it at once) may come
	// with the open packet, when it was queued before the handshake's
	// response was written, or in the next poll.
	body, connected := strings.CutSuffix(open, "2:40")
	if err := json.Unmarshal([]byte(body[strings.Index(body, "{"):]), &h); err != nil {
		t.Fatalf("%q: %v", open, err)
	}
	q := "&sid=" + h.SID
	if !connected {
		if got := get(q); got != "2:40" {
			t.Fatalf("got %q, want the CONNECT of /", got)
		}
	}
	post(q, "13:40/admin?a=1,")
	if got := get(q); got != "9:40/admin," {
		t.Fatalf("got %q, want the CONNECT of /admin without payload", got)
	}
	post(q, "13:40/admin?a=2,")
	if got := get(q); got != "1:1" {
		t.Fatalf("got %q, want the close packet", got)
	}
}

// waitUntil polls cond until it holds, failing after 5 s (for state no
// event reports).
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
