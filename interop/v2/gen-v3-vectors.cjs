// Writes engineio/packet/testdata/v3-vectors.json: Engine.IO protocol v3
// encodings produced by the official engine.io-parser 2.2.1 (the parser of
// engine.io-client 3.x), for the Go codec tests. Run from interop/v2 after
// npm ci:  node gen-v3-vectors.cjs
"use strict";
const fs = require("fs");
const path = require("path");
const parser = require("engine.io-parser");

// Packets as [type, data]; data a string, a Buffer, or undefined.
const cases = [
  [["message", "hello"]],
  [["ping"]],
  [["pong", "probe"], ["message", "x"]],
  [["message", "héllo wörld"]],
  [["message", "emoji 😀 and 中文"]],
  [["message", "2[\"event\",\"😀😀\"]"], ["noop"]],
  [["message", Buffer.from([0, 1, 2, 255])]],
  [["message", "451-[\"bin\",{\"_placeholder\":true,\"num\":0}]"], ["message", Buffer.from("hello binary")]],
  [["message", Buffer.alloc(0)]],
  [["message", ""], ["close"]],
  [["open", "{\"sid\":\"abc\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,\"pingTimeout\":20000}"], ["message", "0"]],
  [["message", "x".repeat(300)], ["message", Buffer.alloc(300, 7)]],
];

const types = { open: 0, close: 1, ping: 2, pong: 3, message: 4, upgrade: 5, noop: 6 };
const out = [];
for (const pkts of cases) {
  const packets = pkts.map(([type, data]) => (data === undefined ? { type } : { type, data }));
  const entry = {
    packets: packets.map((p) => ({
      type: types[p.type],
      binary: Buffer.isBuffer(p.data),
      data: p.data === undefined ? "" : Buffer.from(p.data).toString("base64"),
    })),
  };
  parser.encodePayload(packets, false, (s) => { entry.text = s; });
  parser.encodePayloadAsBinary(packets, (b) => { entry.binaryPayload = Buffer.from(b).toString("base64"); });
  entry.frames = packets.map((p) => {
    let f;
    parser.encodePacket(p, true, false, (x) => { f = x; });
    return typeof f === "string" ? { text: f } : { binary: Buffer.from(f).toString("base64") };
  });
  entry.base64Frames = packets.map((p) => {
    let f;
    parser.encodePacket(p, false, false, (x) => { f = x; });
    return f;
  });
  out.push(entry);
}
const file = path.join(__dirname, "..", "..", "engineio", "packet", "testdata", "v3-vectors.json");
fs.writeFileSync(file, JSON.stringify(out, null, 1) + "\n");
console.log("wrote", out.length, "cases to", file);
