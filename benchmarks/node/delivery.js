// The official client side of the delivery scenario of socketio-bench
// (benchmarks/README.md): N official socket.io-client 4.8.4 clients in this
// one process, connected to URL (the fault proxy of the load generator, in
// front of a server with connection state recovery on). Each counts the
// sequenced "bcast" events it receives (the first argument is the sequence
// number, 1, 2, ...; a server with recovery on adds its offset as the last
// argument) and its reconnections; the clients reconnect by themselves.
//
// Environment:
//   URL          server (proxy) URL, e.g. http://127.0.0.1:4000 (required)
//   N            clients [300]
//   TRANSPORTS   comma-separated transports [websocket]
//   RECONNECTION_DELAY, RECONNECTION_DELAY_MAX, RANDOMIZATION_FACTOR
//                reconnection backoff in ms / factor [unset: the official
//                defaults, 1000 ms, 5000 ms, 0.5]
//
// Protocol, one JSON object per line: on stdout {"event":"ready",...} once
// every client is connected (or {"event":"error",...}); on stdin
// "report <M>" (M: the number of sequenced events published) is answered
// with {"event":"report",...}; "exit" closes every client and exits. Nothing
// is written to the network but the clients' own traffic; the process
// exits when stdin closes.
"use strict";

const { io } = require("socket.io-client");
const readline = require("node:readline");

const url = process.env.URL;
if (!url) {
  console.error("delivery.js: URL is required");
  process.exit(2);
}
const n = Number(process.env.N || 300);
const transports = (process.env.TRANSPORTS || "websocket").split(",").filter(Boolean);
const opts = { transports, forceNew: true };
for (const [env, key] of [
  ["RECONNECTION_DELAY", "reconnectionDelay"],
  ["RECONNECTION_DELAY_MAX", "reconnectionDelayMax"],
  ["RANDOMIZATION_FACTOR", "randomizationFactor"],
]) {
  if (process.env[env] !== undefined && process.env[env] !== "") opts[key] = Number(process.env[env]);
}

function send(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

// Client is one official client and what it saw.
class Client {
  constructor(i) {
    this.i = i;
    this.seen = new Uint8Array(8192); // seen[seq] = 1 once received
    this.unique = 0;
    this.dups = 0;
    this.ooo = 0; // received after a higher sequence number
    this.maxSeq = 0;
    this.connects = 0;
    this.recovered = 0;
    this.failed = 0; // reconnections that did not recover the session
    this.connectErrors = 0;
    this.replayed = 0; // events replayed by a recovery (received before its CONNECT)
    this.reconnecting = false; // between a disconnection and the next "connect"
    this.lostSinceConnect = 0; // connections lost since the last "connect"
    this.interrupted = 0; // connections lost before their CONNECT (recovery interrupted)
    this.replayDups = 0; // duplicates among the events emitted with a "connect"
    this.disconnects = {};
    const s = io(url, opts);
    this.socket = s;
    s.on("bcast", (seq, sentMs) => this.onEvent(seq, sentMs));
    s.on("connect", () => {
      this.reconnecting = false;
      this.lostSinceConnect = 0;
      this.connects++;
      if (this.connects === 1) {
        connected++;
        if (connected === n) ready();
      } else if (s.recovered) {
        this.recovered++;
      } else {
        this.failed++;
      }
    });
    s.on("disconnect", (reason) => {
      this.reconnecting = true;
      if (++this.lostSinceConnect > 1) this.interrupted++;
      this.disconnects[reason] = (this.disconnects[reason] || 0) + 1;
    });
    s.on("connect_error", () => {
      this.connectErrors++;
    });
  }

  onEvent(seq, sentMs) {
    if (typeof seq !== "number" || !Number.isInteger(seq) || seq < 1) return;
    if (typeof sentMs === "number") {
      // Delivery latency (ms, wall clocks of one machine), live and
      // replayed events apart: how far behind the clients are.
      const ms = Math.max(0, Date.now() - sentMs);
      (this.reconnecting ? latReplayed : latLive).add(ms);
    }
    if (seq >= this.seen.length) {
      let size = this.seen.length;
      while (size <= seq) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.seen);
      this.seen = grown;
    }
    // The client holds the events that arrive before the CONNECT packet and
    // emits them just before "connect": those are the replayed ones.
    if (this.reconnecting) this.replayed++;
    if (this.seen[seq]) {
      this.dups++;
      if (this.reconnecting) this.replayDups++;
      return;
    }
    this.seen[seq] = 1;
    this.unique++;
    if (seq < this.maxSeq) this.ooo++;
    else this.maxSeq = seq;
  }

  // missing returns how many of 1..m were not received.
  missing(m) {
    let got = 0;
    const end = Math.min(m, this.seen.length - 1);
    for (let k = 1; k <= end; k++) got += this.seen[k];
    return m - got;
  }
}

