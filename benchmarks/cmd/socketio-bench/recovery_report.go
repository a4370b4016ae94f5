package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// recoveryGroup is the summary group of the fanout-recovery scenario at n
// clients.
func recoveryGroup(n int) string { return fmt.Sprintf("fanout-recovery %d", n) }

func isRecoveryGroup(g string) bool { return strings.HasPrefix(g, "fanout-recovery ") }

// recoveryRatios are the ratios of the fanout-recovery table: the cost of
// recovery for each server, and ours against the official one, both on.
var recoveryRatios = [][2]string{{"go+rec", "go"}, {"node+rec", "node"}, {"go+rec", "node+rec"}}

// addRecRow adds a summary row over the servers of the fanout-recovery
// scenario.
func (b *bench) addRecRow(group, metric, better, target string, fn func(impl string) []float64) {
	r := Row{Group: group, Metric: metric, Better: better, Target: target, Values: map[string]float64{}, Ratios: map[string]float64{}, Samples: map[string][]float64{}}
	found := false
	for _, impl := range b.cfg.recImpls {
		s := fn(impl)
		if len(s) == 0 {
			continue
		}
		found = true
		r.Samples[impl] = s
		r.Values[impl] = median(s)
	}
	if !found {
		return
	}
	for _, q := range recoveryRatios {
		a, okA := r.Values[q[0]]
		z, okZ := r.Values[q[1]]
		if okA && okZ && z != 0 {
			r.Ratios[q[0]+"/"+q[1]] = a / z
		}
	}
	b.res.Summary = append(b.res.Summary, r)
}

// summarizeRecovery adds the rows and checks of the fanout-recovery
// scenario: fan-out with connection state recovery on and off.
func (b *bench) summarizeRecovery() {
	c := b.cfg
	for _, n := range c.fanN {
		found := false
		for _, impl := range c.recImpls {
			found = found || len(b.runsOf("fanout-recovery", impl, n)) > 0
		}
		if !found {
			continue
		}
		per := func(f func(StepRun) (float64, bool)) func(string) []float64 {
			return func(impl string) []float64 {
				var v []float64
				for _, r := range b.runsOf("fanout-recovery", impl, n) {
					if x, ok := f(r); ok {
						v = append(v, x)
					}
				}
				return v
			}
		}
		g := recoveryGroup(n)
		b.addRecRow(g, fmt.Sprintf("max deliveries/s (%d clients)", n), "higher", "go+rec ≥ 0.9× go", per(func(r StepRun) (float64, bool) { return maxStep(r).Throughput, true }))
		b.addRecRow(g, "p99 latency at max (ms)", "lower", "", per(func(r StepRun) (float64, bool) { return maxStep(r).P99ms, true }))
		b.addRecRow(g, "server process CPU per delivery at max (µs)", "lower", "", per(func(r StepRun) (float64, bool) { return maxStep(r).CPUPerMsgUs, true }))
		b.addRecRow(g, "server RSS at the end of the max step (MiB)", "lower", "", per(func(r StepRun) (float64, bool) { return float64(maxStep(r).RSS) / (1 << 20), true }))
		for _, ref := range c.fanRefs {
			b.addRecRow(g, fmt.Sprintf("server process CPU per delivery at %.0f/s (µs)", ref), "lower", "", per(func(r StepRun) (float64, bool) {
				s, ok := stepAt(r, ref)
				return s.CPUPerMsgUs, ok && !s.Saturated
			}))
			b.addRecRow(g, fmt.Sprintf("p99 latency at %.0f/s (ms)", ref), "lower", "", per(func(r StepRun) (float64, bool) {
				s, ok := stepAt(r, ref)
				return s.P99ms, ok && !s.Saturated
			}))
		}
	}
	for _, r := range b.res.Summary {
		if !isRecoveryGroup(r.Group) || !strings.HasPrefix(r.Metric, "max deliveries/s") {
			continue
		}
		if x, ok := r.Ratios["go+rec/go"]; ok {
			b.res.Checks = append(b.res.Checks, fmt.Sprintf("%s: go with recovery on delivers %.1f%% of go's max deliveries/s with it off (cost %.1f%%; target ≤ 10%%)", r.Group, 100*x, 100*(1-x)))
		}
	}
	b.summarizeRaces()
}

