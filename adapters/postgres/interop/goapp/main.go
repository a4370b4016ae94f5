// Command goapp implements the cluster app contract of
// adapters/postgres/interop (README.md there) on this repository's server
// and PostgreSQL adapter; node-app.js implements the same contract on the
// official packages, so that the two run side by side in one cluster.
//
// Environment: PORT, PG_URL, PREFIX (ChannelPrefix and TableName),
// HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT (ms), PAYLOAD_THRESHOLD (bytes),
// EXIT_ON_STDIN_EOF=1, LOG_INFO=1 (log level Info, not Warn). It prints "listening <port>" once it LISTENs, then
// one JSON object a line.
package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/socketio-go/socketio"
	pgadapter "github.com/socketio-go/socketio/adapters/postgres"
	"github.com/socketio-go/socketio/internal/interopapp"
)

func main() {
	prefix := cmp.Or(os.Getenv("PREFIX"), "socket_io")
	ln, port, label := interopapp.Listen()

	pcfg, err := pgxpool.ParseConfig(cmp.Or(os.Getenv("PG_URL"), "postgres://postgres@127.0.0.1:5432/test"))
	if err != nil {
		interopapp.Fatal("invalid PG_URL: %v", err)
	}
	pcfg.ConnConfig.RuntimeParams["application_name"] = fmt.Sprintf("go-%d", port)
	pool, err := pgxpool.NewWithConfig(context.Background(), pcfg)
	if err != nil {
		interopapp.Fatal("pool: %v", err)
	}
	defer pool.Close()

	ms := func(name string) time.Duration {
		v := os.Getenv(name)
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			interopapp.Fatal("invalid %s=%s", name, v)
		}
		return time.Duration(n) * time.Millisecond
	}
	threshold := 0
	if v := os.Getenv("PAYLOAD_THRESHOLD"); v != "" {
		if threshold, err = strconv.Atoi(v); err != nil {
			interopapp.Fatal("invalid PAYLOAD_THRESHOLD=%s", v)
		}
	}

	level := slog.LevelWarn
	if os.Getenv("LOG_INFO") == "1" {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	factory := pgadapter.NewAdapter(pool, pgadapter.Options{
		ChannelPrefix:     prefix,
		TableName:         prefix,
		HeartbeatInterval: ms("HEARTBEAT_INTERVAL"),
		HeartbeatTimeout:  ms("HEARTBEAT_TIMEOUT"),
		PayloadThreshold:  threshold,
		Logger:            logger,
	})

	sopts := &socketio.Options{Adapter: factory, Logger: logger}
	srv := socketio.NewServer(sopts)
	interopapp.Setup(srv, label)
	interopapp.Serve(srv, ln, port)
}
