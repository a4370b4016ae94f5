// The official socket.io 4.8.4 server (interop/node_modules), for the same
// restart scenario: it prints "listening <port>", then a JSON line per
// server-side disconnect. A "close" line on stdin calls io.close(), then
// exits; the test also stops it with SIGKILL, as a process that exits
// without io.close() (Node's default SIGTERM action does the same).
//
//   node official_server.mjs <port>
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { Server } from "socket.io";

// Other paths get a 404 page (the browser client's page, as from ours).
const httpServer = createServer((req, res) => res.writeHead(404).end("404 page not found\n"));
const io = new Server(httpServer);
const sockets = new Set();
httpServer.on("connection", (s) => {
  sockets.add(s);
  s.on("close", () => sockets.delete(s));
});
io.on("connection", (socket) => {
  socket.on("disconnect", (reason) => process.stdout.write(JSON.stringify({ event: "server-disconnect", reason }) + "\n"));
});
httpServer.listen(Number(process.argv[2]), "127.0.0.1", () => {
  process.stdout.write(`listening ${httpServer.address().port}\n`);
});
createInterface({ input: process.stdin }).on("line", (line) => {
  if (line !== "close") return;
  io.close(() => process.exit(0));
  // http.Server.close() waits for every connection to end, and a client may
  // keep its side open (python-socketio's WebSocket does): end them once
  // what io.close() wrote (it writes synchronously, after microtasks) has
  // gone out.
  setImmediate(() => {
    for (const s of sockets) s.destroySoon();
  });
});
