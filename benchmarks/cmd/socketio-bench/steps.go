package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketio-go/socketio/benchmarks/internal/sioclient"
)

// Step is one offered load of a stepped scenario (fan-out, echo, polling).
type Step struct {
	Offered    float64 `json:"offered_per_s"`    // deliveries/s (fan-out) or messages/s (echo)
	Sent       int64   `json:"sent"`             // messages sent in the measured window
	Expected   int64   `json:"expected"`         // deliveries or acks expected for them
	Received   int64   `json:"received"`         // of those, received before the drain timeout
	Lost       int64   `json:"lost"`             // expected - received
	Throughput float64 `json:"throughput_per_s"` // deliveries or acks received per second in the window
	P50ms      float64 `json:"p50_ms"`
	P99ms      float64 `json:"p99_ms"`
	P999ms     float64 `json:"p999_ms"`
	Maxms      float64 `json:"max_ms"`
	ServerCPU  float64 `json:"server_cpu"`       // cores (1.0 = one core busy)
	ServerSys  float64 `json:"server_sys_share"` // share of the server's CPU spent in the kernel
	// CoreBusy is how busy the server's core was (cores), everything
	// included: the process, and the kernel's softirq work on that core
	// (loopback TCP processing of what the server sends), which process
	// CPU time does not include. CorePerMsgUs is CoreBusy per message.
	CoreBusy     float64 `json:"core_busy"`
	CoreSoftirq  float64 `json:"core_softirq"` // tick-sampled, approximate
	CorePerMsgUs float64 `json:"core_per_msg_us"`
	CPUPerMsgUs  float64 `json:"cpu_per_msg_us"` // server CPU per delivery / per echo
	GenCPU       float64 `json:"gen_cpu"`        // load generator, cores
	RSS          int64   `json:"server_rss_bytes"`
	Disconnects  int64   `json:"disconnects"`
	Saturated    bool    `json:"saturated"`
	// Cluster scenarios (ServerCPU, CPUPerMsgUs and RSS are then those of
	// all the nodes together): each node's CPU (cores; the node of the
	// first half of the clients first), and Redis's CPU (cores, and per
	// delivery), which includes whatever else uses that Redis.
	NodeCPU       []float64 `json:"node_cpu,omitempty"`
	RedisCPU      float64   `json:"redis_cpu,omitempty"`
	RedisPerMsgUs float64   `json:"redis_cpu_per_msg_us,omitempty"`
}

// StepRun is one run of a stepped scenario against one server.
type StepRun struct {
	Scenario string `json:"scenario"` // fanout, echo, polling
	Impl     string `json:"impl"`
	Rep      int    `json:"rep"`
	Clients  int    `json:"clients"`
	Steps    []Step `json:"steps"`
	// Races are the co-scheduled saturation trials of fanout-recovery.
	Races []Race `json:"races,omitempty"`
	Error string `json:"error,omitempty"`
}

// Race is one trial of two servers saturated at the same time on the same
// core: each is offered more than it can deliver with half of the core, for
// the same window. The kernel shares the core between them, and whatever
// else runs on the machine weighs on both at every instant, so the ratio
// of what they delivered, and of their CPU per delivery, measures how much
// work each does per delivery.
type Race struct {
	Trial       int     `json:"trial"`
	Offered     float64 `json:"offered_per_s"`    // to each server
	Throughput  float64 `json:"throughput_per_s"` // deliveries received per second in the window
	CPUPerMsgUs float64 `json:"cpu_per_msg_us"`   // server process CPU per delivery
	ServerCPU   float64 `json:"server_cpu"`       // cores
	GenCPU      float64 `json:"gen_cpu"`
}

// stepStats collects what the readers see for the messages of one step.
type stepStats struct {
	hist sioclient.Histogram
	recv atomic.Int64
}

