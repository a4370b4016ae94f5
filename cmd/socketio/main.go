// Command socketio is a small Socket.IO client for the command line, built
// on package client: it sends one event, optionally waiting for its
// acknowledgement, or prints the events a namespace receives.
//
// Usage:
//
//	socketio emit [flags] URL EVENT [JSON-ARG...]
//	socketio listen [flags] URL
//
// emit connects to the namespace, sends EVENT with the arguments (each a
// JSON text) and disconnects. With --ack it waits for the acknowledgement
// and prints its arguments as one JSON array on standard output. Without
// --ack it waits 100 ms after sending the event before it disconnects, as
// the official server drops an event that arrives together with the
// disconnection.
//
// listen connects to the namespace and prints every event it receives as
// one JSON line ["event", arg1, ...] until interrupted (SIGINT, SIGTERM),
// reconnecting when the connection is lost.
//
// Binary values: a binary argument is written as the object
// {"_binary":"<standard base64>"}, and such an object in a JSON-ARG is sent
// as binary.
//
// Flags (before URL; -flag and --flag are the same):
//
//	--ns NS             namespace (default: the URL's path, or "/")
//	--transport T       polling or websocket (default: polling upgraded to websocket)
//	--auth JSON         CONNECT payload, a JSON object (the server's handshake.auth)
//	--ack               emit: wait for the acknowledgement and print it
//	--timeout D         bound of the connection and of the acknowledgement (default 5s)
//	--path P            Engine.IO path on the server (default /socket.io/)
//
// Exit status: 0 on success (listen: when interrupted), 1 when the
// connection is refused (connect_error, the message on standard error),
// fails or times out, or the acknowledgement times out, 2 for a usage
// error.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/socketio-go/socketio/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `Usage:
  socketio emit [flags] URL EVENT [JSON-ARG...]
  socketio listen [flags] URL

emit sends EVENT with the JSON arguments to the namespace and disconnects;
with --ack it prints the acknowledgement's arguments as one JSON array.
listen prints each event received as one JSON line ["event", arg1, ...]
until interrupted.

Binary values are written {"_binary":"<base64>"}; such an object in a
JSON-ARG is sent as binary.

