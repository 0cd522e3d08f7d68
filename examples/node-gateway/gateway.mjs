// A toy SCIM gateway: Node.js owns HTTP, identifiers, the clock and storage (a Map); the
// scim:engine component owns every SCIM rule. Users only, no auth: it shows the embedding.
//
//   node gateway.mjs <component.wasm> [port]        (listens on 127.0.0.1, default port 8080)
//   curl -si localhost:8080/Users -H 'content-type: application/scim+json' \
//     -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bjensen"}'
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";
import { loadComponent, scimError } from "./engine.mjs";

const MAX_BODY = 1 << 20;

class HttpError extends Error {
  constructor(status, scimType, detail) {
    super(detail);
    this.payload = { status, scimType, detail }; // the shape of the engine's scim-error
  }
}

// The realm configuration (the WIT's `realm-config` record, camelCase as jco names fields; the
// optional `profile` and `extensions` are JSON texts and left out here).
const DEFAULT_CONFIG = {
  compatibility: "entra",
  maxResults: 1000,
  maxOperations: 1000,
  maxPayloadSize: MAX_BODY,
  etag: true,
  cursorTimeout: 3600,
};

export async function startGateway(wasmPath, { port = 8080, config = {} } = {}) {
  const { instantiate } = await loadComponent(wasmPath);
  const { RealmEngine } = await instantiate();
  // One engine per realm configuration, reused for every request. Throws on a bad config.
  const engine = RealmEngine.create({ ...DEFAULT_CONFIG, ...config });
  const users = new Map(); // id -> stored {id, model, meta}: the engine keeps no state
  let base; // http://127.0.0.1:<port>, known once listening

  const server = createServer((req, res) => {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on("end", () => {
      let status, body, headers = {};
      try {
        if (size > MAX_BODY) throw new HttpError(413, undefined, `the body is larger than ${MAX_BODY} bytes`);
        [status, body, headers] = route(req, Buffer.concat(chunks).toString("utf8"));
      } catch (e) {
        const err = scimError(e); // a scim-error from the engine, or one of ours
        if (!err) console.error(e);
        const { status: s = 500, scimType, detail = "internal error" } = err ?? {};
        status = s;
        body = JSON.stringify({
          schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"],
          status: String(s),
          ...(scimType === undefined ? {} : { scimType }),
          detail,
        });
      }
      res.writeHead(status, { "content-type": "application/scim+json", ...headers }).end(body);
    });
  });

  function route(req, text) {
    const url = new URL(req.url, base);
    const ctx = { realm: "demo", baseUrl: base };
    const id = url.pathname.match(/^\/Users\/([^/]+)$/)?.[1];
    // Validates ?attributes= / ?excludedAttributes= (undefined stands for an absent option).
    const projection = () =>
      engine.projection("user", url.searchParams.get("attributes") ?? undefined,
        url.searchParams.get("excludedAttributes") ?? undefined);
    const answer = (status, stored) => [
      status,
      engine.render(ctx, stored, [], projection()),
      { etag: stored.meta.version, location: stored.meta.location },
    ];
    const save = (id, write, created, version) => {
      const username = write.model.val.username.toLowerCase();
      for (const other of users.values()) {
        if (other.id !== id && other.model.val.username.toLowerCase() === username) {
          throw new HttpError(409, "uniqueness", `userName '${write.model.val.username}' is taken`);
        }
      }
      // A real host would hash write.password here and store the hash, never the password.
      const now = new Date().toISOString();
      const location = `${base}/Users/${id}`;
      const stored = { id, model: write.model, meta: { created: created ?? now, lastModified: now, version: `W/"${version}"`, location } };
      users.set(id, stored);
      return stored;
    };

    if (req.method === "POST" && url.pathname === "/Users") {
      const write = engine.createResource(ctx, "user", text); // throws the scim-error on a bad body
      return answer(201, save(randomUUID(), write, undefined, 1));
    }
    if (id === undefined) throw new HttpError(404, undefined, `no resource at ${url.pathname}`);
    const current = users.get(id);
    if (!current) throw new HttpError(404, undefined, `no User '${id}'`);
    if (req.method === "GET") return answer(200, current);
    if (req.method === "PATCH") {
      const write = engine.patch(ctx, current, text); // all or nothing: on error nothing changed
      const version = Number(current.meta.version.slice(3, -1)) + 1;
      return answer(200, save(id, write, current.meta.created, version));
    }
    throw new HttpError(405, undefined, `${req.method} is not served on ${url.pathname}`);
  }

  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}`;
  return { server, base, engine };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (!process.argv[2]) {
    console.error("usage: node gateway.mjs <component.wasm> [port]");
    process.exit(2);
  }
  const { base } = await startGateway(process.argv[2], { port: Number(process.argv[3] ?? 8080) });
  console.log(`SCIM gateway on ${base}/Users (POST, GET /Users/{id}, PATCH /Users/{id})`);
}
