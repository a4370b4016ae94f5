// End-to-end test of the chat example in a real browser: the Go server,
// the page, and the official socket.io client, driven by Playwright.
//
//   cd examples/chat && npm ci && node --test browser_test.mjs
//
// It needs Go and Debian's Chromium (apt-get install chromium) at
// /usr/bin/chromium, or CHROMIUM=/path/to/chrome. playwright-core never
// downloads a browser.
//
// The steps are sequential tests sharing one server and one browser; if one
// fails, the later ones fail too. Every wait is event-driven (a selector or
// a predicate polled by the browser), none is a fixed sleep.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { chromium } from "playwright-core";

const examplesDir = path.resolve(import.meta.dirname, "..");
const TIMEOUT = 15_000; // for each wait; generous, a step takes milliseconds

let tmp; // temporary directory: binary and screenshot
let bin; // the built example
let port;
let baseURL;
let server; // the running chat process
let browser;
let alice;
let bob;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "chat-test-"));
  bin = path.join(tmp, "chat");
  await promisify(execFile)("go", ["build", "-o", bin, "./chat"], { cwd: examplesDir });
  port = await freePort();
  baseURL = `http://127.0.0.1:${port}`;
  server = await startServer();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
    ],
  });
});

after(async () => {
  // Runs even when a step failed: leave a screenshot to look at, close the
  // browser, stop the server.
  if (alice) {
    const file = path.join(process.env.SCREENSHOTS || tmp, "chat.png");
    try {
      await alice.screenshot({ path: file });
      console.log(`screenshot: ${file}`);
    } catch (err) {
      console.log(`no screenshot: ${err.message}`);
    }
  }
  await browser?.close();
  await stopServer(server);
  if (bin) await rm(bin, { force: true });
});

test("alice and bob join the lobby", async () => {
  alice = await openChat("alice");
  bob = await openChat("bob");
  await waitForUsers(alice, ["alice", "bob"]);
  await waitForUsers(bob, ["alice", "bob"]);
  await notice(alice, "bob joined #lobby").waitFor();
  assert.equal(await alice.getByTestId("me").textContent(), "alice");
  // The client starts with HTTP long-polling and upgrades to WebSocket
  // (same origin: no CORS policy needed for either).
  for (const page of [alice, bob]) {
    await page.waitForFunction(() => socket.io.engine.transport.name === "websocket", null, { timeout: TIMEOUT });
  }
});

test("a message reaches the room, sender included", async () => {
  await say(alice, "hello bob!");
  await message(bob, "alice", "hello bob!").waitFor();
  await message(alice, "alice", "hello bob!").waitFor();
});

test("typing indicator shows while bob types and goes away when he sends", async () => {
  const input = bob.getByTestId("message-input");
  await input.pressSequentially("hi ali");
  const indicator = alice.getByTestId("typing").filter({ hasText: "bob is typing…" });
  await indicator.waitFor();
  // Not shown to the one typing.
  assert.equal(await bob.getByTestId("typing").textContent(), "");
  await input.pressSequentially("ce");
  await input.press("Enter");
  await message(alice, "bob", "hi alice").waitFor();
  await indicator.waitFor({ state: "hidden" });
});

test("bob moves to #go: alice sees him leave and no longer gets his messages", async () => {
  await bob.getByTestId("room-go").click();
  await bob.locator('[data-testid="current-room"]', { hasText: /^go$/ }).waitFor();
  await waitForUsers(bob, ["bob"]);
  await notice(alice, "bob left #lobby").waitFor();
  await waitForUsers(alice, ["alice"]);

  await say(bob, "anyone into Go here?");
  await message(bob, "bob", "anyone into Go here?").waitFor();
  // bob's message was broadcast before he got it back, so if alice were
  // to get it, it would arrive before her own next message: once she sees
  // hers, the absence of bob's is meaningful.
  await say(alice, "quiet in here");
  await message(alice, "alice", "quiet in here").waitFor();
  assert.equal(await message(alice, "bob", "anyone into Go here?").count(), 0);
});

test("an empty nickname is refused by the server's middleware", async () => {
  const page = await newPage();
  try {
    await page.goto(baseURL);
    await page.getByTestId("login-button").click();
    await page.getByTestId("login-error").filter({ hasText: "invalid nickname" }).waitFor();
    await page.locator('[data-testid="status"][data-state="offline"]').waitFor();
    assert.ok(await page.getByTestId("login-form").isVisible());
  } finally {
    await page.context().close();
  }
});

test("the page shows the outage and reconnects when the server is back", async () => {
  await stopServer(server);
  server = undefined;
  for (const page of [alice, bob]) {
    await page.locator('[data-testid="status"][data-state="reconnecting"]').waitFor();
  }
  await notice(alice, "Connection lost. Reconnecting…").waitFor();

  server = await startServer(); // same port
  for (const page of [alice, bob]) {
    await page.locator('[data-testid="status"][data-state="connected"]').waitFor();
  }
  // The auth payload is re-evaluated on reconnection: bob is back in #go.
  await notice(bob, "Reconnected to #go.").waitFor();
  await waitForUsers(bob, ["bob"]);

  // And they can chat again, bob back in the lobby.
  await bob.getByTestId("room-lobby").click();
  await waitForUsers(alice, ["alice", "bob"]);
  await say(alice, "welcome back!");
  await message(bob, "alice", "welcome back!").waitFor();
  await say(bob, "thanks, the Go server restarted quickly");
  await message(alice, "bob", "thanks, the Go server restarted quickly").waitFor();
});

