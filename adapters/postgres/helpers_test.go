package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
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
	"github.com/socketio-go/socketio/internal/clustertest"
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

// goNode is a Go server of a test cluster (see clustertest.StartNode).
type goNode struct {
	srv *socketio.Server
	url string
}

func startGoNode(t *testing.T, factory adapter.Factory, setup func(*socketio.Server)) *goNode {
	t.Helper()
	n := clustertest.StartNode(t, &socketio.Options{Adapter: factory}, setup)
	return &goNode{srv: n.Srv, url: n.URL}
}

var (
	dial         = clustertest.Dial
	recv         = clustertest.Recv
	joinFromAuth = clustertest.JoinFromAuth
)

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
