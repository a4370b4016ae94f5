// Helpers of the interop tests: the cluster harness of
// adapters/interop-common with this module's apps (README.md) and Redis.

import path from "node:path";
import { fileURLToPath } from "node:url";
import { io as ioClient, Manager } from "socket.io-client";
import { clusterApps } from "../../interop-common/harness.mjs";

export * from "../../interop-common/harness.mjs";
export { ioClient, Manager };

export const HERE = path.dirname(fileURLToPath(import.meta.url));
/** adapters/redis: the Go module of the adapters and of goapp */
export const MODULE_DIR = path.resolve(HERE, "..");
export const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";

export const { goBinary, App, startApp } = clusterApps({
  moduleDir: MODULE_DIR,
  nodeApp: path.join(HERE, "node-app.js"),
  appEnv: { REDIS_URL },
  name: "redis",
});
