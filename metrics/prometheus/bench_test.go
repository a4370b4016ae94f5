package socketioprom

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/parser"
)

// The cost of the observer calls on the hot paths, alone: what a
// broadcast (once per local delivery, whatever its fan-out), a received
// packet and an acknowledgement add when the metrics are on. Compare with
// benchmarks' BenchmarkBroadcastObserved, the whole broadcast.

func benchMetrics(b *testing.B) (*Metrics, *socketio.Namespace) {
	srv := socketio.NewServer(nil)
	b.Cleanup(func() { _ = srv.Close() })
	m, err := Register(srv, Options{Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	return m, srv.Of("/")
}

func BenchmarkObserverBroadcast(b *testing.B) {
	m, nsp := benchMetrics(b)
	b.ReportAllocs()
	for b.Loop() {
		m.Broadcast(nsp, 1000)
		m.PacketsSent(parser.Event, 1000, 40_000)
	}
}

func BenchmarkObserverPacketReceived(b *testing.B) {
	m, _ := benchMetrics(b)
	b.ReportAllocs()
	for b.Loop() {
		m.PacketReceived(parser.Event, 40)
	}
}

func BenchmarkObserverAck(b *testing.B) {
	m, nsp := benchMetrics(b)
	b.ReportAllocs()
	for b.Loop() {
		m.Ack(nsp, "ev", time.Millisecond, nil)
	}
}
