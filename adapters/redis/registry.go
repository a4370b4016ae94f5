package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio/engineio"
)

// NodeRegistryOptions configure NewNodeRegistry.
type NodeRegistryOptions struct {
	// Key is the prefix of the registry's keys: a server is registered
	// under "<Key>:<node id>". Zero means "socket.io-node".
	Key string
	// TTL is how long a registration lives in Redis when it is not
	// refreshed: the registration of a server that died disappears after
	// TTL. Registrations are refreshed every TTL/3. Zero means 15s.
	TTL time.Duration
	// CacheTTL is how long ResolveNode keeps an answer (an address or an
	// unknown node) before asking Redis again. Zero means 5s.
	CacheTTL time.Duration
	// Logger receives the registry's diagnostics. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// NodeRegistry lets the servers of a cluster find each other in Redis, so
// that each can forward the requests of the sessions of the others
// (socketio.Options.Forwarding) with no static list of servers. Each server
// registers its node id and the base URL where the others reach it; the
// registry is the resolver of every server.
//
// It implements engineio.NodeResolver. All methods are safe for concurrent
// use.
type NodeRegistry struct {
	rdb      goredis.UniversalClient
	key      string
	ttl      time.Duration
	cacheTTL time.Duration
	log      *slog.Logger

	mu    sync.Mutex
	cache map[string]cachedNode
	reg   *registration // nil until Register
}

type cachedNode struct {
	url     string // "": unknown node
	expires time.Time
}

type registration struct {
	key, url string
	stop     chan struct{}
	done     chan struct{}
}

// maxCachedNodes bounds the cache: node ids come from clients, which may
// send any.
const maxCachedNodes = 4096

// NewNodeRegistry returns a registry on rdb.
func NewNodeRegistry(rdb goredis.UniversalClient, opts NodeRegistryOptions) *NodeRegistry {
	r := &NodeRegistry{rdb: rdb, key: opts.Key, ttl: opts.TTL, cacheTTL: opts.CacheTTL, log: opts.Logger, cache: make(map[string]cachedNode)}
	if r.key == "" {
		r.key = "socket.io-node"
	}
	if r.ttl <= 0 {
		r.ttl = 15 * time.Second
	}
	if r.cacheTTL <= 0 {
		r.cacheTTL = 5 * time.Second
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	return r
}

// Register records that the server nodeID is reached at baseURL (for
// example "http://10.0.0.7:3000") and keeps the record alive until Close.
// It returns once the record is in Redis. A registry registers one server.
func (r *NodeRegistry) Register(ctx context.Context, nodeID, baseURL string) error {
	key := r.key + ":" + nodeID
	if err := r.rdb.Set(ctx, key, baseURL, r.ttl).Err(); err != nil {
		return fmt.Errorf("redis: registering node %q: %w", nodeID, err)
	}
	reg := &registration{key: key, url: baseURL, stop: make(chan struct{}), done: make(chan struct{})}
	r.mu.Lock()
	if r.reg != nil {
		r.mu.Unlock()
		return errors.New("redis: NodeRegistry.Register called twice")
	}
	r.reg = reg
	r.mu.Unlock()
	go r.refresh(reg)
	return nil
}

// refresh renews the registration every TTL/3 until Close.
func (r *NodeRegistry) refresh(reg *registration) {
	defer close(reg.done)
	t := time.NewTicker(r.ttl / 3)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-reg.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), r.ttl/3)
		err := r.rdb.Set(ctx, reg.key, reg.url, r.ttl).Err()
		cancel()
		switch {
		case err != nil && !failing:
			failing = true
			r.log.Warn("redis: cannot refresh the node registration", "key", reg.key, "err", err)
		case err == nil && failing:
			failing = false
			r.log.Info("redis: node registration refreshed again", "key", reg.key)
		}
	}
}

// delScript deletes a registration only if it is still this server's.
var delScript = goredis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// Close stops refreshing the registration and removes it from Redis, so
// that the other servers stop forwarding here at once (after their cache
// expires) rather than after the TTL. It does not close the Redis client.
func (r *NodeRegistry) Close() error {
	r.mu.Lock()
	reg := r.reg
	r.reg = nil
	r.mu.Unlock()
	if reg == nil {
		return nil
	}
	close(reg.stop)
	<-reg.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := delScript.Run(ctx, r.rdb, []string{reg.key}, reg.url).Err(); err != nil {
		return fmt.Errorf("redis: removing the node registration: %w", err)
	}
	return nil
}

// ResolveNode returns the base URL registered for nodeID, or an error
// wrapping engineio.ErrUnknownNode when there is none. Answers are cached
// for CacheTTL.
func (r *NodeRegistry) ResolveNode(ctx context.Context, nodeID string) (string, error) {
	now := time.Now()
	r.mu.Lock()
	c, ok := r.cache[nodeID]
	r.mu.Unlock()
	if !ok || now.After(c.expires) {
		url, err := r.rdb.Get(ctx, r.key+":"+nodeID).Result()
		switch {
		case errors.Is(err, goredis.Nil):
			url = ""
		case err != nil:
			return "", fmt.Errorf("redis: resolving node %q: %w", nodeID, err)
		}
		c = cachedNode{url: url, expires: now.Add(r.cacheTTL)}
		r.mu.Lock()
		if len(r.cache) >= maxCachedNodes {
			for id, e := range r.cache {
				if now.After(e.expires) {
					delete(r.cache, id)
				}
			}
			if len(r.cache) >= maxCachedNodes {
				clear(r.cache)
			}
		}
		r.cache[nodeID] = c
		r.mu.Unlock()
	}
	if c.url == "" {
		return "", fmt.Errorf("%w %q", engineio.ErrUnknownNode, nodeID)
	}
	return c.url, nil
}

var _ engineio.NodeResolver = (*NodeRegistry)(nil)
