// The Node.js side of the differential test of package msgpackparser
// (differential_test.go). It reads one JSON request per line on stdin and
// writes one JSON answer per line on stdout, in order:
//
//   {"op":"encode","packet":JSON,"atts":[B64...]}
//       the message socket.io-msgpack-parser's Encoder writes for the packet
//       object (its keys in the order given), after the placeholders
//       {"_placeholder":true,"num":N} of its data were replaced by
//       Buffers of atts: {"ok":true,"hex":HEX}
//   {"op":"decode","msg":B64}
//       what its Decoder makes of the message: {"ok":true,"type":T,
//       "nsp":NSP,"id":ID|null,"hasData":BOOL,"data":JSON,"atts":[B64...]},
//       data being JSON.stringify of the decoded data with each binary
//       value (Buffer or ArrayBuffer) replaced by a placeholder, in
//       traversal order; or {"ok":false,"error":MESSAGE} when it throws.
"use strict";

const readline = require("node:readline");
const { Encoder, Decoder } = require("socket.io-msgpack-parser");

function reconstruct(v, atts) {
  if (Array.isArray(v)) return v.map((x) => reconstruct(x, atts));
  if (v && typeof v === "object") {
    if (v._placeholder === true && typeof v.num === "number") return atts[v.num];
    const o = {};
    for (const k of Object.keys(v)) o[k] = reconstruct(v[k], atts);
    return o;
  }
  return v;
}

function deconstruct(v, atts) {
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer) {
    atts.push(Buffer.from(v));
    return { _placeholder: true, num: atts.length - 1 };
  }
  if (Array.isArray(v)) return v.map((x) => deconstruct(x, atts));
  if (v && typeof v === "object" && !(v instanceof Date)) {
    const o = {};
    for (const k of Object.keys(v)) o[k] = deconstruct(v[k], atts);
    return o;
  }
  return v;
}

const ops = {
  encode(req) {
    const atts = req.atts.map((a) => Buffer.from(a, "base64"));
    const packet = {};
    for (const [k, v] of Object.entries(req.packet)) {
      packet[k] = k === "data" ? reconstruct(v, atts) : v;
    }
    const [msg] = new Encoder().encode(packet);
    return { hex: Buffer.from(msg).toString("hex") };
  },
  decode(req) {
    const d = new Decoder();
    let out;
    d.on("decoded", (p) => {
      const atts = [];
      const data = p.data === undefined ? undefined : deconstruct(p.data, atts);
      out = {
        type: p.type,
        nsp: p.nsp,
        id: p.id === undefined ? null : p.id,
        hasData: p.data !== undefined,
        data: data === undefined ? "" : JSON.stringify(data),
        atts: atts.map((a) => a.toString("base64")),
      };
    });
    d.add(Buffer.from(req.msg, "base64"));
    return out;
  },
};

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on("line", (line) => {
  let ans;
  try {
    const req = JSON.parse(line);
    ans = { ok: true, ...ops[req.op](req) };
  } catch (e) {
    ans = { ok: false, error: String(e && e.message) };
  }
  process.stdout.write(JSON.stringify(ans) + "\n");
});
