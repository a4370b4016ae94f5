// The cluster app contract (see README.md) on the official packages:
// socket.io 4.8.4 with @socket.io/redis-adapter 8.3.0 on redis 4.7.1.
// goapp/main.go implements the same contract on the Go server and adapters.
//
// Environment: PORT, REDIS_URL (or REDIS_ADDR host:port), MODE=sharded|classic|streams,
// PREFIX (channelPrefix / key; with streams also the stream name and the
// session key prefix "<PREFIX>:session:"), SUBSCRIPTION_MODE (sharded only),
// RECOVERY=1 (connectionStateRecovery),
// REQUESTS_TIMEOUT (ms, classic only: the sharded adapter takes the
// operator's timeout), EXIT_ON_STDIN_EOF=1. Prints `listening <port>`, then one JSON object a line.

import { createServer } from "node:http";
import { Server } from "socket.io";
import { serveContract } from "../../interop-common/contract.mjs";
import { createClient } from "redis";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";

const MODE = process.env.MODE || "sharded";
const PREFIX = process.env.PREFIX || "socket.io";
const REDIS_URL =
  process.env.REDIS_URL || (process.env.REDIS_ADDR ? `redis://${process.env.REDIS_ADDR}` : "redis://127.0.0.1:6379");
if (MODE !== "sharded" && MODE !== "classic" && MODE !== "streams") {
  console.error(`invalid MODE=${MODE}`);
  process.exit(2);
}

const httpServer = createServer();
httpServer.listen(Number(process.env.PORT || 0), "127.0.0.1");
await new Promise((resolve) => httpServer.once("listening", resolve));
const port = httpServer.address().port;

const pub = createClient({ url: REDIS_URL, name: `node-${port}-pub` });
const sub = pub.duplicate({ name: `node-${port}-sub` });
pub.on("error", (err) => console.error("redis pub:", err.message));
sub.on("error", (err) => console.error("redis sub:", err.message));
await Promise.all([pub.connect(), sub.connect()]);

const adapter =
  MODE === "sharded"
    ? createShardedAdapter(pub, sub, {
        channelPrefix: PREFIX,
        subscriptionMode: process.env.SUBSCRIPTION_MODE || "dynamic",
      })
    : MODE === "streams"
      ? createStreamsAdapter(pub, { streamName: PREFIX, channelPrefix: PREFIX, sessionKeyPrefix: `${PREFIX}:session:` })
      : createAdapter(pub, sub, { key: PREFIX, requestsTimeout: Number(process.env.REQUESTS_TIMEOUT || 5000) });

const io = new Server({
  adapter,
  connectionStateRecovery: process.env.RECOVERY === "1" ? { maxDisconnectionDuration: 120000 } : undefined,
});
const aux = io.of("/aux");

const noop = () => {};
if (MODE === "streams") {
  // The Streams adapter subscribes on a connection of its own: wait until
  // Redis counts the private channel of every namespace's adapter.
  for (const nsp of [io.of("/"), aux]) {
    const channel = `${PREFIX}#${nsp.name}#${nsp.adapter.uid}#`;
    for (;;) {
      const [, n] = await pub.sendCommand(["PUBSUB", "NUMSUB", channel]);
      if (Number(n) > 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
} else {
  // The adapters subscribe without waiting for Redis. A subscription of
  // ours, sent after theirs on the same connection, is confirmed after
  // theirs: from then on, the other servers count this one.
  if (MODE === "sharded") await sub.sSubscribe(`${PREFIX}-ready-${port}`, noop);
  else await sub.subscribe(`${PREFIX}-ready-${port}`, noop);
}

serveContract({ io, httpServer, port, close: () => Promise.allSettled([pub.quit(), sub.quit()]) });
