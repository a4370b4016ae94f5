package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketio-go/socketio/benchmarks/internal/sioclient"
)

// --- cluster fan-out ----------------------------------------------------------
//
// The cluster scenarios run the fan-out on a cluster of two nodes on Redis:
// ours (cmd/clusterserver, adapters/redis) or the official one
// (node/server.js with @socket.io/redis-adapter). The n clients are split
// half and half across the two nodes; "bcast" events are sent alternately
// by a client of each node, and each is delivered to all n clients: to the
// sender's node's clients directly, to the other node's through Redis.
// "cluster" uses the classic adapter (createAdapter, PUBLISH), and
// "cluster-sharded" the sharded one (createShardedAdapter, SPUBLISH).
// "cluster-nats" runs ours only, on core NATS (adapters/nats NewAdapter):
// there is no official NATS adapter to compare with.

// clusterNodes is the number of nodes of a cluster.
const clusterNodes = 2

// isCluster tells whether scenario is one of the cluster scenarios.
func isCluster(scenario string) bool {
	return scenario == "cluster" || scenario == "cluster-sharded" || scenario == "cluster-postgres" || scenario == "cluster-nats"
}

// clusterPrefix returns a channel prefix of its own for one cluster: the
// Redis may be shared, and the clusters compared must not see each other.
func clusterPrefix(impl string) string {
	var r [4]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("siobench-%d-%s-%s", os.Getpid(), hex.EncodeToString(r[:]), impl)
}

// newClusterRig starts a cluster of impl's servers and connects n clients
// to it, half to each node.
func (b *bench) newClusterRig(scenario, impl string, n, rep int) (*fanoutRig, error) {
	mode := "classic"
	prefix := clusterPrefix(impl)
	switch scenario {
	case "cluster-sharded":
		mode = "sharded"
	case "cluster-postgres":
		mode = "postgres"
	case "cluster-nats":
		// Only ours: there is no official NATS adapter. A prefix is a
		// subject token here.
		mode = "nats"
		prefix = strings.ReplaceAll(prefix, "-", "_")
	}
	env := []string{"REDIS_ADDR=" + b.cfg.redisAddr, "NATS_URL=" + b.cfg.natsURL, "ADAPTER=" + mode, "PREFIX=" + prefix, "PG_URL=" + b.cfg.pgURL}
	grp := &server{impl: impl, cores: b.cfg.serverCPU}
	for range clusterNodes {
		s, err := b.startNode(impl, b.profiling != "", env)
		if err != nil {
			grp.stop()
			return nil, err
		}
		grp.nodes = append(grp.nodes, s)
	}
	grp.addr = grp.nodes[0].addr
	p := newWSPool()
	first := make([]int, clusterNodes) // index of each node's first client
	for k, s := range grp.nodes {
		cnt := n / clusterNodes
		if k == clusterNodes-1 {
			cnt = n - k*(n/clusterNodes)
		}
		// Each node's clients connect after the previous node's are all
		// connected: the pool holds them in that order.
		first[k] = p.size()
		res := b.connect(p, s.addr, cnt, b.cfg.connectConc, 30*time.Second)
		if res.failed > 0 {
			grp.stop()
			p.close()
			return nil, fmt.Errorf("%s: %d of %d clients of node %d failed to connect: %v", scenario, res.failed, cnt, k+1, res.firstErr)
		}
	}
	stats := newStepStats(len(b.cfg.fanRates))
	delivered := new(atomic.Int64)
	p.setHandler(bcastRecorder(stats, delivered))
	time.Sleep(300 * time.Millisecond)
	srcs := make([]*sioclient.Conn, clusterNodes)
	for k := range srcs {
		srcs[k] = p.get(first[k])
	}
	var buf []byte
	// Message k is sent by the client of node k % 2.
	send := func(step int, from, cnt int64, start time.Time, rate float64) {
		for j, src := range srcs {
			_ = src.WriteTextFunc(func(emit func([]byte)) {
				for k := from; k < from+cnt; k++ {
					if int(k%clusterNodes) == j {
						buf = appendBcast(buf[:0], step, intended(start, k, rate))
						emit(buf)
					}
				}
			})
		}
	}
	// The cluster is formed when a broadcast from each node reaches every
	// client.
	c0 := delivered.Load()
	send(-1, 0, clusterNodes, time.Now(), 1)
	want := int64(clusterNodes * n)
	deadline := time.Now().Add(10 * time.Second)
	for delivered.Load()-c0 < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := delivered.Load() - c0; got != want {
		grp.stop()
		p.close()
		return nil, fmt.Errorf("%s %s: the cluster did not form: %d of %d deliveries of the probe broadcasts (see the nodes' logs)", scenario, impl, got, want)
	}
	st := &stepper{b: b, s: grp, stats: stats, counter: delivered, ended: p.ended, perMsg: int64(n), p99Stop: b.cfg.fanP99Stop}
	st.window = b.clusterWindow(grp, mode != "postgres")
	b.logf("  %s %s: %d nodes (%s adapter, prefix %s), %d clients", scenario, impl, clusterNodes, mode, prefix, n)
	return &fanoutRig{
		run:   StepRun{Scenario: scenario, Impl: impl, Rep: rep, Clients: n},
		p:     p,
		s:     grp,
		st:    st,
		send:  send,
		label: fmt.Sprintf("%s %-5s n=%d rep %d", scenario, impl, n, rep),
	}, nil
}