// Hist is a histogram of milliseconds (1 ms buckets up to 60 s).
class Hist {
  constructor() {
    this.b = new Uint32Array(60001);
    this.n = 0;
  }
  add(ms) {
    this.b[Math.min(Math.floor(ms), this.b.length - 1)]++;
    this.n++;
  }
  q(p) {
    if (this.n === 0) return null;
    const want = Math.ceil(p * this.n);
    let acc = 0;
    for (let i = 0; i < this.b.length; i++) {
      acc += this.b[i];
      if (acc >= want) return i;
    }
    return this.b.length - 1;
  }
  summary() {
    return { n: this.n, p50_ms: this.q(0.5), p99_ms: this.q(0.99), max_ms: this.q(1) };
  }
}
const latLive = new Hist();
const latReplayed = new Hist();

let connected = 0;
const started = Date.now();
const clients = [];
for (let i = 0; i < n; i++) clients.push(new Client(i));

let readyTimer = setTimeout(() => {
  send({ event: "error", error: `only ${connected} of ${n} clients connected after 60 s` });
}, 60000);

function ready() {
  clearTimeout(readyTimer);
  readyTimer = null;
  send({ event: "ready", connected, ms: Date.now() - started, transports, opts });
}

function report(m) {
  const r = {
    event: "report",
    clients: n,
    published: m,
    expected: n * m,
    received: 0, // unique sequence numbers in 1..m, summed over clients
    beyond: 0, // unique ones above m (none expected)
    duplicates: 0,
    out_of_order: 0,
    reconnections: 0,
    recovered: 0,
    failed_recoveries: 0,
    connect_errors: 0,
    replayed: 0,
    duplicates_in_replay: 0,
    interrupted_recoveries: 0,
    connected_now: 0,
    clients_with_loss: 0,
    max_missing_per_client: 0,
    disconnect_reasons: {},
    latency_live: latLive.summary(),
    latency_replayed: latReplayed.summary(),
  };
  for (const c of clients) {
    const miss = c.missing(m);
    r.received += m - miss;
    r.beyond += c.unique - (m - miss);
    r.duplicates += c.dups;
    r.out_of_order += c.ooo;
    r.reconnections += Math.max(c.connects - 1, 0);
    r.recovered += c.recovered;
    r.failed_recoveries += c.failed;
    r.connect_errors += c.connectErrors;
    r.replayed += c.replayed;
    r.duplicates_in_replay += c.replayDups;
    r.interrupted_recoveries += c.interrupted;
    if (c.socket.connected) r.connected_now++;
    if (miss > 0) r.clients_with_loss++;
    r.max_missing_per_client = Math.max(r.max_missing_per_client, miss);
    for (const [k, v] of Object.entries(c.disconnects)) r.disconnect_reasons[k] = (r.disconnect_reasons[k] || 0) + v;
  }
  send(r);
}

function exit() {
  for (const c of clients) c.socket.close();
  setTimeout(() => process.exit(0), 100);
}

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === "report") report(Number(arg) || 0);
  else if (cmd === "exit") exit();
});
rl.on("close", exit);
