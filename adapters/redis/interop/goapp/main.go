// Command goapp implements the cluster app contract of
// adapters/redis/interop (README.md there) on this repository's server and
// Redis adapters; node-app.js implements the same contract on the official
// packages, so that the two run side by side in one cluster.
//
// Environment: PORT, REDIS_URL (or REDIS_ADDR host:port),
// MODE=sharded|classic|streams, PREFIX (ChannelPrefix / Key; with streams
// also the stream name and the session key prefix "<PREFIX>:session:"),
// RECOVERY=1 (ConnectionStateRecovery), SUBSCRIPTION_MODE
// (sharded only), REQUESTS_TIMEOUT (ms), EXIT_ON_STDIN_EOF=1. It prints "listening <port>", then
// one JSON object a line.
package main

import (
	"cmp"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adapter"
	redisadapter "github.com/socketio-go/socketio/adapters/redis"
	"github.com/socketio-go/socketio/internal/interopapp"
)

func main() {
	mode := cmp.Or(os.Getenv("MODE"), "sharded")
	prefix := cmp.Or(os.Getenv("PREFIX"), "socket.io")
	ln, port, label := interopapp.Listen()

	var ropts *goredis.Options
	if u := os.Getenv("REDIS_URL"); u != "" {
		var err error
		if ropts, err = goredis.ParseURL(u); err != nil {
			interopapp.Fatal("invalid REDIS_URL: %v", err)
		}
	} else {
		ropts = &goredis.Options{Addr: cmp.Or(os.Getenv("REDIS_ADDR"), "127.0.0.1:6379")}
	}
	ropts.ClientName = fmt.Sprintf("go-%d", port)
	rc := goredis.NewClient(ropts)
	defer rc.Close()

	var requestsTimeout time.Duration
	if v := os.Getenv("REQUESTS_TIMEOUT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			interopapp.Fatal("invalid REQUESTS_TIMEOUT=%s", v)
		}
		requestsTimeout = time.Duration(n) * time.Millisecond
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var factory adapter.Factory
	switch mode {
	case "sharded":
		factory = redisadapter.NewShardedAdapter(rc, redisadapter.ShardedOptions{
			ChannelPrefix:    prefix,
			SubscriptionMode: redisadapter.SubscriptionMode(os.Getenv("SUBSCRIPTION_MODE")),
			RequestsTimeout:  requestsTimeout,
			Logger:           logger,
		})
	case "classic":
		factory = redisadapter.NewAdapter(rc, redisadapter.Options{Key: prefix, RequestsTimeout: requestsTimeout, Logger: logger})
	case "streams":
		factory = redisadapter.NewStreamsAdapter(rc, redisadapter.StreamsOptions{
			StreamName:       prefix,
			ChannelPrefix:    prefix,
			SessionKeyPrefix: prefix + ":session:",
			RequestsTimeout:  requestsTimeout,
			Logger:           logger,
		})
	default:
		interopapp.Fatal("invalid MODE=%s", mode)
	}

	sopts := &socketio.Options{Adapter: factory, Logger: logger}
	if os.Getenv("RECOVERY") == "1" {
		sopts.ConnectionStateRecovery = &socketio.ConnectionStateRecovery{MaxDisconnectionDuration: 2 * time.Minute}
	}
	srv := socketio.NewServer(sopts)
	interopapp.Setup(srv, label)
	interopapp.Serve(srv, ln, port)
}
