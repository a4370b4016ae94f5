// What the browser tests of the examples share: building an example,
// starting and stopping it, launching Debian's Chromium through the
// playwright-core of the calling example (passed in, so that this file needs
// no node_modules of its own), and saving a screenshot.
//
// Every wait is event-driven: a line on the server's stdout, a process exit,
// or (in the tests) a selector or predicate polled by the browser.

import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

export const TIMEOUT = 15_000; // for each wait; a step takes milliseconds
export const examplesDir = path.resolve(import.meta.dirname, "../..");

// build compiles ./<name> of the examples module into a temporary directory
// and returns the binary's path.
export async function build(name) {
  const tmp = await mkdtemp(path.join(os.tmpdir(), `${name}-test-`));
  const bin = path.join(tmp, name);
  await promisify(execFile)("go", ["build", "-o", bin, `./${name}`], { cwd: examplesDir });
  return bin;
}

// remove deletes the temporary directory of a binary made by build.
export async function remove(bin) {
  if (bin) await rm(path.dirname(bin), { recursive: true, force: true });
}

// freePort asks the kernel for a port nobody listens on.
export async function freePort() {
  const srv = net.createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const { port } = srv.address();
  srv.close();
  await once(srv, "close");
  return port;
}

// start runs bin with args and resolves, once it prints its
// "listening http://ADDR" line, to {proc, url}. LOG=1 shows its stderr.
export async function start(bin, args) {
  const proc = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  proc.stderr.on("data", (d) => {
    stderr += d;
    if (process.env.LOG) process.stderr.write(d);
  });
  const url = new Promise((resolve, reject) => {
    let out = "";
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    proc.on("exit", (code) => reject(new Error(`${bin} exited (${code}) before listening:\n${stderr}`)));
    setTimeout(() => reject(new Error(`${bin} not listening after ${TIMEOUT}ms:\n${stderr}`)), TIMEOUT).unref();
  });
  try {
    return { proc, url: await url };
  } catch (err) {
    proc.kill("SIGKILL");
    throw err;
  }
}

// stop ends the server gracefully (SIGTERM) and checks that it exited 0.
export async function stop(proc) {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, "exit");
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), TIMEOUT);
  const [code, signal] = await exited;
  clearTimeout(timer);
  assert.equal(signal, null, `server killed by ${signal}`);
  assert.equal(code, 0, `server exited with ${code}`);
}

// launch starts Chromium, never a downloaded one: /usr/bin/chromium, or
// $CHROMIUM.
export function launch(chromium) {
  return chromium.launch({
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
}

// newPage opens a page in a fresh browser context (its own cookies and
// storage, like another person's browser).
export async function newPage(browser, viewport = { width: 900, height: 560 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on("pageerror", (err) => console.error(`page error: ${err.message}`));
  return page;
}

// screenshot saves a PNG of page as <name>.png in $SCREENSHOTS (the
// docs/images directory, when refreshing the docs) or the system's
// temporary directory, and prints where.
export async function screenshot(page, name) {
  const file = path.join(process.env.SCREENSHOTS || os.tmpdir(), `${name}.png`);
  try {
    await page.screenshot({ path: file });
    console.log(`screenshot: ${file}`);
  } catch (err) {
    console.log(`no screenshot: ${err.message}`);
  }
}
