// Package socketiotel records OpenTelemetry spans for a socketio.Server:
// each connection to a namespace, its middlewares, and each emit with
// acknowledgement (the round trip to the client, or to every recipient of
// a broadcast). It is a socketio.Observer: install it with Register.
//
// The spans are recorded once the operation ended, with its real start
// time, so they are roots of their own traces (the Socket.IO protocol
// carries no trace context):
//
//	socketio.connect  (server)  from the CONNECT packet to the server's answer;
//	                            status Error with the middleware's refusal
//	  socketio.middleware       the namespace's connection middlewares
//	socketio.ack      (client)  from an emit with acknowledgement to its end;
//	                            status Error on a timeout or a disconnection
//
// Attributes: socketio.namespace, socketio.socket_id, socketio.transport,
// socketio.conn_id, socketio.event.
//
// It lives in its own module so that the core keeps no dependency.
package socketiotel

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/socketio-go/socketio"
)

// ScopeName is the instrumentation scope of the tracer.
const ScopeName = "github.com/socketio-go/socketio/tracing/otel"

// Attribute keys of the spans.
const (
	AttrNamespace = attribute.Key("socketio.namespace")
	AttrSocketID  = attribute.Key("socketio.socket_id")
	AttrConnID    = attribute.Key("socketio.conn_id")
	AttrTransport = attribute.Key("socketio.transport")
	AttrEvent     = attribute.Key("socketio.event")
)

// Options configures Register. The zero value is ready to use.
type Options struct {
	// TracerProvider makes the tracer. Nil means otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
}

// Tracer is the observer Register installs.
type Tracer struct {
	socketio.NopObserver
	tracer trace.Tracer
}

// Register installs a Tracer on srv.
func Register(srv *socketio.Server, opts Options) *Tracer {
	tp := opts.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	t := &Tracer{tracer: tp.Tracer(ScopeName)}
	srv.Observe(t)
	return t
}

// SocketConnect implements socketio.Observer: a socketio.connect span with
// its socketio.middleware child.
func (t *Tracer) SocketConnect(s *socketio.Socket, start time.Time, mw time.Duration, err error) {
	end := time.Now()
	ctx, span := t.tracer.Start(context.Background(), "socketio.connect",
		trace.WithTimestamp(start),
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			AttrNamespace.String(s.Namespace().Name()),
			AttrSocketID.String(s.ID()),
			AttrConnID.String(s.ConnID()),
			AttrTransport.String(s.Transport()),
		))
	// The middlewares ran last before the answer: place them there.
	mwStart := end.Add(-mw)
	if mwStart.Before(start) {
		mwStart = start
	}
	_, mws := t.tracer.Start(ctx, "socketio.middleware", trace.WithTimestamp(mwStart))
	if err != nil {
		mws.RecordError(err)
		mws.SetStatus(codes.Error, err.Error())
		span.SetStatus(codes.Error, err.Error())
	}
	mws.End(trace.WithTimestamp(end))
	span.End(trace.WithTimestamp(end))
}

// Ack implements socketio.Observer: a socketio.ack span.
func (t *Tracer) Ack(n *socketio.Namespace, event string, latency time.Duration, err error) {
	end := time.Now()
	_, span := t.tracer.Start(context.Background(), "socketio.ack",
		trace.WithTimestamp(end.Add(-latency)),
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(AttrNamespace.String(n.Name()), AttrEvent.String(event)))
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End(trace.WithTimestamp(end))
}
