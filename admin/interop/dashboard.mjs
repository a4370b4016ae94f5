// A client that connects to the admin namespace the way the official
// dashboard (@socket.io/admin-ui's ui/dist) does, for the Go tests of the
// admin package: same socket.io-client options, auth payload and actions.
//
//   node dashboard.mjs <server URL> <namespace> <auth JSON> [websocket]
//
// Every event received is printed on stdout as one JSON line
// {"ev": name, "args": [...]}; connect, connect_error and disconnect too.
// Each line read on stdin is an action {"emit": name, "args": [...]},
// emitted as is; end of stdin closes the socket and exits.

import { io } from "socket.io-client";
import readline from "node:readline";

const [url, nsp, auth, wsOnly] = process.argv.slice(2);

const socket = io(url + nsp, {
  forceNew: true,
  reconnection: false,
  withCredentials: true,
  transports: wsOnly ? ["websocket"] : ["polling", "websocket"],
  path: "/socket.io",
  auth: JSON.parse(auth),
});

const out = (ev, args = []) => process.stdout.write(JSON.stringify({ ev, args }) + "\n");

socket.on("connect", () => out("connect", [socket.id]));
socket.on("connect_error", (err) => out("connect_error", [err.message]));
socket.on("disconnect", (reason) => out("disconnect", [reason]));
socket.onAny((ev, ...args) => out(ev, args));

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const { emit, args } = JSON.parse(line);
  socket.emit(emit, ...args);
});
rl.on("close", () => {
  socket.close();
  process.exit(0);
});
