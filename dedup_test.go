package socketio

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetryDedup(t *testing.T) {
	env := newTestEnv(t, &Options{RetryDedup: &RetryDedupOptions{Window: time.Minute, MaxEntries: 2}})
	var runs atomic.Int32
	release := make(chan struct{})
	env.srv.OnConnection(func(s *Socket) {
		s.On("job", func(e *Event) {
			runs.Add(1)
			var n int
			_ = e.Decode(&n)
			if n == 1 {
				<-release // the first try is slow: the client retries
			}
			_ = e.Ack("done", n)
		})
	})
	c := env.dial()
	c.connect("/", "")
	c.send(`21["job",1]`)
	c.send(`22["job",1]`) // retry while the first try runs
	close(release)
	for _, want := range []string{`31["done",1]`, `32["done",1]`} {
		if got := c.nextText(); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
	c.send(`23["job",1]`) // retry after the answer: answered at once
	if got := c.nextText(); got != `33["done",1]` {
		t.Fatalf("got %s", got)
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("handler ran %d times, want 1", n)
	}
	// Other arguments, or no ack, are other events.
	c.send(`24["job",2]`)
	if got := c.nextText(); got != `34["done",2]` {
		t.Fatalf("got %s", got)
	}
	c.send(`2["job",2]`)
	c.send(`25["job",3]`)
	if got := c.nextText(); got != `35["done",3]` {
		t.Fatalf("got %s", got)
	}
	if n := runs.Load(); n != 4 {
		t.Fatalf("handler ran %d times, want 4", n)
	}
	// MaxEntries is 2: job 1 was forgotten, so it runs again.
	c.send(`26["job",1]`)
	if got := c.nextText(); got != `36["done",1]` {
		t.Fatalf("got %s", got)
	}
	if n := runs.Load(); n != 5 {
		t.Fatalf("handler ran %d times, want 5", n)
	}
}

// TestRetryDedupOfficialClient drives socket.io-client 4.8 with retries and
// a short ackTimeout against a handler slower than that timeout: every
// event is handled once and acknowledged once.
func TestRetryDedupOfficialClient(t *testing.T) {
	modules, _ := filepath.Abs("interop/node_modules")
	if _, err := os.Stat(filepath.Join(modules, "socket.io-client")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("interop/node_modules missing: run npm ci in interop/ (%v)", err)
		}
		t.Skip("interop/node_modules missing: run npm ci in interop/")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node not found")
		}
		t.Skip("node not found")
	}
	env := newTestEnv(t, &Options{RetryDedup: &RetryDedupOptions{}})
	var runs atomic.Int32
	env.srv.OnConnection(func(s *Socket) {
		s.On("job", func(e *Event) {
			runs.Add(1)
			time.Sleep(300 * time.Millisecond) // slower than the client's ackTimeout
			_ = e.Ack(e.Args().Spread()...)
		})
	})
	script := `
const { io } = require(process.env.MODULES + "/socket.io-client");
const socket = io(process.env.URL, { retries: 5, ackTimeout: 100, transports: ["websocket"] });
let acks = 0;
for (let i = 0; i < 5; i++) {
  socket.emit("job", i, (err, n) => {
    if (err) { console.log("error " + err.message); process.exit(1); }
    acks++;
    console.log("ack " + n);
    if (acks === 5) { socket.close(); }
  });
}
setTimeout(() => { console.log("timeout"); process.exit(1); }, 20000);
socket.on("disconnect", () => process.exit(0));
`
	cmd := exec.Command(node, "-e", script)
	cmd.Env = append(os.Environ(), "MODULES="+modules, "URL="+env.hs.URL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("client: %v\n%s", err, out)
	}
	if got := strings.Count(string(out), "ack "); got != 5 {
		t.Fatalf("client got %d acks:\n%s", got, out)
	}
	for i := 0; i < 5; i++ {
		if !strings.Contains(string(out), "ack "+string(rune('0'+i))+"\n") {
			t.Fatalf("no ack for %d:\n%s", i, out)
		}
	}
	if n := runs.Load(); n != 5 {
		t.Fatalf("handler ran %d times for 5 events", n)
	}
}
