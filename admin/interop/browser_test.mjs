// End-to-end test of the admin package with the official dashboard: the
// built UI of @socket.io/admin-ui (ui/dist), served by a Go server
// instrumented with admin.Instrument (internal/uiserver), driven in
// Chromium by Playwright, with official socket.io-client sockets as the
// server's users.
//
//   cd admin/interop && npm ci && node --test browser_test.mjs
//
// It needs Go and Debian's Chromium at /usr/bin/chromium (or
// CHROMIUM=/path/to/chrome); playwright-core never downloads a browser.
// SCREENSHOT=path keeps a screenshot of the dashboard's socket list.
//
// The steps are sequential tests sharing one server and one browser; if one
// fails, the later ones fail too. Every wait is event-driven (a selector, a
// server line, a client event), none is a fixed sleep. The dashboard's
// icons come from a CDN, out of reach here: buttons are found by their
// icon's class.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { promisify } from "node:util";
import { chromium } from "playwright-core";
import { io } from "socket.io-client";

const adminDir = path.resolve(import.meta.dirname, "..");
const uiDir = path.join(import.meta.dirname, "node_modules", "@socket.io", "admin-ui", "ui", "dist");
const TIMEOUT = 30_000; // per action; a shared, loaded machine can be slow to render

// The password, and its bcrypt hash (cost 10) as the server is given it.
const PASSWORD = "correct horse";
const HASH = "$2a$10$sXD2M5uxKr19Ldt0v01IBuTctjVT4YGEhQvLdxYnmmA.l8w11Hyxe";

let tmp;
let server;
let baseURL;
let browser;
let page;
let alice; // a user socket on "/"
let bob; // a user socket on "/chat"
const serverLines = [];
const lineWaiters = [];

// waitLine resolves with the first server line (past or future) for which
// match is true.
function waitLine(match) {
  const found = serverLines.find(match);
  if (found) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no matching server line; got " + JSON.stringify(serverLines))), TIMEOUT);
    lineWaiters.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) });
  });
}

async function connectUser(nsp) {
  const s = io(baseURL + nsp, { transports: ["websocket"], reconnection: false });
  await once(s, "connect");
  return s;
}

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "admin-ui-test-"));
  const bin = path.join(tmp, "uiserver");
  await promisify(execFile)("go", ["build", "-o", bin, "./internal/uiserver"], { cwd: adminDir });
  server = spawn(bin, ["-ui", uiDir], { env: { ...process.env, ADMIN_PASSWORD_HASH: HASH }, stdio: ["ignore", "pipe", "inherit"] });
  const rl = readline.createInterface({ input: server.stdout });
  rl.on("line", (line) => {
    serverLines.push(line);
    for (let i = lineWaiters.length - 1; i >= 0; i--) {
      if (lineWaiters[i].match(line)) lineWaiters.splice(i, 1)[0].resolve(line);
    }
  });
  baseURL = (await waitLine((l) => l.startsWith("listening "))).split(" ")[1];
  alice = await connectUser("/");
  bob = await connectUser("/chat");
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
  });
  // At least 1264 px wide, or the navigation drawer is folded away.
  page = await browser.newPage({ viewport: { width: 1280, height: 640 } });
  page.setDefaultTimeout(TIMEOUT);
  // Fonts and icons come from CDNs: fail them at once instead of waiting
  // for name resolution.
  await page.route((url) => url.hostname !== "127.0.0.1", (route) => route.abort());
});

after(async () => {
  await browser?.close();
  alice?.close();
  bob?.close();
  if (server) {
    server.kill();
    await once(server, "exit");
  }
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function login(password) {
  const dialog = page.locator(".v-dialog");
  await dialog.getByLabel("Server URL").fill(baseURL);
  await dialog.getByLabel("Username").fill("admin");
  await dialog.getByLabel("Password").fill(password);
  await dialog.getByRole("button", { name: "Connect" }).click();
}

// openSocketPage shows the details of socket id, through the dashboard's
// router (the link of the socket list; a click there can hit the
// previous page's copy of the cell while the pages cross-fade).
async function openSocketPage(id) {
  await page.evaluate((id) => {
    location.hash = `#/n/%2F/sockets/${id}`;
  }, id);
  await page.locator("main td", { hasText: new RegExp(`^${id}$`) }).first().waitFor();
  await page.getByText("Socket details").first().waitFor();
}

// tableRow returns the row of the main table whose first cell is text.
function tableRow(text) {
  return page.locator("main tr", { has: page.locator("td:first-child", { hasText: new RegExp(`^${text.replace(/[/]/g, "\\/")}$`) }) });
}

test("a wrong password is refused", async () => {
  await page.goto(baseURL + "/");
  await login("wrong");
  await page.locator(".v-dialog").getByText("invalid credentials").waitFor();
});

test("the bcrypt password logs in", async () => {
  await login(PASSWORD);
  await page.locator("header").getByText(/^connected$/i).first().waitFor();
});

test("the dashboard lists the namespaces and their sockets", async () => {
  for (const [nsp, count] of [["/", "1"], ["/chat", "1"], ["/admin", "1"]]) {
    await tableRow(nsp).locator("td:nth-child(2)", { hasText: count }).waitFor();
  }
});

test("the socket list shows the user socket", async () => {
  await page.getByRole("link", { name: "Sockets" }).click();
  const row = tableRow(alice.id);
  await row.waitFor();
  assert.match(await row.innerText(), /WebSocket/);
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT });
});

test("a room joined from the socket page reaches the server", async () => {
  await openSocketPage(alice.id);
  await page.getByLabel("Join a room").fill("vip");
  await page.locator("main button:has(i.mdi-tag-plus-outline)").click();
  // The row appears when the server reports room_joined.
  await tableRow("vip").waitFor();
  await tableRow("lobby").waitFor();
});

test("the rooms page shows the rooms", async () => {
  await page.getByRole("link", { name: "Rooms" }).click();
  await page.getByRole("row", { name: /^lobby public 1$/i }).waitFor();
  await page.getByRole("row", { name: /^vip public 1$/i }).waitFor();
});

test("disconnecting the socket from its page disconnects it on the server", async () => {
  const id = alice.id;
  const clientSaw = once(alice, "disconnect");
  await openSocketPage(id);
  // The socket details: the client's logout button first, then the
  // socket's (a namespace disconnect, the connection stays).
  const buttons = page.locator("main button:has(i.mdi-logout)");
  await buttons.nth(1).click();
  await waitLine((l) => l === `disconnect / ${id} server namespace disconnect`);
  const [reason] = await clientSaw;
  assert.equal(reason, "io server disconnect");
  await page.locator("main").getByText(/^disconnected$/i).first().waitFor();
  // bob, on the same kind of connection in another namespace, is still
  // there.
  assert.ok(bob.connected);
});
