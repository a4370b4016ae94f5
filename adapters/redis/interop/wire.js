// Watches what a mixed cluster puts on Redis (MONITOR) and compares, for
// each cluster operation, what the Go server publishes with what the
// official Node server publishes for the same operation.
//
//   node wire.js sharded|classic [--raw]
//
// It starts one Go app and one Node app (GO_APP_BIN, else built), connects
// official clients to both, runs every operation once from each server
// with identical arguments, and prints, per operation: the commands of the
// issuing server and of the other one (channel, JSON or MessagePack with
// its formats, ids normalized), then the differences between the Go run and
// the Node run. --raw also prints every captured command.

import net from "node:net";
import { createClient } from "redis";
import { REDIS_URL, rand, startApp, emitAck, connected, ioClient, delay, T } from "./lib.js";

const mode = process.argv[2] || "sharded";
const RAW = process.argv.includes("--raw");
if (mode !== "sharded" && mode !== "classic") {
  console.error("usage: node wire.js sharded|classic [--raw]");
  process.exit(2);
}

// ------------------------------------------------------------ MONITOR

function unquote(s, i) {
  // s[i] === '"'; returns [Buffer, next index]
  const out = [];
  i++;
  while (i < s.length && s[i] !== '"') {
    if (s[i] === "\\") {
      const c = s[i + 1];
      if (c === "x") {
        out.push(parseInt(s.slice(i + 2, i + 4), 16));
        i += 4;
        continue;
      }
      out.push({ n: 10, r: 13, t: 9, a: 7, b: 8, '"': 34, "\\": 92 }[c] ?? c.charCodeAt(0));
      i += 2;
      continue;
    }
    // MONITOR escapes every non-printable byte: the rest is ASCII
    out.push(s.charCodeAt(i));
    i++;
  }
  return [Buffer.from(out), i + 1];
}

function parseMonitorLine(line) {
  const m = /^\+(\d+\.\d+) \[(\d+) ([^\]]+)\] /.exec(line);
  if (!m) return null;
  const args = [];
  let i = m[0].length;
  while (i < line.length) {
    if (line[i] === '"') {
      const [b, next] = unquote(line, i);
      args.push(b);
      i = next;
    } else i++;
  }
  return { ts: Number(m[1]), addr: m[3], args };
}

async function monitor(url) {
  const u = new URL(url);
  const sock = net.connect(Number(u.port || 6379), u.hostname);
  await new Promise((resolve, reject) => {
    sock.once("connect", resolve);
    sock.once("error", reject);
  });
  sock.setEncoding("latin1");
  const lines = [];
  let buf = "";
  sock.on("data", (d) => {
    buf += d;
    let k;
    while ((k = buf.indexOf("\r\n")) >= 0) {
      const l = buf.slice(0, k);
      buf = buf.slice(k + 2);
      const p = parseMonitorLine(l);
      if (p) lines.push(p);
    }
  });
  sock.write("MONITOR\r\n");
  await delay(50);
  return { lines, close: () => sock.destroy() };
}

// ------------------------------------------------------------ MessagePack, annotated

