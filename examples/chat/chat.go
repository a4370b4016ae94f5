package main

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/socketio-go/socketio"
)

// This file holds the chat itself: the connection middleware that checks
// nicknames, and the handlers of the events the page sends. main.go only
// wires it to HTTP.
//
// Events the page sends:
//
//	"chat message" {text}         a message for the user's current room
//	"typing"       true|false     the user started or stopped typing
//	"join"         "go"  (ack)    switch rooms; acknowledged with roomState
//
// Events the server sends:
//
//	"chat message" {id, from, text, room, time}  to the whole room, sender included
//	"history"      {room, messages}          the room's last messages, on entering it
//	"typing"       {nick, typing}            to the room, sender excluded
//	"user joined"  {nick, room}              to the room, the newcomer excluded
//	"user left"    {nick, room}              to the room the user left
//	"users"        {room, users}             the room's member list, on every change

// rooms lists the rooms of the chat. The list is fixed on purpose: every
// socket is also in a room named after its id (that is how s.Emit reaches a
// single socket), so letting clients join any room they name would let them
// eavesdrop on other users' private traffic.
var rooms = []string{"lobby", "go", "rust", "random"}

const (
	// defaultRoom is where a user lands when the handshake names no room.
	defaultRoom = "lobby"
	// maxNickLen is the longest nickname accepted, in characters.
	maxNickLen = 32
	// maxMessageLen is the longest message accepted, in characters.
	maxMessageLen = 2000
	// historyLen is how many of a room's last messages the server keeps
	// and sends to whoever enters the room.
	historyLen = 50
)

// user is the application data kept on each socket with Socket.SetData
// (socket.data in the JavaScript API). It is a value, not a pointer: a new
// value is stored whenever it changes, so that readers on other goroutines
// (FetchSockets, run by other sockets' handlers) never see a half-updated
// user.
type user struct {
	Nick string `json:"nick"`
	Room string `json:"room"`
}

// userOf returns the user attached to s by the middleware.
func userOf(s *socketio.Socket) user {
	u, _ := s.Data().(user)
	return u
}

// Payloads. Field tags give the JSON names the page sees.
type (
	// chatIn is what the page sends with "chat message".
	chatIn struct {
		Text string `json:"text"`
	}
	// chatOut is a message as the server stamps and relays it.
	chatOut struct {
		// ID is unique across restarts of the server: a page that
		// gets the history again shows each message once.
		ID   string    `json:"id"`
		From string    `json:"from"`
		Text string    `json:"text"`
		Room string    `json:"room"`
		Time time.Time `json:"time"`
	}
	// typingOut tells a room that someone started or stopped typing.
	typingOut struct {
		Nick   string `json:"nick"`
		Typing bool   `json:"typing"`
	}
	// presence is the payload of "user joined" and "user left".
	presence struct {
		Nick string `json:"nick"`
		Room string `json:"room"`
	}
	// roomState is the payload of "users" and the acknowledgement of
	// "join": a room and the nicknames of its members, sorted.
	roomState struct {
		Room  string   `json:"room"`
		Users []string `json:"users"`
	}
	// historyOut is the payload of "history".
	historyOut struct {
		Room     string    `json:"room"`
		Messages []chatOut `json:"messages"`
	}
)

// Errors of validateNick.
var (
	errNickMissing = errors.New("nickname is missing")
	errNickEmpty   = errors.New("nickname is empty")
	errNickLong    = errors.New("nickname is too long")
	errNickInvalid = errors.New("nickname contains control characters")
)

// validateNick checks the nickname a client sent in its auth payload (any
// JSON value, hence the parameter type) and returns it without surrounding
// spaces.
func validateNick(v any) (string, error) {
	raw, ok := v.(string)
	if !ok {
		return "", errNickMissing
	}
	nick := strings.TrimSpace(raw)
	switch {
	case nick == "":
		return "", errNickEmpty
	case utf8.RuneCountInString(nick) > maxNickLen:
		return "", errNickLong
	case strings.ContainsFunc(nick, unicode.IsControl):
		return "", errNickInvalid
	}
	return nick, nil
}

// validRoom reports whether room is one of rooms.
func validRoom(room string) bool { return slices.Contains(rooms, room) }

