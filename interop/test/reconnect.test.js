// Automatic reconnection of the official client after the server goes away
// and comes back on the same port.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, describeModes, connect, emitAck, once, closeAllClients } from "../lib/harness.js";

describe("reconnection", () => {
  let server;
  after(async () => {
    closeAllClients();
    if (server) await server.stop("SIGKILL");
  });

  describeModes("reconnect", (mode) => {
    it("the client reconnects with a new id after the server restarts on the same port", async () => {
      if (!server) server = await startServer();
      const { socket, hello } = await connect(server, "/", {
        mode,
        auth: { token: "again" },
        reconnection: true,
        reconnectionDelay: 100,
        reconnectionDelayMax: 200,
        randomizationFactor: 0,
        reconnectionAttempts: 100,
      });
      const firstId = socket.id;
      assert.equal(hello.id, firstId);
      const port = server.port;

      const disconnected = once(socket, "disconnect");
      await server.stop("SIGKILL"); // crash: no close handshake at all
      const [reason] = await disconnected;
      // the pending long-poll fails ("xhr poll error") vs the websocket is closed
      assert.equal(reason, mode.expectTransport === "polling" ? "transport error" : "transport close");
      assert.equal(socket.connected, false);
      assert.equal(socket.active, true, "the client keeps trying to reconnect");

      const reconnected = once(socket, "connect", 10000);
      const helloAgain = once(socket, "hello", 10000);
      const managerReconnect = once(socket.io, "reconnect", 10000);
      server = await startServer({ port });
      assert.equal(server.port, port);
      await reconnected;
      const [attempts] = await managerReconnect;
      const [h2] = await helloAgain;
      assert.ok(attempts >= 1);
      assert.notEqual(socket.id, firstId);
      assert.deepEqual(h2, { id: socket.id, nsp: "/", auth: { token: "again" } });
      assert.equal((await server.waitForLog({ event: "connection", id: socket.id })).nsp, "/");
      assert.deepEqual(await emitAck(socket, "echo-ack", "back"), ["back"]);
    });
  });
});
