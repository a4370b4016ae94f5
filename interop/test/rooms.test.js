// Rooms and broadcasting with three clients.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { useServer, describeModes, connect, emitAck, recorder, barrier, uid, once } from "../lib/harness.js";

async function three(server, mode) {
  const [a, b, c] = await Promise.all([connect(server, "/", { mode }), connect(server, "/", { mode }), connect(server, "/", { mode })]);
  return [a.socket, b.socket, c.socket];
}

async function join(socket, ...rooms) {
  let res;
  for (const r of rooms) [res] = await emitAck(socket, "join", r);
  return res;
}

describe("rooms", () => {
  const ctx = useServer();

  describeModes("rooms", (mode) => {
    it("join / leave / rooms return the sorted room list including the socket id", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      const r1 = uid("r1-");
      const r2 = uid("r2-");
      assert.deepEqual(await emitAck(socket, "rooms"), [[socket.id]]);
      assert.deepEqual(await emitAck(socket, "join", r2), [[r2, socket.id].sort()]);
      assert.deepEqual(await emitAck(socket, "join", r1), [[r1, r2, socket.id].sort()]);
      assert.deepEqual(await emitAck(socket, "join", r1), [[r1, r2, socket.id].sort()], "joining twice is a no-op");
      assert.deepEqual(await emitAck(socket, "rooms"), [[r1, r2, socket.id].sort()]);
      assert.deepEqual(await emitAck(socket, "leave", r2), [[r1, socket.id].sort()]);
      assert.deepEqual(await emitAck(socket, "leave", "never-joined"), [[r1, socket.id].sort()]);
      assert.deepEqual(await emitAck(socket, "rooms"), [[r1, socket.id].sort()]);
    });

    it("room names are arbitrary strings (unicode, spaces)", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      const room = `salle 😀 ${uid()}`;
      assert.deepEqual(await emitAck(socket, "join", room), [[room, socket.id].sort()]);
      assert.deepEqual(await emitAck(socket, "fetch-sockets", room), [[socket.id]]);
    });

    it("to-room reaches the other room members and excludes the sender", async () => {
      const [a, b, c] = await three(ctx.server, mode);
      const room = uid("room-");
      await join(a, room);
      await join(b, room);
      const [ra, rb, rc] = [a, b, c].map((s) => recorder(s, "room-event"));
      a.emit("to-room", room, "hi", { n: 1 });
      await barrier(a, [a, b, c]);
      assert.deepEqual(rb.events, [["hi", { n: 1 }]]);
      assert.deepEqual(ra.events, []);
      assert.deepEqual(rc.events, []);
      // a non-member can target the room too
      c.emit("to-room", room, "from c");
      await barrier(c, [a, b, c]);
      assert.deepEqual(ra.events, [["from c"]]);
      assert.deepEqual(rb.events, [["hi", { n: 1 }], ["from c"]]);
      assert.deepEqual(rc.events, []);
    });

    it("in-room reaches every room member including the sender", async () => {
      const [a, b, c] = await three(ctx.server, mode);
      const room = uid("room-");
      await join(a, room);
      await join(b, room);
      const [ra, rb, rc] = [a, b, c].map((s) => recorder(s, "room-event"));
      a.emit("in-room", room, "all of us", [1, 2]);
      await barrier(a, [a, b, c]);
      assert.deepEqual(ra.events, [["all of us", [1, 2]]]);
      assert.deepEqual(rb.events, [["all of us", [1, 2]]]);
      assert.deepEqual(rc.events, []);
    });

    it("except-room reaches everybody but the room members", async () => {
      const [a, b, c] = await three(ctx.server, mode);
      const room = uid("room-");
      await join(a, room);
      await join(b, room);
      const [ra, rb, rc] = [a, b, c].map((s) => recorder(s, "except-event"));
      a.emit("except-room", room, "not you");
      await barrier(a, [a, b, c]);
      assert.deepEqual(ra.events, []);
      assert.deepEqual(rb.events, []);
      assert.deepEqual(rc.events, [["not you"]]);
    });

    it("broadcast reaches everybody but the sender", async () => {
      const [a, b, c] = await three(ctx.server, mode);
      const [ra, rb, rc] = [a, b, c].map((s) => recorder(s, "broadcast-event"));
      b.emit("broadcast", "bcast", 3);
      await barrier(b, [a, b, c]);
      assert.deepEqual(ra.events, [["bcast", 3]]);
      assert.deepEqual(rb.events, []);
      assert.deepEqual(rc.events, [["bcast", 3]]);
    });

    it("emit-all reaches everybody including the sender", async () => {
      const [a, b, c] = await three(ctx.server, mode);
      const recs = [a, b, c].map((s) => recorder(s, "all-event"));
      c.emit("emit-all", "everyone", { z: null });
      await Promise.all(recs.map((r) => r.waitFor((x) => x === "everyone")));
      for (const r of recs) assert.deepEqual(r.events[0], ["everyone", { z: null }]);
    });

    it("multi-room delivers once to a socket that is in several of the rooms", async () => {
      const [a, b, c] = await three(ctx.server, mode);
      const r1 = uid("m1-");
      const r2 = uid("m2-");
      await join(a, r1);
      await join(b, r1, r2);
      await join(c, r2);
      const [ra, rb, rc] = [a, b, c].map((s) => recorder(s, "room-event"));
      a.emit("multi-room", [r1, r2], "once", Buffer.from([9]));
      await barrier(a, [a, b, c]);
      assert.equal(rb.events.length, 1);
      assert.equal(rc.events.length, 1);
      assert.equal(rb.events[0][0], "once");
      assert.deepEqual(Buffer.from(rb.events[0][1]), Buffer.from([9]));
      assert.deepEqual(ra.events, [], "the sender is excluded even though it is in r1");
    });

    it("binary arguments are broadcast intact", async () => {
      const [a, b] = await three(ctx.server, mode);
      const room = uid("bin-");
      await join(b, room);
      const rb = recorder(b, "room-event");
      const payload = { buf: Buffer.from("bytes\u0000\u00ff"), list: [Buffer.alloc(0)] };
      a.emit("to-room", room, payload);
      const [got] = await rb.next();
      assert.deepEqual(Buffer.from(got.buf), payload.buf);
      assert.deepEqual(Buffer.from(got.list[0]), Buffer.alloc(0));
    });

    it("fetch-sockets lists the sorted ids of a room", async () => {
      const [a, b, c] = await three(ctx.server, mode);
      const room = uid("fs-");
      await join(a, room);
      await join(b, room);
      assert.deepEqual(await emitAck(c, "fetch-sockets", room), [[a.id, b.id].sort()]);
      assert.deepEqual(await emitAck(c, "fetch-sockets", a.id), [[a.id]]);
      assert.deepEqual(await emitAck(c, "fetch-sockets", uid("nobody-")), [[]]);
    });

    it("sockets-join / sockets-leave make other sockets join and leave rooms", async () => {
      const [a, b, c] = await three(ctx.server, mode);
      const r3 = uid("sj-");
      const r4 = uid("sj-");
      assert.deepEqual(await emitAck(a, "sockets-join", b.id, r3), [true]);
      assert.deepEqual(await emitAck(b, "rooms"), [[r3, b.id].sort()]);
      assert.deepEqual(await emitAck(a, "fetch-sockets", r3), [[b.id]]);
      await join(c, r3);
      // target a room: every member of r3 joins r4
      assert.deepEqual(await emitAck(a, "sockets-join", r3, r4), [true]);
      assert.deepEqual(await emitAck(a, "fetch-sockets", r4), [[b.id, c.id].sort()]);
      assert.deepEqual(await emitAck(a, "sockets-leave", b.id, r3), [true]);
      assert.deepEqual(await emitAck(b, "rooms"), [[r4, b.id].sort()]);
      assert.deepEqual(await emitAck(a, "fetch-sockets", r3), [[c.id]]);
      assert.deepEqual(await emitAck(a, "sockets-leave", r4, r4), [true]);
      assert.deepEqual(await emitAck(a, "fetch-sockets", r4), [[]]);
    });

    it("disconnect-sockets(room, false) disconnects the room members only", async () => {
      const [a, b, c] = await three(ctx.server, mode);
      const room = uid("ds-");
      await join(b, room);
      await join(c, room);
      const [bid, cid] = [b.id, c.id];
      const db = once(b, "disconnect");
      const dc = once(c, "disconnect");
      a.emit("disconnect-sockets", room, false);
      assert.deepEqual((await db)[0], "io server disconnect");
      assert.deepEqual((await dc)[0], "io server disconnect");
      assert.equal(await ctx.server.disconnectReason(bid), "server namespace disconnect");
      assert.equal(await ctx.server.disconnectReason(cid), "server namespace disconnect");
      // the sender is untouched
      assert.equal(a.connected, true);
      assert.deepEqual(await emitAck(a, "echo-ack", "alive"), ["alive"]);
      assert.equal(ctx.server.logs.some((l) => l.event === "disconnect" && l.id === a.id), false);
    });

    it("disconnect-sockets(room, true) also closes the members' connections", async () => {
      const [a, b, c] = await three(ctx.server, mode);
      const room = uid("ds-");
      await join(b, room);
      await join(c, room);
      const [bid, cid] = [b.id, c.id];
      const db = once(b, "disconnect");
      const dc = once(c, "disconnect");
      a.emit("disconnect-sockets", room, true);
      assert.deepEqual((await db)[0], "io server disconnect");
      assert.deepEqual((await dc)[0], "io server disconnect");
      assert.equal(await ctx.server.disconnectReason(bid), "server namespace disconnect");
      assert.equal(await ctx.server.disconnectReason(cid), "server namespace disconnect");
      assert.deepEqual(await emitAck(a, "echo-ack", "alive"), ["alive"]);
    });
  });
});
