package engineio

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCapacityRefusalsLogOnce: at MaxSessions every handshake is refused
// with 503; a server at capacity under a reconnect storm logs that once
// per 10 s at Warn, the other refusals at Debug.
func TestCapacityRefusalsLogOnce(t *testing.T) {
	logs := &lockedBuffer{}
	ts := newTestServer(t, &Options{MaxSessions: 1, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if code, _ := ts.get("EIO=4&transport=polling"); code != http.StatusOK {
		t.Fatalf("first handshake: %d", code)
	}
	for range 5 {
		if code, _ := ts.get("EIO=4&transport=polling"); code != http.StatusServiceUnavailable {
			t.Fatalf("handshake over capacity: %d, want 503", code)
		}
	}
	out := logs.String()
	if n := strings.Count(out, "level=WARN msg=\"engineio: handshake refused: MaxSessions reached\""); n != 1 {
		t.Fatalf("%d Warn records, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "level=DEBUG msg=\"engineio: handshake refused: MaxSessions reached\""); n != 4 {
		t.Fatalf("%d Debug records, want 4:\n%s", n, out)
	}
}
