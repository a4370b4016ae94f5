package main

import (
	"fmt"
	"slices"
	"time"
)

// IdlePoint is the server's memory with N idle WebSocket clients.
type IdlePoint struct {
	N            int     `json:"n"`
	RSS          int64   `json:"rss_bytes"`
	BaselineRSS  int64   `json:"baseline_rss_bytes"`
	PerConnKiB   float64 `json:"rss_per_conn_kib"`
	ConnectRate  float64 `json:"connect_rate_per_s"` // for the connections added to reach N
	Failed       int     `json:"failed"`
	Disconnected int64   `json:"disconnected"`
	Threads      int     `json:"threads"`
	IdleCPU      float64 `json:"idle_cpu_core_fraction"` // over the settle period
}

// IdleRun is one idle-curve run of one server.
type IdleRun struct {
	Impl   string      `json:"impl"`
	Rep    int         `json:"rep"`
	Points []IdlePoint `json:"points"`
}

// runIdle connects clients in increments up to each N of the curve,
// letting the server settle before reading its RSS.
func (b *bench) runIdle(impl string, rep int) (IdleRun, error) {
	run := IdleRun{Impl: impl, Rep: rep}
	p, s, err := b.startWithPool(impl, false)
	if err != nil {
		return run, err
	}
	defer p.close()
	defer s.stop() // before the clients close: no TIME_WAIT on their ports
	time.Sleep(b.cfg.settle / 2)
	rss0 := s.rss()
	ns := slices.Clone(b.cfg.idleN)
	slices.Sort(ns)
	for _, n := range ns {
		add := n - p.size()
		if add <= 0 {
			continue
		}
		res := b.connect(p, s.addr, add, b.cfg.connectConc, 30*time.Second)
		m := startMeter(s)
		time.Sleep(b.cfg.settle)
		el, scpu, _ := m.stop()
		pt := IdlePoint{
			N:            p.size(),
			RSS:          s.rss(),
			BaselineRSS:  rss0,
			Failed:       res.failed,
			Disconnected: p.ended(),
			Threads:      s.threads(),
			IdleCPU:      scpu.Seconds() / el.Seconds(),
		}
		if res.elapsed > 0 {
			pt.ConnectRate = float64(res.ok) / res.elapsed.Seconds()
		}
		if pt.N > 0 {
			pt.PerConnKiB = float64(pt.RSS-rss0) / float64(pt.N) / 1024
		}
		b.logf("  idle %-5s rep %d: %6d conns  rss %7.1f MiB  %6.2f KiB/conn  connect %6.0f/s  failed %d  threads %d",
			impl, rep, pt.N, float64(pt.RSS)/(1<<20), pt.PerConnKiB, pt.ConnectRate, pt.Failed, pt.Threads)
		if res.firstErr != nil {
			b.logf("    first connect error: %v", res.firstErr)
		}
		run.Points = append(run.Points, pt)
		if !s.alive() {
			return run, fmt.Errorf("%s server died", impl)
		}
	}
	return run, nil
}

// StormRun is one connect storm: N clients connecting at once.
type StormRun struct {
	Impl       string  `json:"impl"`
	Rep        int     `json:"rep"`
	N          int     `json:"n"`
	OK         int     `json:"ok"`
	Failed     int     `json:"failed"`
	Seconds    float64 `json:"seconds"` // until the last success
	Rate       float64 `json:"rate_per_s"`
	P50ms      float64 `json:"connect_p50_ms"`
	P99ms      float64 `json:"connect_p99_ms"`
	Maxms      float64 `json:"connect_max_ms"`
	ServerCPUs float64 `json:"server_cpu_s"`
	FirstError string  `json:"first_error,omitempty"`
}

func (b *bench) runStorm(impl string, rep int) (StormRun, error) {
	run := StormRun{Impl: impl, Rep: rep, N: b.cfg.stormN}
	p, s, err := b.startWithPool(impl, false)
	if err != nil {
		return run, err
	}
	defer p.close()
	defer s.stop() // before the clients close: no TIME_WAIT on their ports
	time.Sleep(500 * time.Millisecond)
	m := startMeter(s)
	res := b.connect(p, s.addr, b.cfg.stormN, b.cfg.stormN, 60*time.Second)
	_, scpu, _ := m.stop()
	run.OK, run.Failed = res.ok, res.failed
	run.Seconds = res.elapsed.Seconds()
	if res.elapsed > 0 {
		run.Rate = float64(res.ok) / res.elapsed.Seconds()
	}
	run.ServerCPUs = scpu.Seconds()
	if len(res.times) > 0 {
		slices.Sort(res.times)
		q := func(f float64) float64 {
			i := int(f * float64(len(res.times)-1))
			return float64(res.times[i]) / float64(time.Millisecond)
		}
		run.P50ms, run.P99ms, run.Maxms = q(0.5), q(0.99), q(1)
	}
	if res.firstErr != nil {
		run.FirstError = res.firstErr.Error()
	}
	b.logf("  storm %-5s rep %d: %d/%d connected in %.2fs = %.0f conn/s (p50 %.0f ms, p99 %.0f ms, server cpu %.2fs)",
		impl, rep, run.OK, run.N, run.Seconds, run.Rate, run.P50ms, run.P99ms, run.ServerCPUs)
	if res.firstErr != nil {
		b.logf("    first error: %v", res.firstErr)
	}
	return run, nil
}
