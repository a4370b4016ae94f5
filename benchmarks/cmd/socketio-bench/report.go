package main

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// Machine describes where the results were measured.
type Machine struct {
	CPU       string  `json:"cpu"`
	Cores     int     `json:"cores"`
	MemGiB    float64 `json:"mem_gib"`
	Kernel    string  `json:"kernel"`
	Go        string  `json:"go"`
	Node      string  `json:"node"`
	SocketIO  string  `json:"socket_io"`
	EngineIO  string  `json:"engine_io"`
	WS        string  `json:"ws"`
	ServerCPU string  `json:"server_cpu"`
	GenCPU    string  `json:"gen_cpu"`
	NOFILE    uint64  `json:"rlimit_nofile"`
	Commit    string  `json:"server_commit"` // git commit of the tree the Go server was built from
}

func (m Machine) String() string {
	return fmt.Sprintf("%s, %d cores, %.0f GiB, Linux %s, %s, Node %s (socket.io %s, engine.io %s, ws %s); servers on CPU %s, generator on CPU %s; Go server built from %s",
		m.CPU, m.Cores, m.MemGiB, m.Kernel, m.Go, m.Node, m.SocketIO, m.EngineIO, m.WS, m.ServerCPU, m.GenCPU, m.Commit)
}

func machineInfo(c config) Machine {
	m := Machine{Cores: onlineCPUs(), Go: runtime.Version(), ServerCPU: c.serverCPU, GenCPU: c.genCPU}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		fmt.Sscanf(strings.SplitN(string(b), "\n", 2)[0], "MemTotal: %f kB", &kb)
		m.MemGiB = kb / (1 << 20)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("git", "-C", filepath.Dir(c.goServer), "log", "-1", "--format=%h %s").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "-C", filepath.Dir(c.goServer), "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
			m.Commit += " (with uncommitted changes)"
		}
	}
	if out, err := exec.Command(c.nodeBin, "--version").Output(); err == nil {
		m.Node = strings.TrimSpace(string(out))
	}
	dir := filepath.Join(filepath.Dir(c.nodeServer), "node_modules")
	m.SocketIO = pkgVersion(filepath.Join(dir, "socket.io"))
	m.EngineIO = pkgVersion(filepath.Join(dir, "engine.io"))
	m.WS = pkgVersion(filepath.Join(dir, "ws"))
	return m
}

func pkgVersion(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return "?"
	}
	const key = `"version": "`
	s := string(b)
	i := strings.Index(s, key)
	if i < 0 {
		return "?"
	}
	s = s[i+len(key):]
	return s[:strings.IndexByte(s, '"')]
}

// Results is everything written to results.json.
type Results struct {
	Started string     `json:"started"`
	Command string     `json:"command"`
	Seconds float64    `json:"seconds"`
	Machine Machine    `json:"machine"`
	Idle    []IdleRun  `json:"idle"`
	Storm   []StormRun `json:"storm"`
	Runs    []StepRun  `json:"runs"`
	// RecoveryControl: the fanout-recovery runs are the A/A control
	// (-recovery-control: the +rec servers ran with recovery off).
	RecoveryControl bool `json:"recovery_control,omitempty"`
	// Delivery runs of the delivery scenario.
	Delivery []DeliveryRun `json:"delivery,omitempty"`
	// Shallow runs of the shallow scenario (closed-loop fan-out).
	Shallow []ShallowRun `json:"shallow,omitempty"`
	Summary []Row        `json:"summary"`
	Curves  []Curve      `json:"curves"`
	Checks  []string     `json:"checks"`
}

// Row is one line of the summary table: the median over repetitions of one
// figure for each server, and the ratios.
type Row struct {
	Group   string               `json:"group"`
	Metric  string               `json:"metric"`
	Better  string               `json:"better"` // "lower" or "higher"
	Values  map[string]float64   `json:"values"`
	Ratios  map[string]float64   `json:"ratios"`
	Target  string               `json:"target,omitempty"`
	Samples map[string][]float64 `json:"samples"`
}

