package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// fetch saves a pprof endpoint of the Go server to dir/name.
func fetch(s *server, path, file string) error {
	cl := &http.Client{Timeout: 2 * time.Minute}
	resp, err := cl.Get("http://" + s.pprofAddr + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", path, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

func goroutines(s *server) string {
	resp, err := http.Get("http://" + s.pprofAddr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	return strings.TrimSpace(line)
}

// profileHook fetches, around a step's measured window, a CPU profile of
// the window and the allocations made during it (two allocs snapshots, to
// be compared with pprof -base).
func (b *bench) profileHook(s *server, dir, name string) func(start bool) {
	var wg sync.WaitGroup
	return func(start bool) {
		if start {
			if err := fetch(s, "/debug/pprof/allocs", filepath.Join(dir, name+"-allocs-before.pb.gz")); err != nil {
				b.logf("  profile: %v", err)
			}
			secs := int((b.cfg.step - 500*time.Millisecond) / time.Second)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := fetch(s, fmt.Sprintf("/debug/pprof/profile?seconds=%d", max(secs, 1)), filepath.Join(dir, name+"-cpu.pb.gz")); err != nil {
					b.logf("  profile: %v", err)
				}
			}()
			return
		}
		wg.Wait()
		if err := fetch(s, "/debug/pprof/allocs", filepath.Join(dir, name+"-allocs-after.pb.gz")); err != nil {
			b.logf("  profile: %v", err)
		}
		if err := fetch(s, "/debug/pprof/heap", filepath.Join(dir, name+"-heap.pb.gz")); err != nil {
			b.logf("  profile: %v", err)
		}
		b.logf("  %s: %s", name, goroutines(s))
	}
}

// runProfiles runs each scenario once against the Go server with pprof
// enabled, at one fixed load, and saves CPU and heap profiles.
func (b *bench) runProfiles() error {
	dir := filepath.Join(b.cfg.out, "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b.logf("\n== profiles of the Go server (in %s)", dir)
	want := func(name string) bool { return slices.Contains(b.cfg.profiles, name) }

	if want("idle") {
		// Idle: heap with the largest idle count.
		n := slices.Max(b.cfg.idleN)
		s, err := b.startServer("go", true)
		if err != nil {
			return err
		}
		p := newWSPool()
		res := b.connect(p, s.addr, n, b.cfg.connectConc, 30*time.Second)
		time.Sleep(b.cfg.settle)
		b.logf("  idle: %d connected (%d failed), rss %.1f MiB, %s", res.ok, res.failed, float64(s.rss())/(1<<20), goroutines(s))
		if err := fetch(s, "/debug/pprof/heap", filepath.Join(dir, "idle-heap.pb.gz")); err != nil {
			b.logf("  profile: %v", err)
		}
		if err := fetch(s, "/debug/pprof/allocs", filepath.Join(dir, "idle-allocs.pb.gz")); err != nil {
			b.logf("  profile: %v", err)
		}
		b.logf("  idle memstats (%d conns, rss %.1f MiB):\n%s", res.ok, float64(s.rss())/(1<<20), memstats(s))
		s.stop()
		p.close()
	}

	if want("storm") {
		s, err := b.startServer("go", true)
		if err != nil {
			return err
		}
		p := newWSPool()
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fetch(s, "/debug/pprof/profile?seconds=6", filepath.Join(dir, "storm-cpu.pb.gz")); err != nil {
				b.logf("  profile: %v", err)
			}
		}()
		time.Sleep(200 * time.Millisecond)
		res := b.connect(p, s.addr, b.cfg.stormN, b.cfg.stormN, 60*time.Second)
		b.logf("  storm: %d connected in %.2fs", res.ok, res.elapsed.Seconds())
		wg.Wait()
		s.stop()
		p.close()
	}

	if want("shallow") {
		if err := b.profileShallow(dir); err != nil {
			b.logf("  shallow: %v", err)
		}
	}

	saved := b.cfg
	defer func() { b.cfg = saved }()
	b.cfg.step = 8 * time.Second
	b.cfg.warmup = time.Second

	run := func(name string, f func() (StepRun, error)) {
		r, err := f()
		if err != nil {
			b.logf("  %s: %v", name, err)
			return
		}
		_ = r
	}
	b.profiling = "fanout"
	b.cfg.fanRates = []float64{b.cfg.profFanRate}
	for _, n := range b.cfg.fanN {
		if want("fanout") {
			b.profName = fmt.Sprintf("fanout%d", n)
			run(b.profName, func() (StepRun, error) { return b.runFanout("go", n, 0) })
		}
		if want("fanout-recovery") {
			// The same fan-out with connection state recovery on.
			b.profName = fmt.Sprintf("fanout%d-recovery", n)
			run(b.profName, func() (StepRun, error) { return b.runFanout("go"+recSuffix, n, 0) })
		}
	}
	if want("echo") {
		b.cfg.echoRates = []float64{b.cfg.profEchoRate}
		b.profName = "echo"
		run("echo", func() (StepRun, error) { return b.runEcho("go", 0) })
	}
	if want("polling") {
		b.cfg.pollRates = []float64{b.cfg.profPollRate}
		b.profName = "polling"
		run("polling", func() (StepRun, error) { return b.runPolling("go", 0) })
	}
	if want("cluster") {
		// Both nodes of our classic cluster, at one rate.
		b.profiling = "cluster"
		b.cfg.fanRates = []float64{b.cfg.profClusterRate}
		for _, n := range b.cfg.clusterN {
			b.profName = fmt.Sprintf("cluster%d", n)
			_, err := b.runFanoutInterleaved("cluster", []string{"go"}, n, 0, func(impl string) (*fanoutRig, error) { return b.newClusterRig("cluster", impl, n, 0) })
			if err != nil {
				b.logf("  %s: %v", b.profName, err)
			}
		}
	}
	b.profiling = ""
	return nil
}

// memstats returns the runtime.MemStats section of the heap profile's
// debug output: heap, stacks, and what the runtime holds from the OS.
func memstats(s *server) string {
	resp, err := http.Get("http://" + s.pprofAddr + "/debug/pprof/heap?debug=1")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	txt := string(data)
	i := strings.Index(txt, "# runtime.MemStats")
	if i < 0 {
		return "?"
	}
	var keep []string
	for _, l := range strings.Split(txt[i:], "\n") {
		for _, k := range []string{"# Sys ", "# HeapAlloc ", "# HeapSys ", "# HeapIdle ", "# HeapInuse ", "# HeapReleased ", "# HeapObjects ", "# Stack ", "# MSpan ", "# OtherSys ", "# GCSys ", "# NextGC ", "# NumGC "} {
			if strings.HasPrefix(l, k) {
				keep = append(keep, "    "+l)
			}
		}
	}
	return strings.Join(keep, "\n")
}