// chat is the chat application on top of a Socket.IO server.
type chat struct {
	srv *socketio.Server
	log *slog.Logger

	// mu orders the messages: a message is recorded in history and
	// broadcast under it, and a socket enters a room (joins it and gets
	// its history) under it, so that each message reaches a newcomer
	// once, in the history or live.
	mu      sync.Mutex
	history map[string][]chatOut // the last historyLen messages of each room
	epoch   string               // makes message ids unique across restarts
	seq     int64
}

// newChat returns a Socket.IO server running the chat on its main
// namespace "/". opts, if not nil, holds the options of the cluster mode
// (cluster.go).
func newChat(log *slog.Logger, opts *socketio.Options) *socketio.Server {
	c := &chat{
		log:     log,
		history: make(map[string][]chatOut),
		epoch:   strconv.FormatInt(time.Now().UnixNano(), 36),
	}
	if opts == nil {
		// One server: connection state recovery. A page whose
		// connection drops for a moment (a train tunnel, a laptop lid,
		// a proxy restart) gets its socket back with every message it
		// missed, without a trip through the history. (The cluster
		// mode's classic Redis adapter cannot keep sessions; the Redis
		// Streams adapter could.)
		opts = &socketio.Options{ConnectionStateRecovery: &socketio.ConnectionStateRecovery{}}
	}
	// The library's own diagnostics (transport errors, slow consumers...)
	// go to the same logger, tagged.
	opts.Logger = log.With("component", "socketio")
	// CORS stays nil: the page is served by this very server (or by the
	// load balancer in front of it), and same-origin clients need no CORS
	// policy.
	c.srv = socketio.NewServer(opts)
	c.srv.Use(c.authenticate)
	c.srv.OnConnection(c.onConnection)
	return c.srv
}

// authenticate is the namespace middleware: it runs for every connection
// attempt, before OnConnection, and refuses those without a valid nickname.
// The client gets a "connect_error" whose message is the ConnectError's
// Message, and does not retry on its own.
//
// The client sends {nick, room} as its auth payload; room is optional and
// lets a client that reconnects (after a server restart, say) go back to the
// room it was in.
func (c *chat) authenticate(_ context.Context, s *socketio.Socket) error {
	auth := s.Handshake().Auth
	nick, err := validateNick(auth["nick"])
	if err != nil {
		c.log.Info("connection refused", "addr", s.Handshake().Address, "err", err)
		// The message is what the page shows; the precise cause
		// travels as data, for clients that care.
		return &socketio.ConnectError{Message: "invalid nickname", Data: map[string]string{"reason": err.Error()}}
	}
	room, _ := auth["room"].(string)
	if !validRoom(room) {
		room = defaultRoom
	}
	s.SetData(user{Nick: nick, Room: room})
	return nil
}

// onConnection runs once per accepted socket. It is the place to register
// the socket's event handlers: no event is dispatched before it returns.
func (c *chat) onConnection(s *socketio.Socket) {
	u := userOf(s)
	c.log.Info("connected", "id", s.ID(), "nick", u.Nick, "room", u.Room, "transport", s.Transport(), "recovered", s.Recovered())

	if s.Recovered() {
		// Same socket id, rooms and data as before the drop, and the
		// events it missed are on their way: no history needed.
		s.Join(u.Room) // already in it; harmless
	} else {
		c.enter(s, u.Room)
	}
	c.emit(s.To(u.Room), "user joined", presence(u))
	c.broadcastUsers(s.Context(), u.Room)

	// Typed handlers decode the first argument into a Go value; a client
	// sending something else gets an error (see OnError below) instead of
	// a call with a zero value.
	s.On("chat message", socketio.Handle(c.onMessage))
	s.On("typing", socketio.Handle(c.onTyping))
	// HandleAck also answers the client's acknowledgement callback with
	// the returned value, or with {"error": "..."} if it returns an error.
	s.On("join", socketio.HandleAck(c.onJoin))

	s.OnError(func(err error) {
		c.log.Warn("socket error", "id", s.ID(), "nick", u.Nick, "err", err)
	})
	s.OnDisconnect(func(reason socketio.DisconnectReason) {
		// Read the data again: the user may have changed rooms since.
		u := userOf(s)
		c.log.Info("disconnected", "id", s.ID(), "nick", u.Nick, "reason", reason)
		if reason == socketio.ReasonServerShuttingDown {
			return // everyone is leaving; nobody to tell
		}
		// The socket has already left its rooms, and s.To would exclude
		// it anyway: broadcast from the server.
		c.emit(c.srv.To(u.Room), "user left", presence(u))
		// s.Context() is cancelled by now; use a context of our own.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.broadcastUsers(ctx, u.Room)
	})
}

