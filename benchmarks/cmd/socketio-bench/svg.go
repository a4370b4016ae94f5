package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

type series struct {
	name  string
	color string
	dash  bool
	xs    []float64
	ys    []float64
}

// logTicks returns 1-2-5 ticks within [lo, hi].
func logTicks(lo, hi float64) []float64 {
	var t []float64
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v >= lo*0.999 && v <= hi*1.001 {
				t = append(t, v)
			}
		}
	}
	return t
}

func fmtTick(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%gk", v/1e3)
	default:
		return fmt.Sprintf("%g", v)
	}
}

// svgChart draws series on log-log axes, with an optional horizontal
// reference line.
func svgChart(title, xlabel, ylabel string, ss []series, hline float64, hlabel string) string {
	const W, H = 820.0, 500.0
	const ml, mr, mt, mb = 70.0, 20.0, 50.0, 60.0
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for i := range s.xs {
			if s.xs[i] <= 0 || s.ys[i] <= 0 || math.IsNaN(s.ys[i]) {
				continue
			}
			xmin, xmax = math.Min(xmin, s.xs[i]), math.Max(xmax, s.xs[i])
			ymin, ymax = math.Min(ymin, s.ys[i]), math.Max(ymax, s.ys[i])
		}
	}
	if math.IsInf(xmin, 0) {
		return ""
	}
	if hline > 0 {
		ymin, ymax = math.Min(ymin, hline), math.Max(ymax, hline)
	}
	xmin = math.Pow(10, math.Floor(math.Log10(xmin)))
	xmax = math.Pow(10, math.Ceil(math.Log10(xmax)))
	ymin = math.Pow(10, math.Floor(math.Log10(ymin)))
	ymax = math.Pow(10, math.Ceil(math.Log10(ymax)))
	px := func(x float64) float64 {
		return ml + (math.Log10(x)-math.Log10(xmin))/(math.Log10(xmax)-math.Log10(xmin))*(W-ml-mr)
	}
	py := func(y float64) float64 {
		return H - mb - (math.Log10(y)-math.Log10(ymin))/(math.Log10(ymax)-math.Log10(ymin))*(H-mt-mb)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", ml, esc(title))
	for _, t := range logTicks(xmin, xmax) {
		x := px(t)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e4e4e4"/>`+"\n", x, mt, x, H-mb)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, H-mb+16, fmtTick(t))
	}
	for _, t := range logTicks(ymin, ymax) {
		y := py(t)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e4e4e4"/>`+"\n", ml, y, W-mr, y)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", ml-6, y+4, fmtTick(t))
	}
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#444"/>`+"\n", ml, mt, W-ml-mr, H-mt-mb)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", ml+(W-ml-mr)/2, H-14, esc(xlabel))
	fmt.Fprintf(&b, `<text x="16" y="%.1f" text-anchor="middle" transform="rotate(-90 16 %.1f)">%s</text>`+"\n", mt+(H-mt-mb)/2, mt+(H-mt-mb)/2, esc(ylabel))
	if hline > 0 {
		y := py(hline)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#c00" stroke-dasharray="6 4"/>`+"\n", ml, y, W-mr, y)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" fill="#c00">%s</text>`+"\n", W-mr-4, y-4, esc(hlabel))
	}
	for i, s := range ss {
		var pts []string
		for j := range s.xs {
			if s.xs[j] <= 0 || s.ys[j] <= 0 || math.IsNaN(s.ys[j]) {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.xs[j]), py(s.ys[j])))
		}
		dash := ""
		if s.dash {
			dash = ` stroke-dasharray="5 3"`
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), s.color, dash)
		for _, p := range pts {
			var x, y float64
			fmt.Sscanf(p, "%f,%f", &x, &y)
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", x, y, s.color)
		}
		ly := mt + 16 + float64(i)*18
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s/>`+"\n", ml+12, ly-4, ml+40, ly-4, s.color, dash)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", ml+46, ly, esc(s.name))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

var colors = map[string]string{"go": "#1f77b4", "node": "#d62728", "floor": "#2ca02c"}

func (b *bench) writeCharts() {
	var echo []series
	for _, sc := range []string{"echo", "polling"} {
		for _, impl := range b.cfg.impls {
			cv := b.curve(sc, impl, 0)
			if cv == nil {
				continue
			}
			name := impl + " WebSocket"
			if sc == "polling" {
				name = impl + " long-polling"
			}
			echo = append(echo, series{name: name, color: colors[impl], dash: sc == "polling", xs: cv.Offered, ys: cv.P99})
		}
	}
	if len(echo) > 0 {
		svg := svgChart(fmt.Sprintf("Echo with acks, %d clients: p99 round trip vs offered rate (median of %d runs)", b.cfg.echoClients, b.cfg.reps),
			"offered rate (messages/s, log)", "p99 round trip (ms, log)", echo, 50, "50 ms")
		_ = os.WriteFile(filepath.Join(b.cfg.out, "echo_p99.svg"), []byte(svg), 0o644)
	}
	var fan []series
	for k, n := range b.cfg.fanN {
		for _, impl := range b.impls(k == 0) {
			cv := b.curve("fanout", impl, n)
			if cv == nil {
				continue
			}
			fan = append(fan, series{name: fmt.Sprintf("%s, %d clients", impl, n), color: colors[impl], dash: k > 0, xs: cv.Thru, ys: cv.P99})
		}
	}
	if cl := b.clusterSeries(); len(cl) > 0 {
		svg := svgChart(fmt.Sprintf("Cluster fan-out (2 nodes on Redis): p99 delivery latency vs delivered rate (median of %d runs)", b.cfg.reps),
			"delivered messages/s (log)", "p99 delivery latency (ms, log)", cl, 50, "50 ms")
		_ = os.WriteFile(filepath.Join(b.cfg.out, "cluster_p99.svg"), []byte(svg), 0o644)
	}
	if len(fan) > 0 {
		svg := svgChart(fmt.Sprintf("Fan-out: p99 delivery latency vs delivered rate (median of %d runs)", b.cfg.reps),
			"delivered messages/s (log)", "p99 delivery latency (ms, log)", fan, 0, "")
		_ = os.WriteFile(filepath.Join(b.cfg.out, "fanout_p99.svg"), []byte(svg), 0o644)
	}
}
