package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/socketio-go/socketio/benchmarks/internal/killproxy"
	"github.com/socketio-go/socketio/benchmarks/internal/sioclient"
)

// DeliveryRun is one run of the delivery scenario: official clients behind
// the fault proxy, a server with connection state recovery on, sequenced
// broadcasts while the proxy kills connections in one mode.
type DeliveryRun struct {
	Impl       string  `json:"impl"` // the server, started with recovery on
	Mode       string  `json:"mode"` // reset, close, half-open
	Rep        int     `json:"rep"`
	Clients    int     `json:"clients"`
	Transports string  `json:"transports"`
	Reconnect  string  `json:"reconnect"` // the clients' backoff
	Rate       float64 `json:"rate_per_s"`
	Seconds    float64 `json:"seconds"`         // publishing (and killing) time
	KillFrac   float64 `json:"kill_per_second"` // share of the clients killed each second
	DrainS     float64 `json:"drain_s"`         // time waited after the last publish

	Published int64 `json:"published"` // sequenced broadcasts sent, 1..Published
	// Counts of the official clients, summed over clients: every client
	// existed (and was connected at the start) for the whole publishing, so
	// each expects every sequence number.
	Expected     int64   `json:"expected"`
	Received     int64   `json:"received"` // unique sequence numbers in 1..Published
	DeliveredPct float64 `json:"delivered_pct"`
	Duplicates   int64   `json:"duplicates"`
	OutOfOrder   int64   `json:"out_of_order"`
	Beyond       int64   `json:"beyond"` // sequence numbers never sent (must be 0)
	Reconnects   int64   `json:"reconnections"`
	Recovered    int64   `json:"recovered"` // reconnections with socket.recovered true
	Failed       int64   `json:"failed_recoveries"`
	Replayed     int64   `json:"replayed"` // events received before a recovery's CONNECT
	// ReplayDups: of the duplicates, those emitted with a recovery's
	// CONNECT; Interrupted: connections lost before their CONNECT arrived
	// (the client keeps the events it received meanwhile and emits them
	// with the next CONNECT).
	ReplayDups   int64          `json:"duplicates_in_replay"`
	Interrupted  int64          `json:"interrupted_recoveries"`
	ConnErrors   int64          `json:"connect_errors"`
	ConnectedEnd int64          `json:"connected_at_end"`
	LossClients  int64          `json:"clients_with_loss"`
	MaxMissing   int64          `json:"max_missing_per_client"`
	Reasons      map[string]int `json:"disconnect_reasons"`
	// Delivery latency from the publisher's send to the client's handler
	// (p50/p99/max): events delivered live, and those replayed by a
	// recovery (received before its CONNECT).
	LatLive     latency `json:"latency_live"`
	LatReplayed latency `json:"latency_replayed"`

	// The proxy: connections accepted and killed; for half-open, how many
	// silent server sides the server closed before the end and how long
	// after the kill (the rest were still held at the end).
	ProxyAccepted    int64   `json:"proxy_accepted"`
	Kills            int64   `json:"kills"`
	HalfOpenClosed   int     `json:"half_open_closed_by_server"`
	HalfOpenHeld     int     `json:"half_open_held_at_end"`
	HalfOpenCloseP50 float64 `json:"half_open_close_p50_ms"`
	HalfOpenCloseMax float64 `json:"half_open_close_max_ms"`

	ServerCPU float64 `json:"server_cpu"` // cores, over the publishing
	GenCPU    float64 `json:"gen_cpu"`    // the generator (proxy, publisher), cores
	ClientCPU float64 `json:"client_cpu"` // the Node process of the official clients, cores
	RSS       int64   `json:"server_rss_bytes"`
	Error     string  `json:"error,omitempty"`
}

// driverReport is the JSON of a "report" line of node/delivery.js.
type driverReport struct {
	Event        string         `json:"event"`
	Error        string         `json:"error"`
	Connected    int            `json:"connected"`
	Ms           float64        `json:"ms"`
	Expected     int64          `json:"expected"`
	Received     int64          `json:"received"`
	Beyond       int64          `json:"beyond"`
	Duplicates   int64          `json:"duplicates"`
	OutOfOrder   int64          `json:"out_of_order"`
	Reconnects   int64          `json:"reconnections"`
	Recovered    int64          `json:"recovered"`
	Failed       int64          `json:"failed_recoveries"`
	ConnErrors   int64          `json:"connect_errors"`
	Replayed     int64          `json:"replayed"`
	ReplayDups   int64          `json:"duplicates_in_replay"`
	Interrupted  int64          `json:"interrupted_recoveries"`
	ConnectedNow int64          `json:"connected_now"`
	LossClients  int64          `json:"clients_with_loss"`
	MaxMissing   int64          `json:"max_missing_per_client"`
	Reasons      map[string]int `json:"disconnect_reasons"`
	LatLive      latency        `json:"latency_live"`
	LatReplayed  latency        `json:"latency_replayed"`
}