// Curve is the median of one step metric per offered load.
type Curve struct {
	Scenario string    `json:"scenario"`
	Impl     string    `json:"impl"`
	Clients  int       `json:"clients"`
	Offered  []float64 `json:"offered"`
	P50      []float64 `json:"p50_ms"`
	P99      []float64 `json:"p99_ms"`
	P999     []float64 `json:"p999_ms"`
	Thru     []float64 `json:"throughput"`
	CPU      []float64 `json:"server_cpu"`
	CPUPer   []float64 `json:"cpu_per_msg_us"`
	Sys      []float64 `json:"server_sys_share"`
	Core     []float64 `json:"core_busy"`
	Soft     []float64 `json:"core_softirq"`
	CorePer  []float64 `json:"core_per_msg_us"`
	GenCPU   []float64 `json:"gen_cpu"`
	Reps     []int     `json:"reps"`
}

func median(v []float64) float64 {
	var w []float64
	for _, x := range v {
		if !math.IsNaN(x) {
			w = append(w, x)
		}
	}
	if len(w) == 0 {
		return math.NaN()
	}
	slices.Sort(w)
	n := len(w)
	if n%2 == 1 {
		return w[n/2]
	}
	return (w[n/2-1] + w[n/2]) / 2
}

func (b *bench) impls(withFloor bool) []string {
	out := slices.Clone(b.cfg.impls)
	if withFloor && b.cfg.floor {
		out = append(out, "floor")
	}
	return out
}

func (b *bench) addRow(group, metric, better, target string, withFloor bool, fn func(impl string) []float64) {
	r := Row{Group: group, Metric: metric, Better: better, Target: target, Values: map[string]float64{}, Ratios: map[string]float64{}, Samples: map[string][]float64{}}
	any := false
	for _, impl := range b.impls(withFloor) {
		s := fn(impl)
		if len(s) == 0 {
			continue
		}
		any = true
		r.Samples[impl] = s
		r.Values[impl] = median(s)
	}
	if !any {
		return
	}
	if g, ok := r.Values["go"]; ok {
		if n, ok := r.Values["node"]; ok && n != 0 {
			r.Ratios["go/node"] = g / n
		}
		if f, ok := r.Values["floor"]; ok && f != 0 {
			r.Ratios["go/floor"] = g / f
		}
	}
	b.res.Summary = append(b.res.Summary, r)
}

func (b *bench) runsOf(scenario, impl string, clients int) []StepRun {
	var out []StepRun
	for _, r := range b.res.Runs {
		if r.Scenario == scenario && r.Impl == impl && (clients == 0 || r.Clients == clients) && len(r.Steps) > 0 {
			out = append(out, r)
		}
	}
	return out
}

func stepAt(r StepRun, offered float64) (Step, bool) {
	for _, s := range r.Steps {
		if s.Offered == offered {
			return s, true
		}
	}
	return Step{}, false
}

func maxStep(r StepRun) Step {
	best := r.Steps[0]
	for _, s := range r.Steps[1:] {
		if s.Throughput > best.Throughput {
			best = s
		}
	}
	return best
}

// sustained returns the highest offered load below the first step that
// failed (p99 over limitMs, anything lost, a disconnection, or less than
// 95% of the offered load achieved): a later step that happens to pass
// again does not count.
func sustained(r StepRun, limitMs float64) float64 {
	best := math.NaN()
	for _, s := range r.Steps {
		if s.P99ms > limitMs || s.Lost > 0 || s.Disconnects > 0 || s.Throughput < 0.95*s.Offered {
			break
		}
		best = s.Offered
	}
	return best
}

