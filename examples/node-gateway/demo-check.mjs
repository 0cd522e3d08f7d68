// Starts gateway.mjs on a free loopback port and drives it through a short, fixed script.
//   node demo-check.mjs <component.wasm>
import assert from "node:assert/strict";
import { startGateway } from "./gateway.mjs";

const USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const { server, base } = await startGateway(process.argv[2], { port: 0 });
const call = async (method, path, body) => {
  const r = await fetch(base + path, { method, body: body && JSON.stringify(body), headers: { "content-type": "application/scim+json" } });
  return { status: r.status, headers: r.headers, body: await r.json() };
};
try {
  const created = await call("POST", "/Users", {
    schemas: [USER], userName: "bjensen", name: { givenName: "Barbara", familyName: "Jensen" },
    emails: [{ value: "bjensen@example.com", type: "work", primary: true }], password: "t1meMa$heen",
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const { id } = created.body;
  assert.equal(created.headers.get("location"), `${base}/Users/${id}`);
  assert.equal(created.body.meta.location, `${base}/Users/${id}`);
  assert.equal(created.body.userName, "bjensen");
  assert.equal(created.body.password, undefined, "the password is never returned");

  const got = await call("GET", `/Users/${id}`);
  assert.equal(got.status, 200);
  assert.deepEqual(got.body, created.body);
  assert.deepEqual(Object.keys((await call("GET", `/Users/${id}?attributes=userName`)).body).sort(), ["id", "schemas", "userName"]);

  const patched = await call("PATCH", `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: "Replace", path: "active", value: "False" }] });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  assert.equal(patched.body.active, false);
  assert.equal(patched.headers.get("etag"), 'W/"2"');

  const bad = await call("POST", "/Users", { schemas: [USER], displayName: "no userName" });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.status, "400");
  assert.equal(bad.body.scimType, "invalidValue");
  assert.equal((await call("POST", "/Users", { schemas: [USER], userName: "BJensen" })).status, 409);
  assert.equal((await call("GET", "/Users/nosuch")).status, 404);
  console.log("gateway demo: POST, GET, PATCH and the error paths answer as expected");
} finally {
  server.close();
}
