package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestValidateNick(t *testing.T) {
	tests := []struct {
		in   any
		want string
		err  error
	}{
		{"alice", "alice", nil},
		{"  bob  ", "bob", nil},
		{"Zoë 🦀", "Zoë 🦀", nil},
		{strings.Repeat("é", maxNickLen), strings.Repeat("é", maxNickLen), nil},
		{strings.Repeat("x", maxNickLen+1), "", errNickLong},
		{"", "", errNickEmpty},
		{"   ", "", errNickEmpty},
		{"a\x00b", "", errNickInvalid},
		{nil, "", errNickMissing},
		{42.0, "", errNickMissing},
	}
	for _, tt := range tests {
		got, err := validateNick(tt.in)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("validateNick(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestServesPageAndClient(t *testing.T) {
	ts := startChat(t)
	for path, want := range map[string]string{
		"/":                 `<script src="/socket.io.min.js"`,
		"/app.js":           `io({`,
		"/style.css":        `.messages`,
		"/socket.io.min.js": `fake client`,
	} {
		res, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %s, body without %q", path, res.Status, want)
		}
	}
}

func TestRefusesInvalidNickname(t *testing.T) {
	ts := startChat(t)
	c := dial(t, ts.URL)
	c.send(`0{"nick":"   "}`)
	// 4 is CONNECT_ERROR; the client emits "connect_error" with this.
	got := c.next()
	want := `4{"message":"invalid nickname","data":{"reason":"nickname is empty"}}`
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestChat(t *testing.T) {
	ts := startChat(t)

	alice := dial(t, ts.URL)
	alice.connect("alice")
	alice.expectEvent("history", `{"room":"lobby","messages":[]}`)
	alice.expectEvent("users", `{"room":"lobby","users":["alice"]}`)

	bob := dial(t, ts.URL)
	bob.connect("bob")
	bob.expectEvent("history", `{"room":"lobby","messages":[]}`)
	bob.expectEvent("users", `{"room":"lobby","users":["alice","bob"]}`)
	alice.expectEvent("user joined", `{"nick":"bob","room":"lobby"}`)
	alice.expectEvent("users", `{"room":"lobby","users":["alice","bob"]}`)

	// Typing goes to the others only.
	bob.send(`2["typing",true]`)
	alice.expectEvent("typing", `{"nick":"bob","typing":true}`)

	// A message goes to the whole room, the sender included, stamped.
	bob.send(`2["chat message",{"text":"  hi alice "}]`)
	for _, c := range []*client{alice, bob} {
		var msg chatOut
		c.decodeEvent("chat message", &msg)
		if msg.From != "bob" || msg.Text != "hi alice" || msg.Room != "lobby" || time.Since(msg.Time) > time.Minute {
			t.Errorf("chat message = %+v", msg)
		}
	}

	// "join" is acknowledged (packet type 3, ack id 7) with the new room's
	// members, after the room got its new member list; the old room hears
	// that bob left.
	bob.send(`27["join","go"]`)
	bob.expectEvent("history", `{"room":"go","messages":[]}`)
	bob.expectEvent("users", `{"room":"go","users":["bob"]}`)
	bob.expect(`37[{"room":"go","users":["bob"]}]`)
	alice.expectEvent("user left", `{"nick":"bob","room":"lobby"}`)
	alice.expectEvent("users", `{"room":"lobby","users":["alice"]}`)

	// An unknown room is refused through the acknowledgement.
	bob.send(`28["join","../secret"]`)
	bob.expect(`38[{"error":"unknown room"}]`)
}

// TestHistory: whoever enters a room gets its last historyLen messages,
// oldest first, with the ids they had when sent live.
func TestHistory(t *testing.T) {
	ts := startChat(t)
	alice := dial(t, ts.URL)
	alice.connect("alice")
	alice.expectEvent("history", `{"room":"lobby","messages":[]}`)
	alice.expectEvent("users", `{"room":"lobby","users":["alice"]}`)

	const sent = historyLen + 5
	var live []chatOut
	for i := range sent {
		alice.send(`2["chat message",{"text":"message ` + strconv.Itoa(i) + `"}]`)
		var msg chatOut
		alice.decodeEvent("chat message", &msg)
		live = append(live, msg)
	}

	bob := dial(t, ts.URL)
	bob.connect("bob")
	var h historyOut
	bob.decodeEvent("history", &h)
	if h.Room != "lobby" || len(h.Messages) != historyLen {
		t.Fatalf("history of %q with %d messages, want lobby with %d", h.Room, len(h.Messages), historyLen)
	}
	for i, m := range h.Messages {
		want := live[sent-historyLen+i]
		if m.ID != want.ID || m.Text != want.Text || m.From != "alice" || !m.Time.Equal(want.Time) {
			t.Fatalf("history[%d] = %+v, want %+v", i, m, want)
		}
	}
	ids := map[string]bool{}
	for _, m := range live {
		if ids[m.ID] {
			t.Fatalf("duplicate message id %s", m.ID)
		}
		ids[m.ID] = true
	}

	// Another room has its own history.
	bob.expectEvent("users", `{"room":"lobby","users":["alice","bob"]}`)
	bob.send(`21["join","rust"]`)
	bob.expectEvent("history", `{"room":"rust","messages":[]}`)
}

// startChat serves the chat like main does, with a fake browser client.
func startChat(t *testing.T) *httptest.Server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	srv := newChat(log, nil)
	ts := httptest.NewServer(newMux(srv, []byte("/* fake client */")))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		ts.Close()
	})
	return ts
}