// clusterRaces runs -cluster-races trials in which our cluster and the
// official one are saturated at the same time on the server core, each
// offered the rate that saturated it alone in the steps: the ratio of
// what they deliver, with the same share of the core and the same
// background load, is the ratio of their throughputs per core (a figure
// that, unlike the steps measured seconds apart, resists a machine shared
// with other work).
func (b *bench) clusterRaces(rigs []*fanoutRig, rep int) {
	if b.cfg.clusterRaces <= 0 {
		return
	}
	var pair []*fanoutRig
	var rates []float64
	for _, impl := range []string{"go", "node"} {
		i := slices.IndexFunc(rigs, func(r *fanoutRig) bool { return r.run.Impl == impl })
		if i < 0 {
			return
		}
		steps := rigs[i].run.Steps
		if len(steps) == 0 {
			return
		}
		// The last step's rate: the first that saturated it on the whole
		// core (or the highest, if none did), more than it can deliver with
		// a share of it.
		pair, rates = append(pair, rigs[i]), append(rates, steps[len(steps)-1].Offered)
	}
	b.races(pair, rates, b.cfg.clusterRaces, rep)
}

// clusterWindow measures each node's CPU and (when redis is set) Redis's
// over a step's window, and during the profile pass takes a CPU profile of
// each of our nodes.
func (b *bench) clusterWindow(grp *server, redis bool) func() (func(), func(*Step, int64, time.Duration)) {
	redisCPU := redisCPU
	if !redis {
		redisCPU = func(string) (time.Duration, error) { return 0, errNoRedis }
	}
	return func() (func(), func(*Step, int64, time.Duration)) {
		n0 := make([]time.Duration, len(grp.nodes))
		for k, s := range grp.nodes {
			n0[k] = s.cpu()
		}
		r0, rerr := redisCPU(b.cfg.redisAddr)
		var wg sync.WaitGroup
		if b.profiling == "cluster" {
			secs := max(int((b.cfg.step-500*time.Millisecond)/time.Second), 1)
			for k, s := range grp.nodes {
				if s.pprofAddr == "" {
					continue
				}
				file := filepath.Join(b.cfg.out, "profiles", fmt.Sprintf("%s-node%d-cpu.pb.gz", b.profName, k+1))
				wg.Go(func() {
					if err := fetch(s, fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), file); err != nil {
						b.logf("  profile: %v", err)
					}
				})
			}
		}
		n1 := make([]time.Duration, len(grp.nodes))
		var r1 time.Duration
		stop := func() {
			for k, s := range grp.nodes {
				n1[k] = s.cpu()
			}
			var err error
			r1, err = redisCPU(b.cfg.redisAddr)
			if rerr == nil {
				rerr = err
			}
			wg.Wait()
		}
		fill := func(r *Step, delivered int64, el time.Duration) {
			for k := range n0 {
				r.NodeCPU = append(r.NodeCPU, (n1[k]-n0[k]).Seconds()/el.Seconds())
			}
			if rerr != nil {
				if rerr != errNoRedis {
					b.logf("  redis CPU not measured: %v", rerr)
				}
				return
			}
			r.RedisCPU = (r1 - r0).Seconds() / el.Seconds()
			if delivered > 0 {
				r.RedisPerMsgUs = float64((r1 - r0).Nanoseconds()) / 1e3 / float64(delivered)
			}
		}
		return stop, fill
	}
}