// pace sends messages at rate per second for dur, calling emit with the
// index range due at each tick and the step's start time; message k is
// due at start + k/rate (its latency is measured from then, so that a
// stalled sender does not hide queueing).
func pace(rate float64, dur time.Duration, emit func(from, n int64, start time.Time)) int64 {
	start := time.Now()
	total := int64(math.Round(rate * dur.Seconds()))
	var sent int64
	tk := time.NewTicker(time.Millisecond)
	defer tk.Stop()
	for sent < total {
		due := min(int64(rate*time.Since(start).Seconds())+1, total) - sent
		if due > 0 {
			emit(sent, due, start)
			sent += due
		}
		if sent < total {
			<-tk.C
		}
	}
	return sent
}

// intended returns the due time (µs since base) of message k.
func intended(start time.Time, k int64, rate float64) int64 {
	return int64(start.Sub(base)/time.Microsecond) + int64(float64(k)*1e6/rate)
}

var pad = bytes.Repeat([]byte("x"), 32)

// stepper drives the steps of one run: warm-up, measured window, drain.
type stepper struct {
	b        *bench
	s        *server
	stats    []*stepStats
	counter  *atomic.Int64 // every delivery or ack received
	ended    func() int64  // clients disconnected so far
	perMsg   int64         // deliveries expected per message sent
	p99Stop  time.Duration
	p99Knee  time.Duration // two steps in a row over it stop the run
	overKnee int
	// window, when set, is called as each measured window starts; stop is
	// called as it ends, fill with the step's figures, the deliveries
	// counted in the window and its length.
	window func() (stop func(), fill func(r *Step, n int64, el time.Duration))
}

// run executes step i at rate (messages/s sent); send(step, from, n,
// start, rate) must send messages tagged with step (-1 for warm-up).
// offered is the figure reported as offered load.
// runAll runs a step per offered rate (messages/s the server delivers;
// the senders send offered/perMsg) until one saturates, logging each with
// label.
func (st *stepper) runAll(offered []float64, label string, send func(step int, from, n int64, start time.Time, rate float64)) []Step {
	var steps []Step
	for i, o := range offered {
		r := st.run(i, o/float64(st.perMsg), o, send)
		st.b.logf("  %s: %s", label, fmtStep(r))
		steps = append(steps, r)
		if r.Saturated {
			break
		}
		time.Sleep(st.b.cfg.pause)
	}
	return steps
}

