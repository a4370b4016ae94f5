package redis

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"text/template"
	"time"

	socketio "github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/engineio"
)

// requireTool skips (or fails, under CI) when a program is missing.
func requireTool(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := name + " not found in PATH: " + install
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " (CI is set: a missing dependency fails the run)")
	}
	t.Skip(msg)
	return ""
}

// lbNode is a Go server of the load-balancer tests.
type lbNode struct {
	id        string
	addr      string // host:port
	forwarded atomic.Int32
}

// startLBCluster starts n Go servers on the classic Redis adapter (a
// random key) with, if forwarding, a NodeRegistry to forward the requests
// of sessions owned by another server. Each answers "whoami" with its node
// id and broadcasts "shout" [node id, tag] to the cluster on "shout"; /health
// answers 200.
func startLBCluster(t *testing.T, n int, forwarding bool) []*lbNode {
	t.Helper()
	rdb := newClient(t)
	prefix := randomPrefix()
	var nodes []*lbNode
	for i := range n {
		node := &lbNode{id: fmt.Sprintf("n%d", i)}
		opts := &socketio.Options{
			Adapter:      NewAdapter(rdb, Options{Key: prefix}),
			PingInterval: 2 * time.Second,
			PingTimeout:  2 * time.Second,
		}
		var registry *NodeRegistry
		if forwarding {
			registry = NewNodeRegistry(rdb, NodeRegistryOptions{Key: prefix + "-node"})
			opts.Forwarding = &socketio.ForwardingOptions{NodeID: node.id, Resolver: registry}
		}
		srv := socketio.NewServer(opts)
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("whoami", func(e *socketio.Event) { _ = e.Ack(node.id) })
			s.On("shout", func(e *socketio.Event) {
				var tag string
				_ = e.Decode(&tag)
				_ = srv.Emit("shout", node.id, tag)
			})
		})
		mux := http.NewServeMux()
		mux.HandleFunc("/health", func(http.ResponseWriter, *http.Request) {})
		mux.HandleFunc("/socket.io/", func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get(engineio.ForwardedHeader) != "" {
				node.forwarded.Add(1)
			}
			srv.ServeHTTP(w, r)
		})
		hs := httptest.NewServer(mux)
		node.addr = hs.Listener.Addr().String()
		if registry != nil {
			if err := registry.Register(context.Background(), node.id, hs.URL); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
			hs.Close()
			_ = srv.Close()
			if registry != nil {
				_ = registry.Close()
			}
		})
		nodes = append(nodes, node)
	}
	return nodes
}

// The load balancer configurations under test; {{.Port}} is the port of the
// load balancer, {{range .Nodes}} the Go servers. They are the snippets of
// docs/scaling.md.
const (
	haproxyRoundRobin = `global
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
frontend socketio
    bind 127.0.0.1:{{.Port}}
    default_backend nodes
backend nodes
    balance roundrobin
{{- range .Nodes}}
    server {{.ID}} {{.Addr}} check
{{- end}}
`
	// Sticky sessions: a cookie names the server; the first request
	// (the handshake) is balanced round robin.
	haproxySticky = `global
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
frontend socketio
    bind 127.0.0.1:{{.Port}}
    default_backend nodes
backend nodes
    balance roundrobin
    cookie SERVERID insert indirect nocache
{{- range .Nodes}}
    server {{.ID}} {{.Addr}} check cookie {{.ID}}
{{- end}}
`
	nginxRoundRobin = `daemon off;
worker_processes 1;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path {{.Dir}}/body;
    proxy_temp_path {{.Dir}}/proxy;
    fastcgi_temp_path {{.Dir}}/fastcgi;
    uwsgi_temp_path {{.Dir}}/uwsgi;
    scgi_temp_path {{.Dir}}/scgi;
    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }
    upstream nodes {
        # round robin, no ip_hash: requests of a session reach any server
{{- range .Nodes}}
        server {{.Addr}};
{{- end}}
        keepalive 16;
    }
    server {
        listen 127.0.0.1:{{.Port}};
        location /socket.io/ {
            proxy_pass http://nodes;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 1h;
            proxy_buffering off;
        }
        location / {
            proxy_pass http://nodes;
        }
    }
}
`
)

