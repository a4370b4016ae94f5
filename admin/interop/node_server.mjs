// The official server with the official instrument() of
// @socket.io/admin-ui, for the Go test that compares the messages the
// dashboard gets from it with those of the Go admin package.
//
//   ADMIN_PASSWORD_HASH=<bcrypt> node node_server.mjs
//
// It prints "listening <URL>" once it serves. Like the Go side of the
// test, every socket of "/" joins "lobby" and answers "hello" with
// "welcome".

import { createServer } from "node:http";
import { Server } from "socket.io";
import { instrument } from "@socket.io/admin-ui";

const http = createServer();
const io = new Server(http);
instrument(io, {
  auth: { type: "basic", username: "admin", password: process.env.ADMIN_PASSWORD_HASH },
  serverId: "node",
});
io.on("connection", (socket) => {
  socket.join("lobby");
  socket.on("hello", () => socket.emit("welcome", "ann"));
});
http.listen(0, "127.0.0.1", () => {
  console.log(`listening http://127.0.0.1:${http.address().port}`);
});