func (st *stepper) run(i int, rate, offered float64, send func(step int, from, n int64, start time.Time, rate float64)) Step {
	cfg := st.b.cfg
	if cfg.warmup > 0 {
		pace(rate, cfg.warmup, func(from, n int64, start time.Time) { send(-1, from, n, start, rate) })
	}
	disc0 := st.ended()
	c0 := st.counter.Load()
	var hook func(bool)
	if st.b.profiling != "" && st.s.pprofAddr != "" {
		hook = st.b.profileHook(st.s, filepath.Join(cfg.out, "profiles"), st.b.profName)
		hook(true)
	}
	var winStop func()
	var winFill func(*Step, int64, time.Duration)
	if st.window != nil {
		winStop, winFill = st.window()
	}
	m := startMeter(st.s)
	sent := pace(rate, cfg.step, func(from, n int64, start time.Time) { send(i, from, n, start, rate) })
	el, scpu, gcpu := m.stop()
	if winStop != nil {
		winStop()
	}
	sys := m.sys()
	cbusy, csoft := m.core()
	if hook != nil {
		hook(false)
	}
	c1 := st.counter.Load()
	ss := st.stats[i]
	exp := sent * st.perMsg
	deadline := time.Now().Add(cfg.drain)
	for ss.recv.Load() < exp && time.Now().Before(deadline) && st.s.alive() {
		time.Sleep(5 * time.Millisecond)
	}
	got := ss.recv.Load()
	r := Step{
		Offered:     offered,
		Sent:        sent,
		Expected:    exp,
		Received:    got,
		Lost:        exp - got,
		Throughput:  float64(c1-c0) / el.Seconds(),
		P50ms:       ss.hist.Quantile(0.5) / 1000,
		P99ms:       ss.hist.Quantile(0.99) / 1000,
		P999ms:      ss.hist.Quantile(0.999) / 1000,
		Maxms:       ss.hist.Max() / 1000,
		ServerCPU:   scpu.Seconds() / el.Seconds(),
		GenCPU:      gcpu.Seconds() / el.Seconds(),
		RSS:         st.s.rss(),
		Disconnects: st.ended() - disc0,
	}
	if scpu > 0 {
		r.ServerSys = float64(sys) / float64(scpu)
	}
	r.CoreBusy = cbusy.Seconds() / el.Seconds()
	r.CoreSoftirq = csoft.Seconds() / el.Seconds()
	if c1 > c0 {
		r.CorePerMsgUs = float64(cbusy.Microseconds()) / float64(c1-c0)
	}
	if c1 > c0 {
		r.CPUPerMsgUs = float64(scpu.Microseconds()) / float64(c1-c0)
	}
	if winFill != nil {
		winFill(&r, c1-c0, el)
	}
	if r.Lost > 0 {
		// Messages never answered within the drain time count as slower
		// than anything measured.
		r.P99ms = math.Max(r.P99ms, lostQuantile(got, r.Lost, 0.99, cfg.drain+cfg.step))
		r.P999ms = math.Max(r.P999ms, lostQuantile(got, r.Lost, 0.999, cfg.drain+cfg.step))
	}
	switch {
	case r.Lost > 0, r.Disconnects > 0, !st.s.alive(),
		r.Throughput < 0.9*offered,
		r.P99ms > float64(st.p99Stop)/float64(time.Millisecond):
		r.Saturated = true
	case st.p99Knee > 0 && r.P99ms > float64(st.p99Knee)/float64(time.Millisecond):
		st.overKnee++
		if st.overKnee >= 2 {
			r.Saturated = true
		}
	default:
		st.overKnee = 0
	}
	return r
}

// lostQuantile returns a lower bound of the q-quantile when lost messages
// (slower than bound) are added to got answered ones: bound if the
// quantile falls among the lost ones, else 0.
func lostQuantile(got, lost int64, q float64, bound time.Duration) float64 {
	if float64(got) < q*float64(got+lost) {
		return float64(bound) / float64(time.Millisecond)
	}
	return 0
}

func fmtStep(s Step) string {
	sat := ""
	if s.Saturated {
		sat = " SATURATED"
	}
	nodes := ""
	if len(s.NodeCPU) > 0 {
		nodes = "  nodes"
		for _, c := range s.NodeCPU {
			nodes += fmt.Sprintf(" %.0f%%", c*100)
		}
		nodes += fmt.Sprintf("  redis %.0f%% %.3f µs/msg", s.RedisCPU*100, s.RedisPerMsgUs)
	}
	return fmt.Sprintf("offered %8.0f/s  got %8.0f/s  p50 %7.2f ms  p99 %8.2f ms  p999 %8.2f ms  srv cpu %3.0f%% (%2.0f%% sys)  %6.2f µs/msg  core %3.0f%% (%2.0f%% softirq) %6.2f µs/msg  gen cpu %3.0f%%  lost %d  disc %d%s%s",
		s.Offered, s.Throughput, s.P50ms, s.P99ms, s.P999ms, s.ServerCPU*100, s.ServerSys*100, s.CPUPerMsgUs, s.CoreBusy*100, s.CoreSoftirq*100, s.CorePerMsgUs, s.GenCPU*100, s.Lost, s.Disconnects, nodes, sat)
}

// --- fan-out ---------------------------------------------------------------

var bcastPrefix = []byte(`42["bcast",`)

