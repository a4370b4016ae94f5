package socketio

import (
	"testing"
)

// The dispatcher runs its tasks one at a time in the order they were
// pushed, however its queue array is reused and compacted (tasks pushed
// while others run, bursts longer than the array), and refuses a task
// beyond its limit of pending ones.
func TestDispatcherOrder(t *testing.T) {
	srv := NewServer(nil)
	defer srv.Close()
	d := &dispatcher{limit: 8, srv: srv}
	var got []int
	next := 0
	done := make(chan struct{})
	const total = 1000
	var push func()
	push = func() {
		// Each task pushes up to two more while it runs, so the queue
		// both drains and refills on the dispatcher's goroutine.
		for range 2 {
			if next == total {
				return
			}
			i := next
			if !d.push(func() {
				got = append(got, i)
				if i == total-1 {
					close(done)
					return
				}
				push()
			}) {
				return
			}
			next++
		}
	}
	d.mu.Lock()
	d.running = true // hold the loop: fill the queue up to its limit first
	d.mu.Unlock()
	for range 4 {
		push()
	}
	if n := len(d.queue) - d.head; n != 8 {
		t.Fatalf("%d tasks queued, want the limit of 8", n)
	}
	if d.push(func() {}) {
		t.Fatal("a task beyond the limit was queued")
	}
	srv.tasks.GoRunner(d)
	<-done
	for i, v := range got {
		if v != i {
			t.Fatalf("task %d ran as the %dth", v, i)
		}
	}
	if len(got) != total {
		t.Fatalf("%d tasks ran, want %d", len(got), total)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if cap(d.queue) > 16 {
		t.Fatalf("queue array of capacity %d for at most 8 pending tasks", cap(d.queue))
	}
}
