package engineio

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/tasks"
)

// checkHeap verifies the heap order and the sessions' slots.
func checkHeap(t *testing.T, d *deadlines) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, s := range d.heap {
		if int(s.slot) != i {
			t.Fatalf("heap[%d].slot = %d", i, s.slot)
		}
		if i > 0 && d.heap[(i-1)/2].due > s.due {
			t.Fatalf("heap order broken at %d", i)
		}
	}
}

func TestDeadlinesHeap(t *testing.T) {
	var g tasks.Group
	d := newDeadlines(&g, func(*Session) {})
	defer d.close()
	sessions := make([]*Session, 200)
	for i := range sessions {
		sessions[i] = &Session{slot: -1}
	}
	far := d.now() + int64(time.Hour)
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		s := sessions[r.IntN(len(sessions))]
		if r.IntN(3) == 0 {
			d.cancel(s)
			if d.scheduled(s) {
				t.Fatal("scheduled after cancel")
			}
		} else {
			due := far + r.Int64N(int64(time.Hour))
			d.set(s, due)
			if !d.scheduled(s) || s.due != due {
				t.Fatal("not scheduled after set")
			}
		}
		checkHeap(t, d)
	}
	d.mu.Lock()
	armed, min := d.armed, d.heap[0].due
	d.mu.Unlock()
	if armed == 0 || armed > min {
		t.Fatalf("timer armed for %d, earliest deadline %d", armed, min)
	}
}

func TestDeadlinesFireWhenDue(t *testing.T) {
	var g tasks.Group
	var mu sync.Mutex
	var d *deadlines
	firedAt := map[*Session]int64{}
	all := make(chan struct{})
	const n = 50
	d = newDeadlines(&g, func(s *Session) {
		now := d.now()
		mu.Lock()
		defer mu.Unlock()
		if s.slot != -1 {
			t.Errorf("fired session still in the heap")
		}
		if _, dup := firedAt[s]; dup {
			t.Errorf("a deadline fired twice")
		}
		firedAt[s] = now
		if len(firedAt) == n {
			close(all)
		}
	})
	defer d.close()
	sessions := make([]*Session, n)
	now := d.now()
	for i := range sessions {
		// Scheduled in reverse order, each a millisecond earlier.
		sessions[i] = &Session{slot: -1}
		d.set(sessions[i], now+int64(time.Duration(n-i)*time.Millisecond))
	}
	// One cancelled and given a later deadline fires at that one.
	d.cancel(sessions[0])
	later := now + int64(80*time.Millisecond)
	d.set(sessions[0], later)
	awaitExpiries(t, &g, all)
	mu.Lock()
	defer mu.Unlock()
	// Expiries of different firings may run concurrently, so the order of
	// the calls is not checked; each ran once its deadline had passed.
	for i, s := range sessions {
		if firedAt[s] < s.due {
			t.Fatalf("session %d fired %v before its deadline", i, time.Duration(s.due-firedAt[s]))
		}
	}
	if sessions[0].due != later {
		t.Fatal("the rescheduled session kept its first deadline")
	}
}

func TestDeadlinesClose(t *testing.T) {
	var g tasks.Group
	fired := make(chan *Session, 1)
	d := newDeadlines(&g, func(s *Session) { fired <- s })
	s := &Session{slot: -1}
	d.set(s, d.now()+int64(time.Millisecond))
	d.close()
	if d.scheduled(s) {
		t.Fatal("scheduled after close")
	}
	d.set(s, d.now()) // ignored after close
	d.expire()        // as a timer that fired just before close would
	select {
	case <-fired:
		t.Fatal("fired after close")
	default:
	}
	if n := g.Running(); n != 0 {
		t.Fatalf("%d expire counted after close", n)
	}
}

func TestDeadlinesCrowd(t *testing.T) {
	var g tasks.Group
	const n = 3*expireBatch + 7
	var mu sync.Mutex
	seen := make(map[*Session]int)
	all := make(chan struct{})
	d := newDeadlines(&g, func(s *Session) {
		mu.Lock()
		defer mu.Unlock()
		seen[s]++
		if len(seen) == n {
			close(all)
		}
	})
	defer d.close()
	due := d.now() + int64(5*time.Millisecond)
	for range n {
		d.set(&Session{slot: -1}, due) // all at the same instant
	}
	awaitExpiries(t, &g, all)
	mu.Lock()
	defer mu.Unlock()
	for _, c := range seen {
		if c != 1 {
			t.Fatalf("a deadline fired %d times", c)
		}
	}
}

// awaitExpiries waits until all is closed (every deadline of the test
// fired), then until the expiries' goroutines have returned.
func awaitExpiries(t *testing.T, g *tasks.Group, all <-chan struct{}) {
	t.Helper()
	select {
	case <-all:
	case <-time.After(10 * time.Second):
		t.Fatal("not every deadline fired")
	}
	if err := g.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}
