// Reference implementation of the interop "app contract" (see ../../CONTRACT.md)
// on top of the official socket.io 4.8.4 server.
//
// The Go implementation (interop/goserver) implements the very same contract;
// the test suite in ../../test runs unchanged against both.

import { createServer } from "node:http";
import { Server } from "socket.io";
import msgpackParser from "socket.io-msgpack-parser";

function intEnv(name, def) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`invalid ${name}=${raw}\n`);
    process.exit(2);
  }
  return n;
}

const PORT = intEnv("PORT", 0);
const PING_INTERVAL = intEnv("PING_INTERVAL", 25000);
const PING_TIMEOUT = intEnv("PING_TIMEOUT", 20000);
const CONNECT_TIMEOUT = intEnv("CONNECT_TIMEOUT", 45000);
const MAX_HTTP_BUFFER_SIZE = intEnv("MAX_HTTP_BUFFER_SIZE", 1000000);
const RECOVERY = intEnv("RECOVERY", 0) === 1;
const PARSER = process.env.PARSER || "json";
if (PARSER !== "json" && PARSER !== "msgpack") {
  process.stderr.write(`invalid PARSER=${PARSER}\n`);
  process.exit(2);
}
const PER_MESSAGE_DEFLATE = intEnv("PER_MESSAGE_DEFLATE", 0) === 1;

function log(obj) {
  // stdout is a pipe when run by the harness: writes are synchronous on Linux.
  process.stdout.write(JSON.stringify(obj) + "\n");
}

const httpServer = createServer();
const io = new Server(httpServer, {
  path: "/socket.io/",
  serveClient: false,
  transports: ["polling", "websocket"],
  cors: { origin: "*" },
  pingInterval: PING_INTERVAL,
  pingTimeout: PING_TIMEOUT,
  connectTimeout: CONNECT_TIMEOUT,
  maxHttpBufferSize: MAX_HTTP_BUFFER_SIZE,
  ...(PARSER === "msgpack" ? { parser: msgpackParser } : {}),
  ...(PER_MESSAGE_DEFLATE ? { perMessageDeflate: true } : {}),
  ...(RECOVERY ? { connectionStateRecovery: { maxDisconnectionDuration: 120000, skipMiddlewares: true } } : {}),
});

/** Strip a trailing ack callback (events that never acknowledge). */
function dataArgs(args) {
  return typeof args[args.length - 1] === "function" ? args.slice(0, -1) : args;
}

/** Split (...args, ack) into [args, ack|undefined]. */
function splitAck(args) {
  if (typeof args[args.length - 1] === "function") {
    return [args.slice(0, -1), args[args.length - 1]];
  }
  return [args, undefined];
}

function sortedRooms(socket) {
  return [...socket.rooms].sort();
}

function logLifecycle(socket) {
  log({ event: "connection", nsp: socket.nsp.name, id: socket.id, recovered: socket.recovered === true });
  socket.on("disconnect", (reason) => {
    log({ event: "disconnect", nsp: socket.nsp.name, id: socket.id, reason });
  });
  // Without an "error" listener socket.io prints protocol violations to stderr;
  // an (optional) log line is friendlier. The tests do not rely on it.
  socket.on("error", (err) => {
    log({ event: "error", nsp: socket.nsp.name, id: socket.id, message: String(err && err.message) });
  });
}

/** "hello" + "echo" + "echo-uncompressed" + "echo-ack": common to every namespace. */
function basicHandlers(socket) {
  socket.on("echo", (...args) => {
    socket.emit("echo", ...dataArgs(args));
  });
  socket.on("echo-uncompressed", (...args) => {
    socket.compress(false).emit("echo", ...dataArgs(args));
  });
  socket.on("echo-ack", (...all) => {
    const [args, ack] = splitAck(all);
    if (ack) ack(...args);
  });
  socket.emit("hello", { id: socket.id, nsp: socket.nsp.name, auth: socket.handshake.auth });
}

// ---------------------------------------------------------------- namespace "/"
const root = io.of("/");

root.use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === "reject") {
    const err = new Error("not authorized");
    err.data = { code: 4001, reason: "bad token" };
    return next(err);
  }
  next();
});

