// Runs the golden cases of scimd's conformance/ directory on a scim:engine component hosted by
// Node.js (through jco) and checks that every answer is the one the Rust host recorded.
//
//   node golden.mjs <component.wasm> <conformance-dir> [--write <answers.json>]
//
// Exit status: 0 when every answer is identical, 1 on any difference or when expected.json is
// missing, 2 on a usage or setup error.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadComponent, scimError } from "./engine.mjs";

// --- The canonical JSON encoding of WIT values (conformance/README.md) and jco's JS values. ---
//
// jco's representation is unambiguous for the scim:engine WIT, so the conversion goes by the
// shape of the value rather than by its WIT type:
//   record          {"first-name": …}        <-> { firstName: … }  (keys only, values converted)
//   variant         {"tag": "t", "val": v}   <-> { tag: "t", val: v }  ({"tag"} alone: no payload)
//   enum, string, bool                        unchanged
//   option<T>       null                     <-> undefined
//   list<u32>       [1, 2]                   <-  Uint32Array (jco lifts lists of numbers as typed arrays)
//   s64             1                        <-  1n (BigInt)
//   result<T, E>    {"ok": T} / {"err": E}   <-  T returned / ComponentError thrown with E as payload
// No argument of scim:engine@0.2.0 has an s64 in it (s64 appears only in what plan-query and
// parse-search return), so canonical→jco never has to make a BigInt. A record with fields named
// exactly `tag` (and `val`) would read as a variant; the WIT has none.

const camel = (k) => k.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
const kebab = (k) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const isVariant = (o) => typeof o.tag === "string" && Object.keys(o).every((k) => k === "tag" || k === "val");

/** A canonical JSON value as jco's JS value. */
function toJco(v) {
  if (v === null) return undefined;
  if (Array.isArray(v)) return v.map(toJco);
  if (typeof v !== "object") return v;
  if (isVariant(v)) return "val" in v ? { tag: v.tag, val: toJco(v.val) } : { tag: v.tag };
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [camel(k), toJco(x)]));
}

/** A jco JS value in the canonical JSON encoding. */
function fromJco(v) {
  if (v === undefined || v === null) return null;
  if (typeof v === "bigint") {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new Error(`the s64 ${v} has no exact JSON number in JavaScript`);
    }
    return Number(v);
  }
  if (ArrayBuffer.isView(v)) return Array.from(v, fromJco);
  if (Array.isArray(v)) return v.map(fromJco);
  if (typeof v !== "object") return v;
  if (isVariant(v)) return v.val === undefined ? { tag: v.tag } : { tag: v.tag, val: fromJco(v.val) };
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [kebab(k), fromJco(x)]));
}

// Every method of realm-engine returns result<_, scim-error>, except describe.
const RETURNS_RESULT = (method) => method !== "describe";

/** Calls `f` and encodes its answer; a trap is recorded as {"trap": message} (never expected). */
function encodeCall(f, returnsResult) {
  try {
    const v = f();
    return returnsResult ? { ok: fromJco(v) } : fromJco(v);
  } catch (e) {
    const payload = scimError(e);
    if (payload !== undefined && returnsResult) return { err: fromJco(payload) };
    return { trap: String(e) };
  }
}

/** Every case's answers, each case on a fresh instance of the component (as the Rust runner). */
async function answers(component, cases) {
  const out = {};
  let calls = 0;
  for (const c of cases.cases) {
    const { RealmEngine } = await component.instantiate();
    let engine;
    const create = encodeCall(() => (engine = RealmEngine.create(toJco(c.config))), true);
    if ("ok" in create) create.ok = null; // the resource handle itself is not encoded
    const results = [];
    if (engine) {
      for (const call of c.calls) {
        const f = engine[camel(call.method)];
        if (typeof f !== "function") throw new Error(`${c.name}: the engine has no method ${call.method}`);
        const args = call.args.map(toJco);
        results.push(encodeCall(() => f.apply(engine, args), RETURNS_RESULT(call.method)));
        calls += 1;
      }
      engine[Symbol.dispose]();
    }
    out[c.name] = { create, calls: results };
  }
  return { out, calls };
}

// --- Comparison. ---