// bcastRecorder returns the clients' handler of the fan-out: it counts
// every "bcast" delivery in delivered, and records the latency of those of
// a measured step in its stats.
func bcastRecorder(stats []*stepStats, delivered *atomic.Int64) func([]byte) {
	return func(m []byte) {
		if !bytes.HasPrefix(m, bcastPrefix) {
			return
		}
		step, rest, ok := sioclient.ParseInt(m[len(bcastPrefix):])
		if !ok || len(rest) < 2 {
			return
		}
		t, _, ok := sioclient.ParseInt(rest[1:])
		if !ok {
			return
		}
		now := nowUS()
		delivered.Add(1)
		if step >= 0 && int(step) < len(stats) {
			ss := stats[step]
			ss.hist.Record(now - t)
			ss.recv.Add(1)
		}
	}
}

// appendBcast appends the "bcast" event of a step (-1: warm-up) due at t
// (µs since base): 42["bcast",<step>,<t>,"xxx…"].
func appendBcast(buf []byte, step int, t int64) []byte {
	buf = append(buf, bcastPrefix...)
	buf = sioclient.AppendInt(buf, int64(step))
	buf = append(buf, ',')
	buf = sioclient.AppendInt(buf, t)
	buf = append(buf, ",\""...)
	buf = append(buf, pad...)
	return append(buf, "\"]"...)
}

// fanoutRig is one server of the fan-out with its n clients, one of which
// (the source) sends the "bcast" events that every client receives.
type fanoutRig struct {
	run   StepRun
	p     *wsPool
	s     *server
	st    *stepper
	send  func(step int, from, cnt int64, start time.Time, rate float64)
	label string
}

// newFanoutRig starts impl's server and connects n clients to it.
func (b *bench) newFanoutRig(impl string, n, rep int) (*fanoutRig, error) {
	p, s, err := b.startWithClients("fanout", impl, n)
	if err != nil {
		return nil, err
	}
	rates := b.cfg.fanRates
	stats := newStepStats(len(rates))
	delivered := new(atomic.Int64)
	p.setHandler(bcastRecorder(stats, delivered))
	time.Sleep(300 * time.Millisecond)
	src := p.get(0)
	var buf []byte
	send := func(step int, from, cnt int64, start time.Time, rate float64) {
		_ = src.WriteTextFunc(func(emit func([]byte)) {
			for k := from; k < from+cnt; k++ {
				buf = appendBcast(buf[:0], step, intended(start, k, rate))
				emit(buf)
			}
		})
	}
	return &fanoutRig{
		run:   StepRun{Scenario: "fanout", Impl: impl, Rep: rep, Clients: n},
		p:     p,
		s:     s,
		st:    &stepper{b: b, s: s, stats: stats, counter: delivered, ended: p.ended, perMsg: int64(n), p99Stop: b.cfg.fanP99Stop},
		send:  send,
		label: fmt.Sprintf("fanout %-5s n=%d rep %d", impl, n, rep),
	}, nil
}

// close stops the server, then closes the clients (no TIME_WAIT on their
// ports).
func (r *fanoutRig) close() {
	r.s.stop()
	r.p.close()
}

// quiesce waits (at most 15 s) until no delivery arrived for 200 ms and
// the server then used less than 5% of a core over 250 ms: a saturated
// step's backlog is written, and what follows it (garbage collection, the
// exit of the goroutines it started), done before another server is
// measured on the same core. Without it, the server measured first after
// a saturated step does better than the one measured second.
func (r *fanoutRig) quiesce() {
	deadline := time.Now().Add(15 * time.Second)
	last := r.st.counter.Load()
	for time.Now().Before(deadline) && r.s.alive() {
		time.Sleep(200 * time.Millisecond)
		c := r.st.counter.Load()
		if c != last {
			last = c
			continue
		}
		c0 := r.s.cpu()
		time.Sleep(250 * time.Millisecond)
		if r.s.cpu()-c0 < 250*time.Millisecond/20 && r.st.counter.Load() == last {
			return
		}
		last = r.st.counter.Load()
	}
}