// pairedRaces returns, for n clients, the races of go and go+rec paired
// by repetition and trial.
func (b *bench) pairedRaces(n int) (off, on []Race) {
	for _, r := range b.res.Runs {
		if r.Scenario != "fanout-recovery" || r.Clients != n || r.Impl != "go" {
			continue
		}
		for _, q := range b.res.Runs {
			if q.Scenario != r.Scenario || q.Clients != n || q.Impl != "go"+recSuffix || q.Rep != r.Rep {
				continue
			}
			for _, x := range r.Races {
				for _, y := range q.Races {
					if x.Trial == y.Trial {
						off, on = append(off, x), append(on, y)
					}
				}
			}
		}
	}
	return off, on
}

// summarizeRaces adds the rows and the check of the races: the ratios are
// the medians of the ratios within each race.
func (b *bench) summarizeRaces() {
	for _, n := range b.cfg.fanN {
		off, on := b.pairedRaces(n)
		if len(off) == 0 {
			continue
		}
		g := recoveryGroup(n)
		col := func(f func(Race) float64) func(string) []float64 {
			return func(impl string) []float64 {
				var src []Race
				switch impl {
				case "go":
					src = off
				case "go" + recSuffix:
					src = on
				}
				var v []float64
				for _, x := range src {
					v = append(v, f(x))
				}
				return v
			}
		}
		var thr, cpu, share []float64
		for i := range off {
			if off[i].Throughput > 0 {
				thr = append(thr, on[i].Throughput/off[i].Throughput)
			}
			if off[i].CPUPerMsgUs > 0 {
				cpu = append(cpu, on[i].CPUPerMsgUs/off[i].CPUPerMsgUs)
			}
			if off[i].ServerCPU > 0 {
				share = append(share, on[i].ServerCPU/off[i].ServerCPU)
			}
		}
		if len(thr) == 0 || len(cpu) == 0 {
			continue
		}
		before := len(b.res.Summary)
		b.addRecRow(g, fmt.Sprintf("races: deliveries/s, both saturated at once on the core, %.0f/s offered to each (%d races; ratio: median of the races' ratios)", off[0].Offered, len(off)), "higher", "go+rec ≥ 0.9× go", col(func(x Race) float64 { return x.Throughput }))
		b.addRecRow(g, "races: server process CPU per delivery (µs; ratio: median of the races')", "lower", "", col(func(x Race) float64 { return x.CPUPerMsgUs }))
		b.addRecRow(g, "races: server process CPU (cores; ratio: median of the races')", "", "", col(func(x Race) float64 { return x.ServerCPU }))
		if len(b.res.Summary) == before+3 {
			b.res.Summary[before].Ratios["go+rec/go"] = median(thr)
			b.res.Summary[before+1].Ratios["go+rec/go"] = median(cpu)
			b.res.Summary[before+2].Ratios["go+rec/go"] = median(share)
		}
		b.res.Checks = append(b.res.Checks, fmt.Sprintf("%s: races (both saturated at once): go with recovery on delivers %.1f%% of what go with it off delivers (median of %d races, %.1f%% to %.1f%%), at %.1f%% of its CPU per delivery (%.1f%% to %.1f%%); throughput cost %.1f%%, target ≤ 10%%",
			g, 100*median(thr), len(thr), 100*slices.Min(thr), 100*slices.Max(thr), 100*median(cpu), 100*slices.Min(cpu), 100*slices.Max(cpu), 100*(1-median(thr))))
	}
}

