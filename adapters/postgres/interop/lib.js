// Helpers of cluster.test.js: the cluster harness of adapters/interop-common
// with this module's apps (README.md) and PostgreSQL.

import path from "node:path";
import { fileURLToPath } from "node:url";
import { io as ioClient, Manager } from "socket.io-client";
import { clusterApps } from "../../interop-common/harness.mjs";

export * from "../../interop-common/harness.mjs";
export { ioClient, Manager };

export const HERE = path.dirname(fileURLToPath(import.meta.url));
/** adapters/postgres: the Go module of the adapter and of goapp */
export const MODULE_DIR = path.resolve(HERE, "..");
export const PG_URL = process.env.PG_URL || "postgres://postgres@127.0.0.1:5432/test";

export const { goBinary, App, startApp } = clusterApps({
  moduleDir: MODULE_DIR,
  nodeApp: path.join(HERE, "node-app.js"),
  appEnv: { PG_URL },
  name: "pg",
});
