// Subscribe with the npm graphql-ws client and print what happens as JSON lines on stdout:
//   {"type":"connected"}  {"type":"next","payload":{...}}  {"type":"error","errors":[...]}
//   {"type":"complete"}   {"type":"closed","code":4403,"reason":"Forbidden"}
// Usage: node subscribe.mjs URL DOCUMENT_FILE VARIABLES_JSON CONNECTION_PARAMS_JSON [WS_OPTIONS_JSON]
// WS_OPTIONS_JSON goes to the `ws` socket, e.g. {"perMessageDeflate": false}.
import { readFileSync } from "node:fs";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, documentFile, variables, connectionParams, wsOptions] = process.argv.slice(2);
class Socket extends WebSocket {
  constructor(address, protocols) {
    super(address, protocols, JSON.parse(wsOptions || "{}"));
  }
}
const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");

const client = createClient({
  url,
  webSocketImpl: Socket,
  connectionParams: JSON.parse(connectionParams),
  lazy: false,
  retryAttempts: 0,
  on: {
    connected: () => print({ type: "connected" }),
    closed: (event) => {
      // Nothing is left to do: node exits once stdout is flushed (process.exit would cut it).
      print({ type: "closed", code: event.code, reason: event.reason });
    },
  },
});

client.subscribe(
  { query: readFileSync(documentFile, "utf8"), variables: JSON.parse(variables) },
  {
    next: (payload) => print({ type: "next", payload }),
    error: (error) => {
      // A close event is reported by `closed`; GraphQL errors come as a list.
      if (Array.isArray(error)) print({ type: "error", errors: error });
    },
    complete: () => print({ type: "complete" }),
  },
);