func (b *bench) summarize() {
	c := b.cfg
	b.res.Summary = nil
	// Idle.
	ns := slices.Clone(c.idleN)
	slices.Sort(ns)
	for _, n := range ns {
		n := n
		point := func(impl string, f func(IdlePoint) float64) []float64 {
			var v []float64
			for _, r := range b.res.Idle {
				if r.Impl != impl {
					continue
				}
				for _, p := range r.Points {
					if p.N == n {
						v = append(v, f(p))
					}
				}
			}
			return v
		}
		b.addRow("idle", fmt.Sprintf("RSS per idle WebSocket conn at %d conns (KiB)", n), "lower", "≤ 5 KiB at 50k, flat", false,
			func(impl string) []float64 { return point(impl, func(p IdlePoint) float64 { return p.PerConnKiB }) })
	}
	for i, n := range ns {
		if i == 0 {
			continue
		}
		lo, n := ns[i-1], n
		b.addRow("idle", fmt.Sprintf("marginal RSS per conn from %d to %d conns (KiB)", lo, n), "lower", "flat", false, func(impl string) []float64 {
			var v []float64
			for _, r := range b.res.Idle {
				if r.Impl != impl {
					continue
				}
				var a, z *IdlePoint
				for k := range r.Points {
					switch r.Points[k].N {
					case lo:
						a = &r.Points[k]
					case n:
						z = &r.Points[k]
					}
				}
				if a != nil && z != nil {
					v = append(v, float64(z.RSS-a.RSS)/float64(n-lo)/1024)
				}
			}
			return v
		})
	}
	for _, n := range ns {
		n := n
		b.addRow("idle", fmt.Sprintf("connect rate up to %d conns (conn/s, %d in flight)", n, c.connectConc), "higher", "", false, func(impl string) []float64 {
			var v []float64
			for _, r := range b.res.Idle {
				for _, p := range r.Points {
					if r.Impl == impl && p.N == n {
						v = append(v, p.ConnectRate)
					}
				}
			}
			return v
		})
	}
	// Storm.
	if len(b.res.Storm) > 0 {
		storm := func(f func(StormRun) float64) func(string) []float64 {
			return func(impl string) []float64 {
				var v []float64
				for _, r := range b.res.Storm {
					if r.Impl == impl {
						v = append(v, f(r))
					}
				}
				return v
			}
		}
		b.addRow("storm", fmt.Sprintf("connect storm: %d at once, connected", c.stormN), "higher", "all", false, storm(func(r StormRun) float64 { return float64(r.OK) }))
		b.addRow("storm", "connect storm: conn/s", "higher", "≥ 3× node", false, storm(func(r StormRun) float64 { return r.Rate }))
		b.addRow("storm", "connect storm: p99 connect time (ms)", "lower", "", false, storm(func(r StormRun) float64 { return r.P99ms }))
	}
	// Fan-out.
	for _, n := range c.fanN {
		floor := n == c.fanN[0]
		per := func(f func(StepRun) (float64, bool)) func(string) []float64 {
			return func(impl string) []float64 {
				var v []float64
				for _, r := range b.runsOf("fanout", impl, n) {
					if x, ok := f(r); ok {
						v = append(v, x)
					}
				}
				return v
			}
		}
		g := fmt.Sprintf("fanout %d", n)
		tgt := ""
		if n >= 5000 {
			tgt = "≥ 2× node"
		}
		b.addRow(g, fmt.Sprintf("max deliveries/s (%d clients)", n), "higher", tgt, floor, per(func(r StepRun) (float64, bool) { return maxStep(r).Throughput, true }))
		b.addRow(g, "p50 latency at max (ms)", "lower", "", floor, per(func(r StepRun) (float64, bool) { return maxStep(r).P50ms, true }))
		p99tgt := ""
		if n >= 5000 {
			p99tgt = "≤ ½ node"
		}
		b.addRow(g, "p99 latency at max (ms)", "lower", p99tgt, floor, per(func(r StepRun) (float64, bool) { return maxStep(r).P99ms, true }))
		b.addRow(g, "server process CPU at max (cores)", "", "", floor, per(func(r StepRun) (float64, bool) { return maxStep(r).ServerCPU, true }))
		b.addRow(g, "server core busy at max (cores, softirq included)", "", "", floor, per(func(r StepRun) (float64, bool) { return maxStep(r).CoreBusy, true }))
		b.addRow(g, "server process CPU per delivery at max (µs)", "lower", "", floor, per(func(r StepRun) (float64, bool) { return maxStep(r).CPUPerMsgUs, true }))
		b.addRow(g, "server core busy per delivery at max (µs)", "lower", "", floor, per(func(r StepRun) (float64, bool) { return maxStep(r).CorePerMsgUs, true }))
		for _, ref := range c.fanRefs {
			b.addRow(g, fmt.Sprintf("server process CPU per delivery at %.0f/s (µs)", ref), "lower", "≤ ⅓ node, ≤ 1.5× floor", floor, per(func(r StepRun) (float64, bool) {
				s, ok := stepAt(r, ref)
				return s.CPUPerMsgUs, ok
			}))
			b.addRow(g, fmt.Sprintf("server core busy per delivery at %.0f/s (µs)", ref), "lower", "≤ ⅓ node, ≤ 1.5× floor", floor, per(func(r StepRun) (float64, bool) {
				s, ok := stepAt(r, ref)
				return s.CorePerMsgUs, ok
			}))
			b.addRow(g, fmt.Sprintf("p99 latency at %.0f/s (ms)", ref), "lower", "", floor, per(func(r StepRun) (float64, bool) {
				s, ok := stepAt(r, ref)
				return s.P99ms, ok
			}))
		}
	}
	// Echo and polling.
	for _, sc := range []string{"echo", "polling"} {
		per := func(f func(StepRun) (float64, bool)) func(string) []float64 {
			return func(impl string) []float64 {
				var v []float64
				for _, r := range b.runsOf(sc, impl, 0) {
					if x, ok := f(r); ok {
						v = append(v, x)
					}
				}
				return v
			}
		}
		if len(b.runsOf(sc, "go", 0))+len(b.runsOf(sc, "node", 0)) == 0 {
			continue
		}
		g := sc
		if sc == "echo" {
			g = "echo (ws)"
		}
		floor := true
		b.addRow(g, "max rate with p99 ≤ 50 ms (msg/s)", "higher", "≥ 2× node", floor, per(func(r StepRun) (float64, bool) { return sustained(r, 50), true }))
		ref := c.echoRef
		b.addRow(g, fmt.Sprintf("server process CPU per echo at %.0f/s (µs)", ref), "lower", "≤ ⅓ node", floor, per(func(r StepRun) (float64, bool) {
			s, ok := stepAt(r, ref)
			return s.CPUPerMsgUs, ok
		}))
		b.addRow(g, fmt.Sprintf("server core busy per echo at %.0f/s (µs)", ref), "lower", "≤ ⅓ node", floor, per(func(r StepRun) (float64, bool) {
			s, ok := stepAt(r, ref)
			return s.CorePerMsgUs, ok
		}))
		for _, q := range []struct {
			name string
			f    func(Step) float64
		}{{"p50", func(s Step) float64 { return s.P50ms }}, {"p99", func(s Step) float64 { return s.P99ms }}, {"p999", func(s Step) float64 { return s.P999ms }}} {
			b.addRow(g, fmt.Sprintf("%s round trip at %.0f/s (ms)", q.name, ref), "lower", "", floor, per(func(r StepRun) (float64, bool) {
				s, ok := stepAt(r, ref)
				return q.f(s), ok
			}))
		}
	}
	// Fan-out to long-polling clients: the polling targets.
	for _, n := range c.pollFanN {
		per := func(f func(StepRun) (float64, bool)) func(string) []float64 {
			return func(impl string) []float64 {
				var v []float64
				for _, r := range b.runsOf("polling-fanout", impl, n) {
					if x, ok := f(r); ok {
						v = append(v, x)
					}
				}
				return v
			}
		}
		if len(b.runsOf("polling-fanout", "go", n))+len(b.runsOf("polling-fanout", "node", n)) == 0 {
			continue
		}
		g := fmt.Sprintf("polling fanout %d", n)
		floor := n == c.pollFanN[0]
		b.addRow(g, "max deliveries/s with p99 ≤ 50 ms", "higher", "≥ 2× node", floor, per(func(r StepRun) (float64, bool) { return sustained(r, 50), true }))
		b.addRow(g, fmt.Sprintf("max deliveries/s (%d clients)", n), "higher", "", floor, per(func(r StepRun) (float64, bool) { return maxStep(r).Throughput, true }))
		for _, ref := range []float64{20000, 90000} {
			b.addRow(g, fmt.Sprintf("server process CPU per delivery at %.0f/s (µs)", ref), "lower", "≤ ½ node", floor, per(func(r StepRun) (float64, bool) {
				s, ok := stepAt(r, ref)
				return s.CPUPerMsgUs, ok
			}))
			b.addRow(g, fmt.Sprintf("p99 latency at %.0f/s (ms)", ref), "lower", "", floor, per(func(r StepRun) (float64, bool) {
				s, ok := stepAt(r, ref)
				return s.P99ms, ok
			}))
		}
	}
	// Polling vs WebSocket CPU per echo, ours.
	b.res.Checks = nil
	b.summarizeRecovery() // rows and checks of fanout-recovery
	b.summarizeCluster()
	for _, kind := range []string{"server process CPU per echo", "server core busy per echo"} {
		wsCPU, pollCPU := math.NaN(), math.NaN()
		for _, r := range b.res.Summary {
			if strings.HasPrefix(r.Metric, kind) {
				if r.Group == "echo (ws)" {
					wsCPU = r.Values["go"]
				} else if r.Group == "polling" {
					pollCPU = r.Values["go"]
				}
			}
		}
		if !math.IsNaN(wsCPU) && !math.IsNaN(pollCPU) {
			b.res.Checks = append(b.res.Checks, fmt.Sprintf("go: polling / WebSocket, %s at %.0f/s = %.2f (target ≤ 1.5)", kind, c.echoRef, pollCPU/wsCPU))
		}
	}
	b.curves()
	for _, cv := range b.res.Curves {
		for i, g := range cv.GenCPU {
			if g >= 0.9 {
				b.res.Checks = append(b.res.Checks, fmt.Sprintf("%s %s %d clients: the load generator used %.0f%% of its core at %.0f/s offered: figures from there on may be bounded by the generator", cv.Scenario, cv.Impl, cv.Clients, g*100, cv.Offered[i]))
				break
			}
		}
	}
	// Echo: lower p99 at every step?
	for _, sc := range []string{"echo", "polling", "polling-fanout"} {
		gc, nc := b.curve(sc, "go", 0), b.curve(sc, "node", 0)
		if gc == nil || nc == nil {
			continue
		}
		lower, total := 0, 0
		for i, off := range gc.Offered {
			j := slices.Index(nc.Offered, off)
			if j < 0 {
				continue
			}
			total++
			if gc.P99[i] < nc.P99[j] {
				lower++
			}
		}
		b.res.Checks = append(b.res.Checks, fmt.Sprintf("%s: go p99 lower than node's at %d of %d steps both reached", sc, lower, total))
	}
	b.writeSummary()
	b.writeCharts()
}

