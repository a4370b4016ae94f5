// The chat page. Plain JavaScript, no build step; `io` comes from
// /socket.io.min.js, the official browser client.
"use strict";

const $ = (id) => document.getElementById(id);
const ui = {
  status: $("status"),
  banner: $("banner"),
  me: $("me"),
  login: $("login"),
  loginForm: $("login-form"),
  nick: $("nick"),
  loginError: $("login-error"),
  chat: $("chat"),
  rooms: $("rooms"),
  currentRoom: $("current-room"),
  users: $("users"),
  messages: $("messages"),
  typing: $("typing"),
  messageForm: $("message-form"),
  message: $("message"),
};

let nick = ""; // our nickname, as the server accepted it
let room = "lobby"; // the room we are in (or are moving to)
let everConnected = false;
const typers = new Set(); // who is typing in our room, by nickname

const TYPING_IDLE_MS = 3000; // we "stop typing" after this long without a key
let typing = false; // whether we told the room we are typing
let typingTimer;

// The connection is opened only once a nickname is chosen (autoConnect:
// false). `auth` is a function, so it is evaluated again on every
// reconnection: after a server restart, the client comes back with its
// nickname and the room it was in.
const socket = io({
  autoConnect: false,
  auth: (cb) => cb({ nick, room }),
  // Retry quickly when the server goes away (the default backs off up to 5s).
  reconnectionDelayMax: 2000,
});

// ---- connection lifecycle ------------------------------------------------

function setStatus(state, text) {
  ui.status.dataset.state = state;
  ui.status.textContent = text;
}

ui.loginForm.addEventListener("submit", (e) => {
  e.preventDefault();
  // No validation here: the server trims and checks the nickname in its
  // middleware, and refuses the connection with "invalid nickname".
  nick = ui.nick.value.trim();
  ui.loginError.textContent = "";
  ui.loginForm.querySelector("button").disabled = true;
  setStatus("connecting", "connecting…");
  socket.connect();
});

socket.on("connect", () => {
  setStatus("connected", "connected");
  ui.banner.hidden = true;
  // With connection state recovery (on in the server), a short outage
  // costs nothing: same socket, same room, and the messages sent meanwhile
  // arrive right after this event. Otherwise (a server restart) the server
  // sends the room's history again.
  ui.status.dataset.recovered = String(socket.recovered);
  ui.login.hidden = true;
  ui.chat.hidden = false;
  ui.me.textContent = nick;
  showRoom(room);
  notice(
    !everConnected ? `Welcome, ${nick}! You are in #${room}.` :
    socket.recovered ? `Reconnected to #${room}; nothing was missed.` :
    `Reconnected to #${room}.`,
  );
  everConnected = true;
  ui.message.focus();
});

socket.on("disconnect", () => {
  typers.clear();
  renderTyping();
  // socket.active tells whether the client will reconnect on its own: it
  // does after a lost connection or a server shutdown, not after
  // socket.disconnect() or a server-side socket.Disconnect().
  if (socket.active) {
    setStatus("reconnecting", "reconnecting…");
    ui.banner.hidden = false;
    notice("Connection lost. Reconnecting…");
  } else {
    setStatus("offline", "disconnected");
    notice("Disconnected.");
  }
});

socket.on("connect_error", (err) => {
  if (socket.active) {
    // A temporary failure (the server is down): the client retries.
    setStatus("reconnecting", "reconnecting…");
    return;
  }
  // Refused by the server's middleware: the client will not retry. The
  // message is the ConnectError's Message; err.data is its Data.
  setStatus("offline", "offline");
  ui.loginError.textContent = err.message;
  ui.loginForm.querySelector("button").disabled = false;
  ui.chat.hidden = true;
  ui.login.hidden = false;
  ui.nick.focus();
});

// Reconnection attempts are reported by the Manager (socket.io), which
// holds the underlying connection.
socket.io.on("reconnect_attempt", (attempt) => {
  setStatus("reconnecting", `reconnecting… (${attempt})`);
});

// ---- rooms and users -----------------------------------------------------

function showRoom(name) {
  ui.currentRoom.textContent = name;
  ui.message.placeholder = `Message #${name}`;
  for (const button of ui.rooms.querySelectorAll("button")) {
    button.setAttribute("aria-current", button.dataset.room === name ? "true" : "false");
  }
}

ui.rooms.addEventListener("click", (e) => {
  const button = e.target.closest("button[data-room]");
  if (button) joinRoom(button.dataset.room);
});

