package nats

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/internal/faultproxy"
)

// TestNodeKilled kills (SIGKILL) a Go server running in a process of its
// own: the other server forgets it within ProbeInterval (its NATS
// connection closed: its subject has no responders), so that requests do
// not wait for it until the timeout.
func TestNodeKilled(t *testing.T) {
	for _, mode := range []string{"core", "jetstream"} {
		t.Run(mode, func(t *testing.T) {
			ns := startNATSServer(t)
			opts := jsOptions()
			opts.RequestsTimeout = 3 * time.Second
			victim := startNodeProcess(t, mode, ns.url(), opts.Prefix, opts.Stream)
			var b *goNode
			if mode == "core" {
				b = startGoNode(t, NewAdapter(connect(t, ns.url()), opts.Options), false, setupApp("b"))
			} else {
				b = startGoNode(t, NewJetStreamAdapter(connect(t, ns.url()), opts), true, setupApp("b"))
			}
			waitServers(t, 2, b)
			ctx := context.Background()
			answers, err := b.srv.ServerSideEmitWithAck(ctx, "hello")
			if err != nil || len(answers) != 1 {
				t.Fatalf("answers %v %v", answers, err)
			}
			victim.kill(t)
			killed := time.Now()
			// A request right after the death ends when the server is
			// forgotten, not at the timeout.
			answers, err = b.srv.ServerSideEmitWithAck(ctx, "hello")
			d := time.Since(killed)
			if err != nil || len(answers) != 0 {
				t.Fatalf("after the kill: answers %v err %v", answers, err)
			}
			if d > 2500*time.Millisecond {
				t.Fatalf("the request waited %v for a dead server", d)
			}
			t.Logf("request after SIGKILL ended after %v", d)
			waitServers(t, 1, b)
		})
	}
}

// TestRecoveryAfterNodeKilled kills (SIGKILL) the server process of a
// client while another server broadcasts: the client recovers its session
// on the other server — its id, its rooms, its data — and gets every event
// exactly once, in order.
func TestRecoveryAfterNodeKilled(t *testing.T) {
	ns := startNATSServer(t)
	for _, tr := range []string{client.TransportWebSocket, client.TransportPolling} {
		t.Run(tr, func(t *testing.T) {
			opts := jsOptions()
			victim := startNodeProcess(t, "jetstream", ns.url(), opts.Prefix, opts.Stream)
			b := startRecoveryNode(t, ns.url(), opts)
			waitServers(t, 2, &goNode{srv: b.srv})
			p, err := faultproxy.New(strings.TrimPrefix(victim.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Close() })
			sc := startSeqClient(t, "http://"+p.Addr(), []string{tr}, true)
			sid := sc.s.ID()
			waitInRoom(t, b, sid, "r") // the victim's connection handler ran
			_ = b.srv.To("r").Emit("seq", 0)
			sc.waitCount(t, 1)
			// The data set in the connection handler reaches the bucket
			// within SessionFlushInterval.
			waitLiveData(t, ns.url(), opts, sid, "ann")

			victim.kill(t)
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
			if d := fmt.Sprint(<-b.data); d != "map[user:ann]" {
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

// waitLiveData waits until the bucket holds the session of a connected
// socket with want in its data.
func waitLiveData(t *testing.T, url string, opts JetStreamOptions, sid, want string) {
	t.Helper()
	opts.defaults()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := liveStored(ctx, connect(t, url), opts.SessionBucket, sid, want); err != nil {
		t.Fatalf("no live session of %s with %q in its data: %v", sid, want, err)
	}
}

// waitInRoom waits until a FetchSockets from n finds socket sid in room.
func waitInRoom(t *testing.T, n *recoveryNode, sid, room string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		socks, err := n.srv.In(room).FetchSockets(ctx)
		cancel()
		if err == nil && len(socks) == 1 && socks[0].ID() == sid {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("socket %s not in %s: %v %v", sid, room, ids(socks), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
