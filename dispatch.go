package socketio

import (
	"fmt"
	"runtime/debug"
	"sync"
)

// dispatcher runs the tasks of one socket one after the other, in the order
// they were pushed, on a goroutine that exists only while there is work.
type dispatcher struct {
	mu      sync.Mutex
	queue   []func()
	running bool
	limit   int
	srv     *Server
	onPanic func(v any, stack []byte)
}

// push queues f. It reports false when the queue is full.
func (d *dispatcher) push(f func()) bool {
	d.mu.Lock()
	if d.limit > 0 && len(d.queue) >= d.limit {
		d.mu.Unlock()
		return false
	}
	d.queue = append(d.queue, f)
	if !d.running {
		d.running = true
		d.srv.tasks.Go(d.run)
	}
	d.mu.Unlock()
	return true
}

// pushForce queues f even when the queue is full.
func (d *dispatcher) pushForce(f func()) {
	d.mu.Lock()
	d.queue = append(d.queue, f)
	if !d.running {
		d.running = true
		d.srv.tasks.Go(d.run)
	}
	d.mu.Unlock()
}

func (d *dispatcher) run() {
	for {
		d.mu.Lock()
		if len(d.queue) == 0 {
			d.running = false
			d.queue = nil
			d.mu.Unlock()
			return
		}
		f := d.queue[0]
		d.queue[0] = nil
		d.queue = d.queue[1:]
		d.mu.Unlock()
		d.call(f)
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
