package socketio_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adapter/cluster"
	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/engineio"
)

// roundRobin is a load balancer without sticky sessions: every request
// (the WebSocket upgrade included) goes to the next backend. Handshakes
// (requests without a sid) have their own turn, so that a few clients
// open sessions on every backend whatever their number of requests.
type roundRobin struct {
	next, nextHandshake atomic.Uint32
	backends            []*httputil.ReverseProxy
}

func newRoundRobin(urls ...string) *roundRobin {
	rr := &roundRobin{}
	for _, raw := range urls {
		u, _ := url.Parse(raw)
		rr.backends = append(rr.backends, &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(u)
				pr.Out.Host = pr.In.Host
			},
			ErrorLog: log.New(io.Discard, "", 0), // the clients close connections
		})
	}
	return rr
}

func (rr *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	turn := &rr.next
	if r.URL.Query().Get("sid") == "" {
		turn = &rr.nextHandshake
	}
	rr.backends[int(turn.Add(1))%len(rr.backends)].ServeHTTP(w, r)
}

// TestForwardingRoundRobin runs three servers behind a round-robin load
// balancer: without forwarding a long-polling client cannot even connect;
// with it, clients connect by long-polling and by WebSocket after the
// upgrade, get their acknowledgements and the broadcasts of every server.
func TestForwardingRoundRobin(t *testing.T) {
	for _, transports := range [][]string{{client.TransportPolling}, nil} {
		name := "polling+upgrade"
		if transports != nil {
			name = "polling"
		}
		t.Run(name, func(t *testing.T) {
			bus := cluster.NewBus()
			resolver := socketio.StaticResolver{}
			var forwarded atomic.Int32
			var urls []string
			for i := range 3 {
				id := fmt.Sprintf("n%d", i)
				srv := socketio.NewServer(&socketio.Options{
					Adapter:    bus.Factory(cluster.Options{}),
					Forwarding: &socketio.ForwardingOptions{NodeID: id, Resolver: resolver},
				})
				srv.OnConnection(func(s *socketio.Socket) {
					s.On("whoami", socketio.HandleAck(func(context.Context, *socketio.Socket, struct{}) (string, error) {
						return id, nil
					}))
					s.On("shout", func(e *socketio.Event) {
						_ = srv.Emit("shout", id)
					})
				})
				hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Header.Get(engineio.ForwardedHeader) != "" {
						forwarded.Add(1)
					}
					srv.ServeHTTP(w, r)
				}))
				t.Cleanup(func() {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					_ = srv.Shutdown(ctx)
					hs.Close()
					_ = srv.Close()
				})
				resolver[id] = hs.URL
				urls = append(urls, hs.URL)
			}
			lb := httptest.NewServer(newRoundRobin(urls...))
			t.Cleanup(lb.Close)

			// Clients until every server has one: each request goes to the
			// next server, the handshakes included.
			type conn struct {
				s      *client.Socket
				node   string
				shouts chan string
			}
			var conns []conn
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			nodes := map[string]bool{}
			for len(nodes) < 3 && len(conns) < 12 {
				m, err := client.NewManager(lb.URL, &client.Options{Transports: transports})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(m.Close)
				s := m.Socket("/", nil)
				shouts := make(chan string, 16)
				s.On("shout", func(e *client.Event) {
					var from string
					_ = e.Decode(&from)
					shouts <- from
				})
				if err := s.Connect(ctx); err != nil {
					t.Fatal(err)
				}
				ans, err := s.EmitWithAck(ctx, "whoami", struct{}{})
				if err != nil {
					t.Fatal(err)
				}
				var node string
				if err := ans.Decode(&node); err != nil {
					t.Fatal(err)
				}
				conns = append(conns, conn{s, node, shouts})
				nodes[node] = true
			}
			if len(nodes) != 3 {
				t.Fatalf("clients on nodes %v, want one per node", nodes)
			}
			for _, c := range conns {
				if err := c.s.Emit("shout"); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range conns {
				got := map[string]bool{}
				for range conns {
					select {
					case from := <-c.shouts:
						got[from] = true
					case <-ctx.Done():
						t.Fatalf("client on %s got shouts from %v only", c.node, got)
					}
				}
				if len(got) != 3 {
					t.Fatalf("client on %s got shouts from %v, want every node", c.node, got)
				}
			}
			if forwarded.Load() == 0 {
				t.Fatal("no request was forwarded: the test proves nothing")
			}
			t.Logf("%d requests forwarded", forwarded.Load())
		})
	}
}

// Servers behind a load balancer without sticky sessions: each server has
// a node id, and a resolver finds the others (here a fixed list; the
// adapters/redis module has a registry in Redis, NodeRegistry).
func ExampleForwardingOptions() {
	srv := socketio.NewServer(&socketio.Options{
		Forwarding: &socketio.ForwardingOptions{
			NodeID: "node1",
			Resolver: socketio.StaticResolver{
				"node1": "http://10.0.0.1:3000",
				"node2": "http://10.0.0.2:3000",
				"node3": "http://10.0.0.3:3000",
			},
		},
		// Adapter: a cluster adapter (Redis...) to carry the broadcasts.
	})
	_ = srv
}
