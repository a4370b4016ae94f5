package client

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestBackoff checks the delays against socket.io-client's backo2 for
// given random numbers.
func TestBackoff(t *testing.T) {
	rands := []float64{0, 0.15, 0.5, 0.99, 0.05}
	i := 0
	b := &backoff{min: time.Second, max: 5 * time.Second, jitter: 0.5, rand: func() float64 { r := rands[i%len(rands)]; i++; return r }}
	// attempt 0: 1000, r=0 -> even -> 1000-0
	// attempt 1: 2000, r=0.15 -> floor(1.5)=1 odd -> 2000+floor(0.15*0.5*2000)=2150
	// attempt 2: 4000, r=0.5 -> 5 odd -> 4000+1000=5000
	// attempt 3: 8000, r=0.99 -> 9 odd -> 8000+3960 -> capped 5000
	// attempt 4: 16000, r=0.05 -> 0 even -> 16000-400 -> capped 5000
	want := []time.Duration{1000, 2150, 5000, 5000, 5000}
	for n, w := range want {
		if d := b.duration(); d != w*time.Millisecond {
			t.Errorf("attempt %d: %v, want %v", n, d, w*time.Millisecond)
		}
	}
	if b.attempts != 5 {
		t.Fatalf("attempts %d", b.attempts)
	}
	b.reset()
	b.jitter = 0
	if d := b.duration(); d != time.Second {
		t.Fatalf("after reset: %v", d)
	}
	for range 100 { // no overflow
		b.duration()
	}
	if d := b.duration(); d != 5*time.Second {
		t.Fatalf("after 100 attempts: %v", d)
	}
}

func TestOptions(t *testing.T) {
	o, err := (*Options)(nil).normalize()
	if err != nil {
		t.Fatal(err)
	}
	if o.Path != "/socket.io/" || fmt.Sprint(o.Transports) != "[polling websocket]" || o.ReconnectionDelay != time.Second ||
		o.ReconnectionDelayMax != 5*time.Second || o.RandomizationFactor != 0.5 || o.Timeout != 20*time.Second ||
		o.MaxMessageSize != 100<<20 || o.MaxAttachments != 10 || o.EventQueueSize != 4096 || o.Logger == nil {
		t.Fatalf("defaults %+v", o)
	}
	o, _ = (&Options{Path: "custom", RandomizationFactor: -1}).normalize()
	if o.Path != "/custom/" || o.RandomizationFactor != 0 {
		t.Fatalf("%+v", o)
	}
	for _, bad := range []*Options{
		{Transports: []string{}},
		{Transports: []string{"webtransport"}},
		{RandomizationFactor: 1.5},
		{ReconnectionAttempts: -1},
	} {
		if _, err := NewManager("http://localhost", bad); err == nil {
			t.Errorf("NewManager accepted %+v", bad)
		}
	}
	for _, bad := range []string{"localhost:3000", "ftp://host", "http://", "http://[::1"} {
		if _, err := NewManager(bad, nil); err == nil {
			t.Errorf("NewManager accepted %q", bad)
		}
	}
	if _, err := Connect(context.Background(), "nope", nil, nil); err == nil {
		t.Error("Connect accepted a bad URL")
	}
}

func TestParseURL(t *testing.T) {
	for _, c := range []struct{ in, base, nsp string }{
		{"http://h:1", "http://h:1", "/"},
		{"https://h/admin?x=1", "https://h?x=1", "/admin"},
		{"ws://h/", "ws://h", "/"},
	} {
		u, nsp, err := parseURL(c.in)
		if err != nil || u.String() != c.base || nsp != c.nsp {
			t.Errorf("parseURL(%q) = %v %q %v", c.in, u, nsp, err)
		}
	}
	m, err := NewManager("http://h:1/ignored?token=a", &Options{Path: "/p", Query: map[string][]string{"v": {"2"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := m.endpoint.String(); got != "http://h:1/p/?token=a&v=2" {
		t.Fatalf("endpoint %s", got)
	}
	if m.Socket("admin", nil) != m.Socket("/admin", nil) {
		t.Fatal("Socket does not return the same socket")
	}
}

func TestPool(t *testing.T) {
	var p Pool
	a, _ := p.Socket("http://h", nil, nil)
	b, _ := p.Socket("http://h:80/admin", nil, nil)
	c, _ := p.Socket("http://h/", nil, nil)
	d, _ := p.Socket("http://h/x", &Options{ForceNew: true}, nil)
	e, _ := p.Socket("http://h/y", &Options{DisableMultiplex: true}, nil)
	f, _ := p.Socket("http://h/z", &Options{Path: "/other"}, nil)
	g, _ := p.Socket("https://h/admin", nil, nil)
	if a.Manager() != b.Manager() || c.Manager() == a.Manager() || d.Manager() == a.Manager() || e.Manager() == a.Manager() ||
		f.Manager() == a.Manager() || g.Manager() == a.Manager() {
		t.Fatal("unexpected sharing")
	}
	p.Close()
	if _, err := p.Socket("http://h", nil, nil); err == nil {
		t.Fatal("Socket after Close")
	}
}