function readMsgpack(b, pos = 0) {
  const t = b[pos];
  const str = (len, off, fmt) => {
    const s = b.toString("utf8", pos + off, pos + off + len);
    return [{ fmt, str: s }, pos + off + len];
  };
  const arr = (n, off, fmt) => {
    let p = pos + off;
    const items = [];
    for (let k = 0; k < n; k++) {
      const [v, np] = readMsgpack(b, p);
      items.push(v);
      p = np;
    }
    return [{ fmt, arr: items }, p];
  };
  const map = (n, off, fmt) => {
    let p = pos + off;
    const entries = [];
    for (let k = 0; k < n; k++) {
      const [key, p1] = readMsgpack(b, p);
      const [v, p2] = readMsgpack(b, p1);
      entries.push([key, v]);
      p = p2;
    }
    return [{ fmt, map: entries }, p];
  };
  const bin = (len, off, fmt) => [{ fmt, bin: b.subarray(pos + off, pos + off + len) }, pos + off + len];
  if (t <= 0x7f) return [{ fmt: "posfixint", num: t }, pos + 1];
  if (t >= 0xe0) return [{ fmt: "negfixint", num: t - 256 }, pos + 1];
  if ((t & 0xf0) === 0x80) return map(t & 0x0f, 1, "fixmap");
  if ((t & 0xf0) === 0x90) return arr(t & 0x0f, 1, "fixarray");
  if ((t & 0xe0) === 0xa0) return str(t & 0x1f, 1, "fixstr");
  switch (t) {
    case 0xc0: return [{ fmt: "nil", num: null }, pos + 1];
    case 0xc2: return [{ fmt: "false", num: false }, pos + 1];
    case 0xc3: return [{ fmt: "true", num: true }, pos + 1];
    case 0xc4: return bin(b[pos + 1], 2, "bin8");
    case 0xc5: return bin(b.readUInt16BE(pos + 1), 3, "bin16");
    case 0xc6: return bin(b.readUInt32BE(pos + 1), 5, "bin32");
    case 0xca: return [{ fmt: "float32", num: b.readFloatBE(pos + 1) }, pos + 5];
    case 0xcb: return [{ fmt: "float64", num: b.readDoubleBE(pos + 1) }, pos + 9];
    case 0xcc: return [{ fmt: "uint8", num: b[pos + 1] }, pos + 2];
    case 0xcd: return [{ fmt: "uint16", num: b.readUInt16BE(pos + 1) }, pos + 3];
    case 0xce: return [{ fmt: "uint32", num: b.readUInt32BE(pos + 1) }, pos + 5];
    case 0xcf: return [{ fmt: "uint64", num: Number(b.readBigUInt64BE(pos + 1)) }, pos + 9];
    case 0xd0: return [{ fmt: "int8", num: b.readInt8(pos + 1) }, pos + 2];
    case 0xd1: return [{ fmt: "int16", num: b.readInt16BE(pos + 1) }, pos + 3];
    case 0xd2: return [{ fmt: "int32", num: b.readInt32BE(pos + 1) }, pos + 5];
    case 0xd3: return [{ fmt: "int64", num: Number(b.readBigInt64BE(pos + 1)) }, pos + 9];
    case 0xd9: return str(b[pos + 1], 2, "str8");
    case 0xda: return str(b.readUInt16BE(pos + 1), 3, "str16");
    case 0xdb: return str(b.readUInt32BE(pos + 1), 5, "str32");
    case 0xdc: return arr(b.readUInt16BE(pos + 1), 3, "array16");
    case 0xdd: return arr(b.readUInt32BE(pos + 1), 5, "array32");
    case 0xde: return map(b.readUInt16BE(pos + 1), 3, "map16");
    case 0xdf: return map(b.readUInt32BE(pos + 1), 5, "map32");
  }
  throw new Error(`msgpack: unsupported byte 0x${t.toString(16)} at ${pos}`);
}

// ------------------------------------------------------------ rendering

/** Replaces ids by names; `subst` is a list of [string, name]. */
function norm(s, subst) {
  for (const [from, to] of subst) if (from) s = s.split(from).join(to);
  return s;
}

function renderMsgpack(v, subst) {
  if (v.str !== undefined) return `${v.fmt}:${JSON.stringify(norm(v.str, subst))}`;
  if (v.bin !== undefined) return `${v.fmt}<${v.bin.length} bytes>`;
  if (v.arr) return `${v.fmt}[${v.arr.map((x) => renderMsgpack(x, subst)).join(",")}]`;
  if (v.map) return `${v.fmt}{${v.map.map(([k, x]) => renderMsgpack(k, subst) + ":" + renderMsgpack(x, subst)).join(",")}}`;
  return `${v.fmt}:${JSON.stringify(v.num)}`;
}

function renderPayload(b, subst) {
  if (b.length && b[0] === 0x7b) {
    let text = b.toString("utf8");
    // big strings shortened
    text = text.replace(/"([^"\\]{200,})"/g, (_, s) => `"<${s.length} chars>"`);
    return "JSON " + norm(text, subst);
  }
  try {
    const [v, end] = readMsgpack(b);
    return "MSGPACK " + renderMsgpack(v, subst).replace(/"([^"\\]{200,})"/g, (_, s) => `"<${s.length} chars>"`) + (end !== b.length ? ` +${b.length - end} trailing bytes` : "");
  } catch (err) {
    return `BYTES(${err.message}) ${b.subarray(0, 64).toString("hex")}`;
  }
}

