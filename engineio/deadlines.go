package engineio

import (
	"sync"
	"time"

	"github.com/socketio-go/socketio/internal/tasks"
)

// deadlines runs the timed events of every session of a server (the next
// ping, the pong deadline, the close timeout of a closing long-polling
// session) with one runtime timer: a session keeps its deadline and its
// index in a min-heap instead of a *time.Timer of its own, which saves
// about 130 bytes per connection and a runtime timer per session.
//
// A session's deadline (Session.due) is written with both the session's
// mutex and d.mu held, so it may be read under either. Lock order: a
// session's mutex, then d.mu; expired sessions are handed to fire with no
// lock held.
type deadlines struct {
	base  time.Time // times are nanoseconds since base, on the monotonic clock
	fire  func(*Session)
	tasks *tasks.Group // counts a running expire

	mu    sync.Mutex
	heap  []*Session // min-heap on due; Session.slot is the index
	timer *time.Timer
	armed int64 // the deadline the timer is set for; 0 when stopped
	stop  bool
}

func newDeadlines(g *tasks.Group, fire func(*Session)) *deadlines {
	d := &deadlines{base: time.Now(), fire: fire, tasks: g}
	d.timer = time.AfterFunc(time.Hour, d.expire)
	d.timer.Stop()
	return d
}

// now returns the current time on the deadlines' clock; never 0.
func (d *deadlines) now() int64 { return int64(time.Since(d.base)) + 1 }

// set schedules s at due (a time returned by now plus a delay), replacing
// its previous deadline. s.mu must be held.
func (d *deadlines) set(s *Session, due int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s.due = due
	if d.stop {
		return
	}
	if s.slot < 0 {
		s.slot = int32(len(d.heap))
		d.heap = append(d.heap, s)
		d.up(int(s.slot))
	} else if !d.up(int(s.slot)) {
		d.down(int(s.slot))
	}
	d.armLocked()
}

// cancel unschedules s. s.mu must be held.
func (d *deadlines) cancel(s *Session) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s.slot >= 0 {
		d.removeLocked(int(s.slot))
		d.armLocked()
	}
}

// scheduled reports whether s has a pending deadline. s.mu must be held.
func (d *deadlines) scheduled(s *Session) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return s.slot >= 0
}

// close stops the timer; later deadlines are not run, and once close
// returns no expire is running that the task group does not count.
func (d *deadlines) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stop = true
	d.timer.Stop()
	d.armed = 0
	for _, s := range d.heap {
		s.slot = -1
	}
	clear(d.heap)
	d.heap = d.heap[:0]
}

// expire hands every session whose deadline has passed to fire.
func (d *deadlines) expire() {
	var due []*Session
	d.mu.Lock()
	if d.stop {
		d.mu.Unlock()
		return
	}
	d.armed = 0
	now := d.now()
	for len(d.heap) > 0 && d.heap[0].due <= now {
		due = append(due, d.heap[0])
		d.removeLocked(0)
	}
	d.armLocked()
	if len(d.heap) == 0 && cap(d.heap) > 1024 {
		d.heap = nil // after a crowd has gone
	}
	d.tasks.Add()
	d.mu.Unlock()
	defer d.tasks.Done()
	// A crowd of deadlines at once (the pings of a connect storm, or the
	// timeouts of clients that all vanished) is shared out, so that the
	// closes run in parallel where there are several cores.
	for len(due) > expireBatch {
		batch := due[:expireBatch:expireBatch]
		due = due[expireBatch:]
		d.tasks.Go(func() {
			for _, s := range batch {
				d.fire(s)
			}
		})
	}
	for _, s := range due {
		d.fire(s)
	}
}

// expireBatch is how many expired deadlines one goroutine runs.
const expireBatch = 256

// armLocked sets the timer for the earliest deadline.
func (d *deadlines) armLocked() {
	if len(d.heap) == 0 {
		if d.armed != 0 {
			d.timer.Stop()
			d.armed = 0
		}
		return
	}
	next := d.heap[0].due
	if d.armed != 0 && d.armed <= next {
		// Already set for this deadline or an earlier one; an early
		// expire re-arms for what is left.
		return
	}
	d.armed = next
	d.timer.Reset(time.Duration(next - d.now()))
}

func (d *deadlines) removeLocked(i int) {
	h := d.heap
	last := len(h) - 1
	h[i].slot = -1
	if i != last {
		h[i] = h[last]
		h[i].slot = int32(i)
	}
	h[last] = nil
	d.heap = h[:last]
	if i != last {
		if !d.up(i) {
			d.down(i)
		}
	}
}

// up moves heap[i] towards the root; it reports whether it moved.
func (d *deadlines) up(i int) bool {
	h := d.heap
	moved := false
	for i > 0 {
		p := (i - 1) / 2
		if h[p].due <= h[i].due {
			break
		}
		h[p], h[i] = h[i], h[p]
		h[p].slot, h[i].slot = int32(p), int32(i)
		i = p
		moved = true
	}
	return moved
}

func (d *deadlines) down(i int) {
	h := d.heap
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r].due < h[l].due {
			m = r
		}
		if h[i].due <= h[m].due {
			return
		}
		h[i], h[m] = h[m], h[i]
		h[i].slot, h[m].slot = int32(i), int32(m)
		i = m
	}
}