// writeRecoverySummary writes the fanout-recovery table and the delivery
// runs.
func (b *bench) writeRecoverySummary(sb *strings.Builder) {
	var rows []Row
	for _, r := range b.res.Summary {
		if isRecoveryGroup(r.Group) {
			rows = append(rows, r)
		}
	}
	if len(rows) > 0 {
		impls := b.cfg.recImpls
		reps := 0
		for _, r := range b.res.Runs {
			if r.Scenario == "fanout-recovery" {
				reps = max(reps, r.Rep)
			}
		}
		// The ratios some row has.
		var ratios [][2]string
		for _, q := range recoveryRatios {
			for _, r := range rows {
				if _, ok := r.Ratios[q[0]+"/"+q[1]]; ok {
					ratios = append(ratios, q)
					break
				}
			}
		}
		fmt.Fprintf(sb, "\n## Fan-out with connection state recovery on (+rec) and off\n\nMedians of %d runs; the servers run together, their steps interleaved, then the races (see benchmarks/README.md); the steps are below (scenario fanout-recovery).\n\n", reps)
		if b.res.RecoveryControl {
			sb.WriteString("**A/A control (`-recovery-control`): the +rec servers ran with recovery OFF; the ratios show what the method resolves.**\n\n")
		}
		sb.WriteString("| group | metric |")
		for _, impl := range impls {
			fmt.Fprintf(sb, " %s |", impl)
		}
		for _, q := range ratios {
			fmt.Fprintf(sb, " %s/%s |", q[0], q[1])
		}
		sb.WriteString(" target |\n|---|---|")
		sb.WriteString(strings.Repeat("---:|", len(impls)+len(ratios)))
		sb.WriteString("---|\n")
		for _, r := range rows {
			fmt.Fprintf(sb, "| %s | %s |", r.Group, r.Metric)
			for _, impl := range impls {
				if v, ok := r.Values[impl]; ok {
					fmt.Fprintf(sb, " %s |", fmtVal(v))
				} else {
					sb.WriteString(" |")
				}
			}
			for _, q := range ratios {
				if v, ok := r.Ratios[q[0]+"/"+q[1]]; ok && !math.IsNaN(v) {
					fmt.Fprintf(sb, " %.2f |", v)
				} else {
					sb.WriteString(" |")
				}
			}
			fmt.Fprintf(sb, " %s |\n", r.Target)
		}
	}
	if len(b.res.Delivery) > 0 {
		d0 := b.res.Delivery[0]
		fmt.Fprintf(sb, "\n## Delivery under connection kills (recovery on)\n\n%d official clients (socket.io-client, transports %s, reconnection: %s) behind the fault proxy; %.0f sequenced broadcasts/s for %.0f s while the proxy kills %.0f%% of the clients' connections every second; then up to %s for the last reconnections and replays. Delivered = unique sequence numbers received / (clients × published): every client existed for the whole run.\n\n",
			d0.Clients, d0.Transports, d0.Reconnect, d0.Rate, d0.Seconds, d0.KillFrac*100, b.cfg.deliveryDrain)
		sb.WriteString("| server | mode | rep | kills | delivered | lost | duplicates | out of order | reconnections | recovered | failed recoveries | interrupted recoveries | replayed | connect errors | clients with loss | half-open sides closed by the server (p50) | latency live p50/p99/max | latency replayed | server CPU | clients CPU | gen CPU | error |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---:|---:|---:|---|\n")
		for _, r := range b.res.Delivery {
			ho := ""
			if r.Mode == "half-open" {
				ho = fmt.Sprintf("%d of %d (%.0f ms)", r.HalfOpenClosed, r.HalfOpenClosed+r.HalfOpenHeld, r.HalfOpenCloseP50)
			}
			fmt.Fprintf(sb, "| %s | %s | %d | %d | %.3f%% | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %s | %s | %s | %.0f%% | %.0f%% | %.0f%% | %s |\n",
				r.Impl, r.Mode, r.Rep, r.Kills, r.DeliveredPct, r.Expected-r.Received, r.Duplicates, r.OutOfOrder, r.Reconnects, r.Recovered, r.Failed, r.Interrupted, r.Replayed, r.ConnErrors, r.LossClients, ho, r.LatLive, r.LatReplayed, r.ServerCPU*100, r.ClientCPU*100, r.GenCPU*100, r.Error)
		}
	}
}
