package client

import (
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/socketio-go/socketio/internal/tasks"
)

// dispatcher runs the handlers of a Manager and of its sockets one after
// the other, in the order they were queued, like the single event loop of
// JavaScript. Its goroutine exists only while there is work. Events
// received from the server count against a limit; lifecycle callbacks do
// not.
type dispatcher struct {
	logger *slog.Logger
	limit  int
	group  tasks.Group

	mu      sync.Mutex
	tasks   []dtask
	head    int
	events  int // event tasks queued
	running bool
	seq     uint64 // number of the last task started
	busy    bool   // task seq runs and holds the loop
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
		d.group.Go(d.run)
	}
	d.mu.Unlock()
}

// current returns the turn of the task running, for that task.
func (d *dispatcher) current() turn {
	d.mu.Lock()
	defer d.mu.Unlock()
	return turn{d: d, seq: d.seq}
}

type dtask struct {
	f     func()
	event bool
}

// push queues f; it reports false, without queueing, when f is an event
// and the limit is reached.
func (d *dispatcher) push(f func(), event bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if event {
		if d.events >= d.limit {
			return false
		}
		d.events++
	}
	d.tasks = append(d.tasks, dtask{f: f, event: event})
	if !d.running {
		d.running = true
		d.group.Go(d.run)
	}
	return true
}

// do queues a lifecycle callback.
func (d *dispatcher) do(f func()) { d.push(f, false) }

func (d *dispatcher) run() {
	for {
		f, seq := d.pop()
		if f == nil {
			return
		}
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

func (d *dispatcher) pop() (func(), uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.head == len(d.tasks) {
		d.tasks, d.head, d.running = d.tasks[:0], 0, false
		return nil, 0
	}
	t := d.tasks[d.head]
	d.tasks[d.head] = dtask{}
	d.head++
	if t.event {
		d.events--
	}
	d.seq++
	d.busy = true
	return t.f, d.seq
}

func (d *dispatcher) call(f func()) {
	defer func() {
		if v := recover(); v != nil {
			d.logger.Error("socketio/client: handler panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
	}()
	f()
}

// inDispatcher reports whether the caller runs on a dispatcher goroutine,
// that is inside a handler.
func inDispatcher() bool {
	var pcs [64]uintptr
	n := runtime.Callers(2, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	for {
		fr, more := frames.Next()
		if strings.HasSuffix(fr.Function, "/client.(*dispatcher).run") {
			return true
		}
		if !more {
			return false
		}
	}
}

// listeners is a list of handlers that can be added, prepended and
// removed while it is being called.
type listeners[F any] struct {
	mu   sync.Mutex
	list []*listener[F]
}

type listener[F any] struct {
	fn    F
	once  bool
	fired atomic.Bool
}

// add registers fn (first when prepend is set) and returns the function
// that removes it.
func (l *listeners[F]) add(fn F, once, prepend bool) func() {
	e := &listener[F]{fn: fn, once: once}
	l.mu.Lock()
	if prepend {
		l.list = append([]*listener[F]{e}, l.list...)
	} else {
		l.list = append(l.list[:len(l.list):len(l.list)], e)
	}
	l.mu.Unlock()
	return func() { l.remove(e) }
}

func (l *listeners[F]) remove(e *listener[F]) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, x := range l.list {
		if x == e {
			l.list = append(l.list[:i:i], l.list[i+1:]...)
			return
		}
	}
}

func (l *listeners[F]) clear() {
	l.mu.Lock()
	l.list = nil
	l.mu.Unlock()
}

// each calls call for every handler registered now, in order, on the
// dispatcher d; a once handler is removed before its (single) call. A
// handler that panics is logged; the next ones still run.
func (l *listeners[F]) each(d *dispatcher, call func(F)) {
	l.mu.Lock()
	list := l.list
	l.mu.Unlock()
	for _, e := range list {
		if e.once {
			if !e.fired.CompareAndSwap(false, true) {
				continue
			}
			l.remove(e)
		}
		d.call(func() { call(e.fn) })
	}
}

// emit queues, on d, the call of every handler of l.
func emit[F any](d *dispatcher, l *listeners[F], call func(F)) {
	d.do(func() { l.each(d, call) })
}
