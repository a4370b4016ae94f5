package socketioprom

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/internal/leakcheck"
	"github.com/socketio-go/socketio/parser"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

// waitFor polls cond until it holds: the counters have no event to wait
// for, and some are updated after the client saw the effect.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timeout waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMetrics(t *testing.T) {
	srv := socketio.NewServer(nil)
	reg := prometheus.NewRegistry()
	m, err := Register(srv, Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Register(srv, Options{Registerer: reg}); err == nil {
		t.Error("a second Register on the same registry succeeded")
	}
	srv.Of("/private").Use(func(context.Context, *socketio.Socket) error { return errors.New("no") })
	acked := make(chan error, 1)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("go", func(e *socketio.Event) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := s.EmitWithAck(ctx, "question")
			acked <- err
		})
	})
	hs := httptest.NewServer(srv)
	defer func() {
		_ = srv.Close()
		hs.Close()
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, hs.URL+"/", &client.Options{Transports: []string{"websocket"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Manager().Close()
	c.On("question", func(e *client.Event) { _ = e.Ack("answer") })
	if err := c.Emit("go"); err != nil {
		t.Fatal(err)
	}
	if err := <-acked; err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{})
	c.On("news", func(*client.Event) { close(got) })
	if err := srv.Emit("news", "x"); err != nil {
		t.Fatal(err)
	}
	<-got
	if _, err := client.Connect(ctx, hs.URL+"/private", &client.Options{Transports: []string{"websocket"}}, nil); err == nil {
		t.Fatal("/private accepted a socket")
	}

	checks := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"opened websocket", m.opened.WithLabelValues("websocket"), 2},
		{"connects / ok", m.connects.WithLabelValues("/", "ok"), 1},
		{"connects /private refused", m.connects.WithLabelValues("/private", "refused"), 1},
		{"packets in EVENT", m.pktsIn[parser.Event], 1},
		{"packets in ACK", m.pktsIn[parser.Ack], 1},
		{"bytes in EVENT", m.bytesIn[parser.Event], float64(len(`2["go"]`))},
		{"packets out EVENT", m.pktsOut[parser.Event], 2},
		{"bytes out EVENT", m.bytesOut[parser.Event], float64(len(`20["question"]`) + len(`2["news","x"]`))},
		{"packets out CONNECT_ERROR", m.pktsOut[parser.ConnectError], 1},
	}
	for _, ch := range checks {
		waitFor(t, ch.name, func() bool { return testutil.ToFloat64(ch.c) == ch.want })
	}
	if n := testutil.CollectAndCount(m.acks); n != 1 {
		t.Errorf("ack histograms: %d", n)
	}

	c.Manager().Close()
	waitFor(t, "disconnect", func() bool {
		return testutil.ToFloat64(m.disconnects.WithLabelValues("/", "client namespace disconnect")) == 1
	})

	// A scrape has every family, the gauges among them.
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`socketio_connections{transport="polling"} 0`,
		`socketio_sockets{namespace="/"}`,
		"socketio_broadcast_recipients_bucket",
		`socketio_adapter_request_duration_seconds_count{op="broadcast"} 1`,
		`socketio_ack_duration_seconds_count{namespace="/",result="ok"} 1`,
		`socketio_middleware_duration_seconds_count{namespace="/private"} 1`,
		`socketio_connections_closed_total{reason=`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}

func ExampleRegister() {
	srv := socketio.NewServer(nil)
	defer srv.Close()
	if _, err := Register(srv, Options{}); err != nil {
		panic(err)
	}
	// Serve the metrics next to the Socket.IO server:
	//	mux.Handle("/metrics", promhttp.Handler())
	//	mux.Handle("/socket.io/", srv)
}

func TestNoNamespaceLabel(t *testing.T) {
	srv := socketio.NewServer(nil)
	reg := prometheus.NewRegistry()
	srv.Of("/chat")
	m, err := Register(srv, Options{Registerer: reg, NoNamespaceLabel: true, Namespace: "app", ConstLabels: prometheus.Labels{"server": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer func() {
		_ = srv.Close()
		hs.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, hs.URL+"/chat", &client.Options{Transports: []string{"websocket"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Manager().Close()
	waitFor(t, "connect", func() bool { return testutil.ToFloat64(m.connects.WithLabelValues("", "ok")) == 1 })
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`app_socketio_sockets{namespace="",server="a"} 1`,
		`app_socketio_connects_total{namespace="",result="ok",server="a"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	if strings.Contains(body, `namespace="/chat"`) {
		t.Error("a namespace label value despite NoNamespaceLabel")
	}
}
