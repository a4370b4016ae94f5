// Acknowledgements in both directions.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { useServer, describeModes, connect, emitAck, withTimeout, uid } from "../lib/harness.js";

describe("acks", () => {
  const ctx = useServer();

  describeModes("acks", (mode) => {
    it("client->server ack with no arguments", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      assert.deepEqual(await emitAck(socket, "echo-ack"), []);
    });

    it("client->server ack with several arguments", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      const args = ["a", 1, { b: [true, null] }, [], ""];
      assert.deepEqual(await emitAck(socket, "echo-ack", ...args), args);
    });

    it("concurrent acks are matched to their emits", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => emitAck(socket, "echo-ack", i, `v${i}`)));
      results.forEach((r, i) => assert.deepEqual(r, [i, `v${i}`]));
    });

    it("emitWithAck resolves with the first ack argument", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      assert.deepEqual(await socket.timeout(3000).emitWithAck("echo-ack", { x: 1 }, "second"), { x: 1 });
    });

    it("client-side timeout: emitWithAck rejects when the server never acks", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      // "echo" never acknowledges, and unknown events are ignored
      await assert.rejects(socket.timeout(300).emitWithAck("no-such-event", 1), { message: "operation has timed out" });
      await assert.rejects(socket.timeout(300).emitWithAck("echo", 1), { message: "operation has timed out" });
      // the connection is still fine afterwards
      assert.deepEqual(await emitAck(socket, "echo-ack", "ok"), ["ok"]);
    });

    it("server->client ack (ask): the client's answer is returned", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      const questions = [];
      socket.on("question", (arg, cb) => {
        questions.push(arg);
        cb({ answered: arg, extra: [1, "two"] });
      });
      const [res] = await emitAck(socket, "ask", { q: "what?" });
      assert.deepEqual(questions, [{ q: "what?" }]);
      assert.deepEqual(res, { ok: true, answer: { answered: { q: "what?" }, extra: [1, "two"] } });
    });

    it("server->client ack: only the first argument of the client's ack is the answer", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      socket.on("question", (arg, cb) => cb("first", "second"));
      assert.deepEqual(await emitAck(socket, "ask", 0), [{ ok: true, answer: "first" }]);
    });

    it("a handler waiting for an ack does not hold up the socket's next events", async () => {
      // The server's "ask" handler waits for the answer to "question"; the
      // client answers only after an ack of its own ("echo-ack"), which the
      // server must handle meanwhile, as Node.js does.
      const { socket } = await connect(ctx.server, "/", { mode });
      socket.on("question", async (arg, cb) => {
        const [looked] = await emitAck(socket, "echo-ack", "lookup", arg);
        cb({ looked });
      });
      const t0 = Date.now();
      const [res] = await emitAck(socket, "ask", 5);
      assert.deepEqual(res, { ok: true, answer: { looked: "lookup" } });
      assert.ok(Date.now() - t0 < 1500, "answered before the 2 s timeout");
    });

    it("server->client ack times out after 2 s when the client never answers", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      let asked = 0;
      socket.on("question", () => {
        asked++; // never calls the ack
      });
      const t0 = Date.now();
      const res = await withTimeout(
        new Promise((resolve) => socket.emit("ask", "silent", resolve)),
        4500,
        "ask {ok:false} ack",
      );
      const elapsed = Date.now() - t0;
      assert.deepEqual(res, { ok: false });
      assert.equal(asked, 1);
      assert.ok(elapsed >= 1800, `ack came after ${elapsed} ms, expected ~2000 ms`);
    });

    it("ask-all collects the acks of every socket in a room (sorted by JSON)", async () => {
      const room = uid("ask-");
      const a = await connect(ctx.server, "/", { mode });
      const b = await connect(ctx.server, "/", { mode });
      const c = await connect(ctx.server, "/", { mode });
      a.socket.on("question", (arg, cb) => cb({ from: "a", arg }));
      b.socket.on("question", (arg, cb) => cb({ from: "b", arg }));
      let cAsked = 0;
      c.socket.on("question", (arg, cb) => {
        cAsked++;
        cb({ from: "c" });
      });
      await emitAck(a.socket, "join", room);
      await emitAck(b.socket, "join", room);
      const [res] = await emitAck(c.socket, "ask-all", room, 7);
      assert.deepEqual(res, { ok: true, answers: [{ from: "a", arg: 7 }, { from: "b", arg: 7 }] });
      assert.equal(cAsked, 0);
    });

    it("ask-all on an empty room answers immediately with no answers", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      const t0 = Date.now();
      const [res] = await emitAck(socket, "ask-all", uid("empty-"), 1);
      assert.deepEqual(res, { ok: true, answers: [] });
      assert.ok(Date.now() - t0 < 1900, "no 2 s timeout when nobody has to answer");
    });

    it("ask-all where a socket disconnects instead of answering fails (as a timeout)", async () => {
      const room = uid("gone-");
      const a = await connect(ctx.server, "/", { mode });
      const b = await connect(ctx.server, "/", { mode });
      const c = await connect(ctx.server, "/", { mode });
      a.socket.on("question", (arg, cb) => cb({ from: "a" }));
      b.socket.on("question", () => b.socket.disconnect());
      await emitAck(a.socket, "join", room);
      await emitAck(b.socket, "join", room);
      const [res] = await emitAck(c.socket, "ask-all", room, 1);
      assert.deepEqual(res, { ok: false });
    });
  });
});
