package engineio_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/socketio-go/socketio/engineio"
)

// echo is an Engine.IO application that sends every message back.
type echo struct{}

func (echo) OpenSession(s *engineio.Session) engineio.SessionHandler { return echoSession{s} }

type echoSession struct{ s *engineio.Session }

func (e echoSession) HandleMessage(data []byte, binary bool) { _ = e.s.Send(data, binary, false) }
func (echoSession) HandleClose(engineio.CloseReason, error)  {}

// Two servers behind a load balancer without sticky sessions: a session
// opened on node "a" is served by "a" even when its requests reach "b".
func ExampleForwardingOptions() {
	nodes := engineio.StaticResolver{} // node id -> base URL
	start := func(id string) (*engineio.Server, *httptest.Server) {
		srv := engineio.NewServer(&engineio.Options{
			Forwarding: &engineio.ForwardingOptions{NodeID: id, Resolver: nodes},
		}, echo{})
		hs := httptest.NewServer(srv)
		nodes[id] = hs.URL
		return srv, hs
	}
	a, ha := start("a")
	b, hb := start("b")
	defer func() {
		hb.Close()
		ha.Close()
		b.Close()
		a.Close()
	}()
	urlA := ha.URL + "/engine.io/?EIO=4&transport=polling"
	urlB := hb.URL + "/engine.io/?EIO=4&transport=polling"

	open := get(urlA) // the handshake, on a
	sid := open[strings.Index(open, `"sid":"`)+7:][:21]
	fmt.Println("node of the session:", sid[:1])

	resp, _ := client.Post(urlB+"&sid="+sid, "text/plain", strings.NewReader("4hello"))
	resp.Body.Close()
	fmt.Println("echo via b:", get(urlB+"&sid="+sid))
	fmt.Println("sessions on b:", b.SessionCount())
	// Output:
	// node of the session: a
	// echo via b: 4hello
	// sessions on b: 0
}

// client keeps no idle connection.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

func get(url string) string {
	resp, err := client.Get(url)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// A resolver for a fixed set of servers.
func ExampleStaticResolver() {
	r := engineio.StaticResolver{
		"node1": "http://10.0.0.1:3000",
		"node2": "http://10.0.0.2:3000",
	}
	_ = engineio.NewServer(&engineio.Options{
		Forwarding: &engineio.ForwardingOptions{NodeID: "node1", Resolver: r},
	}, echo{})
}

// A resolver computing the address from the node id, here a host name in
// the same DNS zone (a Kubernetes StatefulSet, for instance).
func ExampleNodeResolverFunc() {
	r := engineio.NodeResolverFunc(func(_ context.Context, id string) (string, error) {
		return "http://" + id + ".chat.default.svc.cluster.local:3000", nil
	})
	_ = engineio.NewServer(&engineio.Options{
		Forwarding: &engineio.ForwardingOptions{NodeID: "chat-0", Resolver: r},
	}, echo{})
}
