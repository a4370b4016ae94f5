// The cluster app contract (see README.md) on the official packages:
// socket.io 4.8.4 with @socket.io/postgres-adapter 0.5.0 on pg 8.23.1.
// goapp/main.go implements the same contract on the Go server and adapter.
//
// Environment: PORT, PG_URL, PREFIX (channelPrefix and tableName),
// HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT, PAYLOAD_THRESHOLD (ms, ms, bytes),
// NO_CLIENT_ERROR_HANDLER=1 (below), EXIT_ON_STDIN_EOF=1. Prints `listening <port>` once it LISTENs, then one
// JSON object a line.

import { createServer } from "node:http";
import { Server } from "socket.io";
import { serveContract } from "../../interop-common/contract.mjs";
import pg from "pg";
import { createAdapter } from "@socket.io/postgres-adapter";

const PREFIX = process.env.PREFIX || "socket_io";
const PG_URL = process.env.PG_URL || "postgres://postgres@127.0.0.1:5432/test";

const httpServer = createServer();
httpServer.listen(Number(process.env.PORT || 0), "127.0.0.1");
await new Promise((resolve) => httpServer.once("listening", resolve));
const port = httpServer.address().port;

const pool = new pg.Pool({ connectionString: PG_URL, application_name: `node-${port}` });
pool.on("error", (err) => console.error("pg pool:", err.message));
// @socket.io/postgres-adapter 0.5.0 takes its listening client from the
// pool without an "error" listener: when PostgreSQL restarts, the client's
// "error" event is unhandled and the process exits (0.4.0 had a listener).
// Every client of the pool gets one here, so that the adapter sees "end"
// and reconnects. NO_CLIENT_ERROR_HANDLER=1 leaves it out (the official
// behaviour, asserted by TestMixedPostgresRestart).
if (process.env.NO_CLIENT_ERROR_HANDLER !== "1") {
  pool.on("connect", (client) => client.on("error", (err) => console.error("pg client:", err.message)));
}

const adapter = createAdapter(pool, {
  channelPrefix: PREFIX,
  tableName: PREFIX,
  heartbeatInterval: Number(process.env.HEARTBEAT_INTERVAL || 5000),
  heartbeatTimeout: Number(process.env.HEARTBEAT_TIMEOUT || 10000),
  payloadThreshold: Number(process.env.PAYLOAD_THRESHOLD || 8000),
  errorHandler: (err) => console.error("postgres adapter:", err.message),
});

const io = new Server({ adapter });
io.of("/aux"); // the contract's second namespace: its adapter LISTENs too

// The adapter LISTENs without telling when: its connection (named after
// this app) shows its last LISTEN, the /aux one, once it listens to both
// channels.
for (let i = 0; ; i++) {
  const { rows } = await pool.query(
    "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND query = $2 AND state = 'idle'",
    [`node-${port}`, `LISTEN "${PREFIX}#/aux"`],
  );
  if (rows.length) break;
  if (i > 1000) {
    console.error("the adapter does not LISTEN");
    process.exit(2);
  }
  await new Promise((r) => setTimeout(r, 10));
}

serveContract({ io, httpServer, port, close: () => pool.end().catch(() => {}) });
