package socketio

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Hostile or broken input closes the offending connection only; the server
// and the other connections keep working.

func TestDeeplyNestedPayloadClosesOnlyThatConnection(t *testing.T) {
	env := echoServer(t, nil)
	bad, good := env.dial(), env.dial()
	bad.connect("/", "")
	good.connect("/", "")
	deep := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	bad.send(`2["echo",` + deep + `]`)
	bad.waitClosed()
	good.send(`2["echo","fine"]`)
	if got := good.nextText(); got != `2["echo-back","fine"]` {
		t.Fatalf("got %s", got)
	}
	// Nesting under the limit is echoed.
	ok := strings.Repeat("[", 50) + strings.Repeat("]", 50)
	good.send(`2["echo",` + ok + `]`)
	if got := good.nextText(); got != `2["echo-back",`+ok+`]` {
		t.Fatalf("got %s", got)
	}
}

func TestHostilePacketsCloseTheConnection(t *testing.T) {
	for name, packets := range map[string][]string{
		"payload not an array":          {`2{}`},
		"empty event":                   {`2[]`},
		"reserved event name":           {`2["disconnect"]`},
		"event name is an object":       {`2[{}]`},
		"bad ack id":                    {`2abc["x"]`},
		"ack id too large":              {`299999999999999999999["x"]`},
		"unknown packet type":           {`9`},
		"too many attachments":          {`511-["x"]`},
		"attachment count not a number": {`5x-["x"]`},
		"placeholder out of range":      {`51-["x",{"_placeholder":true,"num":3}]`},
		"text while attachments wait":   {`51-["x",{"_placeholder":true,"num":0}]`, `2["y"]`},
		"truncated JSON":                {`2["x",`},
		"packet for another namespace":  {`2/other,["x"]`},
		"second CONNECT":                {`0`},
	} {
		t.Run(name, func(t *testing.T) {
			env := echoServer(t, nil)
			c := env.dial()
			c.connect("/", "")
			for _, p := range packets {
				c.send(p)
			}
			c.waitClosed()
		})
	}
}

func TestBinaryWithoutTextClosesTheConnection(t *testing.T) {
	env := echoServer(t, nil)
	c := env.dial()
	c.connect("/", "")
	c.sendBinary([]byte{1, 2, 3})
	c.waitClosed()
}

func TestAttachmentLimits(t *testing.T) {
	t.Run("attachments that never arrive", func(t *testing.T) {
		env := echoServer(t, &Options{AttachmentTimeout: 50 * time.Millisecond})
		c := env.dial()
		c.connect("/", "")
		c.send(`51-["echo",{"_placeholder":true,"num":0}]`)
		c.waitClosed()
	})
	t.Run("attachments too large", func(t *testing.T) {
		env := echoServer(t, &Options{MaxAttachmentBytes: 10})
		c := env.dial()
		c.connect("/", "")
		c.send(`52-["echo",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
		c.sendBinary(make([]byte, 6))
		c.sendBinary(make([]byte, 6))
		c.waitClosed()
	})
	t.Run("attachments in time and within bounds", func(t *testing.T) {
		env := echoServer(t, &Options{AttachmentTimeout: time.Second, MaxAttachmentBytes: 12})
		c := env.dial()
		c.connect("/", "")
		c.send(`52-["echo",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
		c.sendBinary(make([]byte, 6))
		c.sendBinary(make([]byte, 6))
		if p := c.next(); len(p.Attachments) != 2 {
			t.Fatalf("echo %s", p.AppendText(nil))
		}
	})
}

func TestMaxNamespaces(t *testing.T) {
	env := newTestEnv(t, &Options{MaxNamespaces: 2})
	env.srv.OfFunc(func(string, []byte) bool { return true })
	c := env.dial()
	c.connect("/a", "")
	c.connect("/b", "")
	c.send("0/c,")
	if got := c.nextText(); got != `4/c,{"message":"Too many namespaces"}` {
		t.Fatalf("got %s", got)
	}
	c.send("1/a,")
	c.connect("/c", "")
}

func TestMaxPendingAcks(t *testing.T) {
	env := newTestEnv(t, &Options{MaxPendingAcks: 2})
	errs := make(chan error, 3)
	// The acks never come: two of the three wait until ctx ends, which the
	// test does only once the third was refused (a timeout could end the
	// first before a slow machine started the third).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env.srv.OnConnection(func(s *Socket) {
		for i := 0; i < 3; i++ {
			go func() {
				_, err := s.EmitWithAck(ctx, "q")
				errs <- err
			}()
		}
	})
	c := env.dial()
	c.connect("/", "")
	if err := recv(t, errs); !errors.Is(err, ErrTooManyPendingAcks) {
		t.Fatalf("first result: %v, want ErrTooManyPendingAcks", err)
	}
	cancel()
	for i := 0; i < 2; i++ {
		if err := recv(t, errs); !errors.Is(err, ErrAckTimeout) || !errors.Is(err, context.Canceled) {
			t.Fatalf("pending ack %d: %v, want ErrAckTimeout and context.Canceled", i, err)
		}
	}
}

func TestMaxConnections(t *testing.T) {
	env := newTestEnv(t, &Options{MaxConnections: 1})
	c := env.dial()
	c.connect("/", "")
	resp, err := http.Get(env.hs.URL + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("handshake over the cap: %d", resp.StatusCode)
	}
}
