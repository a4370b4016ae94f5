// Connects to a Go echo server with the independent `ws` implementation
// and checks that every message comes back unchanged. Used by
// TestInteropNodeClient; exits non-zero on failure.
'use strict';

const assert = require('node:assert');
const crypto = require('node:crypto');
const { once } = require('node:events');
const WebSocket = require('ws');

const ws = new WebSocket(process.argv[2]);
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

async function echo(payload, isBinary) {
  ws.send(payload, { binary: isBinary });
  await expect(payload, isBinary);
}

async function main() {
  await once(ws, 'open');
  assert.strictEqual(ws.extensions, '', 'no extension negotiated');

  await echo('hello', false);
  await echo('héllo wörld ✓ 😀', false);
  await echo(Buffer.from([0, 1, 2, 255]), true);
  await echo('', false);
  await echo(Buffer.alloc(0), true);
  for (const n of [125, 126, 65535, 65536, 3 * 1024 * 1024]) {
    await echo(crypto.randomBytes(n), true);
  }
  await echo('é€😀'.repeat(30000), false);

  // Fragmented by ws: the server must reassemble them.
  ws.send('frag-', { fin: false });
  ws.send('men', { fin: false });
  ws.send('ted', { fin: true });
  await expect('frag-mented', false);
  ws.send(Buffer.from([1, 2]), { binary: true, fin: false });
  ws.send(Buffer.from([3]), { binary: true, fin: true });
  await expect(Buffer.from([1, 2, 3]), true);

  // Pipelined messages come back in order.
  for (let i = 0; i < 200; i++) ws.send('m' + i);
  for (let i = 0; i < 200; i++) await expect('m' + i, false);

  // The server answers pings.
  const pong = once(ws, 'pong');
  ws.ping('are you there');
  const [pongData] = await pong;
  assert.strictEqual(pongData.toString(), 'are you there');

  // Close handshake: the server echoes the code.
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