root.on("connection", (socket) => {
  logLifecycle(socket);

  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack(sortedRooms(socket));
  });
  socket.on("leave", (room, ack) => {
    socket.leave(room);
    if (typeof ack === "function") ack(sortedRooms(socket));
  });
  socket.on("rooms", (ack) => {
    if (typeof ack === "function") ack(sortedRooms(socket));
  });

  socket.on("to-room", (room, ...rest) => {
    socket.to(room).emit("room-event", ...dataArgs(rest));
  });
  socket.on("in-room", (room, ...rest) => {
    io.in(room).emit("room-event", ...dataArgs(rest));
  });
  socket.on("except-room", (room, ...rest) => {
    io.except(room).emit("except-event", ...dataArgs(rest));
  });
  socket.on("broadcast", (...args) => {
    socket.broadcast.emit("broadcast-event", ...dataArgs(args));
  });
  socket.on("emit-all", (...args) => {
    io.emit("all-event", ...dataArgs(args));
  });
  socket.on("multi-room", (rooms, ...rest) => {
    socket.to(rooms).emit("room-event", ...dataArgs(rest));
  });

  socket.on("get-state", (...all) => {
    const [, ack] = splitAck(all);
    if (ack) ack({ ok: true, id: socket.id });
  });
  socket.on("say", (room, text, ack) => {
    if (typeof ack !== "function") return;
    if (typeof room !== "string" || typeof text !== "string") return ack({ error: "invalid arguments" });
    if (text === "") return ack({ error: "empty message" });
    ack(`${room}: ${text}`);
  });
  socket.on("note", (n, ack) => {
    if (typeof ack !== "function") return;
    if (typeof n !== "number") return ack({ error: "invalid arguments" });
    ack();
  });

  socket.on("ask", async (arg, ack) => {
    try {
      const answer = await socket.timeout(2000).emitWithAck("question", arg);
      if (typeof ack === "function") ack({ ok: true, answer });
    } catch {
      if (typeof ack === "function") ack({ ok: false });
    }
  });
  socket.on("ask-all", async (room, arg, ack) => {
    try {
      const answers = await io.in(room).timeout(2000).emitWithAck("question", arg);
      const sorted = answers
        .map((a) => [JSON.stringify(a), a])
        .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
        .map((p) => p[1]);
      if (typeof ack === "function") ack({ ok: true, answers: sorted });
    } catch {
      if (typeof ack === "function") ack({ ok: false });
    }
  });

  socket.on("fetch-sockets", async (room, ack) => {
    const sockets = await io.in(room).fetchSockets();
    if (typeof ack === "function") ack(sockets.map((s) => s.id).sort());
  });
  socket.on("sockets-join", (target, room, ack) => {
    io.in(target).socketsJoin(room);
    if (typeof ack === "function") ack(true);
  });
  socket.on("sockets-leave", (target, room, ack) => {
    io.in(target).socketsLeave(room);
    if (typeof ack === "function") ack(true);
  });
  socket.on("disconnect-sockets", (target, close) => {
    io.in(target).disconnectSockets(close === true);
  });
  socket.on("disconnect-me", (close) => {
    socket.disconnect(close === true);
  });

  socket.on("big-ack", (n, ack) => {
    if (typeof ack === "function") ack("x".repeat(n));
  });
  socket.on("volatile", (...args) => {
    socket.volatile.emit("volatile-event", ...dataArgs(args));
  });

  basicHandlers(socket);
});

// ---------------------------------------------------------- namespace "/custom"
io.of("/custom").on("connection", (socket) => {
  logLifecycle(socket);
  basicHandlers(socket);
});

// ----------------------------------------------------------- namespace "/admin"
const admin = io.of("/admin");
admin.use((socket, next) => {
  const auth = socket.handshake.auth || {};
  if (auth.role !== "admin") {
    const err = new Error("forbidden");
    err.data = { role: auth.role === undefined ? null : auth.role };
    return next(err);
  }
  next();
});
admin.on("connection", (socket) => {
  logLifecycle(socket);
  basicHandlers(socket);
});

// ---------------------------------------------------- dynamic namespaces /dyn-*
io.of(/^\/dyn-[a-z0-9]+$/).on("connection", (socket) => {
  logLifecycle(socket);
  basicHandlers(socket);
});

// ------------------------------------------------------------------ lifecycle
httpServer.listen(PORT, "127.0.0.1", () => {
  process.stdout.write(`listening ${httpServer.address().port}\n`);
});

let closing = false;
function shutdown() {
  if (closing) return;
  closing = true;
  io.close(() => process.exit(0));
  // Guard: a keep-alive connection must not keep the process around forever.
  setTimeout(() => httpServer.closeAllConnections(), 2000).unref();
  setTimeout(() => process.exit(0), 5000).unref();
}
process.on("SIGTERM", shutdown);

// Set by the harness so that a server never outlives a crashed test process.
if (process.env.EXIT_ON_STDIN_EOF === "1") {
  process.stdin.on("end", shutdown);
  process.stdin.on("error", shutdown);
  process.stdin.resume();
}
