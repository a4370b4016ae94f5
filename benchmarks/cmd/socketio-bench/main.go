// Command socketio-bench is the load generator of the benchmark suite. It
// starts the servers itself (our cmd/benchserver, the official Node
// socket.io server of benchmarks/node, and the raw batched-frame writer
// floor of benchmarks/cmd/rawfloor), pins them to one core and itself to
// another, and runs the scenarios against each in turn:
//
//   - idle: N WebSocket clients connected, server RSS per connection and
//     connect rate, as a curve over N;
//   - storm: N clients connecting at once, how many succeed and how fast;
//   - fanout: N clients, one of them the source of "bcast" events that the
//     server broadcasts to all, at increasing offered deliveries/s:
//     deliveries/s, p50/p99 delivery latency, server CPU per delivery;
//   - echo: C WebSocket clients sending "echo" events with acks at a fixed
//     total rate, stepped: p50/p99/p999 round trip, server CPU per echo;
//   - polling: the same echo over HTTP long-polling;
//   - polling-fanout: the fan-out to clients on long-polling;
//   - fanout-recovery (on request): the fan-out with connection state
//     recovery on ("go+rec", "node+rec") and off, in one run;
//   - cluster and cluster-sharded (on request): the fan-out on a cluster
//     of two nodes on Redis, ours (cmd/clusterserver with adapters/redis)
//     and the official one (node/server.js with @socket.io/redis-adapter),
//     the clients split across the nodes: deliveries/s, p99, CPU per
//     delivery of both nodes, Redis's CPU; cluster-postgres: the same on
//     PostgreSQL (adapters/postgres and @socket.io/postgres-adapter, -pg);
//   - delivery (on request): official clients (node/delivery.js) behind a
//     fault proxy (internal/killproxy) that kills a share of their
//     connections every second (reset, clean close, or half-open), while
//     sequenced broadcasts are published, against each server with
//     recovery on: delivered, duplicated and reordered messages,
//     reconnections and recovered sessions.
//
// Every figure is measured reps times (the servers alternating) and the
// median is reported, with the ratios go/node (and go/floor for fan-out).
// Results go to -out as results.json, summary.md and SVG charts.
//
// It only ever connects to 127.0.0.1 (and 127.0.0.x source addresses), and
// every loop is bounded in count and time.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/socketio-go/socketio/benchmarks/internal/killproxy"
)

type config struct {
	scenarios   []string
	impls       []string
	floor       bool
	reps        int
	goServer    string
	nodeBin     string
	nodeServer  string
	floorServer string
	relayServer string
	baseServer  string
	serverCPU   string
	genCPU      string
	basePort    int
	out         string

	idleN       []int
	stormN      int
	connectConc int
	settle      time.Duration
	perIP       int
	readBuf     int

	fanN       []int
	fanRates   []float64
	fanRefs    []float64
	fanP99Stop time.Duration

	// cluster scenarios: client counts (half on each node), the Redis, our
	// cluster node (cmd/clusterserver), the profile pass's rate
	clusterN        []int
	redisAddr       string
	pgURL           string
	clusterServer   string
	natsURL         string
	clusterRaces    int
	profClusterRate float64

	echoClients int
	echoRates   []float64
	echoRef     float64
	echoP99Stop time.Duration

	pollClients  int
	pollRates    []float64
	pollFanN     []int     // polling fan-out: client counts
	pollFanRates []float64 // polling fan-out: offered deliveries/s

	warmup time.Duration
	step   time.Duration
	drain  time.Duration
	pause  time.Duration

	profile      bool
	profiles     []string
	profFanRate  float64
	profEchoRate float64
	profPollRate float64

	// fanout-recovery: the servers compared (recSuffix: recovery on), and
	// the co-scheduled saturation trials of ours with recovery off and on.
	recImpls      []string
	recRaces      int
	recRaceWindow time.Duration
	recControl    bool // A/A control: "+rec" servers start with recovery off

	// shallow: closed-loop fan-out (see shallow.go)
	shallowN        []int
	shallowImpls    []string
	shallowWindow   int
	shallowWarmup   time.Duration
	shallowDur      time.Duration
	shallowRaces    int
	profShallowRate float64

	// delivery
	deliveryImpls      []string
	deliveryModes      []string
	deliveryN          int
	deliveryRate       float64
	deliveryDur        time.Duration
	deliveryKill       float64
	deliveryDrain      time.Duration
	deliveryReps       int
	deliveryTransports string
	deliveryReconnect  string
	deliveryScript     string
}