// ------------------------------------------------------------ the scenario

const prefix = `wire-${mode}-${rand(6)}`;
const mon = await monitor(REDIS_URL);
const redis = createClient({ url: REDIS_URL, name: "wire-driver" });
await redis.connect();

const go = await startApp("go", { MODE: mode, PREFIX: prefix });
const node = await startApp("node", { MODE: mode, PREFIX: prefix });
const apps = { go, node };

async function client(app, name, transport, rooms) {
  const s = ioClient(app.url, { forceNew: true, reconnection: false, transports: [transport], timeout: T, auth: { name, rooms, data: { name, n: 2 ** 40, f: 1.5 } } });
  s.on("ask", (tok, cb) => cb(name));
  s.on("ask-bin", (...args) => args.pop()(Buffer.from(name)));
  await connected(s);
  s.savedId = s.id;
  return s;
}

await delay(200);
const clients = {
  goCtl: await client(go, "g-ctl", "websocket", []),
  goA: await client(go, "g-a", "websocket", ["red", "common", "room-of-twenty-chars"]),
  nodeCtl: await client(node, "n-ctl", "websocket", []),
  nodeA: await client(node, "n-a", "websocket", ["red", "common", "room-of-twenty-chars"]),
};
await delay(200);

// client addresses -> names
const names = new Map();
for (const line of String(await redis.sendCommand(["CLIENT", "LIST"])).split("\n")) {
  const addr = /addr=(\S+)/.exec(line)?.[1];
  const name = /name=(\S*)/.exec(line)?.[1];
  if (addr) names.set(addr, name || "?");
}
const who = (addr) => {
  const n = names.get(addr) || "?";
  if (n === `go-${go.port}`) return "go";
  if (n.startsWith(`node-${node.port}`)) return "node";
  if (n === "wire-driver") return "driver";
  return n;
};

const ops = [
  ["broadcast to all", (c) => emitAck(c, "broadcast", { event: "bc" }, "T", { int: 42, big: 2 ** 40, neg: -(2 ** 40), small: -1, f: 0.5, s: "é", nil: null, t: true, list: [], obj: {} })],
  ["broadcast to one room", (c) => emitAck(c, "broadcast", { event: "bc", to: ["red"] }, "T")],
  ["broadcast to two rooms", (c) => emitAck(c, "broadcast", { event: "bc", to: ["red", "common"] }, "T")],
  ["broadcast to all except a room", (c) => emitAck(c, "broadcast", { event: "bc", except: ["red"] }, "T")],
  ["broadcast to a socket id", (c, other) => emitAck(c, "broadcast", { event: "bc", to: [other.id] }, "T")],
  ["broadcast to a 20-character room", (c) => emitAck(c, "broadcast", { event: "bc", to: ["room-of-twenty-chars"] }, "T")],
  ["broadcast volatile, compress(false)", (c) => emitAck(c, "broadcast", { event: "bc", volatile: true, compress: false }, "T")],
  ["broadcast binary", (c) => emitAck(c, "broadcast", { event: "bc", to: ["red"] }, "T", Buffer.from([1, 2, 3]), { b: Buffer.from("x"), n: 2 ** 40 })],
  ["broadcast with ack", (c) => emitAck(c, "broadcast-ack", { event: "ask", timeout: 2000 }, "T")],
  ["broadcast with ack, binary answers", (c) => emitAck(c, "broadcast-ack", { event: "ask-bin", to: ["red"], timeout: 2000 }, "T")],
  ["fetchSockets", (c) => emitAck(c, "fetch", {})],
  ["fetchSockets in a room except a room", (c) => emitAck(c, "fetch", { to: ["common"], except: ["blue"] })],
  [
    "socketsJoin, then socketsLeave",
    async (c) => {
      await emitAck(c, "join", { to: ["red"], rooms: ["sj"] });
      await delay(100);
      await emitAck(c, "leave", { to: ["red"], rooms: ["sj"] });
    },
  ],
  ["disconnectSockets (nobody)", (c) => emitAck(c, "disconnect-sockets", { to: ["nobody"], close: true })],
  ["serverSideEmit", (c) => emitAck(c, "sse", "note", "T", { x: 1 })],
  ["serverSideEmitWithAck", (c) => emitAck(c, "sse-ack", "whoami", "T")],
  ["serverSideEmitWithAck, binary", (c) => emitAck(c, "sse-ack", "echo", Buffer.from([9, 8]))],
];