// errNoRedis: the cluster is not on Redis (cluster-postgres).
var errNoRedis = errors.New("not on Redis")

// redisCPU returns the CPU time Redis used since it started (used_cpu_sys
// + used_cpu_user of INFO cpu: all its threads, whoever the work was for).
func redisCPU(addr string) (time.Duration, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("*2\r\n$4\r\nINFO\r\n$3\r\ncpu\r\n")); err != nil {
		return 0, err
	}
	r := bufio.NewReader(c)
	head, err := r.ReadString('\n')
	if err != nil {
		return 0, err
	}
	if len(head) < 2 || head[0] != '$' {
		return 0, fmt.Errorf("redis INFO: unexpected reply %q", strings.TrimSpace(head))
	}
	size, err := strconv.Atoi(strings.TrimSpace(head[1:]))
	if err != nil || size < 0 || size > 1<<20 {
		return 0, fmt.Errorf("redis INFO: bad length %q", strings.TrimSpace(head))
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, err
	}
	var total float64
	found := 0
	for _, l := range strings.Split(string(body), "\n") {
		l = strings.TrimSpace(l)
		for _, k := range []string{"used_cpu_sys:", "used_cpu_user:"} {
			if v, ok := strings.CutPrefix(l, k); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return 0, fmt.Errorf("redis INFO: %s%s", k, v)
				}
				total += f
				found++
			}
		}
	}
	if found != 2 {
		return 0, fmt.Errorf("redis INFO cpu: no used_cpu_sys/used_cpu_user")
	}
	return time.Duration(total * float64(time.Second)), nil
}

