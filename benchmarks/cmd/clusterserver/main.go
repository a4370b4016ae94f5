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
//     protocol; the default), sharded (redis.NewShardedAdapter, the
//     official createShardedAdapter's, SPUBLISH, Redis 7), nats
//     (adapters/nats NewAdapter, core NATS) or nats-jetstream
//     (adapters/nats NewJetStreamAdapter, with connection state recovery);
//   - NATS_URL: the NATS server of the nats adapters (default
//     nats://127.0.0.1:4222);
//   - PREFIX: the channels' prefix (Options.Key or
//     ShardedOptions.ChannelPrefix; default "socket.io"). Servers with the
//     same prefix on the same Redis form one cluster;
//   - ADAPTER=postgres: this repository's PostgreSQL adapter
//     (adapters/postgres, the official @socket.io/postgres-adapter's
//     protocol) on PG_URL (default postgres://postgres@127.0.0.1:5432/test),
//     channel prefix PREFIX, attachment table PG_TABLE (default
//     siobench_attachments, created if missing); Redis is not used;
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
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	goredis "github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio"
	natsadapter "github.com/socketio-go/socketio/adapters/nats"
	pgadapter "github.com/socketio-go/socketio/adapters/postgres"
	redisadapter "github.com/socketio-go/socketio/adapters/redis"
	"github.com/socketio-go/socketio/internal/benchapp"
)

func main() {
	port := cmp.Or(os.Getenv("PORT"), "3000")
	addr := cmp.Or(os.Getenv("REDIS_ADDR"), "127.0.0.1:6379")
	mode := cmp.Or(os.Getenv("ADAPTER"), "classic")
	prefix := cmp.Or(os.Getenv("PREFIX"), "socket.io")

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if mode == "postgres" {
		runPostgres(port, prefix, logger)
		return
	}
	opts := &socketio.Options{Logger: logger}
	where := addr
	switch mode {
	case "nats", "nats-jetstream":
		where = cmp.Or(os.Getenv("NATS_URL"), nats.DefaultURL)
		nc, err := nats.Connect(where, nats.Name("clusterserver-"+port), nats.MaxReconnects(-1))
		if err != nil {
			log.Fatalf("nats %s: %v", where, err)
		}
		defer nc.Close()
		o := natsadapter.Options{Prefix: prefix, Logger: logger}
		if mode == "nats" {
			opts.Adapter = natsadapter.NewAdapter(nc, o)
		} else {
			opts.Adapter = natsadapter.NewJetStreamAdapter(nc, natsadapter.JetStreamOptions{Options: o, Stream: strings.ReplaceAll(prefix, ".", "_")})
			opts.ConnectionStateRecovery = &socketio.ConnectionStateRecovery{}
		}
	case "classic", "sharded":
		rc := goredis.NewClient(&goredis.Options{Addr: addr, ClientName: "clusterserver-" + port})
		defer rc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := rc.Ping(ctx).Err()
		cancel()
		if err != nil {
			log.Fatalf("redis %s: %v", addr, err)
		}
		if mode == "classic" {
			opts.Adapter = redisadapter.NewAdapter(rc, redisadapter.Options{Key: prefix, Logger: logger})
		} else {
			opts.Adapter = redisadapter.NewShardedAdapter(rc, redisadapter.ShardedOptions{ChannelPrefix: prefix, Logger: logger})
		}
	default:
		log.Fatalf("invalid ADAPTER=%q (classic, sharded, postgres, nats or nats-jetstream)", mode)
	}

	// NewServer creates "/", whose adapter subscribes (and waits for the
	// confirmations) before it returns.
	srv := socketio.NewServer(opts)
	benchapp.Register(srv)
	benchapp.Run(srv, port, os.Getenv("PPROF"), fmt.Sprintf("clusterserver (%s adapter on %s, prefix %s)", mode, where, prefix))
}

// runPostgres serves on the PostgreSQL adapter.
func runPostgres(port, prefix string, logger *slog.Logger) {
	url := cmp.Or(os.Getenv("PG_URL"), "postgres://postgres@127.0.0.1:5432/test")
	table := cmp.Or(os.Getenv("PG_TABLE"), "siobench_attachments")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		log.Fatalf("postgres %s: %v", url, err)
	}
	defer pool.Close()
	if err := pgadapter.CreateAttachmentTable(ctx, pool, table); err != nil {
		log.Fatal(err)
	}
	// NewServer creates "/", whose adapter LISTENs before it returns.
	srv := socketio.NewServer(&socketio.Options{
		Adapter: pgadapter.NewAdapter(pool, pgadapter.Options{ChannelPrefix: prefix, TableName: table, Logger: logger}),
		Logger:  logger,
	})
	benchapp.Register(srv)
	benchapp.Run(srv, port, os.Getenv("PPROF"), fmt.Sprintf("clusterserver (postgres adapter on %s, prefix %s, table %s)", url, prefix, table))
}