func (b *bench) curve(sc, impl string, clients int) *Curve {
	for i := range b.res.Curves {
		c := &b.res.Curves[i]
		if c.Scenario == sc && c.Impl == impl && (clients == 0 || c.Clients == clients) {
			return c
		}
	}
	return nil
}

func (b *bench) curves() {
	b.res.Curves = nil
	type key struct {
		sc, impl string
		n        int
	}
	var keys []key
	for _, r := range b.res.Runs {
		k := key{r.Scenario, r.Impl, r.Clients}
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		cv := Curve{Scenario: k.sc, Impl: k.impl, Clients: k.n}
		var offs []float64
		runs := b.runsOf(k.sc, k.impl, k.n)
		for _, r := range runs {
			for _, s := range r.Steps {
				if !slices.Contains(offs, s.Offered) {
					offs = append(offs, s.Offered)
				}
			}
		}
		slices.Sort(offs)
		for _, off := range offs {
			var p50, p99, p999, thr, cpu, cpm, gen, sys, core, soft, corePer []float64
			for _, r := range runs {
				if s, ok := stepAt(r, off); ok {
					p50 = append(p50, s.P50ms)
					p99 = append(p99, s.P99ms)
					p999 = append(p999, s.P999ms)
					thr = append(thr, s.Throughput)
					cpu = append(cpu, s.ServerCPU)
					cpm = append(cpm, s.CPUPerMsgUs)
					gen = append(gen, s.GenCPU)
					sys = append(sys, s.ServerSys)
					core = append(core, s.CoreBusy)
					soft = append(soft, s.CoreSoftirq)
					corePer = append(corePer, s.CorePerMsgUs)
				}
			}
			cv.Offered = append(cv.Offered, off)
			cv.P50 = append(cv.P50, median(p50))
			cv.P99 = append(cv.P99, median(p99))
			cv.P999 = append(cv.P999, median(p999))
			cv.Thru = append(cv.Thru, median(thr))
			cv.CPU = append(cv.CPU, median(cpu))
			cv.CPUPer = append(cv.CPUPer, median(cpm))
			cv.GenCPU = append(cv.GenCPU, median(gen))
			cv.Sys = append(cv.Sys, median(sys))
			cv.Core = append(cv.Core, median(core))
			cv.Soft = append(cv.Soft, median(soft))
			cv.CorePer = append(cv.CorePer, median(corePer))
			cv.Reps = append(cv.Reps, len(p99))
		}
		b.res.Curves = append(b.res.Curves, cv)
	}
}

