// A `ws` server for TestInteropNodeServer: prints "PORT <n>", then serves
// one connection: greets it, sends a fragmented message and a ping, echoes
// messages, and closes with 4001 when asked to. Exits when the connection
// is closed. With the argument "deflate" it enables permessage-deflate
// (compressing every message) and sends a large compressible message
// after the greeting.
'use strict';

const { WebSocketServer } = require('ws');

const deflate = process.argv[2] === 'deflate';
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  perMessageDeflate: deflate ? { threshold: 0 } : false,
  maxPayload: 8 << 20,
});
wss.on('listening', () => console.log('PORT ' + wss.address().port));
wss.on('connection', (ws, req) => {
  ws.send('welcome cookie=' + (req.headers.cookie || ''));
  if (deflate) ws.send('extensions=' + ws.extensions + ' ' + 'big '.repeat(100000));
  ws.send('frag-', { fin: false });
  ws.send('mented', { fin: true });
  ws.on('pong', (data) => ws.send('pong:' + data.toString()));
  ws.ping('srv-ping');
  ws.on('message', (data, isBinary) => {
    if (!isBinary && data.toString() === 'close-me') {
      ws.close(4001, 'bye');
      return;
    }
    ws.send(data, { binary: isBinary });
  });
  ws.on('close', (code) => {
    console.log('CLOSED ' + code);
    wss.close();
  });
});

setTimeout(() => {
  console.error('timeout');
  process.exit(2);
}, 20000).unref();
