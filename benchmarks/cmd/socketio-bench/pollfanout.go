package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketio-go/socketio/benchmarks/internal/sioclient"
)

// --- fan-out to long-polling clients ----------------------------------------

// runPollFanout is the fan-out with every client on long-polling: n
// clients keep a GET pending; the first one POSTs "bcast" events (batched
// like the official client), which the server sends to all n, each client
// receiving them in its next poll response.
func (b *bench) runPollFanout(impl string, n, rep int) (StepRun, error) {
	run := StepRun{Scenario: "polling-fanout", Impl: impl, Rep: rep, Clients: n}
	s, err := b.startServer(impl, b.profiling != "")
	if err != nil {
		return run, err
	}
	defer s.stop()
	rates := b.cfg.pollFanRates
	stats := newStepStats(len(rates))
	var delivered, ended atomic.Int64
	handle := bcastRecorder(stats, &delivered)
	clients := make([]*pollClient, 0, n)
	var wg sync.WaitGroup
	defer func() {
		s.stop()
		for _, pc := range clients {
			close(pc.done)
			pc.p.Close()
		}
		wg.Wait()
	}()
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		pp, err := sioclient.DialPolling(ctx, s.addr, b.localIP(i*2), handle)
		cancel()
		if err != nil {
			return run, fmt.Errorf("polling-fanout: connect %d: %w", i, err)
		}
		pc := &pollClient{p: pp, signal: make(chan struct{}, 1), done: make(chan struct{})}
		clients = append(clients, pc)
		wg.Add(2)
		go func() { defer wg.Done(); pc.getLoop(handle, &ended) }()
		go func() { defer wg.Done(); pc.postLoop(&ended) }()
	}
	time.Sleep(300 * time.Millisecond)
	src := clients[0]
	send := func(step int, from, cnt int64, start time.Time, rate float64) {
		src.enqueue(func(buf []byte) []byte {
			for k := from; k < from+cnt; k++ {
				if k > from {
					buf = append(buf, 0x1e)
				}
				buf = appendBcast(buf, step, intended(start, k, rate))
			}
			return buf
		})
	}
	st := &stepper{b: b, s: s, stats: stats, counter: &delivered, ended: ended.Load, perMsg: int64(n), p99Stop: b.cfg.echoP99Stop, p99Knee: 50 * time.Millisecond}
	run.Steps = st.runAll(rates, fmt.Sprintf("pollfan %-5s n=%d rep %d", impl, n, rep), send)
	return run, nil
}
