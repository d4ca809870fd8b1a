// Apollo Client 4's persisted-query link (hashed queries over GET) against a live server.
// Usage: node apq.mjs URL TOKEN QUERY_FILE VARIABLES_JSON  ->  prints JSON: what each of two
// fresh clients sent and got, and the data each read.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';

const [url, token, queryFile, variablesJson] = process.argv.slice(2);
const query = gql(readFileSync(queryFile, 'utf8'));
const variables = JSON.parse(variablesJson);

async function oneClient() {
  const exchanges = [];
  const fetchFn = async (input, init = {}) => {
    const response = await fetch(input, init);
    const sent = new URL(typeof input === 'string' ? input : input.url);
    let body = {};
    try { body = JSON.parse(init.body ?? '{}'); } catch {}
    exchanges.push({
      method: init.method ?? 'GET',
      sentQuery: sent.searchParams.has('query') || 'query' in body,
      status: response.status,
      contentType: response.headers.get('content-type'),
      etag: response.headers.get('etag'),
    });
    return response;
  };
  const persisted = new PersistedQueryLink({
    sha256: (text) => createHash('sha256').update(text).digest('hex'),
    useGETForHashedQueries: true,
  });
  const http = new HttpLink({ uri: url, fetch: fetchFn, headers: { authorization: `Bearer ${token}` } });
  const client = new ApolloClient({ link: persisted.concat(http), cache: new InMemoryCache() });
  const result = await client.query({ query, variables, fetchPolicy: 'network-only' });
  return { exchanges, data: result.data, error: result.error?.message ?? null };
}

const first = await oneClient();
const second = await oneClient();
console.log(JSON.stringify({ first, second }));
