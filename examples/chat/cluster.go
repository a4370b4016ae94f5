package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio"
	sioredis "github.com/socketio-go/socketio/adapters/redis"
	"github.com/socketio-go/socketio/engineio"
)

// This file holds the cluster mode of the chat (examples/cluster): several
// chat servers on one Redis, behind a load balancer that needs no sticky
// sessions. With -redis, the server
//
//   - uses the Redis adapter, so that a message sent to one server reaches
//     the users of the others, and the member lists cover every server;
//   - registers its node id and address in Redis (NodeRegistry), and
//     forwards a request of a connection opened on another server to that
//     server (socketio.Options.Forwarding).

// clusterFlags are the command-line options of the cluster mode.
type clusterFlags struct {
	redis     string
	key       string
	node      string
	advertise string
}

func (c *clusterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.redis, "redis", "", "Redis `address` (host:port): run as one server of a cluster")
	fs.StringVar(&c.key, "redis-key", "socket.io", "`prefix` of the Redis channels and keys of the cluster")
	fs.StringVar(&c.node, "node", "", "node `id` of this server in the cluster (default: random)")
	fs.StringVar(&c.advertise, "advertise", "", "base `URL` where the other servers reach this one (default: http://<listen address>)")
}

// cluster is a running cluster mode; the zero value is the single-server
// mode.
type cluster struct {
	flags    clusterFlags
	rdb      *goredis.Client
	registry *sioredis.NodeRegistry
}

// options connects to Redis and returns the server options of the cluster
// mode, or nil without -redis.
func (c *cluster) options(ctx context.Context) (*socketio.Options, error) {
	f := &c.flags
	if f.redis == "" {
		return nil, nil
	}
	if f.node == "" {
		f.node = engineio.NewID()[:8]
	}
	c.rdb = goredis.NewClient(&goredis.Options{Addr: f.redis})
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.rdb.Ping(pingCtx).Err(); err != nil {
		_ = c.rdb.Close()
		return nil, fmt.Errorf("redis at %s: %w", f.redis, err)
	}
	c.registry = sioredis.NewNodeRegistry(c.rdb, sioredis.NodeRegistryOptions{Key: f.key + "-node"})
	return &socketio.Options{
		Adapter:    sioredis.NewAdapter(c.rdb, sioredis.Options{Key: f.key}),
		Forwarding: &socketio.ForwardingOptions{NodeID: f.node, Resolver: c.registry},
	}, nil
}

// register tells the other servers where this one listens.
func (c *cluster) register(ctx context.Context, log *slog.Logger, addr net.Addr) error {
	if c.registry == nil {
		return nil
	}
	url := c.flags.advertise
	if url == "" {
		url = "http://" + addr.String()
	}
	if err := c.registry.Register(ctx, c.flags.node, url); err != nil {
		return err
	}
	log.Info("registered in the cluster", "node", c.flags.node, "url", url)
	return nil
}

// close leaves the cluster: the other servers stop forwarding here.
func (c *cluster) close() error {
	if c.rdb == nil {
		return nil
	}
	return errors.Join(c.registry.Close(), c.rdb.Close())
}