// runFanout connects n clients; one of them sends "bcast" events at
// increasing rates; every client receives every broadcast.
func (b *bench) runFanout(impl string, n, rep int) (StepRun, error) {
	rig, err := b.newFanoutRig(impl, n, rep)
	if err != nil {
		return StepRun{Scenario: "fanout", Impl: impl, Rep: rep, Clients: n}, err
	}
	defer rig.close()
	rig.run.Steps = rig.st.runAll(b.cfg.fanRates, rig.label, rig.send)
	return rig.run, nil
}

// runFanoutInterleaved runs the fan-out on several servers at once (all
// pinned to the server core), each with its own n clients: at every
// offered rate, each server's step runs in turn, the order alternating from
// one rate to the next, so that the servers compared are measured seconds
// apart and a changing background load on the machine weighs on them
// alike. Only one server is loaded at a time (the others hold idle
// connections); each stops at its first saturated step, and its backlog is
// written before the next step starts.
//
// newRig starts a server (or a cluster) with its n clients; nil means
// newFanoutRig.
func (b *bench) runFanoutInterleaved(scenario string, impls []string, n, rep int, newRig func(impl string) (*fanoutRig, error)) ([]StepRun, error) {
	if newRig == nil {
		newRig = func(impl string) (*fanoutRig, error) { return b.newFanoutRig(impl, n, rep) }
	}
	var rigs []*fanoutRig
	defer func() {
		for _, r := range rigs {
			r.close()
		}
	}()
	for _, impl := range impls {
		r, err := newRig(impl)
		if err != nil {
			return nil, err
		}
		r.label = fmt.Sprintf("%s %-8s n=%d rep %d", scenario, impl, n, rep)
		rigs = append(rigs, r)
	}
	done := make([]bool, len(rigs))
	for i, o := range b.cfg.fanRates {
		order := make([]int, len(rigs))
		for k := range order {
			order[k] = k
		}
		if (i+rep)%2 == 1 {
			slices.Reverse(order)
		}
		active := false
		for _, k := range order {
			if done[k] {
				continue
			}
			active = true
			r := rigs[k]
			st := r.st.run(i, o/float64(r.st.perMsg), o, r.send)
			b.logf("  %s: %s", r.label, fmtStep(st))
			r.run.Steps = append(r.run.Steps, st)
			if st.Saturated {
				done[k] = true
				r.quiesce()
			}
			time.Sleep(b.cfg.pause)
		}
		if !active {
			break
		}
	}
	if isCluster(scenario) {
		b.clusterRaces(rigs, rep)
	} else {
		b.recoveryRaces(rigs, n, rep)
	}
	runs := make([]StepRun, len(rigs))
	for k, r := range rigs {
		runs[k] = r.run
		runs[k].Scenario = scenario
	}
	return runs, nil
}

// recoveryRaces runs the co-scheduled saturation trials of our server with
// recovery off and on (the rigs "go" and "go+rec"), for the largest client
// count only (with fewer clients the generator, not the servers, may be the
// limit): -recovery-races times, both servers are offered, at the same
// time, the highest rate either sustained alone in the steps, for
// -recovery-race-window. Sharing the core, each can deliver about half of
// that: both are saturated, and the core's time is split between them.
func (b *bench) recoveryRaces(rigs []*fanoutRig, n, rep int) {
	c := b.cfg
	if c.recRaces <= 0 || n != slices.Max(c.fanN) {
		return
	}
	var pair []*fanoutRig
	for _, impl := range []string{"go", "go" + recSuffix} {
		i := slices.IndexFunc(rigs, func(r *fanoutRig) bool { return r.run.Impl == impl })
		if i < 0 {
			return
		}
		pair = append(pair, rigs[i])
	}
	var rate float64
	for _, r := range pair {
		for _, st := range r.run.Steps {
			if !st.Saturated {
				rate = max(rate, st.Offered)
			}
		}
	}
	if rate == 0 {
		return
	}
	b.races(pair, []float64{rate, rate}, c.recRaces, rep)
}

