// PostGraphile 4 over the benchmark's database: node pg4.js URL PORT POOL [STATS_PORT]
const http = require("http");
const pg = require("pg");
const { postgraphile } = require("postgraphile");

const [connectionString, port, max, statsPort] = process.argv.slice(2);
if (statsPort) require("../statements.cjs")(pg, statsPort);
const { Pool } = pg;
// The session settings the project's engine uses (api/db/session.py): UTC, no JIT.
const pool = new Pool({ connectionString, max: Number(max), options: "-c jit=off -c timezone=UTC" });
const middleware = postgraphile(pool, ["public", "bench"], {
  graphiql: false,
  disableQueryLog: true,
  enableQueryBatching: false,
});
const server = http.createServer(middleware);
server.listen(Number(port), "127.0.0.1", () => console.log("ready"));
process.on("SIGTERM", () => { server.close(); pool.end().then(() => process.exit(0)); });
