package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is one server process under test, pinned to the server core.
type server struct {
	impl      string
	port      int
	addr      string
	pprofAddr string
	cmd       *exec.Cmd
	pid       int
	exited    chan struct{}
	log       *os.File
	stopOnce  sync.Once
	cores     string // the CPUs it is pinned to
	// nodes, when set, are the processes this server stands for (the
	// nodes of a cluster, see clusterGroup): its CPU time, RSS and
	// liveness are theirs, summed, and stop stops them all. It has no
	// process of its own.
	nodes []*server
}

var nextPort = 0

func (b *bench) allocPort() int {
	if nextPort == 0 {
		nextPort = b.cfg.basePort
	}
	// Skip ports another process (another run on a shared machine)
	// listens on: the server started there would exit, and the clients
	// would measure the other process.
	for tries := 0; ; tries++ {
		p := nextPort
		nextPort += 2
		if tries >= 1000 || portFree(p) && portFree(p+1) {
			return p
		}
	}
}

// portFree reports whether nothing listens on 127.0.0.1:port.
func portFree(port int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// recSuffix marks a server started with connection state recovery on
// ("go+rec", "node+rec": RECOVERY=1 in its environment).
const recSuffix = "+rec"

// startServer starts impl ("go", "node" or "floor", the first two
// optionally with recSuffix) on a fresh port, pinned with taskset to the
// server core, and waits until it accepts connections.
func (b *bench) startServer(impl string, withPprof bool) (*server, error) {
	return b.startNode(impl, withPprof, nil)
}

// clusterEnv are the variables that make a server a node of a cluster on
// Redis (cmd/clusterserver, node/server.js): a server started without them
// does not inherit them from the generator's environment.
var clusterEnv = []string{"REDIS_ADDR=", "NATS_URL=", "ADAPTER=", "PREFIX="}

// startNode is startServer; with env (REDIS_ADDR, ADAPTER, PREFIX), the
// server is a node of a cluster on Redis: ours is then the cluster server
// binary (cmd/clusterserver), the official one node/server.js with the
// official Redis adapter.
func (b *bench) startNode(impl string, withPprof bool, env []string) (*server, error) {
	port := b.allocPort()
	kind, recovery := strings.CutSuffix(impl, recSuffix)
	if recovery && (kind == "floor" || kind == "relay") {
		return nil, fmt.Errorf("unknown server %q", impl)
	}
	var argv []string
	switch kind {
	case "go":
		argv = []string{b.cfg.goServer}
		if env != nil {
			argv = []string{b.cfg.clusterServer}
		}
	case "node":
		argv = []string{b.cfg.nodeBin, b.cfg.nodeServer}
	case "base":
		// Our server built from another commit (-base-server), to
		// compare two versions of ours in one run.
		if env != nil || b.cfg.baseServer == "" {
			return nil, fmt.Errorf("%q needs -base-server (and no cluster)", impl)
		}
		argv = []string{b.cfg.baseServer}
	case "relay":
		if env != nil {
			return nil, fmt.Errorf("no cluster of %q", impl)
		}
		argv = []string{b.cfg.relayServer}
	case "floor":
		if env != nil {
			return nil, fmt.Errorf("no cluster of %q", impl)
		}
		argv = []string{b.cfg.floorServer}
	default:
		return nil, fmt.Errorf("unknown server %q", impl)
	}
	if b.cfg.serverCPU != "" {
		argv = append([]string{"taskset", "-c", b.cfg.serverCPU}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	// RECOVERY from the generator's own environment does not leak into a
	// server started without recovery.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "RECOVERY=") || slices.ContainsFunc(clusterEnv, func(p string) bool { return strings.HasPrefix(kv, p) })
	})
	cmd.Env = append(cmd.Env, "PORT="+strconv.Itoa(port))
	cmd.Env = append(cmd.Env, env...)
	if recovery && !b.cfg.recControl {
		cmd.Env = append(cmd.Env, "RECOVERY=1")
	}
	s := &server{cores: b.cfg.serverCPU, impl: impl, port: port, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd, exited: make(chan struct{})}
	if withPprof && (kind == "go" || kind == "base" || kind == "relay") {
		s.pprofAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1))
		cmd.Env = append(cmd.Env, "PPROF="+s.pprofAddr)
	}
	logPath := filepath.Join(b.cfg.out, "logs", fmt.Sprintf("%s-%d.log", impl, port))
	_ = os.MkdirAll(filepath.Dir(logPath), 0o755)
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	s.log = f
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	s.pid = cmd.Process.Pid
	go func() { _ = cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			// Something listens: make sure it is this server, not
			// another process that took the port meanwhile.
			time.Sleep(50 * time.Millisecond)
			if !s.alive() {
				return nil, fmt.Errorf("%s server exited at start (see %s)", impl, logPath)
			}
			break
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("%s server exited at start (see %s)", impl, logPath)
		default:
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s server not listening after 20s (see %s)", impl, logPath)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s.pprofAddr != "" {
		for i := 0; i < 100; i++ {
			if c, err := net.DialTimeout("tcp", s.pprofAddr, time.Second); err == nil {
				c.Close()
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return s, nil
}

func (s *server) alive() bool {
	if s.nodes != nil {
		for _, n := range s.nodes {
			if !n.alive() {
				return false
			}
		}
		return true
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// stop ends the server: SIGTERM, then SIGKILL after 3 s. It is
// idempotent.
func (s *server) stop() { s.stopOnce.Do(s.doStop) }

func (s *server) doStop() {
	if s.nodes != nil {
		for _, n := range s.nodes {
			n.stop()
		}
		return
	}
	if s.alive() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(3 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	s.log.Close()
}

var clkTck = func() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && v > 0 {
			return float64(v)
		}
	}
	return 100
}()

// cpu returns the process's user+system CPU time (all threads).
func (s *server) cpu() time.Duration {
	if s.nodes != nil {
		var t time.Duration
		for _, n := range s.nodes {
			t += n.cpu()
		}
		return t
	}
	return procCPU(s.pid)
}

// procCPU returns the CPU time of every thread of the process, from the
// scheduler's precise accounting (/proc/<pid>/task/*/schedstat, ns), which
// unlike the tick-sampled utime/stime of /proc/<pid>/stat does not
// misattribute the short bursts of a server that wakes per message. Time
// of threads that exited is not counted (the servers measured keep theirs).
func procCPU(pid int) time.Duration {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	ents, err := os.ReadDir(dir)
	if err != nil {
		u, s := procCPUSplit(pid)
		return u + s
	}
	var total int64
	for _, e := range ents {
		b, err := os.ReadFile(dir + "/" + e.Name() + "/schedstat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			v, _ := strconv.ParseInt(f[0], 10, 64)
			total += v
		}
	}
	return time.Duration(total)
}

// sysCPU returns the process's system (kernel) CPU time.
func (s *server) sysCPU() time.Duration {
	if s.nodes != nil {
		var t time.Duration
		for _, n := range s.nodes {
			t += n.sysCPU()
		}
		return t
	}
	_, st := procCPUSplit(s.pid)
	return st
}

// procCPUSplit returns the user and system CPU time of a process.
func procCPUSplit(pid int) (user, sys time.Duration) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0
	}
	// The command name may contain spaces: fields start after ')'.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+2:]))
	// f[0] is field 3 (state); utime is field 14, stime 15.
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return time.Duration(ut / clkTck * float64(time.Second)), time.Duration(st / clkTck * float64(time.Second))
}

// rss returns the resident set size in bytes (VmRSS).
func (s *server) rss() int64 {
	if s.nodes != nil {
		var t int64
		for _, n := range s.nodes {
			t += n.rss()
		}
		return t
	}
	f := strings.Fields(s.status("VmRSS"))
	if len(f) == 0 {
		return 0
	}
	kb, _ := strconv.ParseInt(f[0], 10, 64)
	return kb << 10
}

// threads returns the number of threads of the server.
func (s *server) threads() int {
	n, _ := strconv.Atoi(s.status("Threads"))
	return n
}

// status returns the value of a field of /proc/<pid>/status, trimmed, or
// "" when it cannot be read.
func (s *server) status(field string) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(s.pid) + "/status")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// coreTicks returns the idle (idle+iowait) and softirq jiffies of the CPUs
// in list (a taskset CPU list such as "0" or "0,2") and how many CPUs that
// is, from /proc/stat. Idle time is accounted precisely by the kernel
// (tickless idle), so elapsed time minus idle time is everything that ran
// on the server's cores, including the softirq work (loopback TCP
// processing) that process CPU time misses; softirq itself is tick-sampled.
func coreTicks(list string) (idle, softirq float64, n int) {
	want := map[string]bool{}
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f != "" {
			want["cpu"+f] = true
		}
	}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !want[f[0]] {
			continue
		}
		v := make([]float64, 8)
		for i := range v {
			v[i], _ = strconv.ParseFloat(f[i+1], 64)
		}
		// user nice system idle iowait irq softirq steal
		idle += v[3] + v[4]
		softirq += v[6]
		n++
	}
	return idle, softirq, n
}