// races runs trials in which the rigs of pair are offered rates[k]
// deliveries/s each, at the same time, for -recovery-race-window: each
// offered what it sustained alone on the whole core, they are all
// saturated, and the kernel splits the core between them, so that whatever
// else runs on the machine weighs on each alike.
func (b *bench) races(pair []*fanoutRig, rates []float64, trials, rep int) {
	c := b.cfg
	for t := range trials {
		for _, r := range pair {
			if !r.s.alive() {
				return
			}
		}
		// A rig whose clients were disconnected (a server that closed its
		// source, say) measures nothing more.
		for _, r := range pair {
			if n := r.p.ended(); n > 0 {
				b.logf("  %s: %d clients disconnected: no more races", r.label, n)
				return
			}
		}
		c0 := make([]int64, len(pair))
		ms := make([]cpuMeter, len(pair))
		for k, r := range pair {
			c0[k] = r.st.counter.Load()
			ms[k] = startMeter(r.s)
		}
		// The sender started first alternates (the generator has one core).
		order := make([]int, len(pair))
		for k := range order {
			order[k] = k
		}
		if (t+rep)%2 == 1 {
			slices.Reverse(order)
		}
		var wg sync.WaitGroup
		for _, k := range order {
			r, rate := pair[k], rates[k]
			wg.Go(func() {
				perMsg := float64(r.st.perMsg)
				pace(rate/perMsg, c.recRaceWindow, func(from, cnt int64, start time.Time) { r.send(-1, from, cnt, start, rate/perMsg) })
			})
		}
		wg.Wait()
		for _, r := range pair {
			if n := r.p.ended(); n > 0 {
				b.logf("  %s: %d clients disconnected during race %d: discarded, no more races", r.label, n, t+1)
				return
			}
		}
		for k, r := range pair {
			el, scpu, gcpu := ms[k].stop()
			got := r.st.counter.Load() - c0[k]
			ra := Race{Trial: t + 1, Offered: rates[k], Throughput: float64(got) / el.Seconds(), ServerCPU: scpu.Seconds() / el.Seconds(), GenCPU: gcpu.Seconds() / el.Seconds()}
			if got > 0 {
				ra.CPUPerMsgUs = float64(scpu.Microseconds()) / float64(got)
			}
			r.run.Races = append(r.run.Races, ra)
			b.logf("  %s: race %d: offered %.0f/s  got %.0f/s  srv cpu %.0f%%  %.2f µs/msg  gen cpu %.0f%%", r.label, ra.Trial, ra.Offered, ra.Throughput, ra.ServerCPU*100, ra.CPUPerMsgUs, ra.GenCPU*100)
		}
		for _, r := range pair {
			r.quiesce()
		}
		time.Sleep(c.pause)
	}
}

// --- echo over WebSocket -----------------------------------------------------

var ackPrefix = []byte("43")

// parseAck extracts the step and timestamp of an echo acknowledgement
// 43<id>[<step>,<t>,...].
func parseAck(m []byte) (step, t int64, ok bool) {
	if !bytes.HasPrefix(m, ackPrefix) {
		return 0, 0, false
	}
	_, rest, ok := sioclient.ParseInt(m[2:])
	if !ok || len(rest) < 2 || rest[0] != '[' {
		return 0, 0, false
	}
	step, rest, ok = sioclient.ParseInt(rest[1:])
	if !ok || len(rest) < 2 {
		return 0, 0, false
	}
	t, _, ok = sioclient.ParseInt(rest[1:])
	return step, t, ok
}

func appendEcho(buf []byte, id int64, step int, t int64) []byte {
	buf = append(buf, "42"...)
	buf = sioclient.AppendInt(buf, id)
	buf = append(buf, `["echo",`...)
	buf = sioclient.AppendInt(buf, int64(step))
	buf = append(buf, ',')
	buf = sioclient.AppendInt(buf, t)
	buf = append(buf, ",\""...)
	buf = append(buf, pad...)
	return append(buf, "\"]"...)
}

