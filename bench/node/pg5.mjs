// PostGraphile 5 (Grafast) over the benchmark's database: node pg5.mjs URL PORT POOL [STATS_PORT]
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";
import pg from "pg";
import { createRequire } from "node:module";

const [connectionString, port, pool, statsPort] = process.argv.slice(2);
if (statsPort) createRequire(import.meta.url)("./statements.cjs")(pg, statsPort);
// The session settings the project's engine uses (api/db/session.py): UTC, and no JIT, whose
// compilation costs the heavier analytics statements far more than it saves.
const options = "-c jit=off -c timezone=UTC";
const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({ connectionString, schemas: ["public", "bench"], poolConfig: { max: Number(pool), options } }),
  ],
  grafserv: { port: Number(port), graphiql: false },
  grafast: { explain: false },
};
const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.on("error", (e) => { console.error(e); process.exit(1); });
serv.addTo(server).then(() => server.listen(Number(port), "127.0.0.1", () => console.log("ready")));
process.on("SIGTERM", () => { server.close(); pgl.release().then(() => process.exit(0)); });
