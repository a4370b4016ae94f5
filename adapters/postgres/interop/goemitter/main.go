// Command goemitter sends one message of this module's Emitter to a
// cluster of adapters/postgres/interop, for emitter tests in
// cluster.test.js. Environment: PG_URL, PREFIX (ChannelPrefix and
// TableName). Commands:
//
//	emit <event> binary         Emit(event, 1, []byte{1, 2, 3}) to all
//	emit-room <room> <event>    To(room).Emit(event, <10000 "e">)
//	sse <event>                 ServerSideEmit(event, "from-go-emitter")
//	join <room> <new room>      In(room).SocketsJoin(new room)
//	disconnect <room>           In(room).DisconnectSockets(false)
package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	pgadapter "github.com/socketio-go/socketio/adapters/postgres"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, cmp.Or(os.Getenv("PG_URL"), "postgres://postgres@127.0.0.1:5432/test"))
	if err != nil {
		fail(err)
	}
	defer pool.Close()
	prefix := os.Getenv("PREFIX")
	em := pgadapter.NewEmitter(pool, &pgadapter.EmitterOptions{ChannelPrefix: prefix, TableName: prefix})
	args := os.Args[1:]
	if len(args) < 2 {
		fail(fmt.Errorf("usage: goemitter <command> <args>"))
	}
	switch args[0] {
	case "emit":
		err = em.Emit(ctx, args[1], 1, []byte{1, 2, 3})
	case "emit-room":
		err = em.To(args[1]).Emit(ctx, args[2], strings.Repeat("e", 10000))
	case "sse":
		err = em.ServerSideEmit(ctx, args[1], "from-go-emitter")
	case "join":
		err = em.In(args[1]).SocketsJoin(ctx, args[2])
	case "disconnect":
		err = em.In(args[1]).DisconnectSockets(ctx, false)
	default:
		err = fmt.Errorf("unknown command %s", args[0])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
