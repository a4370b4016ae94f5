// Official socket.io-client 4.8.4 clients through a load balancer in front
// of three Go servers (adapters/redis lb_test.go starts them and runs this
// script). For each transport setting (long-polling only, then the default
// long-polling -> WebSocket upgrade), it connects clients until every server
// has at least one, then checks: acknowledgements, broadcasts emitted on
// every server reaching every client, a reconnection of every client after
// its transport is closed, and acks and broadcasts again.
//
//   LB_URL=http://127.0.0.1:8080 node lb-client.mjs
//
// Environment: LB_URL (required), NODES (number of servers, default 3),
// WITH_CREDENTIALS=1 (keep cookies: needed for cookie-based stickiness).
// The servers answer "whoami" (ack: their node id) and, on "shout" (arg:
// a tag), emit "shout" [node id, tag] to every client of the cluster.
// Prints one JSON line per transport setting; exits non-zero on failure.

import { io } from "socket.io-client";
import { once } from "node:events";

const URL = process.env.LB_URL;
const NODES = Number(process.env.NODES || 3);
const WITH_CREDENTIALS = process.env.WITH_CREDENTIALS === "1";
const T = 10000;

function withTimeout(promise, label) {
  let timer;
  const guard = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${T}ms: ${label}`)), T);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

function connect(transports) {
  const socket = io(URL, {
    forceNew: true,
    transports,
    withCredentials: WITH_CREDENTIALS,
    reconnectionDelay: 50,
    reconnectionDelayMax: 200,
    randomizationFactor: 0,
  });
  socket.shouts = [];
  socket.waiters = [];
  socket.on("shout", (node, tag) => {
    socket.shouts.push([node, tag]);
    for (const w of socket.waiters.splice(0)) w();
  });
  return socket;
}

/** waits until pred(socket) holds, re-checked on every shout */
function until(socket, pred, label) {
  return withTimeout(
    new Promise((resolve) => {
      const check = () => (pred(socket) ? resolve() : socket.waiters.push(check));
      check();
    }),
    label,
  );
}

async function connected(socket) {
  if (!socket.connected) await withTimeout(once(socket, "connect"), "connect");
}

async function whoami(socket) {
  return withTimeout(socket.timeout(T).emitWithAck("whoami"), "whoami ack");
}

/** every client shouts once; every client must get every shout */
async function shoutRound(sockets, round) {
  const tags = sockets.map((_, i) => `${round}-${i}`);
  sockets.forEach((s, i) => s.emit("shout", tags[i]));
  const from = new Set();
  for (const s of sockets) {
    await until(s, (x) => tags.every((t) => x.shouts.some(([, tag]) => tag === t)), `shouts of round ${round}`);
    for (const [node, tag] of s.shouts) if (tags.includes(tag)) from.add(node);
    const dup = tags.find((t) => s.shouts.filter(([, tag]) => tag === t).length !== 1);
    if (dup) throw new Error(`shout ${dup} received ${s.shouts.filter(([, tag]) => tag === dup).length} times`);
  }
  return from;
}

async function scenario(name, transports) {
  const sockets = [];
  const nodes = new Map(); // node id -> clients
  try {
    while (nodes.size < NODES && sockets.length < 8 * NODES) {
      const s = connect(transports);
      sockets.push(s);
      await connected(s);
      const node = await whoami(s);
      nodes.set(node, (nodes.get(node) || 0) + 1);
      if (nodes.get(node) > 1) {
        // Shift the load balancer's turn by 1 to NODES-1 requests: without
        // it, clients that make the same number of requests would all open
        // their session on the same servers.
        const shift = 1 + Math.floor(Math.random() * (NODES - 1));
        for (let i = 0; i < shift; i++) await fetch(new globalThis.URL("/health", URL));
      }
    }
    if (nodes.size < NODES) throw new Error(`sessions only on ${[...nodes.keys()]}`);
    if (!transports) {
      for (const s of sockets) {
        const engine = s.io.engine;
        if (engine.transport.name !== "websocket") await withTimeout(once(engine, "upgrade"), "upgrade");
      }
    }
    const from1 = await shoutRound(sockets, 1);
    if (from1.size !== NODES) throw new Error(`shouts from ${[...from1]} only`);

    // Reconnection: close each client's transport; it comes back.
    for (const s of sockets) {
      const back = withTimeout(once(s, "connect"), "reconnect");
      s.io.engine.close();
      await back;
      await whoami(s);
    }
    // The clients may all come back on one server (the turn of the load
    // balancer decides): every shout must still reach every client once.
    const from2 = await shoutRound(sockets, 2);
    const transport = [...new Set(sockets.map((s) => s.io.engine.transport.name))];
    console.log(JSON.stringify({ scenario: name, clients: sockets.length, nodes: Object.fromEntries(nodes), transport, nodesAfterReconnect: [...from2] }));
  } finally {
    for (const s of sockets) s.disconnect();
  }
}

try {
  await scenario("polling", ["polling"]);
  await scenario("polling+upgrade", undefined);
  process.exit(0);
} catch (err) {
  console.error(`FAIL: ${err.stack || err}`);
  process.exit(1);
}
