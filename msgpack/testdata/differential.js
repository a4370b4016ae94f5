// The Node.js side of the differential test of package msgpack
// (differential_test.go). It reads one JSON request per line on stdin and
// writes one JSON answer per line on stdout, in order:
//
//   {"op":"fromjson","json":B64,"atts":[B64...]|null}
//       notepack.io's encoding of JSON.parse(json) (the bytes decoded as
//       UTF-8 as Node.js decodes a message), after socket.io-parser put the
//       attachments in place of the placeholders when atts is not null:
//       {"ok":true,"hex":HEX}
//   {"op":"tojson","msg":B64,"codec":"notepack"|"msgpack"}
//       the JSON the official server writes for the decoded value: the
//       data of an EVENT encoded by socket.io-parser, without the array
//       around it: {"ok":true,"json":B64,"atts":[B64...]}
//   {"op":"encode","json":B64,"codec":"notepack"|"msgpack","float32":bool}
//       the encoding of JSON.parse(json) where the strings "$date:<ms>" are
//       new Date(ms) and "$num:<text>" Number(text): {"ok":true,"hex":HEX}
//
// Any exception is {"ok":false,"error":MESSAGE}.
"use strict";

const readline = require("node:readline");
const notepack = require("notepack.io");
const msgpack = require("@msgpack/msgpack");
const { Encoder, PacketType } = require("socket.io-parser");
// Not exported by the package: loaded by path.
const { reconstructPacket } = require(
  require("node:path").join(__dirname, "node_modules/socket.io-parser/build/cjs/binary.js"),
);

const b64 = (s) => Buffer.from(s, "base64");
const text = (s) => b64(s).toString("utf8");

function revive(key, value) {
  if (typeof value === "string" && value.startsWith("$date:")) {
    return new Date(Number(value.slice(6)));
  }
  if (typeof value === "string" && value.startsWith("$num:")) {
    return Number(value.slice(5));
  }
  return value;
}

const ops = {
  fromjson(req) {
    let value = JSON.parse(text(req.json));
    if (req.atts !== null) {
      value = reconstructPacket({ data: value }, req.atts.map(b64)).data;
    }
    return { hex: notepack.encode(value).toString("hex") };
  },
  tojson(req) {
    const buf = b64(req.msg);
    const value = req.codec === "msgpack" ? msgpack.decode(buf) : notepack.decode(buf);
    const parts = new Encoder().encode({ type: PacketType.EVENT, nsp: "/", data: [value] });
    const head = parts[0];
    const json = head.slice(head.indexOf("[") + 1, -1);
    return {
      json: Buffer.from(json, "utf8").toString("base64"),
      atts: parts.slice(1).map((a) => Buffer.from(a).toString("base64")),
    };
  },
  encode(req) {
    const value = JSON.parse(text(req.json), revive);
    const out = req.codec === "msgpack"
      ? Buffer.from(msgpack.encode(value, { forceFloat32: !!req.float32 }))
      : notepack.encode(value);
    return { hex: out.toString("hex") };
  },
};

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on("line", (line) => {
  let answer;
  try {
    const req = JSON.parse(line);
    answer = { ok: true, ...ops[req.op](req) };
  } catch (err) {
    answer = { ok: false, error: String(err && err.message || err) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
});
