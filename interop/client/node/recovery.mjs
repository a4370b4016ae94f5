// A small official socket.io 4.8 server with connection state recovery
// enabled, for the Go client's recovery tests (the interop app contract has
// no recovery). Same process contract as interop/servers/node/app.js:
// env PORT, PING_INTERVAL, PING_TIMEOUT, EXIT_ON_STDIN_EOF; prints
// "listening <port>", then one JSON log line per connection/disconnection:
//   {"event":"connection","nsp":"/","id":...,"recovered":true|false}
//   {"event":"disconnect","nsp":"/","id":...,"reason":...}
// Namespace "/": "echo-ack" acknowledges with its arguments; "emit-all"
// emits "all-event" with its arguments to every socket (a broadcast, so
// it is stored for disconnected sockets and replayed on recovery).
import { createServer } from "node:http";
import { Server } from "socket.io";

const env = (name, def) => Number(process.env[name] || def);
const httpServer = createServer();
const io = new Server(httpServer, {
  pingInterval: env("PING_INTERVAL", 25000),
  pingTimeout: env("PING_TIMEOUT", 20000),
  connectionStateRecovery: { maxDisconnectionDuration: 120000, skipMiddlewares: true },
});
const log = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

io.on("connection", (socket) => {
  log({ event: "connection", nsp: "/", id: socket.id, recovered: socket.recovered });
  socket.on("disconnect", (reason) => log({ event: "disconnect", nsp: "/", id: socket.id, reason }));
  socket.on("echo-ack", (...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : undefined;
    if (ack) ack(...args);
  });
  socket.on("emit-all", (...args) => {
    if (typeof args[args.length - 1] === "function") args.pop();
    io.emit("all-event", ...args);
  });
});

httpServer.listen(env("PORT", 0), "127.0.0.1", () => {
  process.stdout.write(`listening ${httpServer.address().port}\n`);
});
let closing = false;
const shutdown = () => {
  if (closing) return;
  closing = true;
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 3000).unref();
};
process.on("SIGTERM", shutdown);
if (process.env.EXIT_ON_STDIN_EOF === "1") {
  process.stdin.on("end", shutdown);
  process.stdin.on("error", shutdown);
  process.stdin.resume();
}
