// End-to-end test of the whiteboard example in Chromium, with the official
// socket.io browser client served by the Go server (Options.ServeClient).
//
//   cd examples/whiteboard && npm ci && node --test browser_test.mjs
//
// alice draws with the mouse; bob sees the stroke on his canvas and
// alice's cursor; carol, who opens the page afterwards, gets the drawing;
// alice clears the board for everyone.

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
  bin = await h.build("whiteboard");
  ({ proc: server, url } = await h.start(bin, ["-addr", "127.0.0.1:0"]));
  browser = await h.launch(chromium);
});

after(async () => {
  if (carol) await h.screenshot(carol, "whiteboard");
  await browser?.close();
  await h.stop(server);
  await h.remove(bin);
});

test("a stroke drawn on one page appears on the other, not twice on its own", async () => {
  [alice, bob] = await Promise.all([open(), open()]);
  await draw(alice, [[100, 120], [200, 300], [320, 140], [420, 320]]);
  const stroke = await waitStroke(bob, 1);
  assert.equal(stroke.points.length >= 4, true, `only ${stroke.points.length} points`);
  assert.ok(await inked(bob, stroke), "bob's canvas is blank where the stroke is");
  // alice keeps her stroke once, under the id the server gave it.
  await alice.waitForFunction((id) => window.board.strokes.has(id), stroke.id, { timeout: h.TIMEOUT });
  assert.equal(await alice.evaluate(() => window.board.strokes.size), 1);
});

test("the other pages see a cursor follow the pointer", async () => {
  const box = await alice.getByTestId("canvas").boundingBox();
  await alice.mouse.move(box.x + 600, box.y + 400, { steps: 5 });
  await bob.waitForFunction(
    () => {
      const c = document.querySelector('[data-testid="cursor"]');
      return c && Math.abs(c.dataset.x - 600) <= 2 && Math.abs(c.dataset.y - 400) <= 2;
    },
    null,
    { timeout: h.TIMEOUT },
  );
  await bob.getByTestId("peers").filter({ hasText: "1 other person drawing" }).waitFor();
});

test("a page opened later gets the drawing so far", async () => {
  await draw(bob, [[500, 60], [700, 80], [760, 200]], "#dc2626");
  await waitStroke(alice, 2);
  carol = await open();
  const strokes = await carol.evaluate(() => [...window.board.strokes.values()]);
  const want = await alice.evaluate(() => [...window.board.strokes.values()].map(({ id, color, points }) => ({ id, color, points })));
  assert.deepEqual(strokes.map(({ id, color, points }) => ({ id, color, points })), want);
  for (const s of strokes) assert.ok(await inked(carol, s), `carol's canvas lacks stroke ${s.id}`);
  // And she takes part at once.
  await draw(carol, [[150, 420], [350, 460]], "#16a34a");
  await waitStroke(alice, 3);
  await waitStroke(bob, 3);
});

test("clearing the board clears it for everyone", async () => {
  await alice.getByTestId("clear").click();
  for (const page of [bob, carol]) {
    await page.waitForFunction(() => window.board.strokes.size === 0, null, { timeout: h.TIMEOUT });
    assert.equal(await inkedPixels(page), 0);
  }
  // A new page gets the empty board.
  const dave = await open();
  assert.equal(await dave.evaluate(() => window.board.strokes.size), 0);
  await dave.context().close();
  // Leave a drawing for the screenshot.
  await draw(alice, [[80, 250], [180, 150], [280, 250], [380, 150], [480, 250], [580, 150], [680, 250]], "#7c3aed");
  await draw(bob, [[120, 380], [680, 380]], "#0891b2");
  await waitStroke(carol, 2);
  await alice.mouse.move(300, 300);
});

async function open() {
  const page = await h.newPage(browser, { width: 900, height: 640 });
  await page.goto(url);
  await page.locator('[data-testid="status"][data-state="connected"]').waitFor();
  await page.waitForFunction(() => document.body.dataset.initialized === "true", null, { timeout: h.TIMEOUT });
  // Cursors are volatile: wait for the WebSocket, so that none is dropped
  // during the upgrade from long-polling.
  await page.waitForFunction(() => socket.io.engine.transport.name === "websocket", null, { timeout: h.TIMEOUT });
  return page;
}

// draw drags the mouse through points (board units; the board is 800 px
// wide at the test's viewport) and waits for the server's acknowledgement.
async function draw(page, points, color = "#2563eb") {
  await page.getByTestId("color").evaluate((el, c) => (el.value = c), color);
  const before = await page.evaluate(() => window.board.strokes.size);
  const box = await page.getByTestId("canvas").boundingBox();
  const [first, ...rest] = points;
  await page.mouse.move(box.x + first[0], box.y + first[1]);
  await page.mouse.down();
  for (const [x, y] of rest) await page.mouse.move(box.x + x, box.y + y, { steps: 4 });
  await page.mouse.up();
  await page.waitForFunction((n) => window.board.strokes.size > n, before, { timeout: h.TIMEOUT });
}

// waitStroke waits until page knows n strokes and returns the last one.
async function waitStroke(page, n) {
  await page.waitForFunction((n) => window.board.strokes.size >= n, n, { timeout: h.TIMEOUT });
  return page.evaluate(() => [...window.board.strokes.values()].at(-1));
}

// inked reports whether the canvas of page is painted at a middle point of
// the stroke.
function inked(page, stroke) {
  const [x, y] = stroke.points[Math.floor(stroke.points.length / 2)];
  return page.getByTestId("canvas").evaluate(
    (c, [x, y]) => c.getContext("2d").getImageData(Math.round(x), Math.round(y), 1, 1).data[3] > 0,
    [x, y],
  );
}

function inkedPixels(page) {
  return page.getByTestId("canvas").evaluate((c) => {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
    return n;
  });
}