// selfCPU returns the load generator's own CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter measures the server's and the generator's CPU over a window.
type cpuMeter struct {
	s                *server
	t0               time.Time
	srv0, gen0, sys0 time.Duration
	cores            string
	idle0, soft0     float64
}

func startMeter(s *server) cpuMeter {
	m := cpuMeter{s: s, t0: time.Now(), srv0: s.cpu(), gen0: selfCPU(), sys0: s.sysCPU(), cores: s.cores}
	if m.cores != "" {
		m.idle0, m.soft0, _ = coreTicks(m.cores)
	}
	return m
}

// core returns the busy time of the server's cores since the start of the
// window (everything, softirq included) and the softirq part of it.
func (m cpuMeter) core() (busy, softirq time.Duration) {
	if m.cores == "" {
		return 0, 0
	}
	idle, soft, n := coreTicks(m.cores)
	el := time.Since(m.t0)
	busy = time.Duration(n)*el - time.Duration((idle-m.idle0)/clkTck*float64(time.Second))
	return max(busy, 0), time.Duration((soft - m.soft0) / clkTck * float64(time.Second))
}

// sys returns the server's kernel CPU time since the start of the window.
func (m cpuMeter) sys() time.Duration { return m.s.sysCPU() - m.sys0 }

// stop returns the elapsed time and the server's and the generator's CPU
// time over the window.
func (m cpuMeter) stop() (elapsed, srv, gen time.Duration) {
	return time.Since(m.t0), m.s.cpu() - m.srv0, selfCPU() - m.gen0
}
