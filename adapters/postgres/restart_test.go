package postgres

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	socketio "github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/client"
)

// ownPostgres is a PostgreSQL instance of the test's own, on a free port,
// that the test may stop and start (the shared one is never restarted).
type ownPostgres struct {
	t    testing.TB
	bin  string // initdb and pg_ctl
	dir  string
	port int
}

// startOwnPostgres initdb's a cluster into a temporary directory, as the
// postgres user (runuser: the test runs as root, and PostgreSQL refuses
// to), and starts it.
func startOwnPostgres(t testing.TB) *ownPostgres {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the PostgreSQL restart test runs its own PostgreSQL as the postgres user: it needs root (runuser)")
	}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(versions) == 0 {
		t.Fatal("no initdb under /usr/lib/postgresql/*/bin")
	}
	pgUser, err := user.Lookup("postgres")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(pgUser.Uid)
	gid, _ := strconv.Atoi(pgUser.Gid)
	dir, err := os.MkdirTemp("", "sio-pg-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	p := &ownPostgres{t: t, bin: filepath.Dir(versions[0]), dir: dir, port: port}
	p.run("initdb", "-D", filepath.Join(dir, "data"), "-A", "trust", "-U", "postgres", "--no-sync")
	t.Cleanup(func() {
		_ = exec.Command("runuser", "-u", "postgres", "--", filepath.Join(p.bin, "pg_ctl"), "-D", filepath.Join(dir, "data"), "-m", "immediate", "-w", "stop").Run()
		_ = os.RemoveAll(dir)
	})
	p.start()
	return p
}

func (p *ownPostgres) run(tool string, args ...string) {
	p.t.Helper()
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(p.bin, tool)}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("%s %v: %v\n%s", tool, args, err, out)
	}
}

func (p *ownPostgres) start() {
	p.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", p.port, p.dir)
	p.run("pg_ctl", "-D", filepath.Join(p.dir, "data"), "-o", opts, "-l", filepath.Join(p.dir, "log"), "-w", "start")
}

// stop stops the server at once (clients see their connections closed).
func (p *ownPostgres) stop() {
	p.t.Helper()
	p.run("pg_ctl", "-D", filepath.Join(p.dir, "data"), "-m", "immediate", "-w", "stop")
}

func (p *ownPostgres) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// TestPostgresRestart restarts PostgreSQL under traffic between two Go
// servers: the listening connections come back (with backoff) and
// LISTEN again, broadcasts flow again both ways, the servers count each
// other again, requests are answered. What was sent while PostgreSQL was
// down is lost (NOTIFY keeps nothing): the test reports how much, and how
// long after PostgreSQL was back delivery resumed.
func TestPostgresRestart(t *testing.T) {
	pgs := startOwnPostgres(t)
	pool, err := pgxpool.New(context.Background(), pgs.url())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	opts := testOptions(t, pool)
	sink, logger := newLogSink()
	opts.Logger = logger
	n1 := startGoNode(t, NewAdapter(pool, opts), joinFromAuth)
	n2 := startGoNode(t, NewAdapter(pool, opts), joinFromAuth)
	waitServers(t, 2, n1.srv, n2.srv)

	// Traffic: each server broadcasts a sequence number every 10ms; the
	// client of the other server records what arrives.
	type seen struct {
		mu   sync.Mutex
		got  map[int]time.Time
		last int
	}
	receive := func(url, event string) *seen {
		s := &seen{got: make(map[int]time.Time)}
		m, err := client.NewManager(url, &client.Options{Transports: []string{client.TransportWebSocket}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		c := m.Socket("/", nil)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		c.On(event, func(e *client.Event) {
			var n int
			_ = e.Decode(&n)
			s.mu.Lock()
			s.got[n] = time.Now()
			s.last = max(s.last, n)
			s.mu.Unlock()
		})
		return s
	}
	at1, at2 := receive(n1.url, "seq2"), receive(n2.url, "seq1") // n2's traffic arrives at1, n1's at2
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, srv := range []*socketio.Server{n1.srv, n2.srv} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for n := 1; ; n++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				_ = srv.Emit(fmt.Sprintf("seq%d", i+1), n)
			}
		}()
	}
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()
	lastOf := func(s *seen) int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.last
	}
	waitFor(t, 5*time.Second, "traffic both ways", func() bool { return lastOf(at1) > 10 && lastOf(at2) > 10 })

	pgs.stop()
	down := time.Now()
	before := [2]int{lastOf(at2), lastOf(at1)}
	time.Sleep(500 * time.Millisecond) // an outage of some length: nothing to wait for
	pgs.start()
	up := time.Now()
	waitFor(t, 15*time.Second, "traffic both ways after the restart", func() bool {
		return lastOf(at2) > before[0]+10 && lastOf(at1) > before[1]+10
	})
	resumed := time.Since(up)
	waitServers(t, 2, n1.srv, n2.srv)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	answers, err := n1.srv.ServerSideEmitWithAck(ctx, "hello")
	if err != nil || len(answers) != 1 {
		t.Fatalf("request after the restart: %v %v", answers, err)
	}
	close(stop)
	wg.Wait()
	if c := sink.count("listening again"); c < 1 {
		t.Fatalf("no reconnection logged:\n%s", sink.String())
	}
	at2.mu.Lock()
	lost, resumedAt := 0, 0
	for n := 1; n <= at2.last; n++ {
		if _, ok := at2.got[n]; !ok {
			lost++
			if resumedAt != 0 {
				t.Errorf("broadcast %d lost after delivery resumed at %d", n, resumedAt)
			}
		} else if n > before[0] && resumedAt == 0 && lost > 0 {
			resumedAt = n
		}
	}
	at2.mu.Unlock()
	t.Logf("PostgreSQL down %v; delivery resumed both ways %v after it was back; n1 -> n2: %d of %d broadcasts lost (sent during the outage or the reconnection)",
		up.Sub(down).Round(time.Millisecond), resumed.Round(time.Millisecond), lost, at2.last)
}
