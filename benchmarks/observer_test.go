package benchmarks

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	socketioprom "github.com/socketio-go/socketio/metrics/prometheus"
)

// BenchmarkBroadcastObserved is BenchmarkBroadcast's pipe case with and
// without the Prometheus observer (metrics/prometheus) installed, to
// measure what metrics cost a broadcast's fan-out. cpu-ns/delivery is the
// process's CPU time (server and in-process clients) per delivered
// message:
//
//	go test -run '^$' -bench BroadcastObserved -count 6 . | tee obs.txt
//	benchstat -col /metrics obs.txt
func BenchmarkBroadcastObserved(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, metrics := range []string{"off", "on"} {
			b.Run(fmt.Sprintf("pipe/sockets=%d/metrics=%s", n, metrics), func(b *testing.B) {
				r := newRigOpts(b, "pipe", n, nil)
				defer r.close()
				if metrics == "on" {
					if _, err := socketioprom.Register(r.srv, socketioprom.Options{Registerer: prometheus.NewRegistry()}); err != nil {
						b.Fatal(err)
					}
				}
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
				emit()
				runtime.GC()
				cpu0 := cpuTime()
				b.ReportAllocs()
				b.ResetTimer()
				ops := 0
				for b.Loop() {
					emit()
					ops++
				}
				b.StopTimer()
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(ops*n), "ns/delivery")
				// CPU time is steadier than wall time on a shared machine.
				b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(ops*n), "cpu-ns/delivery")
			})
		}
	}
}

// cpuTime returns the CPU time the process used so far (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
