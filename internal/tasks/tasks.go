// Package tasks tracks goroutines so that their owner can wait for all of
// them to return, for example in a server's Shutdown.
package tasks

import (
	"context"
	"sync"
)

// Group counts running goroutines. The zero value is ready to use. Unlike
// sync.WaitGroup, a Group may start new goroutines while another goroutine
// waits: Wait returns once the count drops to zero.
type Group struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed when n drops to zero; nil while nobody waits
}

// Go runs f in a new goroutine counted by g.
func (g *Group) Go(f func()) {
	g.Add()
	go func() {
		defer g.Done()
		f()
	}()
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
	g.n--
	if g.n == 0 && g.zero != nil {
		close(g.zero)
		g.zero = nil
	}
	g.mu.Unlock()
}

// Running returns the number of goroutines counted.
func (g *Group) Running() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// Wait blocks until no goroutine is counted, or ctx ends.
func (g *Group) Wait(ctx context.Context) error {
	g.mu.Lock()
	if g.n == 0 {
		g.mu.Unlock()
		return nil
	}
	if g.zero == nil {
		g.zero = make(chan struct{})
	}
	ch := g.zero
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