func ackRecorder(stats []*stepStats, acked *atomic.Int64) func([]byte) {
	return func(m []byte) {
		step, t, ok := parseAck(m)
		if !ok {
			return
		}
		now := nowUS()
		acked.Add(1)
		if step >= 0 && int(step) < len(stats) {
			ss := stats[step]
			ss.hist.Record(now - t)
			ss.recv.Add(1)
		}
	}
}

// runEcho: c WebSocket clients send "echo" events with acknowledgements at
// a fixed total rate, stepped.
func (b *bench) runEcho(impl string, rep int) (StepRun, error) {
	c := b.cfg.echoClients
	run := StepRun{Scenario: "echo", Impl: impl, Rep: rep, Clients: c}
	p, s, err := b.startWithClients("echo", impl, c)
	if err != nil {
		return run, err
	}
	defer p.close()
	defer s.stop() // before the clients close: no TIME_WAIT on their ports
	rates := b.cfg.echoRates
	stats := newStepStats(len(rates))
	var acked atomic.Int64
	p.setHandler(ackRecorder(stats, &acked))
	time.Sleep(200 * time.Millisecond)
	clients := make([]*sioclient.Conn, c)
	for i := range clients {
		clients[i] = p.get(i)
	}
	var seq int64
	var buf []byte
	send := func(step int, from, cnt int64, start time.Time, rate float64) {
		// Message k goes to client k % c; a client due several messages
		// in one tick writes them in one call.
		for j := int64(0); j < min(cnt, int64(c)); j++ {
			cl := clients[(from+j)%int64(c)]
			_ = cl.WriteTextFunc(func(emit func([]byte)) {
				for k := from + j; k < from+cnt; k += int64(c) {
					seq++
					buf = appendEcho(buf[:0], seq, step, intended(start, k, rate))
					emit(buf)
				}
			})
		}
	}
	st := &stepper{b: b, s: s, stats: stats, counter: &acked, ended: p.ended, perMsg: 1, p99Stop: b.cfg.echoP99Stop, p99Knee: 50 * time.Millisecond}
	run.Steps = st.runAll(rates, fmt.Sprintf("echo   %-5s rep %d", impl, rep), send)
	return run, nil
}

// --- echo over long-polling ---------------------------------------------------

// pollClient is a long-polling client: a goroutine keeps a GET pending,
// another POSTs whatever was queued (one POST at a time, like the official
// client, which batches the packets queued meanwhile).
type pollClient struct {
	p      *sioclient.Polling
	mu     sync.Mutex
	queue  []byte
	spare  []byte
	signal chan struct{}
	done   chan struct{}
	failed atomic.Bool
}

func (pc *pollClient) enqueue(fn func(b []byte) []byte) {
	pc.mu.Lock()
	if len(pc.queue) > 0 {
		pc.queue = append(pc.queue, 0x1e)
	}
	pc.queue = fn(pc.queue)
	pc.mu.Unlock()
	select {
	case pc.signal <- struct{}{}:
	default:
	}
}

func (pc *pollClient) postLoop(ended *atomic.Int64) {
	for {
		select {
		case <-pc.signal:
		case <-pc.done:
			return
		}
		pc.mu.Lock()
		payload := pc.queue
		pc.queue, pc.spare = pc.spare[:0], nil
		pc.mu.Unlock()
		if len(payload) > 0 {
			if err := pc.p.Send(payload); err != nil {
				if pc.failed.CompareAndSwap(false, true) {
					ended.Add(1)
				}
				return
			}
		}
		pc.mu.Lock()
		pc.spare = payload[:0]
		pc.mu.Unlock()
	}
}

