// Package tasks tracks goroutines so that their owner can wait for all of
// them to return, for example in a server's Shutdown.
package tasks

import (
	"context"
	"sync"
	"time"
)

// Group counts running goroutines. The zero value is ready to use. Unlike
// sync.WaitGroup, a Group may start new goroutines while another goroutine
// waits: Wait returns once the count drops to zero.
//
// With Idle set, a goroutine that has run a function given to Go waits up
// to about Idle for the next one instead of exiting. A server that starts a
// goroutine per readiness event or per write burst then reuses goroutines
// whose stacks have already grown to what its handlers need, instead of
// paying for a fresh stack that grows (and is copied) again each time. Such
// a Group must be stopped with Stop once it is no longer used.
//
// A waiting goroutine blocks on a channel of its own and nothing else: the
// hand-off costs one channel send, like waking a dedicated goroutine. The
// goroutines waiting longer than Idle are ended by one timer of the Group
// (not one per goroutine, which would be stopped and reset on every
// hand-off), which ticks every Idle/4 while some wait: a goroutine waits
// between 3/4 Idle and Idle before it exits.
type Group struct {
	// Idle is how long a goroutine waits for another function after it
	// ran one (zero: it exits at once). Set it before the first Go.
	Idle time.Duration

	mu   sync.Mutex
	n    int
	zero chan struct{} // closed when n drops to zero; nil while nobody waits

	idle    []*waiter // waiting goroutines, oldest first
	alive   int       // goroutines started by Go that have not exited
	stopped bool
	gone    chan struct{} // closed when alive drops to zero (and no reap is pending) after Stop

	// The reaper: a timer ticking every Idle/4 while goroutines wait.
	// epoch counts its ticks; a waiter that went idle at epoch e is ended
	// at the tick that makes epoch e+4, after between 3/4 Idle and Idle.
	reaper      *time.Timer
	reapArmed   bool
	reapPending bool // Stop found the timer fired: its callback still has to run
	epoch       uint64
}

// waiter is a goroutine waiting for work.
type waiter struct {
	ch    chan job // capacity 1; the zero job ends the goroutine
	epoch uint64   // the reaper's epoch when it started waiting
}

// Runner is a task given to GoRunner.
type Runner interface {
	// Run does the work.
	Run()
}

// job is a function or a Runner; the zero job tells a waiting goroutine
// to exit.
type job struct {
	f func()
	r Runner
}

func (j job) run() {
	if j.r != nil {
		j.r.Run()
		return
	}
	j.f()
}

// maxIdle bounds the goroutines waiting for work in one Group. It is well
// above the sessions one broadcast wakes on a busy server: with shallow
// queues a broadcast to N sessions starts N writers at once, and with a
// smaller bound every broadcast would end the goroutines beyond it and
// start as many new ones, whose stacks grow (and are copied) again.
const maxIdle = 1 << 16

// Go runs f in a goroutine counted by g: a waiting one when Idle is set and
// one waits, a new one otherwise.
func (g *Group) Go(f func()) { g.start(job{f: f}) }

// GoRunner is Go for r.Run. A pointer-shaped r (such as a pointer to a
// struct) is handed over without allocating, where a func value bound to
// its receiver (a closure or a method value) would allocate per call.
func (g *Group) GoRunner(r Runner) { g.start(job{r: r}) }

func (g *Group) start(j job) {
	g.mu.Lock()
	g.n++
	if k := len(g.idle); k > 0 {
		w := g.idle[k-1]
		g.idle[k-1] = nil
		g.idle = g.idle[:k-1]
		g.mu.Unlock()
		w.ch <- j // buffered, and only the taker sends: never blocks
		return
	}
	g.alive++
	g.mu.Unlock()
	go g.work(j)
}

