// Deterministic repro: socket.io-client 4.8.4 emits an event twice when a
// connection-state-recovery handshake is interrupted after the server sent
// the missed events and before its CONNECT packet: the events received then
// stay in socket.receiveBuffer (not cleared on close), the next recovery
// (same offset, since they were never emitted) sends them again, and both
// copies are emitted with the CONNECT. A scripted server (the ws package,
// installed with socket.io) plays the server side of three connections.
// Seen in the delivery scenario of socketio-bench as "duplicates in
// replays" after "interrupted recoveries".
// Run: node benchmarks/node/receive-buffer-repro.js (after npm ci in benchmarks/node)
"use strict";
const { WebSocketServer } = require("ws");
const { io } = require("socket.io-client");

const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
let conn = 0;
wss.on("connection", (ws) => {
  const k = ++conn;
  ws.send('0{"sid":"e' + k + '","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}');
  ws.on("message", (m) => {
    m = m.toString();
    if (!m.startsWith("40")) return;
    console.log(`server: connection ${k} got CONNECT ${m}`);
    if (k === 1) {
      ws.send('40{"sid":"S","pid":"P"}');
      ws.send('42["x",1,"o1"]');
      setTimeout(() => ws.terminate(), 100);
    } else if (k === 2) {
      ws.send('42["x",2,"o2"]'); // the missed event ...
      setTimeout(() => ws.terminate(), 100); // ... and the connection is lost before the CONNECT
    } else {
      ws.send('42["x",2,"o2"]'); // the same missed event again (the offset is still o1)
      ws.send('40{"sid":"S","pid":"P"}');
    }
  });
});
wss.on("listening", () => {
  const s = io(`http://127.0.0.1:${wss.address().port}`, { transports: ["websocket"], reconnectionDelay: 100, randomizationFactor: 0 });
  const got = [];
  s.on("x", (seq, offset) => got.push(seq));
  s.on("connect", () => {
    console.log(`client: connect, recovered=${s.recovered}, events so far ${JSON.stringify(got)}`);
    if (conn === 3) {
      console.log(got.filter((v) => v === 2).length === 2 ? "DUPLICATE: event 2 emitted twice" : "no duplicate");
      s.close();
      wss.close();
    }
  });
});
