// The app of test/v2.test.js on the official socket.io 4.8.4 server (the
// reference: the same tests must pass against it and against the Go
// server, see TestV2ClientInterop). Prints "URL_ON=<url> URL_OFF=<url>" once
// listening; exits when stdin closes.
"use strict";
const { Server } = require("socket.io");
const http = require("http");

function listen(opts) {
  return new Promise((resolve) => {
    const hs = http.createServer();
    const io = new Server(hs, opts);
    hs.listen(0, "127.0.0.1", () => resolve({ io, url: `http://127.0.0.1:${hs.address().port}` }));
  });
}

(async () => {
  const on = await listen({
    allowEIO3: true,
    pingInterval: Number(process.env.PING_INTERVAL || 1000),
    pingTimeout: Number(process.env.PING_TIMEOUT || 2000),
  });
  const off = await listen({});
  const io = on.io;
  io.on("connection", (s) => {
    s.join("mix");
    s.on("whoami", (cb) => cb({ id: s.id, query: s.handshake.query.token }));
    s.on("echo", (...args) => args.pop()(...args));
    s.on("emit-back", (...args) => s.emit("back", ...args));
    s.on("ask", async () => {
      const a = await s.timeout(5000).emitWithAck("question", 21);
      s.emit("answer", a);
    });
    s.on("bin", (...args) => args.pop()(...args));
    s.on("send-bin", () => s.emit("bin", Buffer.from([0, 1, 2]), { nested: Buffer.from([9, 8]) }));
    s.on("kick", () => s.disconnect());
    s.on("broadcast", (v, cb) => {
      io.to("mix").emit("news", v, Buffer.from([7, 7]));
      cb(io.of("/").sockets.size);
    });
  });
  io.of("/admin").on("connection", (s) => {
    s.emit("hello", { id: s.id, auth: s.handshake.auth });
    s.on("echo", (...args) => args.pop()(...args));
  });
  io.of("/private").use((s, next) => next(new Error("not authorized")));
  io.of("/private-data").use((s, next) => {
    const err = new Error("refused");
    err.data = { code: 42 };
    next(err);
  });
  console.log(`URL_ON=${on.url} URL_OFF=${off.url}`);
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
})();