const marks = [];
async function mark(label) {
  await redis.publish("wire-marker", label);
  marks.push(label);
}

for (const [name, run] of ops) {
  await mark(`${name} @go`);
  await run(clients.goCtl, clients.nodeA);
  await delay(150);
  await mark(`${name} @node`);
  await run(clients.nodeCtl, clients.goA);
  await delay(150);
}
await mark("connect a client in a new room @go");
const late1 = await client(go, "late-go", "websocket", ["late"]);
await delay(100);
await mark("connect a client in a new room @node");
const late2 = await client(node, "late-node", "websocket", ["late2"]);
await delay(100);
await mark("disconnect it @go");
late1.disconnect();
await delay(100);
await mark("disconnect it @node");
late2.disconnect();
await delay(100);
for (const s of Object.values(clients)) s.disconnect();
await mark("shutdown @go");
await go.stop();
await delay(100);
await mark("shutdown @node");
await node.stop();
await delay(100);
await mark("end");
await delay(100);
mon.close();
await redis.quit();

// ------------------------------------------------------------ report

// connections opened later name themselves in the stream (HELLO … SETNAME
// name, or CLIENT SETNAME name)
for (const l of mon.lines) {
  const a = l.args.map((x) => x.toString());
  const cmd = a[0]?.toUpperCase();
  if (cmd === "CLIENT" && a[1]?.toUpperCase() === "SETNAME") names.set(l.addr, a[2]);
  if (cmd === "HELLO") {
    const k = a.findIndex((x) => x.toUpperCase() === "SETNAME");
    if (k > 0) names.set(l.addr, a[k + 1]);
  }
}
// uids: learnt from the messages
const subst = [[prefix, "<P>"]];
const learnUid = (kind, u) => {
  if (u && !subst.some(([f]) => f === u)) subst.push([u, `<uid:${kind}>`]);
};
for (const l of mon.lines) {
  const cmd = l.args[0]?.toString().toUpperCase();
  const k = who(l.addr);
  if (!["PUBLISH", "SPUBLISH"].includes(cmd) || (k !== "go" && k !== "node")) continue;
  const p = l.args[2];
  try {
    if (p[0] === 0x7b) learnUid(k, JSON.parse(p.toString()).uid);
    else {
      const [v] = readMsgpack(p);
      if (v.arr && v.arr[0].str) learnUid(k, v.arr[0].str);
      if (v.map) for (const [key, x] of v.map) if (key.str === "uid") learnUid(k, x.str);
    }
  } catch {
    // ignore
  }
}
for (const [n, s] of Object.entries(clients)) subst.push([s.savedId, `<sid:${n.replace(/^(go|node)/, "$1-")}>`]);
// request ids: any "requestId" value
const ridRe = /("requestId":|fixstr:"requestId":(?:fixstr|str8):)"([^"]+)"/g;
const withRid = (text) => text.replace(ridRe, (_, k) => `${k}"<rid>"`);
// times: their form kept, their digits not
const tsRe = /("issued":\d+|"time":"[^"]*")/g;
const tsForm = (m) => m.replace(/\d/g, "9");

