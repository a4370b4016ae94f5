// Command clusterserver is the Go node of the benchmark suite's cluster
// scenario (benchmarks/README.md): cmd/benchserver's contract (on "/",
// "bcast" is broadcast with the same arguments to every socket of the
// namespace, "echo" is acknowledged with the same arguments; default
// options) on a server whose adapter is this repository's Redis adapter
// (adapters/redis), so that a broadcast reaches the sockets of every node
// of the cluster.
//
// It lives in the benchmarks module, not beside cmd/benchserver, because
// the root module is standard-library only and the Redis adapter, with its
// Redis client, is a module of its own (adapters/redis): the benchmarks
// module requires it (replace ../adapters/redis), as it requires the root
// module.
//
// Environment:
//
//   - PORT: the port on 127.0.0.1 (default 3000);
//   - REDIS_ADDR: Redis host:port (default 127.0.0.1:6379);
//   - ADAPTER: classic (redis.NewAdapter, the official createAdapter's
//     protocol; the default) or sharded (redis.NewShardedAdapter, the
//     official createShardedAdapter's, SPUBLISH, Redis 7);
//   - PREFIX: the channels' prefix (Options.Key or
//     ShardedOptions.ChannelPrefix; default "socket.io"). Servers with the
//     same prefix on the same Redis form one cluster;
//   - PPROF: serve net/http/pprof on this loopback address (off when
//     empty).
//
// The official counterpart is benchmarks/node/server.js with REDIS_ADDR
// set. It listens once its adapter's subscriptions are confirmed.
package main

import (
	"cmp"
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adapter"
	redisadapter "github.com/socketio-go/socketio/adapters/redis"
	"github.com/socketio-go/socketio/internal/benchapp"
)

func main() {
	port := cmp.Or(os.Getenv("PORT"), "3000")
	addr := cmp.Or(os.Getenv("REDIS_ADDR"), "127.0.0.1:6379")
	mode := cmp.Or(os.Getenv("ADAPTER"), "classic")
	prefix := cmp.Or(os.Getenv("PREFIX"), "socket.io")

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rc := goredis.NewClient(&goredis.Options{Addr: addr, ClientName: "clusterserver-" + port})
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := rc.Ping(ctx).Err()
	cancel()
	if err != nil {
		log.Fatalf("redis %s: %v", addr, err)
	}
	var factory adapter.Factory
	switch mode {
	case "classic":
		factory = redisadapter.NewAdapter(rc, redisadapter.Options{Key: prefix, Logger: logger})
	case "sharded":
		factory = redisadapter.NewShardedAdapter(rc, redisadapter.ShardedOptions{ChannelPrefix: prefix, Logger: logger})
	default:
		log.Fatalf("invalid ADAPTER=%q (classic or sharded)", mode)
	}

	// NewServer creates "/", whose adapter subscribes (and waits for the
	// confirmations) before it returns.
	srv := socketio.NewServer(&socketio.Options{Adapter: factory, Logger: logger})
	benchapp.Register(srv)
	benchapp.Run(srv, port, os.Getenv("PPROF"), fmt.Sprintf("clusterserver (redis adapter %s on %s, prefix %s)", mode, addr, prefix))
}
