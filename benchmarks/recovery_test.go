package benchmarks

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
)

// BenchmarkFanoutRecovery is BenchmarkBroadcast with connection state
// recovery off and on (as cmd/benchserver with RECOVERY=1), the two
// alternating within each -count iteration: what storing each broadcast
// and adding its offset costs per delivery. With recovery on, the stored
// events stay in memory (2 minutes plus the heartbeat, or 64 MiB), so the
// heap grows with b.N; allocs/delivery and B/delivery count everything
// allocated, the store included.
func BenchmarkFanoutRecovery(b *testing.B) {
	for _, transport := range []string{"pipe", "tcp"} {
		for _, n := range []int{100, 1000} {
			for _, rec := range []bool{false, true} {
				name := fmt.Sprintf("%s/sockets=%d/recovery=%s", transport, n, map[bool]string{false: "off", true: "on"}[rec])
				b.Run(name, func(b *testing.B) {
					if transport == "tcp" && uint64(2*n+200) > fdLimit() {
						b.Skipf("%d loopback connections need %d file descriptors; RLIMIT_NOFILE is %d", n, 2*n+200, fdLimit())
					}
					var opts *socketio.Options
					if rec {
						opts = &socketio.Options{ConnectionStateRecovery: &socketio.ConnectionStateRecovery{MaxDisconnectionDuration: 2 * time.Minute}}
					}
					r := newRigOpts(b, transport, n, opts)
					defer r.close()
					args := []any{1, 123456789, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}
					emit := func() {
						r.target.Add(int64(n))
						if err := r.srv.Emit("bcast", args...); err != nil {
							b.Fatal(err)
						}
						select {
						case <-r.reached:
						case <-time.After(30 * time.Second):
							b.Fatalf("broadcast not delivered: %d of %d", r.recv.Load(), r.target.Load())
						}
					}
					emit() // warm up the pools
					runtime.GC()
					var m0, m1 runtime.MemStats
					runtime.ReadMemStats(&m0)
					b.ReportAllocs()
					b.ResetTimer()
					ops := 0
					for b.Loop() {
						emit()
						ops++
					}
					b.StopTimer()
					runtime.ReadMemStats(&m1)
					deliveries := float64(ops * n)
					b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/deliveries, "allocs/delivery")
					b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/deliveries, "B/delivery")
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/deliveries, "ns/delivery")
				})
			}
		}
	}
}

// BenchmarkEmitRecovery measures what connection state recovery adds to one
// broadcast itself, apart from its deliveries: srv.Emit to a namespace with
// no socket, recovery off and on (alternating within each -count
// iteration). With it on, each event is encoded with its offset and stored;
// the store keeps every event (2 minutes plus the heartbeat), so its byte
// limit is raised for the benchmark not to measure evictions.
func BenchmarkEmitRecovery(b *testing.B) {
	for _, rec := range []bool{false, true} {
		b.Run("recovery="+map[bool]string{false: "off", true: "on"}[rec], func(b *testing.B) {
			var opts *socketio.Options
			if rec {
				opts = &socketio.Options{ConnectionStateRecovery: &socketio.ConnectionStateRecovery{MaxDisconnectionDuration: 2 * time.Minute, MaxBufferedBytes: 1 << 30}}
			}
			srv := socketio.NewServer(opts)
			defer srv.Close()
			args := []any{1, 123456789, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}
			b.ReportAllocs()
			for b.Loop() {
				if err := srv.Emit("bcast", args...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
