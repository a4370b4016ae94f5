package tasks

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestGroupWait(t *testing.T) {
	var g Group
	if err := g.Wait(context.Background()); err != nil {
		t.Fatalf("empty group: %v", err)
	}
	release := make(chan struct{})
	g.Go(func() { <-release })
	g.Go(func() { <-release })
	if n := g.Running(); n != 2 {
		t.Fatalf("Running = %d, want 2", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := g.Wait(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Wait with running goroutines: got %v, want deadline exceeded", err)
	}
	done := make(chan error)
	go func() { done <- g.Wait(context.Background()) }()
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if n := g.Running(); n != 0 {
		t.Fatalf("Running = %d after Wait, want 0", n)
	}
}

// goroutineID identifies the calling goroutine through its stack header.
func goroutineID() string {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	return strings.Fields(string(buf[:n]))[1]
}

func TestGroupReuse(t *testing.T) {
	g := Group{Idle: time.Minute}
	ids := make(chan string, 1)
	for range 5 {
		g.Go(func() { ids <- goroutineID() })
		id := <-ids
		if err := g.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Wait returns once the function returned; the goroutine may not
		// have parked yet, so the next one may start a new goroutine.
		waitIdle(t, &g, 1)
		g.Go(func() { ids <- goroutineID() })
		if got := <-ids; got != id {
			t.Fatalf("a waiting goroutine was not reused: %s then %s", id, got)
		}
		waitIdle(t, &g, 1)
	}
	if err := g.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	alive := g.alive
	g.mu.Unlock()
	if alive != 0 {
		t.Fatalf("%d goroutines alive after Stop", alive)
	}
	// Go still works after Stop, and its goroutine exits.
	done := make(chan struct{})
	g.Go(func() { close(done) })
	<-done
	if err := g.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestGroupIdleTimeout(t *testing.T) {
	g := Group{Idle: 20 * time.Millisecond}
	block := make(chan struct{})
	for range 3 {
		g.Go(func() { <-block })
	}
	close(block)
	if err := g.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Each waits 20 ms, finds nothing to do and exits.
	deadline := time.Now().Add(5 * time.Second)
	for {
		g.mu.Lock()
		alive, idle := g.alive, len(g.idle)
		g.mu.Unlock()
		if alive == 0 && idle == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alive %d, idle %d: waiting goroutines did not time out", alive, idle)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestGroupStopWaitsForRunning(t *testing.T) {
	g := Group{Idle: time.Minute}
	release := make(chan struct{})
	g.Go(func() { <-release })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := g.Stop(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Stop with a running goroutine = %v, want deadline exceeded", err)
	}
	close(release)
	if err := g.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestGroupConcurrent hands work to waiting goroutines from many goroutines
// while they time out; run with -race.
func TestGroupConcurrent(t *testing.T) {
	g := Group{Idle: time.Millisecond}
	var wg sync.WaitGroup
	var ran atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				g.Go(func() { ran.Add(1) })
				if ran.Load()%50 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	if err := g.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := g.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := ran.Load(); got != 8*500 {
		t.Fatalf("ran %d functions, want %d", got, 8*500)
	}
}

// waitIdle waits until n goroutines of g wait for work.
func waitIdle(t *testing.T, g *Group, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		g.mu.Lock()
		k := len(g.idle)
		g.mu.Unlock()
		if k == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines wait for work, want %d", k, n)
		}
		runtime.Gosched()
	}
}

// TestGroupGoexit: a function that ends its goroutine (runtime.Goexit, as
// t.FailNow does) still counts as finished.
func TestGroupGoexit(t *testing.T) {
	g := Group{Idle: time.Minute}
	g.Go(runtime.Goexit)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.Wait(ctx); err != nil {
		t.Fatalf("Wait after Goexit: %v", err)
	}
	if err := g.Stop(ctx); err != nil {
		t.Fatalf("Stop after Goexit: %v", err)
	}
}

// runner records the goroutine that ran it.
type runner struct{ ids chan string }

func (r *runner) Run() { r.ids <- goroutineID() }

// GoRunner runs r.Run like Go runs a function: on a waiting goroutine
// when there is one, and counted by Wait.
func TestGroupRunner(t *testing.T) {
	g := Group{Idle: time.Minute}
	r := &runner{ids: make(chan string, 1)}
	g.GoRunner(r)
	first := <-r.ids
	if err := g.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, &g, 1)
	g.GoRunner(r)
	if got := <-r.ids; got != first {
		t.Fatalf("a waiting goroutine was not reused: %s then %s", first, got)
	}
	if err := g.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}
