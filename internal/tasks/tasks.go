// Package tasks tracks goroutines so that their owner can wait for all of
// them to return, for example in a server's Shutdown.
package tasks

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Group counts running goroutines. The zero value is ready to use. Unlike
// sync.WaitGroup, a Group may start new goroutines while another goroutine
// waits: Wait returns once the count drops to zero.
//
// With Idle set, a goroutine that has run a function given to Go waits up
// to Idle for the next one instead of exiting. A server that starts a
// goroutine per readiness event or per write burst then reuses goroutines
// whose stacks have already grown to what its handlers need, instead of
// paying for a fresh stack that grows (and is copied) again each time. Such
// a Group must be stopped with Stop once it is no longer used.
type Group struct {
	// Idle is how long a goroutine waits for another function after it
	// ran one (zero: it exits at once). Set it before the first Go.
	Idle time.Duration

	mu   sync.Mutex
	n    int
	zero chan struct{} // closed when n drops to zero; nil while nobody waits

	idle    []chan func() // waiting goroutines, most recent last
	alive   int           // goroutines started by Go that have not exited
	stopped bool
	gone    chan struct{} // closed when alive drops to zero after Stop
}

// maxIdle bounds the goroutines waiting for work in one Group.
const maxIdle = 1024

// Go runs f in a goroutine counted by g: a waiting one when Idle is set and
// one waits, a new one otherwise.
func (g *Group) Go(f func()) {
	g.mu.Lock()
	g.n++
	if k := len(g.idle); k > 0 {
		ch := g.idle[k-1]
		g.idle[k-1] = nil
		g.idle = g.idle[:k-1]
		g.mu.Unlock()
		ch <- f // buffered: never blocks
		return
	}
	g.alive++
	g.mu.Unlock()
	go g.work(f)
}

// work runs f, then (with Idle set) the functions handed to it, until it
// has waited Idle for one or g is stopped.
func (g *Group) work(f func()) {
	var (
		ch      chan func()
		timer   *time.Timer
		running bool
	)
	defer func() {
		if running {
			// f panicked or called runtime.Goexit: account for it as the
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
		f()
		running = false
		g.mu.Lock()
		g.doneLocked()
		if g.Idle <= 0 || g.stopped || len(g.idle) >= maxIdle {
			g.exitLocked()
			g.mu.Unlock()
			return
		}
		if ch == nil {
			ch = make(chan func(), 1)
			timer = time.NewTimer(g.Idle)
		} else {
			timer.Reset(g.Idle)
		}
		g.idle = append(g.idle, ch)
		g.mu.Unlock()
		select {
		case f = <-ch:
			timer.Stop()
		case <-timer.C:
			g.mu.Lock()
			if i := slices.Index(g.idle, ch); i >= 0 {
				g.idle = slices.Delete(g.idle, i, i+1)
				g.exitLocked()
				g.mu.Unlock()
				return
			}
			g.mu.Unlock()
			// Go or Stop took this goroutine meanwhile: its message is
			// on the way.
			f = <-ch
		}
		if f == nil { // Stop
			g.mu.Lock()
			g.exitLocked()
			g.mu.Unlock()
			return
		}
	}
}

// exitLocked records the exit of a goroutine started by Go.
func (g *Group) exitLocked() {
	g.alive--
	if g.alive == 0 && g.gone != nil {
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
	for _, ch := range g.idle {
		ch <- nil
	}
	g.idle = nil
	g.mu.Unlock()
	return g.await(ctx, func() bool { return g.alive == 0 }, &g.gone)
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
