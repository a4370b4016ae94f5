// The official socket.io 4.8.4 server with the benchmark contract of
// cmd/benchserver: default options (pingInterval 25 s, pingTimeout 20 s,
// maxHttpBufferSize 1e6, both transports), listening on 127.0.0.1:$PORT
// (default 3000); on namespace "/", "bcast" is broadcast with the same
// arguments to every socket of the namespace (io.emit), and "echo" is
// acknowledged with the same arguments. Nothing else runs in the process.
// With RECOVERY=1, connection state recovery is on
// (connectionStateRecovery: {maxDisconnectionDuration: 120000,
// skipMiddlewares: true}), as cmd/benchserver with RECOVERY=1; it is off by
// default.
"use strict";

const { createServer } = require("node:http");
const { Server } = require("socket.io");

const port = Number(process.env.PORT || 3000);
const httpServer = createServer();
const recovery = process.env.RECOVERY === "1";
const io = new Server(
  httpServer,
  recovery ? { connectionStateRecovery: { maxDisconnectionDuration: 120000, skipMiddlewares: true } } : undefined,
);

io.on("connection", (socket) => {
  socket.on("bcast", (...args) => {
    io.emit("bcast", ...args);
  });
  socket.on("echo", (...args) => {
    const ack = args.length > 0 && typeof args[args.length - 1] === "function" ? args.pop() : null;
    if (ack) ack(...args);
  });
});

httpServer.listen(port, "127.0.0.1", () => {
  const rec = recovery ? " (connection state recovery on)" : "";
  console.log(`socket.io ${require("socket.io/package.json").version} listening on 127.0.0.1:${port}${rec}`);
});

for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => {
    io.close();
    process.exit(0);
  });
}
