package interopclient

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/socketio-go/socketio/client"
)

// TestReconnectAfterKill kills the server (SIGKILL) and restarts it on the
// same port: the Manager reconnects (reconnect_attempt, reconnect), the
// namespaces are joined again (AuthFunc called again), the events emitted
// while disconnected are delivered and the volatile ones dropped.
func TestReconnectAfterKill(t *testing.T) {
	forTargets(t, func(t *testing.T, target string) {
		forModes(t, func(t *testing.T, tr []string) {
			srv := startServer(t, target, nil)
			m := newManager(t, srv.url(), tr, nil)
			var attempts, reconnects atomic.Int32
			reconnected := make(chan int, 1)
			m.OnReconnectAttempt(func(int) { attempts.Add(1) })
			m.OnReconnect(func(n int) { reconnects.Add(1); reconnected <- n })
			var authCalls [2]atomic.Int32
			auth := func(i int) client.AuthFunc {
				return func(context.Context) (any, error) {
					return map[string]int32{"call": authCalls[i].Add(1)}, nil
				}
			}
			s := m.Socket("/", &client.SocketOptions{AuthFunc: auth(0)})
			c := m.Socket("/custom", &client.SocketOptions{AuthFunc: auth(1)})
			h1, hc1 := connectHello(t, s), connectHello(t, c)
			if tr == nil {
				waitTransport(t, m, client.TransportWebSocket)
			}
			helloS, helloC := collect(s, "hello"), collect(c, "hello")
			echoS, echoC := collect(s, "echo"), collect(c, "echo")
			why := reasons(s)

			srv.kill()
			want := client.ReasonTransportClose
			if len(tr) == 1 && tr[0] == client.TransportPolling {
				want = client.ReasonTransportError
			}
			if r := recv(t, why, "OnDisconnect"); r != want {
				t.Fatalf("reason %q, want %q", r, want)
			}
			if s.Connected() || !s.Active() {
				t.Fatal("socket should be disconnected and active")
			}
			// Offline: buffered, except volatile.
			_ = s.Emit("echo", "offline-1")
			_ = s.Volatile().Emit("echo", "volatile-dropped")
			_ = c.Emit("echo", "offline-custom")
			_ = s.Emit("echo", "offline-2", []byte{1, 2})
			acked := make(chan string, 1)
			go func() {
				a, err := s.EmitWithAck(testCtx(t), "echo-ack", "offline-ack")
				if err != nil {
					acked <- err.Error()
					return
				}
				b, _ := a.MarshalJSON()
				acked <- string(b)
			}()
			srv.restart(t)

			n := recv(t, reconnected, "OnReconnect")
			if n < 1 || attempts.Load() < int32(n) {
				t.Fatalf("reconnect after %d attempts, %d attempt events", n, attempts.Load())
			}
			var h2, hc2 hello
			_ = recv(t, helloS, "hello /").Decode(&h2)
			_ = recv(t, helloC, "hello /custom").Decode(&hc2)
			if h2.ID == h1.ID || hc2.ID == hc1.ID || string(h2.Auth) != `{"call":2}` || string(hc2.Auth) != `{"call":2}` {
				t.Fatalf("after reconnect: %+v %+v (before %+v %+v)", h2, hc2, h1, hc1)
			}
			for _, w := range []string{"offline-1", "offline-2"} {
				var v string
				if err := recv(t, echoS, "echo "+w).Decode(&v); err != nil || v != w {
					t.Fatalf("echo %q, want %q", v, w)
				}
			}
			var v string
			if _ = recv(t, echoC, "echo /custom").Decode(&v); v != "offline-custom" {
				t.Fatalf("echo /custom %q", v)
			}
			if got := recv(t, acked, "offline EmitWithAck"); got != `["offline-ack"]` {
				t.Fatalf("offline EmitWithAck: %s", got)
			}
			flush(t, s)
			for len(echoS) > 0 {
				if e := <-echoS; string(e.Args().Raw(0)) == `"volatile-dropped"` {
					t.Fatal("the volatile event emitted while disconnected was delivered")
				}
			}
			srv.waitLog(t, "connection of the new /custom socket", func(l logLine) bool { return l.Event == "connection" && l.ID == hc2.ID })
			if reconnects.Load() != 1 {
				t.Fatalf("%d reconnect events", reconnects.Load())
			}
		})
	})
}

// TestReconnectFailed covers reconnectionAttempts: reconnect_attempt and
// reconnect_error per attempt, then reconnect_failed.
func TestReconnectFailed(t *testing.T) {
	forTargets(t, func(t *testing.T, target string) {
		forModes(t, func(t *testing.T, tr []string) {
			srv := startServer(t, target, nil)
			m := newManager(t, srv.url(), tr, &client.Options{ReconnectionAttempts: 2})
			var mu sync.Mutex
			var log []string
			failed := make(chan struct{})
			m.OnReconnectAttempt(func(n int) { mu.Lock(); log = append(log, "attempt"); mu.Unlock() })
			m.OnReconnectError(func(error) { mu.Lock(); log = append(log, "error"); mu.Unlock() })
			var failedOnce sync.Once // the Connect below fails it again
			m.OnReconnectFailed(func() { failedOnce.Do(func() { close(failed) }) })
			s := m.Socket("/", nil)
			connectHello(t, s)
			srv.kill()
			recv(t, failed, "OnReconnectFailed")
			mu.Lock()
			defer mu.Unlock()
			if got := len(log); got != 4 || log[0] != "attempt" || log[1] != "error" || log[2] != "attempt" || log[3] != "error" {
				t.Fatalf("events %v", log)
			}
			// A new Connect tries again, and fails for good with
			// reconnection exhausted.
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if err := s.Connect(ctx); !errors.Is(err, client.ErrReconnectFailed) {
				t.Fatalf("Connect = %v", err)
			}
		})
	})
}