const segments = new Map();
let current = null;
for (const l of mon.lines) {
  const cmd = l.args[0]?.toString().toUpperCase();
  if (cmd === "PUBLISH" && l.args[1]?.toString() === "wire-marker") {
    current = l.args[2].toString();
    segments.set(current, []);
    continue;
  }
  if (!current) {
    current = "startup";
    segments.set(current, []);
  }
  const k = who(l.addr);
  if (k !== "go" && k !== "node") continue;
  if (cmd === "CLIENT" || cmd === "HELLO" || cmd === "PING" || cmd === "SELECT" || cmd === "INFO") continue;
  let text;
  if (cmd === "PUBLISH" || cmd === "SPUBLISH") {
    text = `${cmd} ${norm(l.args[1].toString(), subst)} ${renderPayload(l.args[2], subst)}`;
  } else {
    text = `${cmd} ${l.args.slice(1).map((a) => norm(a.toString(), subst)).join(" ")}`;
  }
  text = withRid(text).replace(tsRe, tsForm);
  segments.get(current).push({ who: k, text });
}

const out = [];
out.push(`# ${mode} mode: what each server put on Redis (go = this repository, node = official)`);
out.push(`# ids: <P> prefix, <uid:go|node> adapter uids, <rid> request ids, <sid:…> socket ids; digits of handshake times as 9`);
const differences = [];
for (const [label, cmds] of segments) {
  if (label === "end") continue;
  if (RAW || label === "startup" || label.startsWith("shutdown") || label.includes("new room") || label.startsWith("disconnect it")) {
    out.push(`\n## ${label}`);
    for (const c of cmds) out.push(`  [${c.who}] ${c.text}`);
  }
}
// pair "<op> @go" with "<op> @node": the issuer's commands and the other's
const roles = (issuer, other) => (t) =>
  t
    .replace(new RegExp(`<uid:${issuer}>`, "g"), "<uid:ISSUER>")
    .replace(new RegExp(`<uid:${other}>`, "g"), "<uid:OTHER>")
    .replace(new RegExp(`<sid:${issuer}-`, "g"), "<sid:ISSUER-")
    .replace(new RegExp(`<sid:${other}-`, "g"), "<sid:OTHER-")
    .replace(new RegExp(`"${issuer}:\\d+"`, "g"), '"ISSUER:port"')
    .replace(new RegExp(`"${other}:\\d+"`, "g"), '"OTHER:port"')
    .replace(new RegExp(`"${issuer[0]}-(ctl|a)"`, "g"), '"ISSUER-$1"')
    .replace(new RegExp(`"${other[0]}-(ctl|a)"`, "g"), '"OTHER-$1"');
const swap = roles("go", "node");
const swapN = roles("node", "go");
for (const [name] of ops) {
  const g = segments.get(`${name} @go`) || [];
  const n = segments.get(`${name} @node`) || [];
  out.push(`\n## ${name}`);
  const show = (title, list) => {
    out.push(`  ${title}`);
    for (const c of list) out.push(`    ${c.text}`);
    if (!list.length) out.push("    (nothing)");
  };
  const gi = g.filter((c) => c.who === "go").map((c) => c.text);
  const gr = g.filter((c) => c.who === "node").map((c) => c.text);
  const ni = n.filter((c) => c.who === "node").map((c) => c.text);
  const nr = n.filter((c) => c.who === "go").map((c) => c.text);
  show("issued by go — go sent:", gi.map((text) => ({ text })));
  show("issued by node — node sent:", ni.map((text) => ({ text })));
  show("issued by go — node answered:", gr.map((text) => ({ text })));
  show("issued by node — go answered:", nr.map((text) => ({ text })));
  const a = gi.map(swap).filter((t) => !t.startsWith("PUBSUB"));
  const b = ni.map(swapN).filter((t) => !t.startsWith("PUBSUB"));
  if (a.join("\n") !== b.join("\n")) differences.push(`${name}: the issuer's publications differ`);
  const c = gr.map(swap);
  const d = nr.map(swapN);
  if (c.join("\n") !== d.join("\n")) differences.push(`${name}: the answers differ`);
  const pa = gi.filter((t) => t.startsWith("PUBSUB")).length;
  const pb = ni.filter((t) => t.startsWith("PUBSUB")).length;
  if (pa !== pb) differences.push(`${name}: PUBSUB count queries: go ${pa}, node ${pb}`);
}
out.push("\n# operations whose Go and Node forms differ (after id normalization)");
for (const d of differences) out.push("  " + d);
if (!differences.length) out.push("  none");
console.log(out.join("\n"));
process.exit(0);