// startLB writes the configuration into a temporary directory, starts the
// load balancer (command is "haproxy" or "nginx") and returns its URL once
// it accepts connections.
func startLB(t *testing.T, command, config string, nodes []*lbNode) string {
	t.Helper()
	bin := requireTool(t, command, "apt-get install "+command)
	dir := t.TempDir()
	type tmplNode struct{ ID, Addr string }
	data := struct {
		Port  int
		Dir   string
		Nodes []tmplNode
	}{Port: freePort(t), Dir: dir}
	for _, n := range nodes {
		data.Nodes = append(data.Nodes, tmplNode{n.id, n.addr})
	}
	var b strings.Builder
	if err := template.Must(template.New("").Parse(config)).Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, command+".cfg")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var cmd *exec.Cmd
	if command == "haproxy" {
		cmd = exec.Command(bin, "-db", "-f", cfg) // -db: foreground
	} else {
		// "daemon off" is in the file; the workers (user nobody when
		// started as root) need to reach the temporary directories.
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd = exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", cfg)
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		// SIGTERM: nginx's master then stops its workers (SIGKILL
		// would leave them running).
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
		if t.Failed() {
			t.Logf("%s output:\n%s", command, out.String())
		}
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", data.Port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url + "/health")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("%s exited: %v\n%s", command, err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not answer on %s: %v\n%s", command, url, err, out.String())
		}
		time.Sleep(20 * time.Millisecond) // nothing to await: the process gives no readiness signal
	}
	http.DefaultClient.CloseIdleConnections()
	return url
}

// runLBClients runs interop/lb-client.mjs against the load balancer.
func runLBClients(t *testing.T, url string, env ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "lb-client.mjs")
	cmd.Dir = interopDir
	cmd.Env = append(os.Environ(), append(env, "LB_URL="+url)...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node lb-client.mjs: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestLoadBalancers runs official clients (long-polling only, and with the
// upgrade to WebSocket) through HAProxy and nginx in front of three Go
// servers on Redis: with sticky sessions and no forwarding (the setup the
// official server needs), and round robin without stickiness, which works
// because the servers forward requests to the owner of the session.
func TestLoadBalancers(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts load balancers and Node clients")
	}
	requireNodePackages(t)
	for _, tc := range []struct {
		name, command, config string
		forwarding            bool
		env                   []string
	}{
		{"haproxy/sticky-cookie", "haproxy", haproxySticky, false, []string{"WITH_CREDENTIALS=1"}},
		{"haproxy/round-robin", "haproxy", haproxyRoundRobin, true, nil},
		{"nginx/round-robin", "nginx", nginxRoundRobin, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			nodes := startLBCluster(t, 3, tc.forwarding)
			url := startLB(t, tc.command, tc.config, nodes)
			out := runLBClients(t, url, tc.env...)
			var forwarded []string
			total := int32(0)
			for _, n := range nodes {
				forwarded = append(forwarded, fmt.Sprintf("%s:%d", n.id, n.forwarded.Load()))
				total += n.forwarded.Load()
			}
			if tc.forwarding && total == 0 {
				t.Fatal("no request was forwarded: the load balancer was sticky, the test proves nothing")
			}
			t.Logf("%v, forwarded requests received %v\n%s", time.Since(start).Round(time.Millisecond), forwarded, out)
		})
	}
}

// TestLoadBalancerNeedsForwarding is the control of TestLoadBalancers:
// behind HAProxy round robin, servers without forwarding refuse most
// requests of a long-polling session (they do not know its sid).
func TestLoadBalancerNeedsForwarding(t *testing.T) {
	nodes := startLBCluster(t, 3, false)
	url := startLB(t, "haproxy", haproxyRoundRobin, nodes) + "/socket.io/?EIO=4&transport=polling"
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	i := strings.Index(string(body), `"sid":"`)
	if i < 0 {
		t.Fatalf("handshake: %q", body)
	}
	sid := string(body[i+7 : i+27])
	refused := 0
	for range 3 {
		resp, err := c.Post(url+"&sid="+sid, "text/plain", strings.NewReader("6")) // a noop: harmless on the owner
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 400 && string(b) == `{"code":1,"message":"Session ID unknown"}` {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("no request refused: the load balancer was sticky, TestLoadBalancers proves nothing")
	}
}