func fmtVal(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func (b *bench) writeSummary() {
	var sb strings.Builder
	m := b.res.Machine
	fmt.Fprintf(&sb, "# socketio-bench results\n\nMachine: %s\n\nCommand: `%s` (%s, %.0f s)\n\n", m, b.res.Command, b.res.Started, b.res.Seconds)
	mainRows := slices.DeleteFunc(slices.Clone(b.res.Summary), func(r Row) bool { return isRecoveryGroup(r.Group) })
	if len(mainRows) > 0 {
		fmt.Fprintf(&sb, "Every value is the median of %d runs (servers alternating); ratios are go/node and go/floor of those medians.\n\n", b.cfg.reps)
		sb.WriteString("| group | metric | go | node | floor | go/node | go/floor | target |\n|---|---|---:|---:|---:|---:|---:|---|\n")
	}
	for _, r := range mainRows {
		v := func(k string) string {
			x, ok := r.Values[k]
			if !ok {
				return ""
			}
			return fmtVal(x)
		}
		ra := func(k string) string {
			x, ok := r.Ratios[k]
			if !ok || math.IsNaN(x) {
				return ""
			}
			return fmt.Sprintf("%.2f", x)
		}
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Group, r.Metric, v("go"), v("node"), v("floor"), ra("go/node"), ra("go/floor"), r.Target)
	}
	b.writeRecoverySummary(&sb)
	b.writeShallowSummary(&sb)
	if len(b.res.Checks) > 0 {
		sb.WriteString("\n")
		for _, c := range b.res.Checks {
			fmt.Fprintf(&sb, "- %s\n", c)
		}
	}
	if len(b.res.Curves) > 0 {
		sb.WriteString("\n## Steps (medians)\n")
	}
	for _, cv := range b.res.Curves {
		fmt.Fprintf(&sb, "\n### %s, %s, %d clients\n\n| offered/s | got/s | p50 ms | p99 ms | p999 ms | process CPU | of it kernel | process µs/msg | core busy | of it softirq | core µs/msg | gen CPU | runs |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n", cv.Scenario, cv.Impl, cv.Clients)
		for i := range cv.Offered {
			at := func(v []float64) float64 {
				if i < len(v) {
					return v[i]
				}
				return math.NaN()
			}
			fmt.Fprintf(&sb, "| %.0f | %.0f | %s | %s | %s | %.0f%% | %.0f%% | %s | %.0f%% | %.0f%% | %s | %.0f%% | %d |\n", cv.Offered[i], cv.Thru[i], fmtVal(cv.P50[i]), fmtVal(cv.P99[i]), fmtVal(cv.P999[i]), cv.CPU[i]*100, at(cv.Sys)*100, fmtVal(cv.CPUPer[i]), at(cv.Core)*100, at(cv.Soft)*100, fmtVal(at(cv.CorePer)), cv.GenCPU[i]*100, cv.Reps[i])
		}
	}
	if len(b.res.Idle) > 0 {
		sb.WriteString("\n## Idle curve (all runs)\n\n| server | rep | conns | RSS MiB | KiB/conn | connect/s | failed | threads |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, r := range b.res.Idle {
			for _, p := range r.Points {
				fmt.Fprintf(&sb, "| %s | %d | %d | %.1f | %.2f | %.0f | %d | %d |\n", r.Impl, r.Rep, p.N, float64(p.RSS)/(1<<20), p.PerConnKiB, p.ConnectRate, p.Failed, p.Threads)
			}
		}
	}
	_ = os.WriteFile(filepath.Join(b.cfg.out, "summary.md"), []byte(sb.String()), 0o644)
	fmt.Println()
	fmt.Println(sb.String())
}

// onlineCPUs counts the machine's CPUs (runtime.NumCPU only sees the
// generator's affinity mask).
func onlineCPUs() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.NumCPU()
	}
	return strings.Count(string(b), "\nprocessor\t") + 1
}
