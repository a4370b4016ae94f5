// Package socketioprom exports the metrics of a socketio.Server to
// Prometheus (github.com/prometheus/client_golang). It is a
// socketio.Observer: install it with Register, and scrape the registry as
// usual (promhttp.Handler for the default one).
//
// Every metric is named socketio_*; see Register for the list. Label
// values are bounded: packet types, transports, disconnect reasons, adapter
// operations, and namespace names, which are as many as the namespaces the
// application creates (with dynamic namespaces, set Options.NoNamespaceLabel
// if they are unbounded).
//
// It lives in its own module so that the core keeps no dependency.
package socketioprom

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/parser"
)

// Options configures Register. The zero value is ready to use.
type Options struct {
	// Registerer receives the metrics. Nil means
	// prometheus.DefaultRegisterer.
	Registerer prometheus.Registerer
	// Namespace prefixes every metric name ("myapp" gives
	// myapp_socketio_connections). Zero means none.
	Namespace string
	// ConstLabels are added to every metric (a server id, for example).
	ConstLabels prometheus.Labels
	// NoNamespaceLabel drops the namespace label, for applications whose
	// dynamic namespaces are too many to be label values: they are all
	// counted under namespace="".
	NoNamespaceLabel bool
}

// Metrics is the observer Register installs.
type Metrics struct {
	socketio.NopObserver

	noNsp bool

	opened       *prometheus.CounterVec
	closed       *prometheus.CounterVec
	upgrades     prometheus.Counter
	connects     *prometheus.CounterVec
	disconnects  *prometheus.CounterVec
	middleware   *prometheus.HistogramVec
	pktsIn       [parser.BinaryAck + 1]prometheus.Counter
	bytesIn      [parser.BinaryAck + 1]prometheus.Counter
	pktsOut      [parser.BinaryAck + 1]prometheus.Counter
	bytesOut     [parser.BinaryAck + 1]prometheus.Counter
	fanout       prometheus.Observer
	acks         *prometheus.HistogramVec
	dropVolatile prometheus.Counter
	dropSlow     prometheus.Counter
	adapterReqs  *prometheus.HistogramVec
	adapterErrs  *prometheus.CounterVec
}

// Register creates the metrics, registers them and installs them as an
// observer of srv. The metrics are:
//
//	socketio_connections{transport}                gauge: open connections by transport
//	socketio_sockets{namespace}                    gauge: connected sockets
//	socketio_connections_opened_total{transport}   counter
//	socketio_connections_closed_total{reason}      counter
//	socketio_upgrades_total                        counter: polling → WebSocket
//	socketio_connects_total{namespace,result}      counter: result "ok" or "refused"
//	socketio_disconnects_total{namespace,reason}   counter
//	socketio_middleware_duration_seconds{namespace} histogram: a connection's middlewares
//	socketio_packets_received_total{type}          counter: by Socket.IO packet type
//	socketio_received_bytes_total{type}            counter
//	socketio_packets_sent_total{type}              counter: one per recipient
//	socketio_sent_bytes_total{type}                counter
//	socketio_broadcast_recipients                  histogram: fan-out of each local delivery
//	socketio_ack_duration_seconds{namespace,result} histogram: emit to acknowledgement; result "ok", "timeout" or "error"
//	socketio_dropped_packets_total{cause}          counter: "volatile" or "slow_consumer"
//	socketio_adapter_request_duration_seconds{op}  histogram
//	socketio_adapter_errors_total{op}              counter
//
// It fails if a metric with the same name is registered already.
func Register(srv *socketio.Server, opts Options) (*Metrics, error) {
	reg := opts.Registerer
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	ns, cl := opts.Namespace, opts.ConstLabels
	name := func(n string) string { return prometheus.BuildFQName(ns, "socketio", n) }
	counter := func(n, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name(n), Help: help, ConstLabels: cl}, labels)
	}
	histogram := func(n, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name(n), Help: help, ConstLabels: cl, Buckets: buckets}, labels)
	}
	m := &Metrics{
		noNsp:       opts.NoNamespaceLabel,
		opened:      counter("connections_opened_total", "Client connections (Engine.IO sessions) opened, by initial transport.", "transport"),
		closed:      counter("connections_closed_total", "Client connections closed, by reason.", "reason"),
		connects:    counter("connects_total", "Attempts to connect to a namespace, by result (ok, refused).", "namespace", "result"),
		disconnects: counter("disconnects_total", "Sockets disconnected, by reason.", "namespace", "reason"),
		middleware:  histogram("middleware_duration_seconds", "Time the connection middlewares of a namespace took for one socket.", prometheus.ExponentialBuckets(0.0001, 4, 10), "namespace"),
		acks:        histogram("ack_duration_seconds", "Time from an emit with acknowledgement to the acknowledgement (all of them for a broadcast), by result (ok, timeout, error).", prometheus.ExponentialBuckets(0.001, 4, 10), "namespace", "result"),
		adapterReqs: histogram("adapter_request_duration_seconds", "Time of the operations asked of the adapter (broadcast, fetchSockets...).", prometheus.ExponentialBuckets(0.00001, 4, 12), "op"),
		adapterErrs: counter("adapter_errors_total", "Adapter operations that failed.", "op"),
	}
	upgrades := counter("upgrades_total", "Connections upgraded from long-polling to WebSocket.")
	m.upgrades = upgrades.WithLabelValues()
	pktsIn := counter("packets_received_total", "Socket.IO packets received, by type.", "type")
	bytesIn := counter("received_bytes_total", "Bytes of the Socket.IO packets received (attachments included), by type.", "type")
	pktsOut := counter("packets_sent_total", "Socket.IO packets queued for clients, one per recipient, by type.", "type")
	bytesOut := counter("sent_bytes_total", "Bytes of the Socket.IO packets queued for clients, by type.", "type")
	for t := parser.Connect; t <= parser.BinaryAck; t++ {
		m.pktsIn[t] = pktsIn.WithLabelValues(t.String())
		m.bytesIn[t] = bytesIn.WithLabelValues(t.String())
		m.pktsOut[t] = pktsOut.WithLabelValues(t.String())
		m.bytesOut[t] = bytesOut.WithLabelValues(t.String())
	}
	fanout := histogram("broadcast_recipients", "Sockets reached by each local delivery of a broadcast.", prometheus.ExponentialBuckets(1, 4, 10))
	m.fanout = fanout.WithLabelValues()
	drops := counter("dropped_packets_total", "Engine.IO packets not queued: volatile ones the transport could not take, and those that overflowed a write queue (the connection is then closed).", "cause")
	m.dropVolatile, m.dropSlow = drops.WithLabelValues("volatile"), drops.WithLabelValues("slow_consumer")

	stats := &statsCollector{
		srv:     srv,
		noNsp:   opts.NoNamespaceLabel,
		conns:   prometheus.NewDesc(name("connections"), "Open client connections, by transport.", []string{"transport"}, cl),
		sockets: prometheus.NewDesc(name("sockets"), "Connected sockets, by namespace.", []string{"namespace"}, cl),
	}
	for _, c := range []prometheus.Collector{
		stats, m.opened, m.closed, upgrades, m.connects, m.disconnects, m.middleware,
		pktsIn, bytesIn, pktsOut, bytesOut, fanout, m.acks, drops, m.adapterReqs, m.adapterErrs,
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	srv.Observe(m)
	return m, nil
}