const show = (v) => {
  const s = JSON.stringify(v);
  return s === undefined ? "(absent)" : s.length > 160 ? `${s.slice(0, 157)}...` : s;
};

/** The paths where `got` and `want` differ, with both values. Key order does not count. */
function diff(got, want, path = "", out = []) {
  const kind = (v) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
  if (kind(got) !== kind(want)) {
    out.push(`${path || "."}: expected ${show(want)}, got ${show(got)}`);
  } else if (kind(got) === "array") {
    if (got.length !== want.length) out.push(`${path}: expected ${want.length} items, got ${got.length}`);
    for (let i = 0; i < Math.min(got.length, want.length); i++) diff(got[i], want[i], `${path}[${i}]`, out);
  } else if (kind(got) === "object") {
    for (const k of new Set([...Object.keys(want), ...Object.keys(got)])) diff(got[k], want[k], `${path}.${k}`, out);
  } else if (typeof got === "string" && got !== want) {
    // Long texts (JSON bodies): show both around the first character that differs.
    let i = 0;
    while (got[i] === want[i]) i++;
    const at = (s) => show(s.slice(Math.max(0, i - 40), i + 60));
    out.push(`${path}: differs at character ${i}: expected …${at(want)}…, got …${at(got)}…`);
  } else if (got !== want) {
    out.push(`${path}: expected ${show(want)}, got ${show(got)}`);
  }
  return out;
}

// --- Main. ---

async function main(argv) {
  const args = [...argv];
  let writeTo;
  const w = args.indexOf("--write");
  if (w !== -1) [, writeTo] = args.splice(w, 2);
  if (args.length !== 2 || (w !== -1 && !writeTo)) {
    console.error("usage: node golden.mjs <component.wasm> <conformance-dir> [--write <answers.json>]");
    return 2;
  }
  const [wasmPath, dir] = args;
  const cases = JSON.parse(await readFile(join(dir, "cases.json"), "utf8"));

  const component = await loadComponent(wasmPath);
  const started = performance.now();
  const { out: got, calls } = await answers(component, cases);
  const runMs = performance.now() - started;
  const n = Object.keys(got).length;
  console.log(
    `${calls} calls in ${n} cases (${cases.version}): transpiled and compiled in ${component.transpileMs.toFixed(0)} ms, ` +
      `ran in ${runMs.toFixed(0)} ms`,
  );
  if (writeTo) {
    await writeFile(writeTo, `${JSON.stringify(got, null, 2)}\n`);
    console.log(`answers written to ${writeTo}`);
  }

  let text, expected;
  try {
    text = await readFile(join(dir, "expected.json"), "utf8");
    expected = JSON.parse(text);
  } catch (e) {
    console.error(`no answers to compare with: ${e.message}`);
    return 1;
  }
  let failed = 0;
  for (const name of Object.keys(expected)) {
    if (!(name in got)) {
      console.error(`✗ ${name}: recorded in expected.json but not in cases.json`);
      failed += 1;
    }
  }
  for (const [name, answer] of Object.entries(got)) {
    if (!(name in expected)) {
      console.error(`✗ ${name}: no recorded answer in expected.json`);
      failed += 1;
      continue;
    }
    const d = diff(answer, expected[name]);
    if (d.length) {
      failed += 1;
      console.error(`✗ ${name}: ${d.length} difference(s)`);
      for (const line of d.slice(0, 8)) console.error(`    ${line}`);
      if (d.length > 8) console.error(`    … and ${d.length - 8} more`);
    }
  }
  if (failed) {
    console.error(`${failed} of ${n} cases differ from the Rust host's answers`);
    return 1;
  }
  // The verdict is equality of values, as in the Rust runner. Both sides also write fields in
  // WIT order and lay JSON out alike, so the texts normally match too; say whether they do.
  const sameText = `${JSON.stringify(got, null, 2)}\n` === text;
  console.log(
    `${calls} calls in ${n} cases: identical to the Rust host` +
      (sameText ? " (byte for byte with expected.json)" : " (equal values; the JSON text differs in layout or key order)"),
  );
  return 0;
}

process.exitCode = await main(process.argv.slice(2)).catch((e) => {
  console.error(e?.stack ?? e);
  return 2;
});
