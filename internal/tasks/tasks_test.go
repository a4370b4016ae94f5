package tasks

import (
	"context"
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
