// Connects to a Go echo server with the independent `ws` implementation,
// offering permessage-deflate (as ws and socket.io-client do by default),
// and checks that the extension is negotiated, that messages come back
// unchanged, and that large compressible messages travel compressed both
// ways (the socket's byte counters stay far below the message sizes).
// Used by TestInteropNodeClientDeflate; exits non-zero on failure.
'use strict';

const assert = require('node:assert');
const crypto = require('node:crypto');
const { once } = require('node:events');
const WebSocket = require('ws');

const ws = new WebSocket(process.argv[2], { perMessageDeflate: { threshold: 0 } });
const inbox = [];
let wake = null;
ws.on('message', (data, isBinary) => {
  inbox.push({ data, isBinary });
  if (wake) wake();
});

async function next() {
  while (inbox.length === 0) {
    await new Promise((resolve) => { wake = resolve; });
    wake = null;
  }
  return inbox.shift();
}

async function expect(payload, isBinary) {
  const m = await next();
  assert.strictEqual(m.isBinary, isBinary, 'message type');
  assert.ok(Buffer.from(payload).equals(m.data), `payload of ${Buffer.from(payload).length} bytes`);
}

async function echo(payload, isBinary, opts = {}) {
  ws.send(payload, { binary: isBinary, ...opts });
  await expect(payload, isBinary);
}

async function main() {
  await once(ws, 'open');
  assert.strictEqual(ws.extensions, 'permessage-deflate', 'permessage-deflate negotiated');
  const params = ws._extensions['permessage-deflate'].params;
  assert.strictEqual(params.server_no_context_takeover, true, 'server_no_context_takeover');
  assert.strictEqual(params.client_no_context_takeover, true, 'client_no_context_takeover');

  await echo('hello', false);
  await echo('héllo wörld ✓ 😀', false);
  await echo(Buffer.from([0, 1, 2, 255]), true);
  await echo('', false);
  for (const n of [125, 126, 65535, 65536, 1024 * 1024]) {
    await echo(crypto.randomBytes(n), true); // incompressible
  }

  // Compressible messages: far fewer bytes on the wire than in the message.
  const big = 'socket.io '.repeat(100000); // 1 MB
  const sock = ws._socket;
  const read0 = sock.bytesRead;
  const written0 = sock.bytesWritten;
  await echo(big, false);
  await echo(Buffer.from(big), true);
  const read = sock.bytesRead - read0;
  const written = sock.bytesWritten - written0;
  assert.ok(written < 100000, `client sent ${written} bytes for 2 MB: not compressed`);
  assert.ok(read < 100000, `server sent ${read} bytes for 2 MB: not compressed`);

  // Uncompressed messages are fine on a deflate connection.
  await echo(big, false, { compress: false });

  // A compressed message fragmented by ws, with a ping in between.
  ws.send('frag-'.repeat(300), { fin: false });
  ws.ping('between');
  ws.send('men'.repeat(300), { fin: false });
  ws.send('ted', { fin: true });
  await expect('frag-'.repeat(300) + 'men'.repeat(300) + 'ted', false);

  // Pipelined messages come back in order.
  for (let i = 0; i < 200; i++) ws.send('m' + i + 'x'.repeat(i * 20));
  for (let i = 0; i < 200; i++) await expect('m' + i + 'x'.repeat(i * 20), false);

  const closed = once(ws, 'close');
  ws.close(4000, 'done');
  const [code] = await closed;
  assert.strictEqual(code, 4000, 'echoed close code');
  console.log('ok');
}

const timer = setTimeout(() => {
  console.error('timeout');
  process.exit(2);
}, 20000);
main().then(() => clearTimeout(timer), (err) => {
  console.error(err);
  process.exit(1);
});
