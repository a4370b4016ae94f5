package admin

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/socketio-go/socketio"
)

// startNodeServer runs the official server with the official instrument()
// (interop/node_server.mjs) and returns its URL.
func startNodeServer(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("node", filepath.Join(interopDir(t), "node_server.mjs"))
	cmd.Env = append(os.Environ(), "ADMIN_PASSWORD_HASH="+testHash, "NODE_ENV=")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "listening ") {
		t.Fatalf("node server: %q %v", sc.Text(), sc.Err())
	}
	return strings.TrimPrefix(sc.Text(), "listening ")
}

// session records the messages a dashboard gets from the server at url
// during a fixed scenario: login, a socket connects, sends an event and
// gets one, and is disconnected by the dashboard.
func session(t *testing.T, url string) map[string]msg {
	t.Helper()
	got := map[string]msg{}
	keep := func(m msg) msg { got[m.Ev] = m; return m }
	goClient(t, url, "/")
	d := openDashboard(t, url, map[string]any{"username": "admin", "password": testPassword})
	keep(d.expect("session", nil))
	keep(d.expect("config", nil))
	keep(d.expect("all_sockets", nil))
	keep(d.expect("server_stats", func(m msg) bool {
		var st serverStats
		_ = m.arg(0, &st)
		return slices.Contains(st.Namespaces, namespaceStats{Name: "/admin", SocketsCount: 1})
	}))
	user := goClient(t, url, "/")
	id := user.ID()
	keep(d.expect("socket_connected", func(m msg) bool { return strings.Contains(string(m.Args[0]), id) }))
	keep(d.expect("room_joined", func(m msg) bool { return string(m.Args[1]) == `"lobby"` }))
	if err := user.Emit("hello", 1, "x"); err != nil {
		t.Fatal(err)
	}
	keep(d.expect("event_received", nil))
	keep(d.expect("event_sent", nil))
	d.emit("_disconnect", "/", false, id)
	// In either order: Node.js defers room_left to the next tick, after
	// socket_disconnected; Go reports the rooms left first.
	for range 2 {
		keep(d.expect("", func(m msg) bool {
			_, seen := got[m.Ev]
			return !seen && (m.Ev == "socket_disconnected" || m.Ev == "room_left" && string(m.Args[1]) == `"lobby"`)
		}))
	}
	return got
}

// shape describes a JSON value by its types and object keys: the values
// themselves differ between runs. The contents of headers, query and data
// objects depend on the client and the application, not on the server.
func shape(v any, key string) string {
	switch v := v.(type) {
	case map[string]any:
		if key == "headers" || key == "query" || key == "data" {
			return "object"
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ":" + shape(v[k], k)
		}
		return "{" + strings.Join(parts, ",") + "}"
	case []any:
		if len(v) == 0 {
			return "[]"
		}
		// Arrays of objects (sockets, aggregated events): the union of
		// the element shapes; other arrays (arguments): the element types
		// in order.
		if _, ok := v[0].(map[string]any); ok && key != "args" {
			var shapes []string
			for _, e := range v {
				if s := shape(e, ""); !slices.Contains(shapes, s) {
					shapes = append(shapes, s)
				}
			}
			slices.Sort(shapes)
			return "[" + strings.Join(shapes, "|") + "]"
		}
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = shape(e, "")
		}
		return "[" + strings.Join(parts, ",") + "]"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func argsShape(m msg) string {
	var args []any
	for _, a := range m.Args {
		var v any
		_ = json.Unmarshal(a, &v)
		args = append(args, v)
	}
	return shape(args, "args")
}

// TestSameMessagesAsNode runs one scenario against the official server
// with the official instrument() and against the Go admin package, and
// checks that the dashboard gets the same messages, of the same shape.
func TestSameMessagesAsNode(t *testing.T) {
	node := session(t, startNodeServer(t))
	s := newServer(t, nil, Options{Auth: &BasicAuth{Username: "admin", PasswordHash: testHash}})
	s.srv.OnConnection(func(sock *socketio.Socket) {
		sock.Join("lobby")
		sock.On("hello", func(*socketio.Event) { _ = sock.Emit("welcome", "ann") })
	})
	gosess := session(t, s.hs.URL)
	for ev, nm := range node {
		gm, ok := gosess[ev]
		if !ok {
			t.Errorf("%s: not sent by the Go server", ev)
			continue
		}
		if n, g := argsShape(nm), argsShape(gm); n != g {
			t.Errorf("%s differs:\nnode: %s\ngo:   %s", ev, n, g)
		}
	}
	// The features, exactly.
	if n, g := string(node["config"].Args[0]), string(gosess["config"].Args[0]); n != g {
		t.Errorf("config: node %s, go %s", n, g)
	}
}