// client speaks just enough of the protocol, over HTTP long-polling, to
// drive the server from a test: Engine.IO v4 (a session id; packets
// separated by 0x1e; "4" message, "2" ping, "3" pong) carrying Socket.IO v5
// packets ("0" CONNECT, "2" EVENT, "3" ACK, "4" CONNECT_ERROR).
type client struct {
	t       *testing.T
	url     string
	http    *http.Client
	pending []string // Socket.IO packets received but not read yet
}

func dial(t *testing.T, base string) *client {
	t.Helper()
	c := &client{t: t, url: base + "/socket.io/?EIO=4&transport=polling", http: &http.Client{Timeout: 5 * time.Second}}
	open := c.poll()
	if len(open) != 1 || !strings.HasPrefix(open[0], "0{") {
		t.Fatalf("handshake: %q", open)
	}
	var hs struct{ SID string }
	if err := json.Unmarshal([]byte(open[0][1:]), &hs); err != nil {
		t.Fatal(err)
	}
	c.url += "&sid=" + hs.SID
	return c
}

// connect joins the main namespace with a nickname.
func (c *client) connect(nick string) {
	c.t.Helper()
	auth, _ := json.Marshal(map[string]string{"nick": nick})
	c.send("0" + string(auth))
	if p := c.next(); !strings.HasPrefix(p, `0{"sid":`) {
		c.t.Fatalf("%s: connect answered %s", nick, p)
	}
}

// send sends Socket.IO packets.
func (c *client) send(packets ...string) {
	c.t.Helper()
	for i, p := range packets {
		packets[i] = "4" + p
	}
	c.post(strings.Join(packets, "\x1e"))
}

func (c *client) post(body string) {
	c.t.Helper()
	res, err := c.http.Post(c.url, "text/plain;charset=UTF-8", strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		c.t.Fatalf("POST: %s", res.Status)
	}
}

// poll runs one long-poll and returns the Engine.IO packets.
func (c *client) poll() []string {
	c.t.Helper()
	res, err := c.http.Get(c.url)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		c.t.Fatalf("GET: %s %v", res.Status, err)
	}
	return strings.Split(string(body), "\x1e")
}

// next returns the next Socket.IO packet, polling if needed.
func (c *client) next() string {
	c.t.Helper()
	for len(c.pending) == 0 {
		for _, p := range c.poll() {
			switch {
			case p == "2":
				c.post("3")
			case strings.HasPrefix(p, "4"):
				c.pending = append(c.pending, p[1:])
			default:
				c.t.Fatalf("unexpected Engine.IO packet %q", p)
			}
		}
	}
	p := c.pending[0]
	c.pending = c.pending[1:]
	return stripOffset(p)
}

// stripOffset removes from an EVENT packet the offset that connection
// state recovery adds as its last argument (a string: no event of the chat
// ends with one), so that tests compare the events themselves.
func stripOffset(p string) string {
	var args []json.RawMessage
	if !strings.HasPrefix(p, "2[") || json.Unmarshal([]byte(p[1:]), &args) != nil || len(args) < 2 {
		return p
	}
	if last := args[len(args)-1]; len(last) > 0 && last[0] == '"' {
		parts := make([]string, len(args)-1)
		for i, a := range args[:len(args)-1] {
			parts[i] = string(a)
		}
		return "2[" + strings.Join(parts, ",") + "]"
	}
	return p
}

// expect reads the next packet and checks it is want.
func (c *client) expect(want string) {
	c.t.Helper()
	if got := c.next(); got != want {
		c.t.Fatalf("got %s, want %s", got, want)
	}
}

// expectEvent reads the next packet and checks it is the event with one
// argument, arg (JSON).
func (c *client) expectEvent(event, arg string) {
	c.t.Helper()
	name, _ := json.Marshal(event)
	c.expect(`2[` + string(name) + `,` + arg + `]`)
}

// decodeEvent reads the next packet, checks it is the event and decodes its
// first argument into v.
func (c *client) decodeEvent(event string, v any) {
	c.t.Helper()
	p := c.next()
	var args []json.RawMessage
	if !strings.HasPrefix(p, "2[") || json.Unmarshal([]byte(p[1:]), &args) != nil || len(args) != 2 {
		c.t.Fatalf("got %s, want event %q", p, event)
	}
	var name string
	if json.Unmarshal(args[0], &name); name != event {
		c.t.Fatalf("got %s, want event %q", p, event)
	}
	if err := json.Unmarshal(args[1], v); err != nil {
		c.t.Fatal(err)
	}
}