// work runs j, then (with Idle set) the jobs handed to it, until the
// reaper or Stop ends it.
func (g *Group) work(j job) {
	var (
		w       *waiter
		running bool
	)
	defer func() {
		if running {
			// j panicked or called runtime.Goexit: account for it as the
			// plain goroutine of old would have, so that Wait and Stop
			// still return.
			g.mu.Lock()
			g.doneLocked()
			g.exitLocked()
			g.mu.Unlock()
		}
	}()
	for {
		running = true
		j.run()
		running = false
		g.mu.Lock()
		g.doneLocked()
		if g.Idle <= 0 || g.stopped || len(g.idle) >= maxIdle {
			g.exitLocked()
			g.mu.Unlock()
			return
		}
		if w == nil {
			w = &waiter{ch: make(chan job, 1)}
		}
		w.epoch = g.epoch
		g.idle = append(g.idle, w)
		if !g.reapArmed {
			g.reapArmed = true
			if g.reaper == nil {
				g.reaper = time.AfterFunc(g.tick(), g.reap)
			} else {
				g.reaper.Reset(g.tick())
			}
		}
		g.mu.Unlock()
		j = <-w.ch
		if j.f == nil && j.r == nil { // the reaper or Stop
			g.mu.Lock()
			g.exitLocked()
			g.mu.Unlock()
			return
		}
	}
}

// tick is the reaper's period.
func (g *Group) tick() time.Duration { return max(g.Idle/reapTicks, time.Millisecond) }

// reapTicks is the number of reaper ticks per Idle.
const reapTicks = 4

// reap is the reaper's tick: it ends the goroutines that have waited for
// reapTicks ticks (three full ones at least), and ticks again while others
// wait.
func (g *Group) reap() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reapArmed = false
	if g.stopped {
		g.reapPending = false
		g.signalGoneLocked()
		return
	}
	g.epoch++
	k := 0
	for k < len(g.idle) && g.epoch-g.idle[k].epoch >= reapTicks {
		g.idle[k].ch <- job{}
		k++
	}
	if k > 0 {
		n := copy(g.idle, g.idle[k:])
		clear(g.idle[n:])
		g.idle = g.idle[:n]
	}
	if len(g.idle) > 0 {
		g.reapArmed = true
		g.reaper.Reset(g.tick())
	}
}

// exitLocked records the exit of a goroutine started by Go.
func (g *Group) exitLocked() {
	g.alive--
	g.signalGoneLocked()
}

// signalGoneLocked closes gone once no goroutine started by Go is alive and
// no reaper callback is due.
func (g *Group) signalGoneLocked() {
	if g.alive == 0 && !g.reapPending && g.gone != nil {
		close(g.gone)
		g.gone = nil
	}
}

// Stop ends the waiting goroutines and makes the others exit when their
// function returns, then waits until every goroutine started by Go has
// exited, or ctx ends. Go still works after Stop, without reuse.
func (g *Group) Stop(ctx context.Context) error {
	g.mu.Lock()
	g.stopped = true
	for _, w := range g.idle {
		w.ch <- job{}
	}
	g.idle = nil
	if g.reapArmed {
		g.reapArmed = false
		if !g.reaper.Stop() {
			// It fired and its callback waits for the lock: let it run
			// before returning, so that nothing outlives Stop.
			g.reapPending = true
		}
	}
	g.mu.Unlock()
	return g.await(ctx, func() bool { return g.alive == 0 && !g.reapPending }, &g.gone)
}

// Add counts a goroutine that the caller started (or is about to).
func (g *Group) Add() {
	g.mu.Lock()
	g.n++
	g.mu.Unlock()
}

// Done marks a goroutine counted by Add as finished.
func (g *Group) Done() {
	g.mu.Lock()
	g.doneLocked()
	g.mu.Unlock()
}

func (g *Group) doneLocked() {
	g.n--
	if g.n == 0 && g.zero != nil {
		close(g.zero)
		g.zero = nil
	}
}

// Running returns the number of goroutines counted.
func (g *Group) Running() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// Wait blocks until no goroutine is counted, or ctx ends.
func (g *Group) Wait(ctx context.Context) error {
	return g.await(ctx, func() bool { return g.n == 0 }, &g.zero)
}

// await waits until done reports true (it is called with g.mu held), or
// ctx ends. *ch is the channel closed when done becomes true; it is made on
// demand.
func (g *Group) await(ctx context.Context, done func() bool, ch *chan struct{}) error {
	g.mu.Lock()
	if done() {
		g.mu.Unlock()
		return nil
	}
	if *ch == nil {
		*ch = make(chan struct{})
	}
	c := *ch
	g.mu.Unlock()
	select {
	case <-c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
