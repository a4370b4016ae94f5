package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	socketio "github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/adapter/cluster"
	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/internal/leakcheck"
)

func TestMain(m *testing.M) {
	if os.Getenv(killNodeEnv) != "" {
		// This process is a node of TestNodeKilled, not a test run.
		os.Exit(runKillNode())
	}
	os.Exit(leakcheck.Run(m))
}

// pgURL is the PostgreSQL the tests use: $PG_URL, or 127.0.0.1:5432
// (trust auth, database test), started with pg_ctlcluster when nothing
// answers there.
func pgURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("PG_URL")
	if u == "" {
		u = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ping := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		pool, err := pgxpool.New(ctx, u)
		if err != nil {
			return err
		}
		defer pool.Close()
		return pool.Ping(ctx)
	}
	if ping() == nil {
		return u
	}
	if os.Getenv("PG_URL") != "" {
		t.Fatalf("no PostgreSQL at $PG_URL=%s", u)
	}
	versions, _ := os.ReadDir("/etc/postgresql")
	if len(versions) == 0 {
		t.Fatal("no PostgreSQL at 127.0.0.1:5432 and none installed (/etc/postgresql)")
	}
	cmd := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", versions[0].Name(), "main", "start")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("no PostgreSQL at 127.0.0.1:5432 and pg_ctlcluster failed: %v %s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for ping() != nil {
		if time.Now().After(deadline) {
			t.Fatal("PostgreSQL started but 127.0.0.1:5432 does not answer")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return u
}

func newPool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func randomName() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "test_" + hex.EncodeToString(b[:])
}

// testOptions returns options of a cluster of its own: a random channel
// prefix and an attachment table created for the test (dropped after
// it), heartbeats every 200ms.
func testOptions(t testing.TB, pool *pgxpool.Pool) Options {
	t.Helper()
	name := randomName()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := CreateAttachmentTable(ctx, pool, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = pool.Exec(ctx, "DROP TABLE IF EXISTS "+name)
	})
	return Options{
		ChannelPrefix:     name,
		TableName:         name,
		HeartbeatInterval: 200 * time.Millisecond,
		HeartbeatTimeout:  time.Second,
		RequestsTimeout:   3 * time.Second,
	}
}

type goNode struct {
	srv *socketio.Server
	url string
}

func startGoNode(t *testing.T, factory adapter.Factory, setup func(*socketio.Server)) *goNode {
	t.Helper()
	srv := socketio.NewServer(&socketio.Options{Adapter: factory})
	if setup != nil {
		setup(srv)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	return &goNode{srv: srv, url: hs.URL}
}

func dial(t *testing.T, url string, auth map[string]any) (*client.Socket, <-chan string) {
	t.Helper()
	m, err := client.NewManager(url, &client.Options{Transports: []string{client.TransportWebSocket}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	s := m.Socket("/", &client.SocketOptions{Auth: auth})
	events := make(chan string, 64)
	s.OnAny(func(e *client.Event) {
		b, _ := json.Marshal(e.Args())
		events <- e.Name() + " " + string(b)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	return s, events
}

func recv(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("timeout")
		return ""
	}
}

// joinFromAuth joins the rooms of the handshake's auth.rooms and answers
// the "hello" server-side event.
func joinFromAuth(srv *socketio.Server) {
	srv.Use(func(_ context.Context, s *socketio.Socket) error {
		if rooms, ok := s.Handshake().Auth["rooms"].([]any); ok {
			for _, r := range rooms {
				s.Join(fmt.Sprint(r))
			}
		}
		return nil
	})
	srv.OnServerSideEmit("hello", func(e *socketio.ServerEvent) {
		if e.HasAck() {
			_ = e.Ack("go")
		}
	})
}

// clusterAdapter returns the cluster adapter of srv's main namespace.
func clusterAdapter(t testing.TB, srv *socketio.Server) *cluster.Adapter {
	t.Helper()
	a, ok := srv.Of("/").Adapter().(*cluster.Adapter)
	if !ok {
		t.Fatalf("adapter %T", srv.Of("/").Adapter())
	}
	return a
}

// waitFor polls cond until it holds (no event tells these conditions).
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitServers waits until every node counts n servers.
func waitServers(t testing.TB, n int, nodes ...*socketio.Server) {
	t.Helper()
	for _, srv := range nodes {
		waitFor(t, 5*time.Second, fmt.Sprintf("%d servers counted", n), func() bool {
			c, _ := srv.Of("/").Adapter().ServerCount(context.Background())
			return c == n
		})
	}
}

// logSink collects log output.
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

func (l *logSink) count(substr string) int { return strings.Count(l.String(), substr) }

func newLogSink() (*logSink, *slog.Logger) {
	s := &logSink{}
	return s, slog.New(slog.NewTextHandler(s, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
