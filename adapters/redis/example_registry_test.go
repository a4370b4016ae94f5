package redis_test

import (
	"context"
	"log"
	"net"
	"net/http"

	goredis "github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio"
	sioredis "github.com/socketio-go/socketio/adapters/redis"
)

// Servers behind a round-robin load balancer, without sticky sessions:
// the Redis adapter carries the broadcasts, the registry lets each server
// find the one that owns a session and forward its requests there.
func ExampleNodeRegistry() {
	rdb := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
	registry := sioredis.NewNodeRegistry(rdb, sioredis.NodeRegistryOptions{})
	defer registry.Close()

	nodeID := "node1" // unique in the cluster: a host name, a pod name...
	srv := socketio.NewServer(&socketio.Options{
		Adapter:    sioredis.NewAdapter(rdb, sioredis.Options{}),
		Forwarding: &socketio.ForwardingOptions{NodeID: nodeID, Resolver: registry},
	})
	ln, err := net.Listen("tcp", ":3000")
	if err != nil {
		log.Fatal(err)
	}
	// The address where the other servers reach this one.
	if err := registry.Register(context.Background(), nodeID, "http://10.0.0.1:3000"); err != nil {
		log.Fatal(err)
	}
	http.Handle("/socket.io/", srv)
	log.Fatal(http.Serve(ln, nil))
}