Flags (before the positional arguments, in any order; -flag works too):
  --ns NS          namespace (default: the URL's path, or "/")
  --transport T    polling or websocket (default: polling upgraded to websocket)
  --auth JSON      CONNECT payload, a JSON object (the server's handshake.auth)
  --ack            emit: wait for the acknowledgement and print its arguments
                   as one JSON array
  --timeout D      bound of the connection and of the acknowledgement
                   (a Go duration such as 500ms or 5s; default 5s)
  --path P         Engine.IO path on the server (default /socket.io/)
  -h, --help       print this help

Exit status: 0 on success (listen: when interrupted); 1 when the connection
is refused (connect_error), fails or times out, or the acknowledgement times
out; 2 for a usage error.
`

// config holds the parsed command line.
type config struct {
	cmd       string
	url       string
	ns        string
	transport string
	auth      json.RawMessage
	ack       bool
	timeout   time.Duration
	path      string
	event     string
	args      []any
}

// errUsage reports a command line error (exit status 2).
type errUsage struct{ msg string }

func (e *errUsage) Error() string { return e.msg }

func parseArgs(args []string, stdout io.Writer) (*config, error) {
	if len(args) == 0 {
		return nil, &errUsage{"missing command"}
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "-help" || a == "--help" || a == "help" {
			fmt.Fprint(stdout, usage)
			return nil, flag.ErrHelp
		}
	}
	c := &config{cmd: args[0]}
	if c.cmd != "emit" && c.cmd != "listen" {
		return nil, &errUsage{fmt.Sprintf("unknown command %q", c.cmd)}
	}
	fs := newFlagSet(c)
	var auth string
	fs.StringVar(&auth, "auth", "", "")
	if err := fs.Parse(args[1:]); err != nil {
		return nil, &errUsage{err.Error()}
	}
	rest := fs.Args()
	need := 1
	if c.cmd == "emit" {
		need = 2
	}
	if len(rest) < need || (c.cmd == "listen" && len(rest) > 1) {
		return nil, &errUsage{fmt.Sprintf("%s: wrong number of arguments", c.cmd)}
	}
	c.url = rest[0]
	u, err := url.Parse(c.url)
	if err != nil {
		return nil, &errUsage{fmt.Sprintf("invalid URL: %v", err)}
	}
	if c.ns == "" {
		c.ns = u.Path
	}
	if c.ns == "" {
		c.ns = "/"
	}
	if c.transport != "" && c.transport != client.TransportPolling && c.transport != client.TransportWebSocket {
		return nil, &errUsage{fmt.Sprintf("--transport must be polling or websocket, not %q", c.transport)}
	}
	if auth != "" {
		if !json.Valid([]byte(auth)) || !strings.HasPrefix(strings.TrimSpace(auth), "{") {
			return nil, &errUsage{"--auth must be a JSON object"}
		}
		c.auth = json.RawMessage(auth)
	}
	if c.timeout <= 0 {
		return nil, &errUsage{"--timeout must be positive"}
	}
	if c.cmd == "emit" {
		c.event = rest[1]
		for i, a := range rest[2:] {
			if name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "="); strings.HasPrefix(a, "-") && fs.Lookup(name) != nil {
				return nil, &errUsage{fmt.Sprintf("argument %d: %s is a flag: flags go before the URL (socketio %s %s URL EVENT ...)", i+1, a, c.cmd, a)}
			}
			v, err := decodeArg(a)
			if err != nil {
				return nil, &errUsage{fmt.Sprintf("argument %d: %v", i+1, err)}
			}
			c.args = append(c.args, v)
		}
	} else if c.ack {
		return nil, &errUsage{"--ack applies to emit only"}
	}
	return c, nil
}

func newFlagSet(c *config) *flag.FlagSet {
	fs := flag.NewFlagSet("socketio "+c.cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run reports the error
	fs.StringVar(&c.ns, "ns", "", "")
	fs.StringVar(&c.transport, "transport", "", "")
	fs.BoolVar(&c.ack, "ack", false, "")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Second, "")
	fs.StringVar(&c.path, "path", client.DefaultPath, "")
	return fs
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseArgs(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "socketio: %v\nRun 'socketio --help' for usage.\n", err)
		return 2
	}
	opts := &client.Options{Path: c.path, Timeout: c.timeout}
	if c.transport != "" {
		opts.Transports = []string{c.transport}
	}
	if c.cmd == "emit" {
		opts.DisableReconnection = true
	}
	u, _ := url.Parse(c.url)
	u.Path, u.RawPath = "", ""
	m, err := client.NewManager(u.String(), opts)
	if err != nil {
		fmt.Fprintln(stderr, "socketio:", err)
		return 2
	}
	defer m.Close()
	var sopts client.SocketOptions
	if c.auth != nil {
		sopts.Auth = c.auth
	}
	s := m.Socket(c.ns, &sopts)
	if c.cmd == "listen" {
		return listen(ctx, c, s, stdout, stderr)
	}
	return emit(ctx, c, s, stdout, stderr)
}

// connect connects s within the timeout and reports a failure.
func connect(ctx context.Context, c *config, s *client.Socket, stderr io.Writer) bool {
	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	err := s.Connect(cctx)
	if err == nil {
		return true
	}
	var ce *client.ConnectError
	switch {
	case errors.As(err, &ce):
		if ce.Data != nil {
			fmt.Fprintf(stderr, "socketio: connect_error: %v (data: %s)\n", ce, ce.Data)
		} else {
			fmt.Fprintf(stderr, "socketio: connect_error: %v\n", ce)
		}
	case errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(stderr, "socketio: connection timed out after %v: %v\n", c.timeout, err)
	default:
		fmt.Fprintf(stderr, "socketio: cannot connect: %v\n", err)
	}
	return false
}

// lingerDelay separates an event emitted without --ack from the
// disconnection that follows.
const lingerDelay = 100 * time.Millisecond

func emit(ctx context.Context, c *config, s *client.Socket, stdout, stderr io.Writer) int {
	if !connect(ctx, c, s, stderr) {
		return 1
	}
	if !c.ack {
		sent := make(chan struct{}, 1)
		s.OnAnyOutgoing(func(string, []any) { sent <- struct{}{} })
		if err := s.Emit(c.event, c.args...); err != nil {
			fmt.Fprintln(stderr, "socketio:", err)
			return 1
		}
		// The official server drops an event that arrives in the same read
		// as the DISCONNECT that follows it (it dispatches events on the
		// next tick, and only to connected sockets), so leave it time to
		// arrive alone. Manager.Close then writes what is queued.
		select {
		case <-sent:
			time.Sleep(lingerDelay)
		case <-ctx.Done():
		}
		return 0
	}
	args, err := s.Timeout(c.timeout).EmitWithAck(ctx, c.event, c.args...)
	if err != nil {
		if errors.Is(err, client.ErrAckTimeout) && ctx.Err() == nil {
			fmt.Fprintf(stderr, "socketio: no acknowledgement within %v (operation has timed out)\n", c.timeout)
		} else {
			fmt.Fprintln(stderr, "socketio:", err)
		}
		return 1
	}
	line, err := encodeArgs(nil, args)
	if err != nil {
		fmt.Fprintln(stderr, "socketio:", err)
		return 1
	}
	_, _ = stdout.Write(append(line, '\n'))
	return 0
}

func listen(ctx context.Context, c *config, s *client.Socket, stdout, stderr io.Writer) int {
	s.OnAny(func(e *client.Event) {
		name, _ := json.Marshal(e.Name())
		line, err := encodeArgs(name, e.Args())
		if err != nil {
			fmt.Fprintf(stderr, "socketio: event %q: %v\n", e.Name(), err)
			return
		}
		_, _ = stdout.Write(append(line, '\n'))
	})
	s.OnDisconnect(func(r client.DisconnectReason) { fmt.Fprintf(stderr, "socketio: disconnected: %s\n", r) })
	s.OnConnectError(func(err error) { fmt.Fprintf(stderr, "socketio: connect_error: %v\n", err) })
	// Registered before Connect: it prints each connection once, the
	// first one included.
	s.OnConnect(func() { fmt.Fprintf(stderr, "socketio: connected as %s\n", s.ID()) })
	if !connect(ctx, c, s, stderr) {
		return 1
	}
	<-ctx.Done()
	return 0
}

// decodeArg turns a JSON-ARG into a value for Emit: the raw JSON, or, when
// it holds binary markers, a value with []byte in their place.
func decodeArg(arg string) (any, error) {
	if !json.Valid([]byte(arg)) {
		q, _ := json.Marshal(arg)
		return nil, fmt.Errorf("not valid JSON: %s (each argument is a JSON text: a string is written with its double quotes, inside the shell's quotes: '%s')", arg, q)
	}
	if !strings.Contains(arg, binaryKey) {
		return json.RawMessage(arg), nil
	}
	dec := json.NewDecoder(strings.NewReader(arg))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return fromMarkers(v)
}

const binaryKey = "_binary"

func fromMarkers(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x[binaryKey].(string); ok && len(x) == 1 {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", binaryKey, err)
			}
			return b, nil
		}
		for k, e := range x {
			var err error
			if x[k], err = fromMarkers(e); err != nil {
				return nil, err
			}
		}
	case []any:
		for i, e := range x {
			var err error
			if x[i], err = fromMarkers(e); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

// encodeArgs writes a JSON array of first (when not nil) and the
// arguments, binary values as markers. Arguments without binary keep their
// JSON text (compacted).
func encodeArgs(first []byte, args client.Args) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('[')
	if first != nil {
		buf.Write(first)
	}
	atts := args.Attachments()
	for i := range args.Len() {
		if i > 0 || first != nil {
			buf.WriteByte(',')
		}
		raw := args.Raw(i)
		if len(atts) == 0 || !bytes.Contains(raw, []byte("_placeholder")) {
			if err := json.Compact(&buf, raw); err != nil {
				return nil, err
			}
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(toMarkers(v, atts)); err != nil {
			return nil, err
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
	}
	buf.WriteByte(']')
	return buf.Bytes(), nil
}

// toMarkers replaces the placeholders of a decoded value by binary
// markers.
func toMarkers(v any, atts [][]byte) any {
	switch x := v.(type) {
	case map[string]any:
		if ph, _ := x["_placeholder"].(bool); ph && len(x) == 2 {
			if n, ok := x["num"].(json.Number); ok {
				if i, err := n.Int64(); err == nil && i >= 0 && i < int64(len(atts)) {
					return map[string]string{binaryKey: base64.StdEncoding.EncodeToString(atts[i])}
				}
			}
		}
		for k, e := range x {
			x[k] = toMarkers(e, atts)
		}
	case []any:
		for i, e := range x {
			x[i] = toMarkers(e, atts)
		}
	}
	return v
}
