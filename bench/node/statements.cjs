// Counts the SQL statements a PostGraphile process sends (every pg Client#query), and serves
// the count on its own port so the benchmark can read statements per request:
// require("./statements.cjs")(require("pg"), port)
const http = require("http");

module.exports = function countStatements(pg, port) {
  let count = 0;
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (...args) {
    count += 1;
    return query.apply(this, args);
  };
  http
    .createServer((req, res) => res.end(JSON.stringify({ statements: count })))
    .listen(Number(port), "127.0.0.1");
};
