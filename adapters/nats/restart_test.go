package nats

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	socketio "github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/client"
)

// logSink collects what a logger writes.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitConnected waits until every connection is connected to NATS again.
func waitConnected(t *testing.T, conns ...*nats.Conn) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for _, nc := range conns {
		for !nc.IsConnected() {
			if time.Now().After(deadline) {
				t.Fatalf("not reconnected: %v", nc.Status())
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestNATSRestart kills nats-server (SIGKILL) in the middle of a stream of
// broadcasts from two servers, each with a websocket and a polling client,
// and starts it again on the same storage.
//
// Core NATS: what a server broadcasts while NATS is down reaches its own
// clients; nats.go buffers it and publishes it once reconnected, and the
// other server gets it if its own subscriptions are back by then: the
// test measures and logs how many of those were lost. Every broadcast
// sent before the kill and after both servers reconnected reaches every
// client once.
//
// JetStream with recovery: nothing is lost. The entries written while NATS
// is down are retried until it is back; every client gets every broadcast
// exactly once, in stream order.
func TestNATSRestart(t *testing.T) {
	for _, mode := range []string{"core", "jetstream"} {
		t.Run(mode, func(t *testing.T) {
			ns := startNATSServer(t)
			opts := jsOptions()
			logs := &logSink{}
			opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
			recovery := mode == "jetstream"
			var conns []*nats.Conn
			var srvs []*socketio.Server
			var clients [][]*seqClient // per server
			for range 2 {
				nc := connect(t, ns.url())
				conns = append(conns, nc)
				var n *goNode
				if recovery {
					n = startGoNode(t, NewJetStreamAdapter(nc, opts), true, nil)
				} else {
					n = startGoNode(t, NewAdapter(nc, opts.Options), false, nil)
				}
				srvs = append(srvs, n.srv)
				var cs []*seqClient
				for _, tr := range []string{client.TransportWebSocket, client.TransportPolling} {
					cs = append(cs, startSeqClient(t, n.url, []string{tr}, recovery))
				}
				clients = append(clients, cs)
			}
			waitServers(t, 2, &goNode{srv: srvs[0]}, &goNode{srv: srvs[1]})
			n := 0
			sentBy := map[int]int{}
			send := func(k int) {
				for range k {
					if err := srvs[n%2].Emit("seq", n); err != nil {
						t.Fatalf("broadcast %d: %v", n, err)
					}
					sentBy[n] = n % 2
					n++
					time.Sleep(time.Millisecond)
				}
			}
			send(50)
			for _, cs := range clients {
				for _, c := range cs {
					c.waitCount(t, 50)
				}
			}
			ns.kill()
			down := n
			send(50) // while NATS is down
			if recovery {
				deadline := time.Now().Add(10 * time.Second)
				for !strings.Contains(logs.String(), "writing to the stream failed") {
					if time.Now().After(deadline) {
						t.Fatalf("no failed write while NATS is down; logs:\n%s", logs.String())
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			ns.start()
			up := n
			waitConnected(t, conns...)
			send(50)
			total := n
			if recovery {
				for _, cs := range clients {
					for _, c := range cs {
						c.waitCount(t, total)
						c.check(t, total)
					}
				}
				if !strings.Contains(logs.String(), "writing to the stream again") {
					t.Errorf("no recovery logged:\n%s", logs.String())
				}
				return
			}
			// Core NATS: the last broadcast of each server reaches every
			// client, then the losses are counted.
			for si, cs := range clients {
				for ci, c := range cs {
					deadline := time.Now().Add(10 * time.Second)
					for {
						lost, dup := c.missing(total)
						var late []int
						for _, k := range lost {
							if k < down || k >= up {
								late = append(late, k)
							}
						}
						if len(dup) > 0 {
							t.Fatalf("server %d client %d: twice %v", si, ci, dup)
						}
						if len(late) == 0 {
							var own, other int
							for _, k := range lost {
								if sentBy[k] == si {
									own++
								} else {
									other++
								}
							}
							if own > 0 {
								t.Fatalf("server %d client %d lost %d of its own server's broadcasts", si, ci, own)
							}
							t.Logf("server %d client %d: %d of the %d broadcasts the other server sent while NATS was down were lost", si, ci, other, (up-down)/2)
							break
						}
						if time.Now().After(deadline) {
							t.Fatalf("server %d client %d lost %v outside the outage [%d,%d)", si, ci, late, down, up)
						}
						time.Sleep(10 * time.Millisecond)
					}
				}
			}
			_ = fmt.Sprint()
		})
	}
}

// TestStartWithoutNATS: a server whose adapter cannot start (its NATS
// connection is closed) logs it and keeps serving its own clients, without
// connection state recovery.
func TestStartWithoutNATS(t *testing.T) {
	ns := startNATSServer(t)
	for _, mode := range []string{"core", "jetstream"} {
		t.Run(mode, func(t *testing.T) {
			nc := connect(t, ns.url())
			nc.Close()
			logs := &logSink{}
			o := Options{Prefix: testPrefix(), Logger: slog.New(slog.NewTextHandler(logs, nil))}
			var n *goNode
			if mode == "core" {
				n = startGoNode(t, NewAdapter(nc, o), false, nil)
			} else {
				n = startGoNode(t, NewJetStreamAdapter(nc, JetStreamOptions{Options: o}), true, nil)
			}
			s, ev := dial(t, n.url, nil)
			if s.Recovered() {
				t.Fatal("recovered")
			}
			_ = n.srv.Emit("local", 1)
			if got := recv(t, ev); got != `local [1]` {
				t.Fatalf("got %s", got)
			}
			if mode == "jetstream" && !strings.Contains(logs.String(), "no connection state recovery") {
				t.Errorf("not logged:\n%s", logs.String())
			}
		})
	}
}
