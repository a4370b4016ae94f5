package redis

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/socketio-go/socketio/engineio"
)

func TestNodeRegistry(t *testing.T) {
	rdb := newClient(t)
	ctx := context.Background()
	key := randomPrefix() + "-node"
	a := NewNodeRegistry(rdb, NodeRegistryOptions{Key: key, TTL: 300 * time.Millisecond})
	b := NewNodeRegistry(rdb, NodeRegistryOptions{Key: key, CacheTTL: time.Nanosecond})
	if err := a.Register(ctx, "a", "http://127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	if err := a.Register(ctx, "a2", "http://127.0.0.1:2"); err == nil {
		t.Fatal("a second Register succeeded")
	}
	if got, err := b.ResolveNode(ctx, "a"); err != nil || got != "http://127.0.0.1:1" {
		t.Fatalf("ResolveNode(a) = %q, %v", got, err)
	}
	if _, err := b.ResolveNode(ctx, "zz"); !errors.Is(err, engineio.ErrUnknownNode) {
		t.Fatalf("ResolveNode(zz): %v, want ErrUnknownNode", err)
	}
	// The registration outlives its TTL while refreshed, with the TTL set.
	time.Sleep(600 * time.Millisecond) // time itself is under test
	if ttl := rdb.PTTL(ctx, key+":a").Val(); ttl <= 0 || ttl > 300*time.Millisecond {
		t.Fatalf("TTL of the registration: %v", ttl)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ResolveNode(ctx, "a"); !errors.Is(err, engineio.ErrUnknownNode) {
		t.Fatalf("ResolveNode(a) after Close: %v, want ErrUnknownNode", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestNodeRegistryCache(t *testing.T) {
	rdb := newClient(t)
	ctx := context.Background()
	key := randomPrefix() + "-node"
	r := NewNodeRegistry(rdb, NodeRegistryOptions{Key: key, CacheTTL: time.Hour})
	if _, err := r.ResolveNode(ctx, "x"); !errors.Is(err, engineio.ErrUnknownNode) {
		t.Fatal(err)
	}
	rdb.Set(ctx, key+":x", "http://x", time.Minute)
	t.Cleanup(func() { rdb.Del(context.Background(), key+":x") })
	if _, err := r.ResolveNode(ctx, "x"); !errors.Is(err, engineio.ErrUnknownNode) {
		t.Fatalf("the unknown answer was not cached: %v", err)
	}
	for i := range maxCachedNodes + 10 {
		_, _ = r.ResolveNode(ctx, "n"+string(rune('a'+i%26))+time.Now().Format("150405.000000000"))
	}
	r.mu.Lock()
	n := len(r.cache)
	r.mu.Unlock()
	if n > maxCachedNodes {
		t.Fatalf("%d cached nodes, want at most %d", n, maxCachedNodes)
	}
}
