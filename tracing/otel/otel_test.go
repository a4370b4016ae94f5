package socketiotel

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/internal/leakcheck"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

func TestSpans(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	srv := socketio.NewServer(nil)
	Register(srv, Options{TracerProvider: tp})
	srv.Use(func(context.Context, *socketio.Socket) error {
		time.Sleep(2 * time.Millisecond)
		return nil
	})
	srv.Of("/private").Use(func(context.Context, *socketio.Socket) error { return errors.New("not you") })
	acks := make(chan error, 2)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("go", func(e *socketio.Event) {
			_, err := s.EmitWithAck(context.Background(), "question")
			acks <- err
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			_, err = s.EmitWithAck(ctx, "ignored")
			acks <- err
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
	c.On("question", func(e *client.Event) {
		time.Sleep(3 * time.Millisecond) // a round trip that takes time
		_ = e.Ack("answer")
	})
	if err := c.Emit("go"); err != nil {
		t.Fatal(err)
	}
	if err := <-acks; err != nil {
		t.Fatal(err)
	}
	if err := <-acks; !errors.Is(err, socketio.ErrAckTimeout) {
		t.Fatalf("second ack: %v", err)
	}
	if _, err := client.Connect(ctx, hs.URL+"/private", &client.Options{Transports: []string{"websocket"}}, nil); err == nil {
		t.Fatal("/private accepted")
	}

	var connects, mws, ackSpans []sdktrace.ReadOnlySpan
	for _, s := range sr.Ended() {
		switch s.Name() {
		case "socketio.connect":
			connects = append(connects, s)
		case "socketio.middleware":
			mws = append(mws, s)
		case "socketio.ack":
			ackSpans = append(ackSpans, s)
		}
	}
	if len(connects) != 2 || len(mws) != 2 || len(ackSpans) != 2 {
		t.Fatalf("spans: %d connect, %d middleware, %d ack", len(connects), len(mws), len(ackSpans))
	}
	ok, refused := connects[0], connects[1]
	if attr(ok, "socketio.namespace") != "/" || attr(ok, "socketio.socket_id") != c.ID() ||
		attr(ok, "socketio.transport") != "websocket" || ok.SpanKind() != trace.SpanKindServer || ok.Status().Code == codes.Error {
		t.Errorf("connect span: %v %v %v", ok.Attributes(), ok.SpanKind(), ok.Status())
	}
	if attr(refused, "socketio.namespace") != "/private" || refused.Status().Code != codes.Error || refused.Status().Description != "not you" {
		t.Errorf("refused connect span: %v %v", refused.Attributes(), refused.Status())
	}
	for i, mw := range mws {
		parent := connects[i]
		if mw.Parent().SpanID() != parent.SpanContext().SpanID() || mw.StartTime().Before(parent.StartTime()) || mw.EndTime().After(parent.EndTime()) {
			t.Errorf("middleware span %d is not inside its connect span", i)
		}
	}
	if d := mws[0].EndTime().Sub(mws[0].StartTime()); d < 2*time.Millisecond {
		t.Errorf("middleware span lasts %v, the middleware sleeps 2ms", d)
	}
	answered, timedOut := ackSpans[0], ackSpans[1]
	if attr(answered, "socketio.event") != "question" || answered.Status().Code == codes.Error ||
		answered.EndTime().Sub(answered.StartTime()) < 3*time.Millisecond {
		t.Errorf("ack span: %v %v %v", answered.Attributes(), answered.Status(), answered.EndTime().Sub(answered.StartTime()))
	}
	if attr(timedOut, "socketio.event") != "ignored" || timedOut.Status().Code != codes.Error {
		t.Errorf("timed out ack span: %v %v", timedOut.Attributes(), timedOut.Status())
	}
}

func ExampleRegister() {
	srv := socketio.NewServer(nil)
	defer srv.Close()
	// With the global TracerProvider (otel.SetTracerProvider):
	Register(srv, Options{})
}