async function joinRoom(next) {
  if (next === room || !socket.connected) return;
  stopTyping(); // tell the room we are leaving
  const previous = room;
  // Switch at once, so that messages of the new room that arrive before
  // the acknowledgement are shown, and late ones of the old room are not.
  room = next;
  showRoom(next);
  ui.messages.replaceChildren();
  typers.clear();
  renderTyping();
  try {
    // "join" is acknowledged with {room, users}, or {error} if refused.
    const res = await socket.timeout(5000).emitWithAck("join", next);
    if (res.error) throw new Error(res.error);
    if (room === res.room) renderUsers(res.users);
    notice(`You joined #${next}.`);
  } catch (err) {
    room = previous;
    showRoom(previous);
    notice(`Could not join #${next}: ${err.message}`);
  }
}

socket.on("users", ({ room: r, users }) => {
  if (r === room) renderUsers(users);
});

socket.on("user joined", ({ nick: who, room: r }) => {
  if (r === room) notice(`${who} joined #${r}`);
});

socket.on("user left", ({ nick: who, room: r }) => {
  // Our own departure comes back to us after a recovered outage: the
  // server told the room we left, and we were still in it.
  if (r !== room || who === nick) return;
  typers.delete(who);
  renderTyping();
  notice(`${who} left #${r}`);
});

function renderUsers(users) {
  ui.users.replaceChildren(
    ...users.map((name) => {
      const li = document.createElement("li");
      li.dataset.testid = "user";
      li.dataset.nick = name;
      li.append(avatar(name), document.createTextNode(name));
      if (name === nick) {
        const you = document.createElement("span");
        you.className = "you";
        you.textContent = "you";
        li.append(you);
      }
      return li;
    }),
  );
}

// ---- messages --------------------------------------------------------------

ui.messageForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const text = ui.message.value.trim();
  if (!text) return;
  stopTyping();
  // Not shown yet: the server sends it back to the whole room, us
  // included, stamped with our nickname and its time.
  socket.emit("chat message", { text });
  ui.message.value = "";
});

socket.on("chat message", (msg) => {
  if (msg.room !== room) return; // sent before we left that room
  typers.delete(msg.from);
  renderTyping();
  addMessage(msg);
});

// The room's last messages, sent by the server when we enter a room (and
// after a reconnection that could not be recovered). Those already shown
// are skipped; the others go in their place by time.
socket.on("history", ({ room: r, messages }) => {
  if (r !== room) return;
  for (const msg of messages) addMessage(msg);
});

function addMessage({ id, from, text, time }) {
  if (ui.messages.querySelector(`[data-id="${CSS.escape(id)}"]`)) return;
  const li = document.createElement("li");
  li.dataset.id = id;
  li.dataset.time = String(Date.parse(time));
  li.className = from === nick ? "message mine" : "message";
  li.dataset.testid = "message";
  li.dataset.from = from;

  const meta = document.createElement("div");
  meta.className = "meta";
  const author = document.createElement("span");
  author.className = "from";
  author.textContent = from; // textContent, never innerHTML: this is user input
  const stamp = document.createElement("time");
  stamp.dateTime = time;
  stamp.textContent = new Date(time).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  meta.append(author, stamp);

  const body = document.createElement("p");
  body.className = "text";
  body.textContent = text;

  li.append(avatar(from), meta, body);
  // Before the first message that is newer, if any: history can come
  // after live messages.
  const t = Date.parse(time);
  const later = [...ui.messages.querySelectorAll('[data-testid="message"]')].find((m) => Number(m.dataset.time) > t);
  if (later) ui.messages.insertBefore(li, later);
  else append(li);
}

function notice(text) {
  const li = document.createElement("li");
  li.className = "notice";
  li.dataset.testid = "notice";
  li.textContent = text;
  append(li);
}

function append(li) {
  const list = ui.messages;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(li);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

// A colored circle with the first letter of a nickname.
function avatar(name) {
  const span = document.createElement("span");
  span.className = "avatar";
  span.textContent = name.slice(0, 1).toUpperCase();
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  span.style.backgroundColor = `hsl(${hash % 360} 55% 45%)`;
  return span;
}

// ---- typing indicator ------------------------------------------------------

ui.message.addEventListener("input", () => {
  if (ui.message.value === "") {
    stopTyping();
    return;
  }
  if (!typing && socket.connected) {
    typing = true;
    socket.emit("typing", true);
  }
  clearTimeout(typingTimer);
  typingTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
});

function stopTyping() {
  clearTimeout(typingTimer);
  if (!typing) return;
  typing = false;
  // Only when connected: the client buffers events emitted while
  // disconnected and would send a stale "typing" after reconnecting.
  if (socket.connected) socket.emit("typing", false);
}

socket.on("typing", ({ nick: who, typing: isTyping }) => {
  if (isTyping) typers.add(who);
  else typers.delete(who);
  renderTyping();
});

function renderTyping() {
  const names = [...typers];
  ui.typing.textContent =
    names.length === 0 ? "" :
    names.length === 1 ? `${names[0]} is typing…` :
    names.length === 2 ? `${names[0]} and ${names[1]} are typing…` :
    "Several people are typing…";
}
