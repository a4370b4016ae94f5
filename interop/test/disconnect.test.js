// Disconnect reasons, as seen by the client ("disconnect" event) and by the
// server (the app's disconnect log line).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  useServer,
  startServer,
  closeClient,
  describeModes,
  connect,
  createManager,
  ready,
  emitAck,
  once,
  MODES,
  TARGET,
  withTimeout,
} from "../lib/harness.js";
import { RawWs } from "../lib/raw.js";

describe("disconnect", () => {
  const ctx = useServer();

  describeModes("disconnect", (mode) => {
    it('client socket.disconnect() -> client "io client disconnect", server "client namespace disconnect"', async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      const id = socket.id;
      const d = once(socket, "disconnect");
      socket.disconnect();
      assert.equal((await d)[0], "io client disconnect");
      assert.equal(await ctx.server.disconnectReason(id), "client namespace disconnect");
      const log = ctx.server.logs.find((l) => l.event === "disconnect" && l.id === id);
      assert.deepEqual(log, { event: "disconnect", nsp: "/", id, reason: "client namespace disconnect" });
    });

    it('disconnect-me(false) -> client "io server disconnect", server "server namespace disconnect"', async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      const id = socket.id;
      const d = once(socket, "disconnect");
      socket.emit("disconnect-me", false);
      assert.equal((await d)[0], "io server disconnect");
      assert.equal(await ctx.server.disconnectReason(id), "server namespace disconnect");
    });

    it('disconnect-me(true) -> client "io server disconnect", server "server namespace disconnect"', async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      const id = socket.id;
      const d = once(socket, "disconnect");
      socket.emit("disconnect-me", true);
      assert.equal((await d)[0], "io server disconnect");
      assert.equal(await ctx.server.disconnectReason(id), "server namespace disconnect");
    });

    it("disconnect-me(false) keeps the engine connection: other namespaces stay connected", async () => {
      const manager = createManager(ctx.server, { mode });
      const root = manager.socket("/");
      const custom = manager.socket("/custom");
      await ready(root, mode);
      await ready(custom, mode);
      const rootId = root.id;
      const d = once(root, "disconnect");
      root.emit("disconnect-me", false);
      assert.equal((await d)[0], "io server disconnect");
      assert.equal(await ctx.server.disconnectReason(rootId), "server namespace disconnect");
      assert.equal(custom.connected, true);
      assert.deepEqual(await emitAck(custom, "echo-ack", "custom alive"), ["custom alive"]);
    });

    it("disconnect-me(true) closes the engine connection: every namespace is disconnected", async () => {
      const manager = createManager(ctx.server, { mode });
      const root = manager.socket("/");
      const custom = manager.socket("/custom");
      await ready(root, mode);
      await ready(custom, mode);
      const [rootId, customId] = [root.id, custom.id];
      const dr = once(root, "disconnect");
      const dc = once(custom, "disconnect");
      root.emit("disconnect-me", true);
      assert.equal((await dr)[0], "io server disconnect");
      assert.equal((await dc)[0], "io server disconnect");
      assert.equal(await ctx.server.disconnectReason(rootId), "server namespace disconnect");
      assert.equal(await ctx.server.disconnectReason(customId), "server namespace disconnect");
    });

    it('client engine close -> client "forced close", server "transport close"', async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      const id = socket.id;
      const d = once(socket, "disconnect");
      socket.io.engine.close();
      assert.equal((await d)[0], "forced close");
      assert.equal(await ctx.server.disconnectReason(id), "transport close");
    });

    it('client engine close with two namespaces -> "transport close" for both on the server', async () => {
      const manager = createManager(ctx.server, { mode });
      const root = manager.socket("/");
      const custom = manager.socket("/custom");
      await ready(root, mode);
      await ready(custom, mode);
      const [rootId, customId] = [root.id, custom.id];
      manager.engine.close();
      assert.equal(await ctx.server.disconnectReason(rootId), "transport close");
      assert.equal(await ctx.server.disconnectReason(customId), "transport close");
      const l = ctx.server.logs.find((x) => x.event === "disconnect" && x.id === customId);
      assert.equal(l.nsp, "/custom");
    });
  });
});

describe("server shutdown (SIGTERM)", () => {
  // The client's reason: "transport close" on WebSocket (a close frame). On
  // long-polling the official server answers the pending GET with a CLOSE
  // packet ("transport close"), after which python-socketio does not
  // reconnect; the Go server ends that GET without a response, as when the
  // official server's process exits ("transport error"), so that every
  // client library reconnects (docs/conformance.md).
  const shutdownReason = (mode) =>
    mode.name === "polling" && TARGET === "go" ? "transport error" : "transport close";
  it('every socket gets "server shutting down" on the server and "transport close" on the client (Go, polling: "transport error"); exit code 0', async () => {
    const server = await startServer();
    const clients = [];
    try {
      for (const mode of MODES) {
        clients.push({ mode, ...(await connect(server, "/", { mode })) });
        clients.push({ mode, ...(await connect(server, "/custom", { mode })) });
      }
      const raw = new RawWs(server);
      const rawSid = await raw.connectNamespace("/");
      const ids = clients.map((c) => c.socket.id);
      const reasons = clients.map((c) => once(c.socket, "disconnect", 8000));
      const exit = await server.stop("SIGTERM");
      assert.deepEqual(exit, { code: 0, signal: null });
      // websocket: a close frame without status code
      assert.equal((await raw.waitClosed()).code, 1005);
      assert.equal(await server.disconnectReason(rawSid, 100), "server shutting down");
      const clientReasons = (await Promise.all(reasons)).map((r) => r[0]);
      assert.deepEqual(clientReasons, clients.map((c) => shutdownReason(c.mode)));
      for (const id of ids) {
        assert.equal(await server.disconnectReason(id, 100), "server shutting down");
      }
    } finally {
      for (const c of clients) closeClient(c.socket);
      await withTimeout(server.stop("SIGKILL"), 8000, "server exit");
    }
  });
});
