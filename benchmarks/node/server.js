// The official socket.io 4.8.4 server with the benchmark contract of
// cmd/benchserver: default options (pingInterval 25 s, pingTimeout 20 s,
// maxHttpBufferSize 1e6, both transports), listening on 127.0.0.1:$PORT
// (default 3000); on namespace "/", "bcast" is broadcast with the same
// arguments to every socket of the namespace (io.emit), and "echo" is
// acknowledged with the same arguments. Nothing else runs in the process.
// With RECOVERY=1, connection state recovery is on
// (connectionStateRecovery: {maxDisconnectionDuration: 120000,
// skipMiddlewares: true}), as cmd/benchserver with RECOVERY=1; it is off by
// default.
//
// With REDIS_ADDR=host:port, the server is a node of a cluster on that
// Redis through the official @socket.io/redis-adapter 8.3.0 (redis 4.7.1
// clients): ADAPTER=classic (createAdapter, key $PREFIX; the default) or
// sharded (createShardedAdapter, channelPrefix $PREFIX, SPUBLISH, Redis 7).
// It listens only once the adapter's subscriptions are confirmed. This is
// the official side of the suite's cluster scenario; cmd/clusterserver is
// ours.
//
// With ADAPTER=postgres, the server is a node of a cluster on PostgreSQL
// through the official @socket.io/postgres-adapter 0.5.0 (pg 8.23.1):
// PG_URL (default postgres://postgres@127.0.0.1:5432/test), channelPrefix
// $PREFIX, tableName $PG_TABLE (default siobench_attachments, created if
// missing). It listens once the adapter LISTENs (its connection, named
// siobench-<port>, shows the LISTEN in pg_stat_activity).
"use strict";

const { createServer } = require("node:http");
const { Server } = require("socket.io");

const port = Number(process.env.PORT || 3000);
const httpServer = createServer();
const recovery = process.env.RECOVERY === "1";
const io = new Server(
  httpServer,
  recovery ? { connectionStateRecovery: { maxDisconnectionDuration: 120000, skipMiddlewares: true } } : undefined,
);

// cluster returns a description of the cluster setup, or "" without Redis.
async function cluster() {
  if (process.env.ADAPTER === "postgres") return postgresCluster();
  const addr = process.env.REDIS_ADDR;
  if (!addr) return "";
  const mode = process.env.ADAPTER || "classic";
  const prefix = process.env.PREFIX || "socket.io";
  if (mode !== "classic" && mode !== "sharded") throw new Error(`invalid ADAPTER=${mode}`);
  const { createClient } = require("redis");
  const { createAdapter, createShardedAdapter } = require("@socket.io/redis-adapter");
  const pub = createClient({ url: `redis://${addr}` });
  const sub = pub.duplicate();
  pub.on("error", (err) => console.error("redis pub:", err.message));
  sub.on("error", (err) => console.error("redis sub:", err.message));
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(
    mode === "sharded" ? createShardedAdapter(pub, sub, { channelPrefix: prefix }) : createAdapter(pub, sub, { key: prefix }),
  );
  // The adapter subscribes without waiting for Redis; a subscription sent
  // after its own on the same connection is confirmed after them.
  const ready = `${prefix}-ready-${port}`;
  if (mode === "sharded") await sub.sSubscribe(ready, () => {});
  else await sub.subscribe(ready, () => {});
  return ` (redis adapter ${mode} on ${addr}, prefix ${prefix})`;
}

async function postgresCluster() {
  const pg = require("pg");
  const { createAdapter } = require("@socket.io/postgres-adapter");
  const url = process.env.PG_URL || "postgres://postgres@127.0.0.1:5432/test";
  const prefix = process.env.PREFIX || "socket.io";
  const table = process.env.PG_TABLE || "siobench_attachments";
  const name = `siobench-${port}`;
  const pool = new pg.Pool({ connectionString: url, application_name: name });
  pool.on("error", (err) => console.error("pg pool:", err.message));
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${table} (id bigserial UNIQUE, created_at timestamptz DEFAULT NOW(), payload bytea)`,
  );
  io.adapter(createAdapter(pool, { channelPrefix: prefix, tableName: table }));
  for (;;) {
    const { rows } = await pool.query(
      "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND query = $2 AND state = 'idle'",
      [name, `LISTEN "${prefix}#/"`],
    );
    if (rows.length) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  return ` (postgres adapter on ${url}, prefix ${prefix}, table ${table})`;
}

io.on("connection", (socket) => {
  socket.on("bcast", (...args) => {
    io.emit("bcast", ...args);
  });
  socket.on("echo", (...args) => {
    const ack = args.length > 0 && typeof args[args.length - 1] === "function" ? args.pop() : null;
    if (ack) ack(...args);
  });
});

cluster().then(
  (desc) => {
    httpServer.listen(port, "127.0.0.1", () => {
      const rec = recovery ? " (connection state recovery on)" : "";
      console.log(`socket.io ${require("socket.io/package.json").version} listening on 127.0.0.1:${port}${rec}${desc}`);
    });
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => {
    io.close();
    process.exit(0);
  });
}
