// The Node.js side of the differential fuzzing of our decoders (package
// internal/difffuzz). It reads one JSON request per line on stdin and
// writes one JSON answer per line on stdout, in order, until stdin closes.
//
// Every string of bytes travels as base64 and is decoded here as UTF-8,
// with U+FFFD for invalid sequences, the way engine.io turns a long-polling
// body or a WebSocket text frame into the string the parsers receive. The
// answer holds, side by side, the official result and ours (the "ours"
// field of the request) in one normalised form, built by the same code, so
// that the Go side compares strings.
//
//   {"op":"eio","in":B64,"ours":{"packet":P,"payload":[P...]}}
//       engine.io-parser's decodePacket and decodePayload of the string,
//       each packet normalised to {"type":T,"data":STRING} or
//       {"type":"message","bin":B64} or {"type":"error"}; ours gives P as
//       {"type":T,"binary":BOOL,"data":B64|null} or {"type":"error"}.
//       Answer {"packet":[OFFICIAL,OURS],"payload":[OFFICIAL,OURS]}.
//   {"op":"sio","msgs":[{"text":B64}|{"bin":B64}...],"ours":[S...]}
//       socket.io-parser's Decoder fed the messages in order, stopping at
//       the first error. One state per message: {"s":"error","err":MSG},
//       {"s":"pending","n":ATTACHMENTS} or {"s":"packet","p":PACKET},
//       PACKET being the JSON text of {"type","nsp","id","attachments",
//       "data"} with every Buffer written {"\u0000bin":B64}. Ours gives the
//       packets as {"type","nsp":B64,"id":N|null,"attachments":N,
//       "data":B64|null}, the data holding {"\u0000bin":B64} in place of
//       each placeholder it resolved. Answer {"official":[S...],
//       "ours":[S...]}.
//
// Any exception is {"fail":MESSAGE}.
"use strict";

const readline = require("node:readline");
const eio = require("engine.io-parser");
const { Decoder } = require("socket.io-parser");

const bytes = (s) => Buffer.from(s, "base64");
const text = (s) => bytes(s).toString("utf8");
const BIN = "\u0000bin";

// canon copies a decoded value with each Buffer as {"\u0000bin":B64} and
// each undefined as {"\u0000undefined":true}, so that JSON.stringify shows
// them.
function canon(v) {
  if (Buffer.isBuffer(v)) {
    return { [BIN]: v.toString("base64") };
  }
  if (v === undefined) {
    return { "\u0000undefined": true };
  }
  if (Array.isArray(v)) {
    return Array.from(v, canon);
  }
  if (v !== null && typeof v === "object") {
    const o = Object.create(null); // "__proto__" stays an ordinary key
    for (const k of Object.keys(v)) {
      o[k] = canon(v[k]);
    }
    return o;
  }
  return v;
}

function eioPacket(p) {
  if (p.type === "error") {
    return JSON.stringify({ type: "error" });
  }
  if (Buffer.isBuffer(p.data)) {
    return JSON.stringify({ type: p.type, bin: p.data.toString("base64") });
  }
  return JSON.stringify({ type: p.type, data: p.data });
}

function oursEioPacket(p) {
  if (p.type === "error") {
    return JSON.stringify({ type: "error" });
  }
  if (p.binary) {
    return JSON.stringify({ type: p.type, bin: bytes(p.data || "").toString("base64") });
  }
  return JSON.stringify({ type: p.type, data: p.data === null ? undefined : text(p.data) });
}

function sioPacket(type, nsp, id, attachments, data) {
  return JSON.stringify({
    type,
    nsp,
    id: id === undefined || id === null ? null : Number.isFinite(id) ? id : String(id),
    attachments,
    data: data === undefined ? undefined : canon(data),
  });
}

function oursSio(s) {
  if (s.s !== "packet") {
    return s;
  }
  const p = s.p;
  let data;
  if (p.data !== null) {
    try {
      data = JSON.parse(text(p.data));
    } catch (err) {
      return { s: "packet", p: "ours is not JSON: " + err.message };
    }
  }
  return { s: "packet", p: sioPacket(p.type, text(p.nsp), p.id, p.attachments, data) };
}

const ops = {
  eio(req) {
    const str = text(req.in);
    return {
      packet: [eioPacket(eio.decodePacket(str)), oursEioPacket(req.ours.packet)],
      payload: [
        JSON.stringify(eio.decodePayload(str).map(eioPacket)),
        JSON.stringify(req.ours.payload.map(oursEioPacket)),
      ],
    };
  },
  sio(req) {
    const d = new Decoder();
    let got = null;
    d.on("decoded", (p) => {
      got = p;
    });
    const states = [];
    let attachments = 0;
    for (const m of req.msgs) {
      got = null;
      try {
        d.add(m.text !== undefined ? text(m.text) : bytes(m.bin));
      } catch (err) {
        states.push({ s: "error", err: String((err && err.message) || err) });
        break;
      }
      if (got !== null) {
        states.push({ s: "packet", p: sioPacket(got.type, got.nsp, got.id, attachments, got.data) });
        attachments = 0;
      } else if (d.reconstructor) {
        attachments = d.reconstructor.reconPack.attachments;
        states.push({ s: "pending", n: attachments });
      } else {
        states.push({ s: "none" });
      }
    }
    return { official: states, ours: req.ours.map(oursSio) };
  },
};

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on("line", (line) => {
  let answer;
  try {
    const req = JSON.parse(line);
    answer = ops[req.op](req);
  } catch (err) {
    answer = { fail: String((err && err.stack) || err) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
});
