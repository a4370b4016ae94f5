// Compression in a real browser: Debian's Chromium, driven by playwright-core,
// runs the official socket.io-client bundle against the server of TARGET
// (node: official socket.io, go: interop/goserver) through a counting TCP
// proxy (lib/proxy.js). It shows that with PER_MESSAGE_DEFLATE=1 the
// browser negotiates permessage-deflate and that large messages cross in
// compressed frames both ways, and that long-polling responses are
// compressed (Chromium sends Accept-Encoding: gzip, deflate, ...) unless
// emitted with compress(false).
//
//   cd interop && npm ci && TARGET=go node --test browser/compression.test.js
//
// It needs /usr/bin/chromium (apt-get install chromium), or
// CHROMIUM=/path/to/chrome; playwright-core never downloads a browser.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { chromium } from "playwright-core";
import { startServer, TARGET, INTEROP_DIR } from "../lib/harness.js";
import { startProxy } from "../lib/proxy.js";

const BIG = 100_000;

let browser;
let page; // http server for the page
before(async () => {
  const bundle = await readFile(path.join(INTEROP_DIR, "node_modules/socket.io-client/dist/socket.io.min.js"));
  page = createServer((req, res) => {
    if (req.url === "/socket.io.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      res.end(bundle);
      return;
    }
    res.writeHead(200, { "content-type": "text/html" });
    res.end('<!doctype html><script src="/socket.io.js"></script>');
  });
  page.listen(0, "127.0.0.1");
  await once(page, "listening");
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
});

after(async () => {
  await browser?.close();
  page?.close();
});

/** Sum of the bytes the proxy carried down (server -> browser) and up. */
function traffic(proxy) {
  let up = 0;
  let down = 0;
  for (const p of proxy.pairs) {
    up += p.up;
    down += p.down;
  }
  return { up, down };
}

/**
 * Opens the page, connects the official client with `transports` through
 * the proxy and returns the page with helpers: echo(event) emits a large
 * compressible string and resolves with the proxy's byte counts for the
 * round trip.
 */
async function open(proxy, transports) {
  const p = await browser.newPage();
  await p.goto(`http://127.0.0.1:${page.address().port}/`);
  const ext = await p.evaluate(
    ([url, transports]) =>
      new Promise((resolve, reject) => {
        const socket = io(url, { transports, reconnection: false, forceNew: true });
        window.socket = socket;
        socket.on("connect_error", (err) => reject(new Error(err.message)));
        socket.on("connect", () => {
          const t = socket.io.engine.transport;
          resolve(t.name === "websocket" ? t.ws.extensions : "(polling)");
        });
      }),
    [proxy.url, transports],
  );
  const echo = async (event) => {
    const before = traffic(proxy);
    const ok = await p.evaluate(
      ([event, n]) =>
        new Promise((resolve) => {
          const big = "chromium compresses this. ".repeat(Math.ceil(n / 26)).slice(0, n);
          window.socket.once("echo", (got) => resolve(got === big));
          window.socket.emit(event, big);
        }),
      [event, BIG],
    );
    assert.ok(ok, "echo differs");
    const after = traffic(proxy);
    return { up: after.up - before.up, down: after.down - before.down };
  };
  return { page: p, ext, echo };
}

describe(`compression in Chromium [${TARGET}]`, () => {
  let server;
  let proxy;
  before(async () => {
    server = await startServer({ env: { PER_MESSAGE_DEFLATE: 1 } });
    proxy = await startProxy(server);
  });
  after(async () => {
    await proxy?.stop();
    await server?.stop();
  });

  it("websocket: permessage-deflate is negotiated and used both ways", async () => {
    const c = await open(proxy, ["websocket"]);
    assert.match(c.ext, /^permessage-deflate/);
    if (TARGET === "go") {
      assert.equal(c.ext, "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    }
    const t = await c.echo("echo");
    assert.ok(t.up < BIG / 10, `browser sent ${t.up} bytes for ${BIG}`);
    assert.ok(t.down < BIG / 10, `server sent ${t.down} bytes for ${BIG}`);
    if (TARGET === "go") {
      // compress(false) is honoured (the official server compresses anyway)
      const u = await c.echo("echo-uncompressed");
      assert.ok(u.down > BIG, `server sent ${u.down} bytes for ${BIG} with compress(false)`);
    }
    await c.page.close();
  });

  it("polling: responses are compressed for Chromium's Accept-Encoding, unless compress(false)", async () => {
    const c = await open(proxy, ["polling"]);
    const t = await c.echo("echo");
    assert.ok(t.down < BIG / 5, `server sent ${t.down} bytes for ${BIG}`);
    const u = await c.echo("echo-uncompressed");
    assert.ok(u.down > BIG, `server sent ${u.down} bytes for ${BIG} with compress(false)`);
    await c.page.close();
  });
});
