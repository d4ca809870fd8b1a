// The graphql-http server audit (GraphQL over HTTP conformance) against a live server.
// Usage: node audit.mjs URL TOKEN  ->  prints {total, ok, problems: [...]} as JSON.
// The audit's requests are anonymous; ours refuses those before validation, so every
// request carries the token (a custom fetch), as a real client's would.
import { auditServer } from 'graphql-http';

const [url, token] = process.argv.slice(2);
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

const results = await auditServer({ url, fetchFn });
const problems = [];
for (const result of results) {
  if (result.status === 'ok') continue;
  let body = '';
  try {
    body = result.response ? (await result.response.text()).slice(0, 500) : '';
  } catch {}
  problems.push({
    id: result.id,
    name: result.name,
    status: result.status,
    reason: result.reason,
    httpStatus: result.response?.status,
    contentType: result.response?.headers.get('content-type'),
    body,
  });
}
console.log(JSON.stringify({ total: results.length, ok: results.length - problems.length, problems }));