type bench struct {
	cfg       config
	logFile   *os.File
	spreadIPs int
	res       Results

	profiling string // non-empty during the profile pass
	profName  string
}

func (b *bench) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	fmt.Println(line)
	if b.logFile != nil {
		fmt.Fprintln(b.logFile, line)
	}
}

func ints(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := parseCount(f)
		if err != nil {
			log.Fatalf("bad number %q: %v", f, err)
		}
		out = append(out, int(v))
	}
	return out
}

func floats(s string) []float64 {
	var out []float64
	for _, v := range ints(s) {
		out = append(out, float64(v))
	}
	return out
}

// parseCount parses 1000, 1k, 2.5k, 1m.
func parseCount(s string) (float64, error) {
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1e3, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "m"):
		mult, s = 1e6, strings.TrimSuffix(s, "m")
	}
	v, err := strconv.ParseFloat(s, 64)
	return v * mult, err
}

func main() {
	var (
		c                                         config
		scen, impls, idleN, fanN, fanR, echoR, pr string
		pollFanN, pollFanR                        string
		fanRef, echoRef                           string
	)
	flag.StringVar(&scen, "scenarios", "idle,storm,fanout,echo,polling,polling-fanout", "scenarios to run (idle, storm, fanout, echo, polling, polling-fanout, fanout-recovery, delivery, cluster, cluster-sharded, cluster-postgres, cluster-nats; profile runs the pprof pass against the Go server instead)")
	flag.StringVar(&impls, "impls", "go,node", "servers to compare")
	flag.BoolVar(&c.floor, "floor", true, "also run the raw batched-frame writer floor in the fan-out (first client count) and echo scenarios")
	flag.IntVar(&c.reps, "reps", 3, "repetitions of every figure (the median is reported)")
	flag.StringVar(&c.goServer, "go-server", "bin/benchserver", "our server binary (cmd/benchserver)")
	flag.StringVar(&c.nodeBin, "node", "node", "node binary")
	flag.StringVar(&c.nodeServer, "node-server", "node/server.js", "the Node reference server")
	flag.StringVar(&c.floorServer, "floor-server", "bin/rawfloor", "the raw writer floor binary (cmd/rawfloor)")
	flag.StringVar(&c.serverCPU, "server-cpu", "0", "CPU list the servers are pinned to with taskset (empty: no pinning)")
	flag.StringVar(&c.genCPU, "gen-cpu", "1", "CPU list the load generator pins itself to (empty: no pinning)")
	flag.IntVar(&c.basePort, "port", 3100, "first server port (each server start takes the next even port)")
	flag.StringVar(&c.out, "out", "results", "output directory")
	flag.StringVar(&idleN, "idle-n", "1k,5k,10k", "idle curve: connection counts")
	flag.IntVar(&c.stormN, "storm-n", 10000, "connect storm: clients connecting at once")
	flag.IntVar(&c.connectConc, "connect-conc", 200, "connections opened concurrently (idle curve and setup)")
	flag.DurationVar(&c.settle, "settle", 5*time.Second, "idle: wait before reading the RSS")
	flag.IntVar(&c.perIP, "per-ip", 5000, "connections per loopback source address once more are needed (127.0.0.1, .2, ...)")
	flag.IntVar(&c.readBuf, "read-buf", 8192, "client read buffer size")
	flag.StringVar(&fanN, "fanout-n", "1k,5k", "fan-out: client counts")
	var clusterN, profCluster string
	flag.StringVar(&clusterN, "cluster-n", "1k", "cluster scenarios: client counts (half on each of the two nodes)")
	flag.StringVar(&c.pgURL, "pg", "postgres://postgres@127.0.0.1:5432/test", "cluster-postgres: the PostgreSQL of the clusters (each cluster gets a channel prefix of its own)")
	flag.StringVar(&c.redisAddr, "redis", "127.0.0.1:6379", "cluster scenarios: the Redis of the clusters (host:port; each cluster gets a channel prefix of its own)")
	flag.StringVar(&c.natsURL, "nats", "nats://127.0.0.1:4222", "cluster-nats scenario: the NATS server of the cluster")
	flag.StringVar(&c.clusterServer, "cluster-server", "bin/clusterserver", "cluster scenarios: our cluster node binary (cmd/clusterserver)")
	flag.IntVar(&c.clusterRaces, "cluster-races", 4, "cluster scenarios: trials of our cluster and the official one saturated at the same time on the server core (0: none)")
	flag.StringVar(&profCluster, "profile-cluster-rate", "100k", "profile pass: offered deliveries/s of the cluster fan-out")
	flag.StringVar(&fanR, "fanout-rates", "10k,20k,40k,60k,90k,135k,200k,300k,450k,600k,900k", "fan-out: offered deliveries/s, stepped")
	flag.StringVar(&fanRef, "fanout-ref", "20k,90k", "fan-out: offered deliveries/s at which CPU per delivery is compared")
	flag.DurationVar(&c.fanP99Stop, "fanout-p99-stop", 2*time.Second, "fan-out: stop stepping after a step with a p99 over this")
	flag.IntVar(&c.echoClients, "echo-c", 100, "echo: clients")
	flag.StringVar(&echoR, "echo-rates", "2k,5k,10k,20k,30k,40k,60k,80k,100k,120k,150k,200k,250k,300k,400k", "echo: offered messages/s, stepped")
	flag.StringVar(&echoRef, "echo-ref", "10k", "echo and polling: rate at which CPU per echo is compared")
	flag.DurationVar(&c.echoP99Stop, "echo-p99-stop", time.Second, "echo: stop stepping after a step with a p99 over this (or two over 50 ms)")
	flag.IntVar(&c.pollClients, "poll-c", 100, "polling echo: clients")
	flag.StringVar(&pollFanN, "pollfan-n", "1k", "polling fan-out: client counts")
	flag.StringVar(&pollFanR, "pollfan-rates", "5k,10k,20k,40k,60k,90k,135k,200k,300k,450k,600k", "polling fan-out: offered deliveries/s, stepped")
	flag.StringVar(&pr, "poll-rates", "1k,2k,5k,10k,15k,20k,30k,40k,50k,60k,80k,100k,120k", "polling echo: offered messages/s, stepped")
	flag.DurationVar(&c.warmup, "warmup", 500*time.Millisecond, "unmeasured warm-up at each step's rate")
	flag.DurationVar(&c.step, "step", 2*time.Second, "measured duration of each step")
	flag.DurationVar(&c.drain, "drain", 3*time.Second, "longest wait for a step's last messages")
	flag.DurationVar(&c.pause, "pause", 300*time.Millisecond, "pause between steps")
	var profFan, profEcho, profPoll string
	flag.StringVar(&profFan, "profile-fanout-rate", "100k", "profile pass: offered deliveries/s of the fan-out")
	flag.StringVar(&profEcho, "profile-echo-rate", "10k", "profile pass: echo messages/s")
	flag.StringVar(&profPoll, "profile-poll-rate", "10k", "profile pass: polling echo messages/s")
	var profs, recImpls, delImpls, delModes string
	flag.StringVar(&profs, "profiles", "idle,storm,fanout,fanout-recovery,echo,polling", "profile pass: the profiles taken (fanout-recovery: the fan-out with recovery on; cluster: both nodes of our classic cluster)")
	flag.StringVar(&recImpls, "recovery-impls", "go,go+rec,node+rec", "fanout-recovery: the servers compared, measured together, their steps interleaved (+rec: connection state recovery on; node is the official server with it off)")
	flag.IntVar(&c.recRaces, "recovery-races", 6, "fanout-recovery: trials of go and go+rec saturated at the same time on the server core (largest client count; 0: none)")
	flag.DurationVar(&c.recRaceWindow, "recovery-race-window", 2*time.Second, "fanout-recovery: measured window of each race")
	flag.BoolVar(&c.recControl, "recovery-control", false, "A/A control of fanout-recovery: the +rec servers start with recovery off, so that the ratios show what the method resolves")
	flag.StringVar(&delImpls, "delivery-impls", "go,node", "delivery: the servers (always started with recovery on)")
	flag.StringVar(&delModes, "delivery-modes", "reset,close,half-open", "delivery: how the proxy kills connections (reset, close, half-open), one run each")
	flag.IntVar(&c.deliveryN, "delivery-n", 300, "delivery: official clients (one Node process)")
	var delRate string
	flag.StringVar(&delRate, "delivery-rate", "50", "delivery: sequenced broadcasts per second (to every client)")
	flag.DurationVar(&c.deliveryDur, "delivery-duration", 30*time.Second, "delivery: publishing (and killing) time per mode")
	flag.Float64Var(&c.deliveryKill, "delivery-kill", 0.05, "delivery: share of the clients' connections killed every second")
	flag.DurationVar(&c.deliveryDrain, "delivery-drain", 10*time.Second, "delivery: longest wait after the last broadcast for reconnections and replays")
	flag.IntVar(&c.deliveryReps, "delivery-reps", 1, "delivery: runs per server and mode (the scenario ignores -reps)")
	flag.StringVar(&c.deliveryTransports, "delivery-transports", "websocket", "delivery: the clients' transports option (websocket, polling or polling,websocket)")
	flag.StringVar(&c.deliveryReconnect, "delivery-reconnect", "", "delivery: the clients' reconnectionDelay[,reconnectionDelayMax[,randomizationFactor]] (empty: the official defaults 1000,5000,0.5)")
	flag.StringVar(&c.deliveryScript, "delivery-script", "node/delivery.js", "delivery: the official clients' driver")
	var shallowN, shallowImpls, profShallow string
	flag.StringVar(&shallowN, "shallow-n", "1k,5k", "shallow: client counts")
	flag.StringVar(&shallowImpls, "shallow-impls", "go,relay,node", "shallow: the servers compared (relay: cmd/relay, a plain gorilla/websocket relay)")
	flag.IntVar(&c.shallowWindow, "shallow-window", 4, "shallow: broadcasts in flight (each must reach every client before another is sent)")
	flag.DurationVar(&c.shallowWarmup, "shallow-warmup", time.Second, "shallow: unmeasured warm-up of each window")
	flag.DurationVar(&c.shallowDur, "shallow-duration", 3*time.Second, "shallow: measured duration of each window")
	flag.IntVar(&c.shallowRaces, "shallow-races", 3, "shallow: trials of ours (go, base) and the relay run at the same time, both saturated on the server core (0: none)")
	flag.StringVar(&profShallow, "profile-shallow-rate", "60k", "profile pass: deliveries/s the shallow publisher is held to (ours and the relay at the same rate)")
	flag.StringVar(&c.relayServer, "relay-server", "bin/relay", "the gorilla/websocket relay binary (cmd/relay)")
	flag.StringVar(&c.baseServer, "base-server", "", `our server built from another commit, run as the server "base" (e.g. -shallow-impls go,base,relay)`)
	resum := flag.String("resummarize", "", "only rebuild summary.md and the charts of -out from this results.json")
	genProf := flag.String("gen-cpuprofile", "", "write a CPU profile of the load generator itself to this file")
	flag.Parse()
	c.profFanRate, c.profEchoRate, c.profPollRate = floats(profFan)[0], floats(profEcho)[0], floats(profPoll)[0]

	c.scenarios = strings.Split(scen, ",")
	c.impls = strings.Split(impls, ",")
	c.idleN, c.fanN, c.clusterN = ints(idleN), ints(fanN), ints(clusterN)
	c.profClusterRate = floats(profCluster)[0]
	c.shallowN, c.shallowImpls = ints(shallowN), strings.Split(shallowImpls, ",")
	c.profShallowRate = floats(profShallow)[0]
	c.fanRates, c.echoRates, c.pollRates = floats(fanR), floats(echoR), floats(pr)
	c.pollFanN, c.pollFanRates = ints(pollFanN), floats(pollFanR)
	c.fanRefs = floats(fanRef)
	c.echoRef = floats(echoRef)[0]
	c.profile = slices.Contains(c.scenarios, "profile")
	c.profiles = strings.Split(profs, ",")
	c.recImpls = strings.Split(recImpls, ",")
	c.deliveryImpls = strings.Split(delImpls, ",")
	c.deliveryModes = strings.Split(delModes, ",")
	c.deliveryRate = floats(delRate)[0]
	for _, m := range c.deliveryModes {
		if _, err := killproxy.ParseMode(m); err != nil {
			log.Fatal(err)
		}
	}

	if *resum != "" {
		b := &bench{cfg: c}
		data, err := os.ReadFile(*resum)
		if err != nil {
			log.Fatal(err)
		}
		if err := json.Unmarshal(data, &b.res); err != nil {
			log.Fatal(err)
		}
		b.summarize()
		b.save()
		return
	}
	pinSelf(c.genCPU)
	debug.SetGCPercent(400)
	limit := raiseNOFILE()

	b := &bench{cfg: c}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		log.Fatal(err)
	}
	// The profile pass runs after the scenarios: it appends to their log.
	logFlags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if c.profile {
		logFlags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	lf, err := os.OpenFile(filepath.Join(c.out, "run.log"), logFlags, 0o644)
	if err != nil {
		log.Fatal(err)
	}
	b.logFile = lf
	defer lf.Close()

	maxConns := slices.Max(append(slices.Clone(c.idleN), c.stormN, slices.Max(c.fanN), len(c.impls)*slices.Max(c.clusterN)))
	if slices.Contains(c.scenarios, "shallow") {
		maxConns = max(maxConns, len(c.shallowImpls)*slices.Max(c.shallowN))
	}
	if need := maxConns + 64; uint64(need) > limit {
		b.logf("WARNING: %d connections need %d file descriptors, RLIMIT_NOFILE allows %d (raising the hard limit needs CAP_SYS_RESOURCE); counts above it are capped", maxConns, need, limit)
		capN := int(limit) - 200
		for i := range c.idleN {
			c.idleN[i] = min(c.idleN[i], capN)
		}
		c.idleN = slices.Compact(c.idleN)
		c.stormN = min(c.stormN, capN)
		b.cfg = c
	}
	if c.perIP > 0 && maxConns > c.perIP {
		b.spreadIPs = (maxConns + c.perIP - 1) / c.perIP
	}

	b.res.Machine = machineInfo(c)
	b.res.Machine.NOFILE = limit
	b.res.Started = time.Now().UTC().Format(time.RFC3339)
	b.res.Command = strings.Join(os.Args, " ")
	b.res.RecoveryControl = c.recControl
	b.logf("socketio-bench: %s", b.res.Machine)
	b.logf("generator GOMAXPROCS=%d pinned to %q; servers pinned to %q; reps=%d", runtime.GOMAXPROCS(0), c.genCPU, c.serverCPU, c.reps)

	if c.profile {
		if err := b.runProfiles(); err != nil {
			log.Fatal(err)
		}
		return
	}

	if *genProf != "" {
		f, err := os.Create(*genProf)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	for _, sc := range c.scenarios {
		b.logf("\n== %s", sc)
		if sc == "shallow" {
			// Its repetitions alternate the servers within one start.
			b.runShallow()
			continue
		}
		reps := c.reps
		if sc == "delivery" {
			reps = c.deliveryReps
		}
		for rep := 1; rep <= reps; rep++ {
			// Alternate the order of the servers from one repetition to
			// the next, so that drift favours none.
			order := slices.Clone(c.impls)
			if rep%2 == 0 {
				slices.Reverse(order)
			}
			// withFloor adds the raw floor (last) when the scenario runs it.
			withFloor := func(yes bool) []string {
				if yes && c.floor {
					return append(slices.Clone(order), "floor")
				}
				return order
			}
			switch sc {
			case "idle":
				for _, impl := range order {
					r, err := b.runIdle(impl, rep)
					b.check(err)
					b.res.Idle = append(b.res.Idle, r)
				}
			case "storm":
				for _, impl := range order {
					r, err := b.runStorm(impl, rep)
					b.check(err)
					b.res.Storm = append(b.res.Storm, r)
				}
			case "fanout":
				for _, n := range c.fanN {
					b.record(withFloor(n == c.fanN[0]), func(impl string) (StepRun, error) { return b.runFanout(impl, n, rep) })
				}
			case "echo":
				b.record(withFloor(true), func(impl string) (StepRun, error) { return b.runEcho(impl, rep) })
			case "polling":
				b.record(withFloor(true), func(impl string) (StepRun, error) { return b.runPolling(impl, rep) })
			case "polling-fanout":
				for _, n := range c.pollFanN {
					b.record(withFloor(n == c.pollFanN[0]), func(impl string) (StepRun, error) { return b.runPollFanout(impl, n, rep) })
				}
			case "fanout-recovery":
				for _, n := range c.fanN {
					for _, group := range b.recoveryGroups(n) {
						runs, err := b.runFanoutInterleaved("fanout-recovery", group, n, rep, nil)
						b.check(err)
						if err != nil {
							for _, impl := range group {
								b.res.Runs = append(b.res.Runs, StepRun{Scenario: "fanout-recovery", Impl: impl, Rep: rep, Clients: n, Error: err.Error()})
							}
						}
						b.res.Runs = append(b.res.Runs, runs...)
					}
				}
			case "cluster", "cluster-sharded", "cluster-postgres", "cluster-nats":
				for _, n := range c.clusterN {
					order := clusterOrder(c.impls, rep)
					if sc == "cluster-nats" {
						order = []string{"go"}
					}
					runs, err := b.runFanoutInterleaved(sc, order, n, rep, func(impl string) (*fanoutRig, error) { return b.newClusterRig(sc, impl, n, rep) })
					b.check(err)
					if err != nil {
						for _, impl := range order {
							b.res.Runs = append(b.res.Runs, StepRun{Scenario: sc, Impl: impl, Rep: rep, Clients: n, Error: err.Error()})
						}
					}
					b.res.Runs = append(b.res.Runs, runs...)
				}
			case "delivery":
				do := slices.Clone(c.deliveryImpls)
				if rep%2 == 0 {
					slices.Reverse(do)
				}
				for _, ms := range c.deliveryModes {
					mode, _ := killproxy.ParseMode(ms)
					for _, impl := range do {
						r, err := b.runDelivery(impl, mode, rep)
						if err != nil {
							r.Error = err.Error()
						}
						b.check(err)
						b.res.Delivery = append(b.res.Delivery, r)
					}
				}
			default:
				log.Fatalf("unknown scenario %q", sc)
			}
		}
		b.save() // keep what was measured so far
	}
	b.res.Seconds = time.Since(start).Seconds()
	b.summarize()
	b.save()
	b.logf("\nwrote %s/results.json, %s/summary.md and charts in %.0f s", c.out, c.out, b.res.Seconds)
}

func (b *bench) check(err error) {
	if err != nil {
		b.logf("  ERROR: %v", err)
	}
}

func (b *bench) save() {
	dropNaN(reflect.ValueOf(&b.res).Elem())
	data, err := json.MarshalIndent(&b.res, "", "  ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.cfg.out, "results.json"), data, 0o644); err != nil {
		log.Fatal(err)
	}
}

// dropNaN makes v encodable as JSON, which has no NaN: a NaN field (a
// figure with no sample, such as the latency of a step where nothing
// arrived) becomes 0, a NaN map value is removed.
func dropNaN(v reflect.Value) {
	switch v.Kind() {
	case reflect.Float64, reflect.Float32:
		if v.CanSet() && math.IsNaN(v.Float()) {
			v.SetFloat(0)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			dropNaN(v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				dropNaN(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			dropNaN(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := v.MapIndex(k)
			if (e.Kind() == reflect.Float64 || e.Kind() == reflect.Float32) && math.IsNaN(e.Float()) {
				v.SetMapIndex(k, reflect.Value{})
			} else if e.Kind() == reflect.Struct || e.Kind() == reflect.Slice || e.Kind() == reflect.Map {
				c := reflect.New(e.Type()).Elem()
				c.Set(e)
				dropNaN(c)
				v.SetMapIndex(k, c)
			}
		}
	}
}

// pinSelf re-executes the generator under taskset, so that every thread
// of the Go runtime is pinned and GOMAXPROCS matches.
func pinSelf(cpus string) {
	if cpus == "" || os.Getenv("SIOBENCH_PINNED") != "" {
		return
	}
	ts, err := exec.LookPath("taskset")
	if err != nil {
		log.Fatal("taskset not found (util-linux); use -gen-cpu= -server-cpu= to run unpinned")
	}
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	env := append(os.Environ(), "SIOBENCH_PINNED=1")
	argv := append([]string{"taskset", "-c", cpus, self}, os.Args[1:]...)
	log.Fatal(syscall.Exec(ts, argv, env))
}

// raiseNOFILE raises the soft file descriptor limit to the hard limit and
// returns it. Servers started afterwards inherit it.
func raiseNOFILE() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 1024
	}
	want := uint64(1 << 20)
	if rl.Max < want {
		// Try to raise the hard limit too (needs CAP_SYS_RESOURCE).
		try := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &try) == nil {
			return want
		}
	}
	rl.Cur = rl.Max
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	return rl.Cur
}

// recoveryGroups splits the servers of the fanout-recovery scenario into
// the groups measured together (interleaved) with n clients each: all of
// them when the file descriptor limit allows, else one group per kind of
// server (ours with recovery off and on, the official one likewise).
func (b *bench) recoveryGroups(n int) [][]string {
	impls := b.cfg.recImpls
	if uint64(n*len(impls)+256) <= b.res.Machine.NOFILE {
		return [][]string{impls}
	}
	var groups [][]string
	var kinds []string
	for _, impl := range impls {
		kind, _ := strings.CutSuffix(impl, recSuffix)
		i := slices.Index(kinds, kind)
		if i < 0 {
			kinds = append(kinds, kind)
			groups = append(groups, nil)
			i = len(kinds) - 1
		}
		groups[i] = append(groups[i], impl)
	}
	b.logf("  %d clients for each of %d servers exceed the file descriptor limit (%d): measured in groups %v", n, len(impls), b.res.Machine.NOFILE, groups)
	return groups
}

// record runs a scenario on each server of impls, in order, and keeps the
// runs (a failed one with its error).
func (b *bench) record(impls []string, run func(impl string) (StepRun, error)) {
	for _, impl := range impls {
		r, err := run(impl)
		if err != nil {
			r.Error = err.Error()
		}
		b.check(err)
		b.res.Runs = append(b.res.Runs, r)
	}
}
