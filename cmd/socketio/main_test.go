package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/leakcheck"
)

// TestMain fails the run if goroutines started by the tests outlive them.
func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

func TestParseArgs(t *testing.T) {
	var out bytes.Buffer
	c, err := parseArgs([]string{"emit", "--ack", "--timeout", "2s", "--transport", "websocket", "--auth", `{"a":1}`, "--ns", "/x", "http://h/ignored", "ev", "1", `{"_binary":"AQ=="}`}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !c.ack || c.timeout != 2*time.Second || c.transport != "websocket" || string(c.auth) != `{"a":1}` || c.ns != "/x" || c.event != "ev" || len(c.args) != 2 {
		t.Fatalf("%+v", c)
	}
	if b, ok := c.args[1].([]byte); !ok || len(b) != 1 || b[0] != 1 {
		t.Fatalf("binary marker: %#v", c.args[1])
	}
	c, err = parseArgs([]string{"listen", "http://h/admin"}, &out)
	if err != nil || c.ns != "/admin" || c.timeout != 5*time.Second || c.path != "/socket.io/" {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := parseArgs([]string{"emit", "-h"}, &out); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "--transport") {
		t.Fatalf("help: %v", err)
	}
	for _, bad := range [][]string{
		{}, {"nope"}, {"listen"}, {"listen", "a", "b"}, {"emit", "u"}, {"emit", "--timeout", "0s", "u", "e"},
		{"emit", "--auth", "[1]", "u", "e"}, {"emit", "--transport", "x", "u", "e"}, {"emit", "u", "e", "{"},
		{"emit", "u", "e", `{"_binary":"!"}`}, {"listen", "--ack", "u"}, {"emit", "--nope", "u", "e"},
	} {
		var ue *errUsage
		if _, err := parseArgs(bad, &out); !errors.As(err, &ue) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestMarkers(t *testing.T) {
	v, err := decodeArg(`{"list":[{"_binary":"AAE="},1.5e300,{"_binary":"x","other":1}]}`)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	if string(b) != `{"list":["AAE=",1.5e300,{"_binary":"x","other":1}]}` {
		t.Fatalf("%s", b) // json.Marshal shows the []byte as base64
	}
	if v, _ := decodeArg(`"plain"`); string(v.(json.RawMessage)) != `"plain"` {
		t.Fatalf("%v", v)
	}
}

func TestRunUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"emit"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--help") {
		t.Fatalf("exit %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "listen") {
		t.Fatalf("exit %d", code)
	}
}
