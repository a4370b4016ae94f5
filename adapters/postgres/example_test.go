package postgres_test

import (
	"context"
	"log"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"

	socketio "github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adapters/postgres"
)

// A server of a cluster on PostgreSQL; Node servers with
// createAdapter(pool) of @socket.io/postgres-adapter on the same database
// join the same cluster.
func ExampleNewAdapter() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@127.0.0.1:5432/app")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	// Once, or in a migration: the table for the messages too large for a
	// NOTIFY, or holding binary values.
	if err := postgres.CreateAttachmentTable(ctx, pool, ""); err != nil {
		log.Fatal(err)
	}
	srv := socketio.NewServer(&socketio.Options{
		Adapter: postgres.NewAdapter(pool, postgres.Options{}),
	})
	srv.OnConnection(func(s *socketio.Socket) {
		s.Join("news")
	})
	// Reaches the sockets in "news" of every server of the cluster.
	_ = srv.To("news").Emit("headline", "hello")
	log.Fatal(http.ListenAndServe(":3000", srv))
}

// Sending to the clients of a cluster from a process that is not a
// Socket.IO server (a worker, a cron job).
func ExampleEmitter() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@127.0.0.1:5432/app")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	em := postgres.NewEmitter(pool, nil)
	if err := em.To("news").Emit(ctx, "headline", "from a worker"); err != nil {
		log.Print(err)
	}
	_ = em.Of("/admin").In("ops").SocketsJoin(ctx, "alerts")
}