// latency is a delivery latency summary of node/delivery.js (ms; nil when
// nothing was measured).
type latency struct {
	N   int64    `json:"n"`
	P50 *float64 `json:"p50_ms"`
	P99 *float64 `json:"p99_ms"`
	Max *float64 `json:"max_ms"`
}

func (l latency) String() string {
	if l.N == 0 || l.P50 == nil || l.P99 == nil || l.Max == nil {
		return "—"
	}
	return fmt.Sprintf("%.0f/%.0f/%.0f ms", *l.P50, *l.P99, *l.Max)
}

// driver is the Node process running the official clients.
type driver struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan driverReport
	exited chan struct{}
	log    *os.File
}

// startDriver starts node/delivery.js with n clients connecting to addr.
func (b *bench) startDriver(addr, label string) (*driver, error) {
	c := b.cfg
	cmd := exec.Command(c.nodeBin, c.deliveryScript)
	cmd.Env = append(os.Environ(), "URL=http://"+addr, "N="+strconv.Itoa(c.deliveryN), "TRANSPORTS="+c.deliveryTransports)
	if c.deliveryReconnect != "" {
		// delay[,max[,randomization]] in ms
		f := strings.Split(c.deliveryReconnect, ",")
		for i, k := range []string{"RECONNECTION_DELAY", "RECONNECTION_DELAY_MAX", "RANDOMIZATION_FACTOR"} {
			if i < len(f) {
				cmd.Env = append(cmd.Env, k+"="+strings.TrimSpace(f[i]))
			}
		}
	}
	logPath := filepath.Join(c.out, "logs", "delivery-"+label+".log")
	_ = os.MkdirAll(filepath.Dir(logPath), 0o755)
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		lf.Close()
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		lf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	d := &driver{cmd: cmd, stdin: stdin, lines: make(chan driverReport, 16), exited: make(chan struct{}), log: lf}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			fmt.Fprintf(lf, "%s\n", sc.Bytes())
			var r driverReport
			if json.Unmarshal(sc.Bytes(), &r) == nil {
				d.lines <- r
			}
		}
		_ = cmd.Wait()
		close(d.exited)
	}()
	return d, nil
}

// next waits for the driver's next line of kind event.
func (d *driver) next(event string, timeout time.Duration) (driverReport, error) {
	tm := time.NewTimer(timeout)
	defer tm.Stop()
	for {
		select {
		case r := <-d.lines:
			if r.Event == "error" {
				return r, errors.New("delivery driver: " + r.Error)
			}
			if r.Event == event {
				return r, nil
			}
		case <-d.exited:
			return driverReport{}, errors.New("delivery driver exited (see its log)")
		case <-tm.C:
			return driverReport{}, fmt.Errorf("delivery driver: no %q after %s", event, timeout)
		}
	}
}

func (d *driver) report(published int64) (driverReport, error) {
	if _, err := fmt.Fprintf(d.stdin, "report %d\n", published); err != nil {
		return driverReport{}, err
	}
	return d.next("report", 20*time.Second)
}

