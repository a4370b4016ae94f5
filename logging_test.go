package socketio

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/socketio/engineio"
)

// logRecorder is a slog.Handler that keeps every record.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
	added   chan struct{}
}

func newLogRecorder() *logRecorder { return &logRecorder{added: make(chan struct{}, 1)} }

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.records = append(l.records, r.Clone())
	l.mu.Unlock()
	select {
	case l.added <- struct{}{}:
	default:
	}
	return nil
}

// text renders a record as "LEVEL msg k=v k=v".
func recordText(r slog.Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	return b.String()
}

// wait returns the first record at level or above whose text contains
// every one of parts.
func (l *logRecorder) wait(t *testing.T, level slog.Level, parts ...string) string {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		l.mu.Lock()
		for _, r := range l.records {
			txt := recordText(r)
			if r.Level < level {
				continue
			}
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(txt, p)
			}
			if ok {
				l.mu.Unlock()
				return txt
			}
		}
		l.mu.Unlock()
		select {
		case <-l.added:
		case <-timeout:
			t.Fatalf("no %s record with %q", level, parts)
		}
	}
}

func (l *logRecorder) count(level slog.Level, part string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.records {
		if r.Level >= level && strings.Contains(recordText(r), part) {
			n++
		}
	}
	return n
}

// useDefaultLogger makes slog.Default() record into a new logRecorder for
// the test.
func useDefaultLogger(t *testing.T) *logRecorder {
	rec := newLogRecorder()
	old := slog.Default()
	slog.SetDefault(slog.New(rec))
	t.Cleanup(func() { slog.SetDefault(old) })
	return rec
}

// TestNilLoggerIsDefault: with Options.Logger nil, failures reach
// slog.Default(): panics with their stack, invalid arguments nobody
// handles, refused requests (sampled).
func TestNilLoggerIsDefault(t *testing.T) {
	rec := useDefaultLogger(t)
	env := newTestEnv(t, nil)
	env.srv.Of("/mw").Use(func(context.Context, *Socket) error { panic("middleware boom") })
	env.srv.OnConnection(func(s *Socket) {
		s.On("crash", func(*Event) { panic("handler boom") })
		s.On("typed", Handle(func(*Socket, int) {}))
	})

	c := env.dial()
	c.send("0/mw,")
	c.waitClosed()
	rec.wait(t, slog.LevelError, "middleware boom", "stack=goroutine", "logging_test.go")

	c = env.dial()
	c.connect("/", "")
	c.send(`2["typed","not a number"]`)
	rec.wait(t, slog.LevelWarn, "socket error", `event "typed"`, "invalid arguments")
	c.send(`2["crash"]`)
	c.waitClosed()
	rec.wait(t, slog.LevelError, "handler boom", "stack=goroutine", "logging_test.go")

	var hooked []string
	var mu sync.Mutex
	env.srv.OnConnectionError(func(r *http.Request, err *engineio.RequestError) {
		mu.Lock()
		hooked = append(hooked, err.Context)
		mu.Unlock()
	})
	for range 3 {
		req, _ := http.NewRequest("GET", env.hs.URL+"/socket.io/?EIO=4&transport=polling", nil)
		req.Header.Set("Origin", "https://evil.example")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	rec.wait(t, slog.LevelWarn, "request refused", `origin "https://evil.example" not allowed`)
	if n := rec.count(slog.LevelWarn, "request refused"); n != 1 {
		t.Errorf("%d refusals logged at Warn, want 1 (the others at Debug)", n)
	}
	if n := rec.count(slog.LevelDebug, "socketio: request refused"); n != 3 {
		t.Errorf("%d refusals logged, want 3", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hooked) != 3 {
		t.Errorf("OnConnectionError called %d times, want 3", len(hooked))
	}
}

func TestSampler(t *testing.T) {
	var l sampler
	if ok, _ := l.allow(); !ok {
		t.Fatal("first record refused")
	}
	for range 5 {
		if ok, _ := l.allow(); ok {
			t.Fatal("record within the interval allowed")
		}
	}
	l.next = time.Now() // the interval has passed
	if ok, dropped := l.allow(); !ok || dropped != 5 {
		t.Fatalf("allow after the interval: %v, %d dropped", ok, dropped)
	}
}
