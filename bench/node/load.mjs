// One load run with autocannon: node load.mjs '{"url":..,"body":..,"headers":..,"connections":..,"duration":..}'
// Prints {requests, rps, p50, p95, p99, errors, non2xx, elapsed}; latencies in ms from every
// response. A GraphQL error comes with status 200 (PostgreSQL refusing a connection, say): such
// an answer counts as an error, and req/s counts only answers without one.
// With "minRequests" (and "maxDuration"), the run goes on after "duration" seconds until that
// many responses have come, for at most "maxDuration" seconds: a slow operation's p99 then
// comes from enough requests.
import autocannon from "autocannon";

const spec = JSON.parse(process.argv[2]);
const minRequests = spec.minRequests || 0;
const times = [];
const started = Date.now();
const longest = minRequests ? Math.max(spec.duration, spec.maxDuration) : spec.duration;
const instance = autocannon({
  url: spec.url,
  method: "POST",
  headers: { "content-type": "application/json", ...spec.headers },
  body: spec.body,
  connections: spec.connections,
  duration: longest,
  // autocannon gives up on a request after 10 s (an error, and it sends another at once,
  // piling work on the database); a long run waits for its slow requests instead.
  timeout: Math.max(10, longest),
  verifyBody: (body) => !body.includes('"errors":'),
});
instance.on("response", (client, status, bytes, ms) => times.push(ms));
const timer = minRequests
  ? setInterval(() => {
      if ((Date.now() - started) / 1000 >= spec.duration && times.length >= minRequests) {
        clearInterval(timer);
        instance.stop();
      }
    }, 20)
  : null;
instance.on("done", (result) => {
  if (timer) clearInterval(timer);
  const elapsed = (Date.now() - started) / 1000;
  times.sort((a, b) => a - b);
  const at = (q) => (times.length ? times[Math.min(times.length - 1, Math.floor(q * times.length))] : null);
  console.log(JSON.stringify({
    requests: result.requests.total,
    rps: (result.requests.total - result.non2xx - result.mismatches) / (result.duration || elapsed),
    p50: at(0.5), p95: at(0.95), p99: at(0.99),
    errors: result.errors + result.timeouts + result.mismatches, non2xx: result.non2xx,
    responses: times.length, elapsed: result.duration || elapsed,
  }));
});