test("a page cut off for a while misses nothing, and shows a banner meanwhile", async () => {
  // Cut alice's connection and keep her from reconnecting: her page's
  // requests to the Socket.IO server fail (a reconnection starts with an
  // HTTP long-polling handshake) until the route is removed.
  const sio = (url) => new URL(url).pathname === "/socket.io/";
  await alice.route(sio, (route) => route.abort("internetdisconnected"));
  await alice.evaluate(() => socket.io.engine.close());
  await alice.getByTestId("banner").waitFor({ state: "visible" });
  await alice.locator('[data-testid="status"][data-state="reconnecting"]').waitFor();

  const missed = ["are you there?", "alice?", "ok, talk later"];
  for (const text of missed) {
    await say(bob, text);
    await message(bob, "bob", text).waitFor(); // stamped and broadcast
  }
  assert.equal(await message(alice, "bob", missed[0]).count(), 0);

  await alice.unroute(sio);
  await alice.locator('[data-testid="status"][data-state="connected"]').waitFor();
  await alice.getByTestId("banner").waitFor({ state: "hidden" });
  // Recovered: same socket, and what was sent meanwhile was delivered, once.
  assert.equal(await alice.getByTestId("status").getAttribute("data-recovered"), "true");
  await notice(alice, "Reconnected to #lobby; nothing was missed.").waitFor();
  for (const text of missed) {
    await message(alice, "bob", text).waitFor();
    assert.equal(await message(alice, "bob", text).count(), 1, text);
  }
  // The server told the room alice left (she was still in it when the
  // notice was stored for recovery): her page does not show it to her.
  assert.equal(await notice(alice, "alice left #lobby").count(), 0);
  // In the order they were sent.
  const texts = await alice.locator('[data-testid="message"][data-from="bob"] .text').allTextContents();
  assert.deepEqual(texts.slice(-3), missed);

  await say(alice, "back!");
  await message(bob, "alice", "back!").waitFor();
});

test("a newcomer gets the room's recent history", async () => {
  const carol = await openChat("carol");
  try {
    await message(carol, "alice", "back!").waitFor();
    const texts = await carol.locator('[data-testid="message"] .text').allTextContents();
    // Since the restart of the server, in order.
    assert.deepEqual(texts, [
      "welcome back!",
      "thanks, the Go server restarted quickly",
      "are you there?",
      "alice?",
      "ok, talk later",
      "back!",
    ]);
  } finally {
    await carol.context().close();
  }
  await waitForUsers(alice, ["alice", "bob"]);
});

// ---- helpers ----------------------------------------------------------------

// newPage opens a page in a fresh browser context (its own cookies and
// storage, like another person's browser).
async function newPage() {
  const context = await browser.newContext({ viewport: { width: 960, height: 640 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on("pageerror", (err) => console.error(`page error: ${err.message}`));
  return page;
}

// openChat opens the chat and enters it as nick.
async function openChat(nick) {
  const page = await newPage();
  await page.goto(baseURL);
  await page.getByTestId("nick-input").fill(nick);
  await page.getByTestId("login-button").click();
  await page.locator('[data-testid="status"][data-state="connected"]').waitFor();
  return page;
}

async function say(page, text) {
  await page.getByTestId("message-input").fill(text);
  await page.getByTestId("send-button").click();
}

// message locates a chat message from a user with exactly this text.
function message(page, from, text) {
  return page
    .locator(`[data-testid="message"][data-from="${from}"]`)
    .filter({ has: page.locator(".text", { hasText: new RegExp(`^${escapeRegExp(text)}$`) }) });
}

function notice(page, text) {
  return page.getByTestId("notice").filter({ hasText: text }).last();
}

// waitForUsers waits until the user list holds exactly these nicknames.
async function waitForUsers(page, nicks) {
  await page.waitForFunction(
    (want) => {
      const shown = [...document.querySelectorAll('[data-testid="user"]')].map((li) => li.dataset.nick);
      return JSON.stringify(shown) === JSON.stringify(want);
    },
    nicks,
    { timeout: TIMEOUT },
  );
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// freePort asks the kernel for a port nobody listens on.
async function freePort() {
  const srv = net.createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const { port } = srv.address();
  srv.close();
  await once(srv, "close");
  return port;
}

// startServer starts the chat on the test port and resolves once it prints
// its "listening" line.
async function startServer() {
  const proc = spawn(bin, ["-addr", `127.0.0.1:${port}`], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  proc.stderr.on("data", (d) => {
    stderr += d;
    if (process.env.CHAT_LOG) process.stderr.write(d);
  });
  const listening = new Promise((resolve, reject) => {
    let out = "";
    proc.stdout.on("data", (d) => {
      out += d;
      if (out.includes("listening http://")) resolve();
    });
    proc.on("exit", (code) => reject(new Error(`chat exited (${code}) before listening:\n${stderr}`)));
    setTimeout(() => reject(new Error(`chat not listening after ${TIMEOUT}ms:\n${stderr}`)), TIMEOUT).unref();
  });
  try {
    await listening;
  } catch (err) {
    proc.kill("SIGKILL");
    throw err;
  }
  return proc;
}

// stopServer stops the chat gracefully (SIGTERM) and waits for it to exit,
// killing it if it takes too long.
async function stopServer(proc) {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, "exit");
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), TIMEOUT);
  const [code, signal] = await exited;
  clearTimeout(timer);
  assert.equal(signal, null, `chat killed by ${signal}`);
  assert.equal(code, 0, `chat exited with ${code}`);
}
