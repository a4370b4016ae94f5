// Official socket.io-client in headless Chromium, one socket per transport,
// reporting its lifecycle as JSON lines on stdout until stdin ends. The
// client bundle comes from interop/node_modules.
//
//   node browser_clients.mjs <url> <reconnection delay ms>
// playwright-core comes from examples/chat/node_modules; it never downloads
// a browser: Debian's /usr/bin/chromium, or CHROMIUM.
import { createRequire } from "node:module";

const require = createRequire(new URL("../../../examples/chat/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const bundle = new URL("../../node_modules/socket.io-client/dist/socket.io.min.js", import.meta.url).pathname;

const [url, delay] = [process.argv[2], Number(process.argv[3])];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
});
const page = await browser.newPage();
// The page must come from the server itself: Chromium's local network
// access checks block a WebSocket to 127.0.0.1 from a page Playwright
// fulfills. Any path of the server does (here a 404 page, whose origin is
// the server's, so that every request is same-origin).
await page.exposeFunction("report", (e) => process.stdout.write(JSON.stringify(e) + "\n"));
await page.goto(new URL("/restart-test", url).href);
await page.addScriptTag({ path: bundle });
await page.evaluate(
  ([url, delay]) => {
    for (const transport of ["polling", "websocket"]) {
      const s = io(url, {
        transports: [transport],
        forceNew: true,
        reconnectionDelay: delay,
        reconnectionDelayMax: delay,
        randomizationFactor: 0,
      });
      s.on("connect", () => report({ transport, event: "connect", via: s.io.engine.transport.name }));
      s.on("disconnect", (reason) => report({ transport, event: "disconnect", reason }));
      s.on("connect_error", (err) => report({ transport, error: String(err) })); // logged on failure
    }
  },
  [url, delay],
);
process.stdin.resume();
process.stdin.on("end", async () => {
  await browser.close();
  process.exit(0);
});
