// socket.io-client 2.5.0 (Engine.IO v3, Socket.IO protocol v4) against the
// Go server with AllowEIO3. Started by TestV2ClientInterop (eio3_test.go),
// which serves the app described there on URL_ON (AllowEIO3 on) and
// URL_OFF (AllowEIO3 off), then runs them against the official server
// (official-server.cjs) as the reference.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const io = require("socket.io-client"); // 2.5.0
const { io: ioV4 } = require("socket.io-client-v4");

const URL_ON = process.env.URL_ON;
const URL_OFF = process.env.URL_OFF;
assert.ok(URL_ON && URL_OFF, "URL_ON and URL_OFF must be set");

const modes = {
  polling: { transports: ["polling"] },
  "polling base64": { transports: ["polling"], forceBase64: true },
  websocket: { transports: ["websocket"] },
  "polling then upgrade": { transports: ["polling", "websocket"] },
};

function once(emitter, event, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout waiting for "${event}"`)), ms);
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

function emitAck(socket, ...args) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for "${args[0]}"`)), 10000);
    socket.emit(...args, (...res) => {
      clearTimeout(timer);
      resolve(res);
    });
  });
}

function connect(path, opts) {
  return io(URL_ON + path, { forceNew: true, reconnection: false, ...opts });
}

async function connected(socket) {
  if (!socket.connected) await once(socket, "connect");
  return socket;
}

for (const [mode, opts] of Object.entries(modes)) {
  test(`${mode}: connect, events and acks both ways, binary, server disconnect`, async (t) => {
    const socket = await connected(connect("/", { ...opts, query: { token: "abc" } }));
    t.after(() => socket.close());
    if (mode === "polling then upgrade") {
      const engine = socket.io.engine;
      if (engine.transport.name !== "websocket") await once(engine, "upgrade");
      assert.equal(engine.transport.name, "websocket");
    }
    // The socket id is the session id, as with the official server.
    const [me] = await emitAck(socket, "whoami");
    assert.equal(me.id, socket.id);
    assert.equal(me.id, socket.io.engine.id);
    assert.equal(me.query, "abc");

    // client -> server with an ack, server -> client
    const [echo] = await emitAck(socket, "echo", { a: [1, "é😀"] });
    assert.deepEqual(echo, { a: [1, "é😀"] });
    const back = once(socket, "back");
    socket.emit("emit-back", "ping 😀");
    assert.deepEqual(await back, ["ping 😀"]);

    // server -> client with an ack
    socket.on("question", (n, cb) => cb(n * 2));
    const answer = once(socket, "answer");
    socket.emit("ask");
    assert.deepEqual(await answer, [42]);

    // binary both ways, in events and acks
    const [bin, text] = await emitAck(socket, "bin", Buffer.from([1, 2, 3, 255]), "text");
    assert.ok(Buffer.isBuffer(bin), "binary ack arg is a Buffer");
    assert.deepEqual([...bin], [1, 2, 3, 255]);
    assert.equal(text, "text");
    const gotBin = once(socket, "bin");
    socket.emit("send-bin");
    const [b1, b2] = await gotBin;
    assert.deepEqual([...b1], [0, 1, 2]);
    assert.deepEqual([...b2.nested], [9, 8]);

    // server-side disconnect
    const gone = once(socket, "disconnect");
    socket.emit("kick");
    assert.deepEqual(await gone, ["io server disconnect"]);
  });

  test(`${mode}: namespace with a query, middleware errors`, async (t) => {
    const admin = connect("/admin", { ...opts, query: { token: "t1", n: "2" } });
    t.after(() => admin.close());
    const [hello] = await once(admin, "hello");
    await connected(admin);
    assert.equal(hello.id, admin.id);
    assert.equal(hello.id, "/admin#" + admin.io.engine.id);
    assert.deepEqual(hello.auth, { token: "t1", n: "2" });
    const [echo] = await emitAck(admin, "echo", "in admin");
    assert.equal(echo, "in admin");
    // A client-side disconnect (the Go test counts the server's reasons).
    admin.disconnect();

    const priv = connect("/private", opts);
    t.after(() => priv.close());
    assert.deepEqual(await once(priv, "error"), ["not authorized"]);
    assert.equal(priv.connected, false);

    const data = connect("/private-data", opts);
    t.after(() => data.close());
    assert.deepEqual(await once(data, "error"), [{ code: 42 }]);
  });
}

test("client heartbeat keeps the session alive past pingTimeout", async (t) => {
  for (const transports of [["polling"], ["websocket"]]) {
    const socket = await connected(connect("/", { transports }));
    t.after(() => socket.close());
    let disconnected = false;
    socket.on("disconnect", () => { disconnected = true; });
    let pongs = 0;
    socket.io.engine.on("pong", () => { pongs++; });
    // The server's pingInterval+pingTimeout is 3 s (see eio3_test.go).
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(disconnected, false);
    assert.ok(pongs >= 2, `only ${pongs} pongs`);
    const [echo] = await emitAck(socket, "echo", 1);
    assert.equal(echo, 1);
    socket.close();
  }
});

test("a v2 and a v4 client in one room get one broadcast", async (t) => {
  const v2 = await connected(connect("/", { transports: ["websocket"] }));
  const v2poll = await connected(connect("/", { transports: ["polling"] }));
  const v4 = ioV4(URL_ON, { forceNew: true, reconnection: false });
  t.after(() => { v2.close(); v2poll.close(); v4.close(); });
  await once(v4, "connect");
  // An event answered proves that the connection handlers (which join
  // "mix") ran, on either server.
  for (const s of [v2, v2poll, v4]) await emitAck(s, "whoami");
  const named = (who, p) => p.catch((err) => { throw new Error(`${who}: ${err.message}`); });
  const got = [
    named("v2 websocket", once(v2, "news")),
    named("v2 polling", once(v2poll, "news")),
    named(`v4 (${v4.io.engine.transport.name})`, once(v4, "news")),
  ];
  const [n] = await emitAck(v2, "broadcast", { hi: "all 😀" });
  assert.ok(n >= 3, `broadcast reached ${n} sockets`);
  for (const args of await Promise.all(got)) {
    assert.equal(args[0].hi, "all 😀");
    assert.deepEqual([...args[1]], [7, 7]);
  }
});

test("refused when AllowEIO3 is off", async (t) => {
  const res = await fetch(URL_OFF + "/socket.io/?EIO=3&transport=polling");
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), { code: 5, message: "Unsupported protocol version" });
  for (const transports of [["polling"], ["websocket"]]) {
    const socket = io(URL_OFF, { forceNew: true, reconnection: false, transports });
    t.after(() => socket.close());
    await once(socket, "connect_error");
    assert.equal(socket.connected, false);
  }
});
