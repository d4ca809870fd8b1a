// One load run with autocannon: node load.mjs '{"url":..,"body":..,"headers":..,"connections":..,"duration":..}'
// Prints {requests, rps, p50, p95, p99, errors, non2xx}; latencies in ms from every response.
// A GraphQL error comes with status 200 (PostgreSQL refusing a connection, say): such an
// answer counts as an error, and req/s counts only answers without one.
import autocannon from "autocannon";

const spec = JSON.parse(process.argv[2]);
const times = [];
const instance = autocannon({
  url: spec.url,
  method: "POST",
  headers: { "content-type": "application/json", ...spec.headers },
  body: spec.body,
  connections: spec.connections,
  duration: spec.duration,
  verifyBody: (body) => !body.includes('"errors":'),
});
instance.on("response", (client, status, bytes, ms) => times.push(ms));
instance.on("done", (result) => {
  times.sort((a, b) => a - b);
  const at = (q) => (times.length ? times[Math.min(times.length - 1, Math.floor(q * times.length))] : null);
  console.log(JSON.stringify({
    requests: result.requests.total,
    rps: (result.requests.total - result.non2xx - result.mismatches) / (result.duration || spec.duration),
    p50: at(0.5), p95: at(0.95), p99: at(0.99),
    errors: result.errors + result.timeouts + result.mismatches, non2xx: result.non2xx,
  }));
});
