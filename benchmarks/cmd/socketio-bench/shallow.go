package main

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketio-go/socketio/benchmarks/internal/sioclient"
)

// The shallow scenario is the closed-loop fan-out: a publisher keeps at
// most -shallow-window broadcasts in flight, each sent only once an
// earlier one reached every client. Queues stay shallow (a few frames per
// connection at most), so every broadcast wakes every connection's
// writer, where the open-loop fanout scenario, whose broadcasts pile up,
// measures one write carrying many frames. The servers compared (ours,
// the official one and cmd/relay, a plain gorilla/websocket relay) run at
// the same time, each with its own clients, and are measured in turn, the
// order alternating, for -shallow-duration each.

// ShallowRun is one measured window of the shallow scenario.
type ShallowRun struct {
	Impl        string  `json:"impl"`
	Rep         int     `json:"rep"`
	Clients     int     `json:"clients"`
	Window      int     `json:"window"`
	RateCap     float64 `json:"rate_cap_per_s,omitempty"` // deliveries/s the publisher was held to (0: as fast as the window allows)
	Broadcasts  int64   `json:"broadcasts"`               // completed in the window
	Deliveries  int64   `json:"deliveries"`
	Seconds     float64 `json:"seconds"`
	Throughput  float64 `json:"throughput_per_s"` // deliveries/s
	ServerCPU   float64 `json:"server_cpu"`       // cores
	ServerSys   float64 `json:"server_sys_share"`
	CPUPerMsgUs float64 `json:"cpu_per_msg_us"`
	CoreBusy    float64 `json:"core_busy"`
	CorePerUs   float64 `json:"core_per_msg_us"`
	GenCPU      float64 `json:"gen_cpu"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	P999ms      float64 `json:"p999_ms"`
	// Race is the trial number of a co-scheduled run (0: a run alone):
	// RaceWith ran at the same time, both saturated on the server core.
	Race     int    `json:"race,omitempty"`
	RaceWith string `json:"race_with,omitempty"`
	Error    string `json:"error,omitempty"`
}

// shallowRig is one server with its n clients and the closed-loop
// publisher.
type shallowRig struct {
	impl string
	n    int
	p    *wsPool
	s    *server
	src  *sioclient.Conn

	slots      chan struct{} // a token per broadcast that may be sent
	ring       []int32       // deliveries per in-flight broadcast, by seq % len
	deliveries atomic.Int64
	completed  atomic.Int64
	measuring  atomic.Bool
	hist       atomic.Pointer[sioclient.Histogram]
	wmu        sync.Mutex
	buf        []byte
}

const shallowRing = 1024

var shallowPrefix = []byte(`42["bcast",`)

func (b *bench) newShallowRig(impl string, n int) (*shallowRig, error) {
	p, s, err := b.startWithClients("shallow", impl, n)
	if err != nil {
		return nil, err
	}
	r := &shallowRig{impl: impl, n: n, p: p, s: s, src: p.get(0), ring: make([]int32, shallowRing)}
	r.hist.Store(new(sioclient.Histogram))
	p.setHandler(r.onMessage)
	time.Sleep(300 * time.Millisecond)
	return r, nil
}

// onMessage runs on the generator's poller goroutine for every message a
// client receives: it counts the deliveries of each broadcast and frees a
// slot once one reached every client.
func (r *shallowRig) onMessage(m []byte) {
	if !bytes.HasPrefix(m, shallowPrefix) {
		return
	}
	seq, rest, ok := sioclient.ParseInt(m[len(shallowPrefix):])
	if !ok || len(rest) < 2 || seq < 0 {
		return
	}
	t, _, ok := sioclient.ParseInt(rest[1:])
	if !ok {
		return
	}
	r.deliveries.Add(1)
	if r.measuring.Load() {
		r.hist.Load().Record(nowUS() - t)
	}
	i := seq % shallowRing
	r.ring[i]++
	if int(r.ring[i]) == r.n {
		r.ring[i] = 0
		r.completed.Add(1)
		r.slots <- struct{}{} // capacity window: never blocks
	}
}

// publish sends broadcast seq stamped with the current time.
func (r *shallowRig) publish(seq int64) error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.buf = append(r.buf[:0], shallowPrefix...)
	r.buf = sioclient.AppendInt(r.buf, seq)
	r.buf = append(r.buf, ',')
	r.buf = sioclient.AppendInt(r.buf, nowUS())
	r.buf = append(r.buf, ",\""...)
	r.buf = append(r.buf, pad...)
	r.buf = append(r.buf, "\"]"...)
	return r.src.WriteText(r.buf)
}

var errStalled = errors.New("a broadcast did not reach every client within 10 s")

// measure runs the closed loop for warmup + dur with window broadcasts in
// flight (held to rateCap deliveries/s when rateCap > 0), measuring the
// last dur, and waits for the broadcasts in flight to complete.
func (b *bench) measureShallow(r *shallowRig, window int, rateCap float64, warmup, dur time.Duration, rep int) ShallowRun {
	out := ShallowRun{Impl: r.impl, Rep: rep, Clients: r.n, Window: window, RateCap: rateCap}
	r.slots = make(chan struct{}, window)
	for range window {
		r.slots <- struct{}{}
	}
	clear(r.ring)
	var seq int64
	start := time.Now()
	var interval time.Duration
	if rateCap > 0 {
		interval = time.Duration(float64(time.Second) * float64(r.n) / rateCap)
	}
	var (
		m              cpuMeter
		d0, b0         int64
		measureStarted bool
		stall          = time.NewTimer(10 * time.Second)
	)
	defer stall.Stop()
	end := start.Add(warmup + dur)
	for {
		now := time.Now()
		if !measureStarted && now.Sub(start) >= warmup {
			measureStarted = true
			r.hist.Store(new(sioclient.Histogram))
			r.measuring.Store(true)
			d0, b0 = r.deliveries.Load(), r.completed.Load()
			m = startMeter(r.s)
		}
		if now.After(end) {
			break
		}
		select {
		case <-r.slots:
		case <-stall.C:
			r.measuring.Store(false)
			out.Error = errStalled.Error()
			return out
		}
		stall.Reset(10 * time.Second)
		if interval > 0 {
			if due := start.Add(time.Duration(seq) * interval); time.Until(due) > 0 {
				time.Sleep(time.Until(due))
			}
		}
		if err := r.publish(seq); err != nil {
			out.Error = err.Error()
			return out
		}
		seq++
	}
	el, scpu, gcpu := m.stop()
	cbusy, _ := m.core()
	sys := m.sys()
	r.measuring.Store(false)
	got := r.deliveries.Load() - d0
	out.Broadcasts = r.completed.Load() - b0
	out.Deliveries = got
	out.Seconds = el.Seconds()
	out.Throughput = float64(got) / el.Seconds()
	out.ServerCPU = scpu.Seconds() / el.Seconds()
	out.GenCPU = gcpu.Seconds() / el.Seconds()
	out.CoreBusy = cbusy.Seconds() / el.Seconds()
	if scpu > 0 {
		out.ServerSys = float64(sys) / float64(scpu)
	}
	if got > 0 {
		out.CPUPerMsgUs = float64(scpu.Nanoseconds()) / 1e3 / float64(got)
		out.CorePerUs = float64(cbusy.Nanoseconds()) / 1e3 / float64(got)
	}
	h := r.hist.Load()
	out.P50ms, out.P99ms, out.P999ms = h.Quantile(0.5)/1000, h.Quantile(0.99)/1000, h.Quantile(0.999)/1000
	// Let the broadcasts in flight complete.
	deadline := time.Now().Add(10 * time.Second)
	for len(r.slots) < window && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	if len(r.slots) < window {
		out.Error = errStalled.Error()
	}
	return out
}

func (r *shallowRig) close() {
	r.s.stop()
	r.p.close()
}

func fmtShallow(x ShallowRun) string {
	held := ""
	if x.RateCap > 0 {
		held = fmt.Sprintf(" (held to %.0f/s)", x.RateCap)
	}
	return fmt.Sprintf("%-6s n=%-5d rep %d: %8.0f deliveries/s%s  srv cpu %3.0f%% (%2.0f%% sys)  %5.2f µs/delivery  core %3.0f%% %5.2f µs  p50 %6.2f ms  p99 %7.2f ms  gen cpu %3.0f%%",
		x.Impl, x.Clients, x.Rep, x.Throughput, held, x.ServerCPU*100, x.ServerSys*100, x.CPUPerMsgUs, x.CoreBusy*100, x.CorePerUs, x.P50ms, x.P99ms, x.GenCPU*100)
}

// runShallow runs the shallow scenario for every client count: the
// servers of -shallow-impls started together with their clients, then
// -reps rounds in which each is measured once, the order alternating.
func (b *bench) runShallow() {
	c := b.cfg
	for _, n := range c.shallowN {
		var rigs []*shallowRig
		for _, impl := range c.shallowImpls {
			r, err := b.newShallowRig(impl, n)
			if err != nil {
				b.check(err)
				b.res.Shallow = append(b.res.Shallow, ShallowRun{Impl: impl, Clients: n, Window: c.shallowWindow, Error: err.Error()})
				continue
			}
			rigs = append(rigs, r)
		}
		for rep := 1; rep <= c.reps; rep++ {
			order := slices.Clone(rigs)
			if rep%2 == 0 {
				slices.Reverse(order)
			}
			for _, r := range order {
				x := b.measureShallow(r, c.shallowWindow, 0, c.shallowWarmup, c.shallowDur, rep)
				b.logf("  shallow %s", fmtShallow(x))
				b.check(errorOf(x.Error))
				b.res.Shallow = append(b.res.Shallow, x)
				time.Sleep(c.pause)
			}
		}
		b.shallowRaces(rigs, c.reps)
		for _, r := range rigs {
			r.close()
		}
		b.save()
	}
}

// shallowRaces runs -shallow-races trials in which each of our servers
// ("go", and "base" when there is one) and the relay run their closed loops
// at the same time: both saturated, the kernel splits the server core
// between them, and whatever else runs on the machine weighs on both at
// every instant, so the ratios of their deliveries and of their CPU per
// delivery in the same window hold on a shared machine where figures
// measured seconds apart do not.
func (b *bench) shallowRaces(rigs []*shallowRig, reps int) {
	c := b.cfg
	var relay *shallowRig
	for _, r := range rigs {
		if r.impl == "relay" {
			relay = r
		}
	}
	if relay == nil || c.shallowRaces <= 0 {
		return
	}
	for _, ours := range rigs {
		if ours.impl != "go" && ours.impl != "base" {
			continue
		}
		for t := 1; t <= c.shallowRaces; t++ {
			pair := []*shallowRig{ours, relay}
			if t%2 == 0 {
				pair[0], pair[1] = pair[1], pair[0]
			}
			out := make([]ShallowRun, 2)
			var wg sync.WaitGroup
			for k, r := range pair {
				wg.Go(func() { out[k] = b.measureShallow(r, c.shallowWindow, 0, c.shallowWarmup, c.shallowDur, t) })
			}
			wg.Wait()
			for k := range out {
				out[k].Race, out[k].RaceWith = t, pair[1-k].impl
				b.logf("  shallow race %s", fmtShallow(out[k]))
				b.check(errorOf(out[k].Error))
				b.res.Shallow = append(b.res.Shallow, out[k])
			}
			time.Sleep(c.pause)
		}
	}
}

func errorOf(s string) error {
	if s == "" {
		return nil
	}
	return errors.New(s)
}

// profileShallow takes CPU profiles of ours and of the relay (both Go,
// both started with pprof) in the shallow scenario at the same delivery
// rate (-profile-shallow-rate, below what either sustains), so that the
// profiles compare the work per delivery at equal load.
func (b *bench) profileShallow(dir string) error {
	c := b.cfg
	for _, n := range c.shallowN {
		impls := []string{"go", "relay"}
		if c.baseServer != "" {
			impls = append(impls, "base")
		}
		for _, impl := range impls {
			s, err := b.startServer(impl, true)
			if err != nil {
				return err
			}
			p := newWSPool()
			res := b.connect(p, s.addr, n, c.connectConc, 30*time.Second)
			if res.failed > 0 {
				s.stop()
				p.close()
				return fmt.Errorf("shallow profile: %d clients failed: %v", res.failed, res.firstErr)
			}
			r := &shallowRig{impl: impl, n: n, p: p, s: s, src: p.get(0), ring: make([]int32, shallowRing)}
			r.hist.Store(new(sioclient.Histogram))
			p.setHandler(r.onMessage)
			time.Sleep(300 * time.Millisecond)
			name := fmt.Sprintf("shallow%d-%s", n, impl)
			secs := max(int(c.shallowDur/time.Second), 1)
			var wg sync.WaitGroup
			wg.Go(func() {
				time.Sleep(c.shallowWarmup)
				if err := fetch(s, fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), filepath.Join(dir, name+"-cpu.pb.gz")); err != nil {
					b.logf("  profile: %v", err)
				}
			})
			x := b.measureShallow(r, c.shallowWindow, c.profShallowRate, c.shallowWarmup, time.Duration(secs)*time.Second+200*time.Millisecond, 1)
			wg.Wait()
			b.logf("  profile %s: %s", name, fmtShallow(x))
			r.close()
		}
	}
	return nil
}

func (b *bench) writeShallowSummary(sb *strings.Builder) {
	if len(b.res.Shallow) == 0 {
		return
	}
	var ns []int
	var impls []string
	for _, x := range b.res.Shallow {
		if !slices.Contains(ns, x.Clients) {
			ns = append(ns, x.Clients)
		}
		if !slices.Contains(impls, x.Impl) {
			impls = append(impls, x.Impl)
		}
	}
	slices.Sort(ns)
	fmt.Fprintf(sb, "\n## Shallow queues: closed-loop fan-out (window %d)\n\nMedians over the runs; ratios to the relay (cmd/relay) of the same client count.\n\n", b.res.Shallow[0].Window)
	sb.WriteString("| clients | server | runs | deliveries/s | ×relay | server CPU | µs CPU/delivery | ×relay | core µs/delivery | p50 ms | p99 ms | gen CPU |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, n := range ns {
		med := func(impl string, f func(ShallowRun) float64) (float64, int) {
			var v []float64
			for _, x := range b.res.Shallow {
				if x.Impl == impl && x.Clients == n && x.Error == "" && x.RateCap == 0 && x.Race == 0 {
					v = append(v, f(x))
				}
			}
			return median(v), len(v)
		}
		relThr, _ := med("relay", func(x ShallowRun) float64 { return x.Throughput })
		relCPU, _ := med("relay", func(x ShallowRun) float64 { return x.CPUPerMsgUs })
		for _, impl := range impls {
			thr, k := med(impl, func(x ShallowRun) float64 { return x.Throughput })
			if k == 0 {
				continue
			}
			cpu, _ := med(impl, func(x ShallowRun) float64 { return x.ServerCPU })
			per, _ := med(impl, func(x ShallowRun) float64 { return x.CPUPerMsgUs })
			core, _ := med(impl, func(x ShallowRun) float64 { return x.CorePerUs })
			p50, _ := med(impl, func(x ShallowRun) float64 { return x.P50ms })
			p99, _ := med(impl, func(x ShallowRun) float64 { return x.P99ms })
			gen, _ := med(impl, func(x ShallowRun) float64 { return x.GenCPU })
			ratio := func(a, r float64) string {
				if math.IsNaN(a) || math.IsNaN(r) || r == 0 {
					return ""
				}
				return fmt.Sprintf("%.2f", a/r)
			}
			fmt.Fprintf(sb, "| %d | %s | %d | %.0f | %s | %.0f%% | %s | %s | %s | %s | %s | %.0f%% |\n", n, impl, k, thr, ratio(thr, relThr), cpu*100, fmtVal(per), ratio(per, relCPU), fmtVal(core), fmtVal(p50), fmtVal(p99), gen*100)
		}
	}
	// Races: per trial, ours / the relay in the same window.
	for _, n := range ns {
		for _, ours := range []string{"go", "base"} {
			var thr, cpu []float64
			byTrial := map[int]map[string]ShallowRun{}
			for _, x := range b.res.Shallow {
				if x.Clients != n || x.Race == 0 || x.Error != "" || (x.Impl != ours && x.RaceWith != ours) {
					continue
				}
				if byTrial[x.Race] == nil {
					byTrial[x.Race] = map[string]ShallowRun{}
				}
				byTrial[x.Race][x.Impl] = x
			}
			for _, m := range byTrial {
				o, okO := m[ours]
				r, okR := m["relay"]
				if okO && okR && r.Throughput > 0 && r.CPUPerMsgUs > 0 {
					thr = append(thr, o.Throughput/r.Throughput)
					cpu = append(cpu, o.CPUPerMsgUs/r.CPUPerMsgUs)
				}
			}
			if len(thr) > 0 {
				slices.Sort(thr)
				slices.Sort(cpu)
				fmt.Fprintf(sb, "\nRaces, %d clients (%s and the relay saturated at the same time on the server core, %d trials): %s/relay deliveries/s median %.2f (%.2f to %.2f), CPU per delivery median %.2f (%.2f to %.2f).\n",
					n, ours, len(thr), ours, median(thr), thr[0], thr[len(thr)-1], median(cpu), cpu[0], cpu[len(cpu)-1])
			}
		}
	}
	var errs []string
	for _, x := range b.res.Shallow {
		if x.Error != "" {
			errs = append(errs, fmt.Sprintf("%s n=%d rep %d: %s", x.Impl, x.Clients, x.Rep, x.Error))
		}
	}
	if len(errs) > 0 {
		sb.WriteString("\nFailed runs:\n\n")
		for _, e := range errs {
			fmt.Fprintf(sb, "- %s\n", e)
		}
	}
	sb.WriteString("\nTargets: go ≥ 0.85× the relay's deliveries/s, ≤ 1.2× its CPU per delivery.\n")
}