// close asks the driver to exit, and kills it after 3 s.
func (d *driver) close() {
	_, _ = io.WriteString(d.stdin, "exit\n")
	d.stdin.Close()
	select {
	case <-d.exited:
	case <-time.After(3 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
	d.log.Close()
}

// runDelivery runs the delivery scenario on impl's server (with recovery on)
// in one kill mode.
func (b *bench) runDelivery(impl string, mode killproxy.Mode, rep int) (DeliveryRun, error) {
	c := b.cfg
	run := DeliveryRun{Impl: impl, Mode: mode.String(), Rep: rep, Clients: c.deliveryN, Transports: c.deliveryTransports,
		Reconnect: "official defaults (1000 ms, max 5000 ms, randomization 0.5)", Rate: c.deliveryRate,
		Seconds: c.deliveryDur.Seconds(), KillFrac: c.deliveryKill}
	if c.deliveryReconnect != "" {
		run.Reconnect = "delay,max,randomization = " + c.deliveryReconnect
	}
	label := fmt.Sprintf("delivery %-5s %-9s rep %d", impl, mode, rep)
	s, err := b.startServer(impl+recSuffix, false)
	if err != nil {
		return run, err
	}
	defer s.stop()
	px, err := killproxy.New(s.addr)
	if err != nil {
		return run, err
	}
	defer px.Close()
	d, err := b.startDriver(px.Addr(), fmt.Sprintf("%s-%s-%d", impl, mode, rep))
	if err != nil {
		return run, err
	}
	defer d.close()
	rd, err := d.next("ready", 90*time.Second)
	if err != nil {
		return run, err
	}
	b.logf("  %s: %d official clients connected through the proxy in %.1f s", label, rd.Connected, rd.Ms/1000)

	// The publisher connects to the server directly, not through the proxy.
	pool := newWSPool()
	defer pool.close()
	pool.setHandler(func([]byte) {}) // its own broadcasts come back too
	if res := b.connect(pool, s.addr, 1, 1, 30*time.Second); res.ok != 1 {
		return run, fmt.Errorf("publisher: %v", res.firstErr)
	}
	pub := pool.get(0)
	time.Sleep(300 * time.Millisecond)

	perTick := int(math.Round(c.deliveryKill * float64(c.deliveryN)))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				px.Kill(perTick, mode)
			}
		}
	}()
	m := startMeter(s)
	dcpu0 := procCPU(d.cmd.Process.Pid)
	var buf []byte
	var werr error
	sent := pace(c.deliveryRate, c.deliveryDur, func(from, n int64, _ time.Time) {
		err := pub.WriteTextFunc(func(emit func([]byte)) {
			for k := from; k < from+n; k++ {
				buf = append(buf[:0], bcastPrefix...)
				buf = sioclient.AppendInt(buf, k+1)
				buf = append(buf, ',')
				buf = sioclient.AppendInt(buf, time.Now().UnixMilli())
				buf = append(buf, ",\""...)
				buf = append(buf, pad...)
				buf = append(buf, "\"]"...)
				emit(buf)
			}
		})
		if err != nil && werr == nil {
			werr = err
		}
	})
	el, scpu, gcpu := m.stop()
	run.ClientCPU = (procCPU(d.cmd.Process.Pid) - dcpu0).Seconds() / el.Seconds()
	close(stop)
	wg.Wait()
	run.Published = sent
	run.ServerCPU = scpu.Seconds() / el.Seconds()
	run.GenCPU = gcpu.Seconds() / el.Seconds()
	if werr != nil {
		return run, fmt.Errorf("publisher: %w", werr)
	}

	// Drain: until every client is connected and has everything, or the
	// drain time is over.
	t0 := time.Now()
	var r driverReport
	for {
		r, err = d.report(sent)
		if err != nil {
			return run, err
		}
		if (r.Received == r.Expected && r.ConnectedNow == int64(c.deliveryN)) || time.Since(t0) >= c.deliveryDrain || !s.alive() {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	run.DrainS = time.Since(t0).Seconds()
	run.Expected, run.Received, run.Beyond = r.Expected, r.Received, r.Beyond
	if r.Expected > 0 {
		run.DeliveredPct = 100 * float64(r.Received) / float64(r.Expected)
	}
	run.Duplicates, run.OutOfOrder = r.Duplicates, r.OutOfOrder
	run.Reconnects, run.Recovered, run.Failed = r.Reconnects, r.Recovered, r.Failed
	run.Replayed, run.ConnErrors, run.ConnectedEnd = r.Replayed, r.ConnErrors, r.ConnectedNow
	run.ReplayDups, run.Interrupted = r.ReplayDups, r.Interrupted
	run.LossClients, run.MaxMissing, run.Reasons = r.LossClients, r.MaxMissing, r.Reasons
	run.LatLive, run.LatReplayed = r.LatLive, r.LatReplayed
	run.RSS = s.rss()

	st := px.Stats()
	run.ProxyAccepted, run.Kills = st.Accepted, st.Killed
	if mode == killproxy.HalfOpen {
		run.HalfOpenClosed, run.HalfOpenHeld = len(st.ServerClosed), st.HalfOpenHeld
		if len(st.ServerClosed) > 0 {
			ds := slices.Clone(st.ServerClosed)
			slices.Sort(ds)
			run.HalfOpenCloseP50 = float64(ds[len(ds)/2]) / float64(time.Millisecond)
			run.HalfOpenCloseMax = float64(ds[len(ds)-1]) / float64(time.Millisecond)
		}
	}
	b.logf("  %s: %s", label, fmtDelivery(run))
	if !s.alive() {
		return run, fmt.Errorf("%s server exited during the run", impl)
	}
	return run, nil
}

func fmtDelivery(r DeliveryRun) string {
	s := fmt.Sprintf("published %d at %.0f/s, kills %d; delivered %.3f%% (%d of %d), dup %d (%d in replays), out of order %d, reconnections %d, recovered %d, failed %d, interrupted %d, replayed %d, connect errors %d, connected at end %d/%d, clients with loss %d (max missing %d), latency live %s, replayed %s, server cpu %.0f%%, clients cpu %.0f%%, gen cpu %.0f%%, drain %.1f s, reasons %v",
		r.Published, r.Rate, r.Kills, r.DeliveredPct, r.Received, r.Expected, r.Duplicates, r.ReplayDups, r.OutOfOrder, r.Reconnects, r.Recovered, r.Failed, r.Interrupted, r.Replayed, r.ConnErrors, r.ConnectedEnd, r.Clients, r.LossClients, r.MaxMissing, r.LatLive, r.LatReplayed, r.ServerCPU*100, r.ClientCPU*100, r.GenCPU*100, r.DrainS, r.Reasons)
	if r.Mode == killproxy.HalfOpen.String() {
		s += fmt.Sprintf(", half-open server sides closed by the server %d (p50 %.0f ms, max %.0f ms after the kill), still held %d", r.HalfOpenClosed, r.HalfOpenCloseP50, r.HalfOpenCloseMax, r.HalfOpenHeld)
	}
	return s
}
