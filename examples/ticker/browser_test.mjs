// End-to-end test of the ticker example in Chromium, with the official
// socket.io browser client served by the Go server (Options.ServeClient).
//
//   cd examples/ticker && npm ci && node --test browser_test.mjs
//
// Three pages: alice and carol follow ACME, bob follows BOLT. Each gets the
// ticks of its room and never another room's; alice's trade shows on
// carol's chart; after alice unsubscribes, no ACME tick reaches her.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import * as h from "../internal/browsertest/harness.mjs";

let bin;
let server;
let url;
let browser;
let alice, bob, carol;

before(async () => {
  bin = await h.build("ticker");
  ({ proc: server, url } = await h.start(bin, ["-addr", "127.0.0.1:0", "-interval", "100ms"]));
  browser = await h.launch(chromium);
});

after(async () => {
  if (carol) await h.screenshot(carol, "ticker");
  await browser?.close();
  await h.stop(server);
  await h.remove(bin);
});

test("each page gets the ticks of the symbols it subscribed to, and only those", async () => {
  [alice, bob, carol] = await Promise.all([open(), open(), open()]);
  await alice.getByTestId("toggle-ACME").check();
  await bob.getByTestId("toggle-BOLT").check();
  await carol.getByTestId("toggle-ACME").check();
  await carol.getByTestId("toggle-CHIP").check();

  await ticks(alice, "ACME", 5);
  await ticks(bob, "BOLT", 5);
  await ticks(carol, "CHIP", 5);
  // The server publishes every symbol on each round: by now alice and bob
  // would have had several ticks of the other rooms, were they in them.
  assert.deepEqual(await symbolsSeen(alice), ["ACME"]);
  assert.deepEqual(await symbolsSeen(bob), ["BOLT"]);
  assert.deepEqual(await symbolsSeen(carol), ["ACME", "CHIP"]);

  // The chart is drawn from the ticks (history plus live), and the price shown.
  for (const [page, sym] of [[alice, "ACME"], [bob, "BOLT"]]) {
    const card = page.locator(`[data-testid="card"][data-symbol="${sym}"]`);
    await card.getByTestId("price").filter({ hasText: /^\d+\.\d\d$/ }).waitFor();
    const inked = await card.getByTestId("chart").evaluate((c) => {
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
      return n;
    });
    assert.ok(inked > 100, `${sym} chart has ${inked} drawn pixels`);
  }
});

test("a trade on one page moves the price on the others following the symbol", async () => {
  const before = await bob.evaluate(() => window.tickLog.length);
  await alice.locator('[data-testid="card"][data-symbol="ACME"]').getByTestId("buy").click();
  await carol
    .locator('[data-testid="card"][data-symbol="ACME"]')
    .getByTestId("last-trade")
    .filter({ hasText: /^someone bought at \d+\.\d\d$/ })
    .waitFor();
  const trade = await carol.evaluate(() => window.tickLog.find((t) => t.trade === "buy"));
  assert.equal(trade.symbol, "ACME");
  // bob follows BOLT: he keeps getting BOLT ticks, never the trade.
  await bob.waitForFunction((n) => window.tickLog.length >= n + 3, before, { timeout: h.TIMEOUT });
  assert.equal(await bob.evaluate(() => window.tickLog.filter((t) => t.trade).length), 0);
});

test("after unsubscribing, no tick of the symbol reaches the page", async () => {
  await alice.getByTestId("toggle-ACME").uncheck();
  // Set once the server acknowledged "unsubscribe".
  await alice.waitForFunction(() => document.body.dataset.unsubscribedACME !== undefined, null, { timeout: h.TIMEOUT });
  const at = Number(await alice.evaluate(() => document.body.dataset.unsubscribedACME));
  assert.equal(await alice.locator('[data-testid="card"]').count(), 0);
  // carol keeps getting ACME ticks meanwhile.
  const carolAt = await carol.evaluate(() => window.tickLog.length);
  await carol.waitForFunction(
    (n) => window.tickLog.slice(n).filter((t) => t.symbol === "ACME").length >= 5,
    carolAt,
    { timeout: h.TIMEOUT },
  );
  assert.equal(await alice.evaluate((n) => window.tickLog.length - n, at), 0);
});

async function open() {
  const page = await h.newPage(browser);
  await page.goto(url);
  await page.locator('[data-testid="status"][data-state="connected"]').waitFor();
  return page;
}

// ticks waits until page has received n ticks of sym.
function ticks(page, sym, n) {
  return page.waitForFunction(
    ([sym, n]) => window.tickLog.filter((t) => t.symbol === sym).length >= n,
    [sym, n],
    { timeout: h.TIMEOUT },
  );
}

async function symbolsSeen(page) {
  return page.evaluate(() => [...new Set(window.tickLog.map((t) => t.symbol))].sort());
}