func (m *Metrics) nsp(n *socketio.Namespace) string {
	if m.noNsp {
		return ""
	}
	return n.Name()
}

// ConnOpened implements socketio.Observer.
func (m *Metrics) ConnOpened(_, transport string) { m.opened.WithLabelValues(transport).Inc() }

// ConnUpgraded implements socketio.Observer.
func (m *Metrics) ConnUpgraded(string) { m.upgrades.Inc() }

// ConnClosed implements socketio.Observer.
func (m *Metrics) ConnClosed(_ string, reason socketio.DisconnectReason) {
	m.closed.WithLabelValues(string(reason)).Inc()
}

// SocketConnect implements socketio.Observer.
func (m *Metrics) SocketConnect(s *socketio.Socket, _ time.Time, mw time.Duration, err error) {
	nsp := m.nsp(s.Namespace())
	result := "ok"
	if err != nil {
		result = "refused"
	}
	m.connects.WithLabelValues(nsp, result).Inc()
	m.middleware.WithLabelValues(nsp).Observe(mw.Seconds())
}

// SocketDisconnected implements socketio.Observer.
func (m *Metrics) SocketDisconnected(s *socketio.Socket, reason socketio.DisconnectReason) {
	m.disconnects.WithLabelValues(m.nsp(s.Namespace()), string(reason)).Inc()
}

// PacketReceived implements socketio.Observer.
func (m *Metrics) PacketReceived(t parser.Type, bytes int) {
	if t.Valid() {
		m.pktsIn[t].Inc()
		m.bytesIn[t].Add(float64(bytes))
	}
}

// PacketsSent implements socketio.Observer.
func (m *Metrics) PacketsSent(t parser.Type, n, bytes int) {
	if t.Valid() {
		m.pktsOut[t].Add(float64(n))
		m.bytesOut[t].Add(float64(bytes))
	}
}

// Broadcast implements socketio.Observer.
func (m *Metrics) Broadcast(_ *socketio.Namespace, recipients int) {
	m.fanout.Observe(float64(recipients))
}

// Ack implements socketio.Observer.
func (m *Metrics) Ack(n *socketio.Namespace, _ string, latency time.Duration, err error) {
	result := "ok"
	switch {
	case errors.Is(err, socketio.ErrAckTimeout) && !errors.Is(err, socketio.ErrDisconnected):
		result = "timeout"
	case err != nil:
		result = "error"
	}
	m.acks.WithLabelValues(m.nsp(n), result).Observe(latency.Seconds())
}

// Dropped implements socketio.Observer.
func (m *Metrics) Dropped(_ string, packets int, slowConsumer bool) {
	if slowConsumer {
		m.dropSlow.Add(float64(packets))
	} else {
		m.dropVolatile.Add(float64(packets))
	}
}

// AdapterRequest implements socketio.Observer.
func (m *Metrics) AdapterRequest(_ *socketio.Namespace, op string, d time.Duration, err error) {
	m.adapterReqs.WithLabelValues(op).Observe(d.Seconds())
	if err != nil {
		m.adapterErrs.WithLabelValues(op).Inc()
	}
}

// statsCollector reads the gauges from Server.Stats at each scrape.
type statsCollector struct {
	srv     *socketio.Server
	noNsp   bool
	conns   *prometheus.Desc
	sockets *prometheus.Desc
}

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.conns
	ch <- c.sockets
}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.srv.Stats()
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(st.PollingConnections), "polling")
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(st.Connections-st.PollingConnections), "websocket")
	if c.noNsp {
		ch <- prometheus.MustNewConstMetric(c.sockets, prometheus.GaugeValue, float64(st.Sockets), "")
		return
	}
	for _, n := range st.Namespaces {
		ch <- prometheus.MustNewConstMetric(c.sockets, prometheus.GaugeValue, float64(n.Sockets), n.Name)
	}
}
