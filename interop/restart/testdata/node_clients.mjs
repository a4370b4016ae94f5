// Official socket.io-client (Node), one socket per transport, reporting its
// lifecycle as JSON lines on stdout until stdin ends.
//
//   node node_clients.mjs <url> <reconnection delay ms>
import { io } from "socket.io-client";

const [url, delay] = [process.argv[2], Number(process.argv[3])];
const report = (e) => process.stdout.write(JSON.stringify(e) + "\n");
const sockets = ["polling", "websocket"].map((transport) => {
  const s = io(url, {
    transports: [transport],
    forceNew: true,
    reconnectionDelay: delay,
    reconnectionDelayMax: delay,
    randomizationFactor: 0,
  });
  s.on("connect", () => report({ transport, event: "connect", via: s.io.engine.transport.name }));
  s.on("disconnect", (reason) => report({ transport, event: "disconnect", reason }));
  s.on("connect_error", (err) => report({ transport, error: String(err) })); // logged on failure
  return s;
});
process.stdin.resume();
process.stdin.on("end", () => {
  for (const s of sockets) s.close();
  process.exit(0);
});