// onMessage relays a message to everyone in the sender's room, the sender
// included: the page shows a message only once the server has stamped it,
// so every member sees the same text, author and time.
func (c *chat) onMessage(s *socketio.Socket, in chatIn) {
	text := strings.TrimSpace(in.Text)
	if text == "" || utf8.RuneCountInString(text) > maxMessageLen {
		return
	}
	u := userOf(s)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	msg := chatOut{
		ID:   c.epoch + "-" + strconv.FormatInt(c.seq, 10),
		From: u.Nick,
		Text: text,
		Room: u.Room,
		Time: time.Now().UTC().Truncate(time.Millisecond),
	}
	h := append(c.history[u.Room], msg)
	if len(h) > historyLen {
		h = slices.Delete(h, 0, len(h)-historyLen)
	}
	c.history[u.Room] = h
	c.emit(c.srv.To(u.Room), "chat message", msg)
}

// enter puts s in room and sends it the room's history. Under c.mu, so
// that a message sent meanwhile is either in the history or delivered
// live, never both nor neither.
func (c *chat) enter(s *socketio.Socket, room string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s.Join(room)
	msgs := c.history[room]
	if msgs == nil {
		msgs = []chatOut{}
	}
	if err := s.Emit("history", historyOut{Room: room, Messages: msgs}); err != nil {
		c.log.Error("history", "err", err)
	}
}

// onTyping tells the other members of the room that the user started or
// stopped typing. s.To excludes the sender.
func (c *chat) onTyping(s *socketio.Socket, typing bool) {
	u := userOf(s)
	c.emit(s.To(u.Room), "typing", typingOut{Nick: u.Nick, Typing: typing})
}

// onJoin moves the user to another room and acknowledges with the members
// of the new room.
func (c *chat) onJoin(ctx context.Context, s *socketio.Socket, room string) (roomState, error) {
	if !validRoom(room) {
		return roomState{}, errors.New("unknown room")
	}
	u := userOf(s)
	if room != u.Room {
		old := u.Room
		s.Leave(old)
		c.emit(s.To(old), "user left", presence{Nick: u.Nick, Room: old})
		c.broadcastUsers(ctx, old)

		u.Room = room
		s.SetData(u)
		c.enter(s, room)
		c.emit(s.To(room), "user joined", presence{Nick: u.Nick, Room: room})
		c.broadcastUsers(ctx, room)
		c.log.Info("changed room", "id", s.ID(), "nick", u.Nick, "from", old, "to", room)
	}
	users, err := c.members(ctx, room)
	if err != nil {
		return roomState{}, err
	}
	return roomState{Room: room, Users: users}, nil
}

// members returns the sorted nicknames of the sockets in room.
//
// FetchSockets goes through the namespace's adapter. RemoteSocket.Data
// returns the very value given to SetData for a socket of this server; for
// a socket of another server (the Redis adapter of the cluster mode), it
// returns the data decoded from JSON, a map[string]any.
func (c *chat) members(ctx context.Context, room string) ([]string, error) {
	sockets, err := c.srv.In(room).FetchSockets(ctx)
	if err != nil {
		return nil, err
	}
	nicks := make([]string, 0, len(sockets))
	for _, rs := range sockets {
		switch d := rs.Data().(type) {
		case user:
			nicks = append(nicks, d.Nick)
		case map[string]any:
			if nick, ok := d["nick"].(string); ok {
				nicks = append(nicks, nick)
			}
		}
	}
	slices.Sort(nicks)
	return nicks, nil
}

// broadcastUsers sends the member list of room to everyone in it.
func (c *chat) broadcastUsers(ctx context.Context, room string) {
	users, err := c.members(ctx, room)
	if err != nil {
		c.log.Warn("listing room members", "room", room, "err", err)
		return
	}
	c.emit(c.srv.To(room), "users", roomState{Room: room, Users: users})
}

// emit broadcasts one event and logs a failure. A broadcast only fails for
// a reserved event name, a value that cannot be encoded or an adapter
// error: a recipient that went away meanwhile is not an error.
func (c *chat) emit(to *socketio.BroadcastOperator, event string, v any) {
	if err := to.Emit(event, v); err != nil {
		c.log.Error("broadcast failed", "event", event, "err", err)
	}
}
