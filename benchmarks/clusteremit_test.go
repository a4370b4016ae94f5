package benchmarks

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adapter"
	redisadapter "github.com/socketio-go/socketio/adapters/redis"
)

// BenchmarkClusterEmit measures how long Server.Emit takes on a server
// with no sockets, with the in-memory adapter and with the Redis adapters
// (cmd/clusterserver's), a second server of the cluster subscribed in the
// same process: with a Redis adapter, Emit returns after the PUBLISH's
// round trip. A "bcast" handler runs Emit on the socket's serial
// dispatcher, so 1/(ns/op) (emits/s) bounds the broadcasts one socket can
// make per second, whatever the CPU left; its events beyond that wait, up
// to Options.EventQueueSize, and then the connection is closed. The
// official adapter publishes without waiting for Redis.
//
// It needs a Redis on $REDIS_ADDR (default 127.0.0.1:6379) and skips
// without one.
//
//	cd benchmarks && go test -run '^$' -bench ClusterEmit -benchmem -count 5 .
func BenchmarkClusterEmit(b *testing.B) {
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err != nil {
		b.Skipf("no Redis on %s: %v", addr, err)
	} else {
		c.Close()
	}
	for _, kind := range []string{"memory", "classic", "sharded"} {
		b.Run("adapter="+kind, func(b *testing.B) {
			var factory func() adapter.Factory
			if kind != "memory" {
				rc := goredis.NewClient(&goredis.Options{Addr: addr})
				defer rc.Close()
				var r [6]byte
				_, _ = rand.Read(r[:])
				prefix := "siobench-emit-" + hex.EncodeToString(r[:])
				factory = func() adapter.Factory {
					if kind == "classic" {
						return redisadapter.NewAdapter(rc, redisadapter.Options{Key: prefix})
					}
					return redisadapter.NewShardedAdapter(rc, redisadapter.ShardedOptions{ChannelPrefix: prefix})
				}
			}
			newServer := func() *socketio.Server {
				if factory == nil {
					return socketio.NewServer(nil)
				}
				return socketio.NewServer(&socketio.Options{Adapter: factory()})
			}
			srv := newServer()
			defer srv.Close()
			if factory != nil {
				// The other node of the cluster: Redis delivers every
				// broadcast to it, and it decodes them.
				peer := newServer()
				defer peer.Close()
			}
			var failed atomic.Int64
			b.ReportAllocs()
			for b.Loop() {
				if err := srv.Emit("bcast", 3, 1234567890, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"); err != nil {
					failed.Add(1)
				}
			}
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d emits failed", n)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "emits/s")
		})
	}
}