func (pc *pollClient) getLoop(handle func([]byte), ended *atomic.Int64) {
	for {
		body, err := pc.p.Poll()
		if err != nil {
			if pc.failed.CompareAndSwap(false, true) {
				ended.Add(1)
			}
			return
		}
		for m := range sioclient.SplitPayload(body) {
			switch {
			case len(m) == 1 && m[0] == '2':
				pc.enqueue(func(b []byte) []byte { return append(b, '3') })
			case len(m) == 1 && m[0] == '1':
				if pc.failed.CompareAndSwap(false, true) {
					ended.Add(1)
				}
				return
			default:
				handle(m)
			}
		}
	}
}

// runPolling is runEcho over long-polling.
func (b *bench) runPolling(impl string, rep int) (StepRun, error) {
	c := b.cfg.pollClients
	run := StepRun{Scenario: "polling", Impl: impl, Rep: rep, Clients: c}
	s, err := b.startServer(impl, b.profiling != "")
	if err != nil {
		return run, err
	}
	defer s.stop()
	rates := b.cfg.pollRates
	stats := newStepStats(len(rates))
	var acked, ended atomic.Int64
	handle := ackRecorder(stats, &acked)
	clients := make([]*pollClient, 0, c)
	var wg sync.WaitGroup
	defer func() {
		s.stop()
		for _, pc := range clients {
			close(pc.done)
			pc.p.Close()
		}
		wg.Wait()
	}()
	for i := 0; i < c; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		pp, err := sioclient.DialPolling(ctx, s.addr, b.localIP(i*2), handle)
		cancel()
		if err != nil {
			return run, fmt.Errorf("polling: connect: %w", err)
		}
		pc := &pollClient{p: pp, signal: make(chan struct{}, 1), done: make(chan struct{})}
		clients = append(clients, pc)
		wg.Add(2)
		go func() { defer wg.Done(); pc.getLoop(handle, &ended) }()
		go func() { defer wg.Done(); pc.postLoop(&ended) }()
	}
	time.Sleep(200 * time.Millisecond)
	var seq int64
	send := func(step int, from, cnt int64, start time.Time, rate float64) {
		for j := int64(0); j < min(cnt, int64(c)); j++ {
			pc := clients[(from+j)%int64(c)]
			pc.enqueue(func(buf []byte) []byte {
				first := true
				for k := from + j; k < from+cnt; k += int64(c) {
					if !first {
						buf = append(buf, 0x1e)
					}
					first = false
					seq++
					buf = appendEcho(buf, seq, step, intended(start, k, rate))
				}
				return buf
			})
		}
	}
	st := &stepper{b: b, s: s, stats: stats, counter: &acked, ended: ended.Load, perMsg: 1, p99Stop: b.cfg.echoP99Stop, p99Knee: 50 * time.Millisecond}
	run.Steps = st.runAll(rates, fmt.Sprintf("poll   %-5s rep %d", impl, rep), send)
	return run, nil
}

// startWithClients starts impl's server and connects n WebSocket clients to
// it. The caller stops the server before closing the clients.
func (b *bench) startWithClients(scenario, impl string, n int) (*wsPool, *server, error) {
	p, s, err := b.startWithPool(impl, b.profiling != "")
	if err != nil {
		return nil, nil, err
	}
	res := b.connect(p, s.addr, n, b.cfg.connectConc, 30*time.Second)
	if res.failed > 0 {
		s.stop()
		p.close()
		return nil, nil, fmt.Errorf("%s: %d of %d clients failed to connect: %v", scenario, res.failed, n, res.firstErr)
	}
	return p, s, nil
}

// startWithPool starts impl's server and an empty client pool.
func (b *bench) startWithPool(impl string, withPprof bool) (*wsPool, *server, error) {
	s, err := b.startServer(impl, withPprof)
	if err != nil {
		return nil, nil, err
	}
	return newWSPool(), s, nil
}

// newStepStats returns n empty step statistics.
func newStepStats(n int) []*stepStats {
	stats := make([]*stepStats, n)
	for i := range stats {
		stats[i] = new(stepStats)
	}
	return stats
}