// summarizeCluster adds the rows and checks of the cluster scenarios.
func (b *bench) summarizeCluster() {
	c := b.cfg
	for _, sc := range []string{"cluster", "cluster-sharded", "cluster-postgres"} {
		for _, n := range c.clusterN {
			if len(b.runsOf(sc, "go", n))+len(b.runsOf(sc, "node", n)) == 0 {
				continue
			}
			per := func(f func(StepRun) (float64, bool)) func(string) []float64 {
				return func(impl string) []float64 {
					var v []float64
					for _, r := range b.runsOf(sc, impl, n) {
						if x, ok := f(r); ok {
							v = append(v, x)
						}
					}
					return v
				}
			}
			g := fmt.Sprintf("%s %d", sc, n)
			b.addRow(g, fmt.Sprintf("max deliveries/s (2 nodes, %d clients)", n), "higher", "≥ 2× node", false, per(func(r StepRun) (float64, bool) { return maxStep(r).Throughput, true }))
			// 0: not even the first step (no JSON for NaN).
			b.addRow(g, "max deliveries/s with p99 ≤ 50 ms (0: none)", "higher", "", false, per(func(r StepRun) (float64, bool) {
				v := sustained(r, 50)
				if math.IsNaN(v) {
					v = 0
				}
				return v, true
			}))
			b.addRow(g, "p99 latency at max (ms)", "lower", "", false, per(func(r StepRun) (float64, bool) { return maxStep(r).P99ms, true }))
			b.addRow(g, "nodes' process CPU at max (cores, both)", "", "", false, per(func(r StepRun) (float64, bool) { return maxStep(r).ServerCPU, true }))
			b.addRow(g, "nodes' process CPU per delivery at max (µs)", "lower", "≤ ½ node", false, per(func(r StepRun) (float64, bool) { return maxStep(r).CPUPerMsgUs, true }))
			if sc != "cluster-postgres" {
				b.addRow(g, "Redis CPU per delivery at max (µs, shared Redis)", "lower", "", false, per(func(r StepRun) (float64, bool) { return maxStep(r).RedisPerMsgUs, true }))
			}
			races := func(f func(Race) float64) func(string) []float64 {
				return func(impl string) []float64 {
					var v []float64
					for _, r := range b.runsOf(sc, impl, n) {
						for _, ra := range r.Races {
							v = append(v, f(ra))
						}
					}
					return v
				}
			}
			b.addRow(g, "races: deliveries/s, both clusters saturated on the core at once", "higher", "≥ 2× node", false, races(func(ra Race) float64 { return ra.Throughput }))
			b.addRow(g, "races: nodes' process CPU per delivery (µs)", "lower", "≤ ½ node", false, races(func(ra Race) float64 { return ra.CPUPerMsgUs }))
			for _, ref := range c.fanRefs {
				b.addRow(g, fmt.Sprintf("nodes' process CPU per delivery at %.0f/s (µs)", ref), "lower", "≤ ½ node", false, per(func(r StepRun) (float64, bool) {
					s, ok := stepAt(r, ref)
					return s.CPUPerMsgUs, ok
				}))
				b.addRow(g, fmt.Sprintf("servers' core busy per delivery at %.0f/s (µs)", ref), "lower", "", false, per(func(r StepRun) (float64, bool) {
					s, ok := stepAt(r, ref)
					return s.CorePerMsgUs, ok
				}))
				if sc != "cluster-postgres" {
					b.addRow(g, fmt.Sprintf("Redis CPU per delivery at %.0f/s (µs, shared Redis)", ref), "lower", "", false, per(func(r StepRun) (float64, bool) {
						s, ok := stepAt(r, ref)
						return s.RedisPerMsgUs, ok
					}))
				}
				b.addRow(g, fmt.Sprintf("p99 latency at %.0f/s (ms)", ref), "lower", "", false, per(func(r StepRun) (float64, bool) {
					s, ok := stepAt(r, ref)
					return s.P99ms, ok
				}))
			}
		}
	}
	// The target: ≥ 2× the official cluster's throughput at ≤ ½
	// its CPU per delivery.
	for _, r := range b.res.Summary {
		sc, _, _ := strings.Cut(r.Group, " ")
		if !isCluster(sc) {
			continue
		}
		ratio, ok := r.Ratios["go/node"]
		if !ok || math.IsNaN(ratio) {
			continue
		}
		switch {
		case strings.HasPrefix(r.Metric, "max deliveries/s ("):
			b.res.Checks = append(b.res.Checks, fmt.Sprintf("%s: go/node max deliveries/s = %.2f (target ≥ 2)", r.Group, ratio))
		case strings.HasPrefix(r.Metric, "races: deliveries/s"):
			b.res.Checks = append(b.res.Checks, fmt.Sprintf("%s: go/node deliveries/s in the races = %.2f (target ≥ 2)", r.Group, ratio))
		case strings.HasPrefix(r.Metric, "nodes' process CPU per delivery"), strings.HasPrefix(r.Metric, "races: nodes' process CPU per delivery"):
			b.res.Checks = append(b.res.Checks, fmt.Sprintf("%s: go/node %s = %.2f (target ≤ 0.5)", r.Group, r.Metric, ratio))
		}
	}
}

// clusterSeries returns the p99 curves of the cluster scenarios for the
// chart.
func (b *bench) clusterSeries() []series {
	var out []series
	for _, sc := range []string{"cluster", "cluster-sharded", "cluster-postgres"} {
		for _, n := range b.cfg.clusterN {
			for _, impl := range b.cfg.impls {
				cv := b.curve(sc, impl, n)
				if cv == nil {
					continue
				}
				out = append(out, series{name: fmt.Sprintf("%s %s, %d clients", impl, sc, n), color: colors[impl], dash: sc != "cluster", xs: cv.Thru, ys: cv.P99})
			}
		}
	}
	return out
}

// clusterOrder returns the servers of a cluster scenario for repetition
// rep: the clusters measured together, their steps interleaved.
func clusterOrder(impls []string, rep int) []string {
	order := slices.Clone(impls)
	if rep%2 == 0 {
		slices.Reverse(order)
	}
	return order
}
