package socketio

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
)

// dispatcher runs the tasks of one socket one after the other, in the order
// they were pushed, on a goroutine that exists only while there is work.
//
// A task that waits on the network with its event's context (see
// Event.Context) hands the dispatcher over: the next tasks start on a new
// goroutine while it waits, as the next events of a Node.js socket run
// while a handler awaits. Tasks still start in order; one goroutine at a
// time runs the loop.
type dispatcher struct {
	mu      sync.Mutex
	queue   []func() // tasks from head on are pending
	head    int
	running bool
	seq     uint64 // number of the last task started
	busy    bool   // task seq runs and holds the loop
	limit   int
	srv     *Server
	onPanic func(v any, stack []byte)
}

// turn names a task of a dispatcher: its hold on the dispatcher's loop.
type turn struct {
	d   *dispatcher
	seq uint64
}

// release lets the dispatcher go on with its next tasks on another
// goroutine while the task of t continues on its own. It does nothing
// after the first call or once the task has returned.
func (t turn) release() {
	d := t.d
	if d == nil {
		return
	}
	d.mu.Lock()
	if d.seq == t.seq && d.busy {
		d.busy = false
		d.srv.tasks.GoRunner(d)
	}
	d.mu.Unlock()
}

// turnKey is the context key of an event's turn.
type turnKey struct{}

// releaseTurn releases the dispatcher turn that ctx carries, if any: the
// caller is about to wait on the network.
func releaseTurn(ctx context.Context) {
	if t, ok := ctx.Value(turnKey{}).(turn); ok {
		t.release()
	}
}

// push queues f. It reports false when the queue is full.
func (d *dispatcher) push(f func()) bool {
	d.mu.Lock()
	if d.limit > 0 && len(d.queue)-d.head >= d.limit {
		d.mu.Unlock()
		return false
	}
	d.append(f)
	if !d.running {
		d.running = true
		d.srv.tasks.GoRunner(d)
	}
	d.mu.Unlock()
	return true
}

// append adds f to the queue; a full array first drops the tasks already
// taken, so that a dispatcher that never empties does not grow its array.
func (d *dispatcher) append(f func()) {
	if d.head > 0 && len(d.queue) == cap(d.queue) {
		n := copy(d.queue, d.queue[d.head:])
		clear(d.queue[n:])
		d.queue, d.head = d.queue[:n], 0
	}
	d.queue = append(d.queue, f)
}

// pushForce queues f even when the queue is full.
func (d *dispatcher) pushForce(f func()) {
	d.mu.Lock()
	d.append(f)
	if !d.running {
		d.running = true
		d.srv.tasks.GoRunner(d)
	}
	d.mu.Unlock()
}

// current returns the turn of the task running, for that task.
func (d *dispatcher) current() turn {
	d.mu.Lock()
	defer d.mu.Unlock()
	return turn{d: d, seq: d.seq}
}

// Run runs the dispatcher's loop (as a tasks.Runner: a pointer, where
// the method value d.run would be allocated on each start).
func (d *dispatcher) Run() { d.run() }

// maxKeptQueue bounds the queue array an idle dispatcher keeps for its
// next tasks.
const maxKeptQueue = 4

func (d *dispatcher) run() {
	for {
		d.mu.Lock()
		if d.head == len(d.queue) {
			d.running = false
			d.queue, d.head = d.queue[:0], 0
			if cap(d.queue) > maxKeptQueue {
				d.queue = nil
			}
			d.mu.Unlock()
			return
		}
		f := d.queue[d.head]
		d.queue[d.head] = nil
		d.head++
		d.seq++
		seq := d.seq
		d.busy = true
		d.mu.Unlock()
		d.call(f)
		d.mu.Lock()
		if d.seq != seq || !d.busy {
			// Released: another goroutine runs the loop now.
			d.mu.Unlock()
			return
		}
		d.busy = false
		d.mu.Unlock()
	}
}

func (d *dispatcher) call(f func()) {
	defer func() {
		if v := recover(); v != nil {
			stack := debug.Stack()
			if d.onPanic != nil {
				d.onPanic(v, stack)
			} else {
				d.srv.logger.Error("socketio: handler panic", "panic", fmt.Sprint(v), "stack", string(stack))
			}
		}
	}()
	f()
}
