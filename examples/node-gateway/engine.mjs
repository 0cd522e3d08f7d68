// Loads a scim:engine component in Node.js: jco transpiles it to JavaScript plus core wasm
// modules, and each `instantiate()` makes a fresh, isolated instance of it.
//
//   const { instantiate } = await loadComponent("scimd_guest.wasm");
//   const { RealmEngine } = await instantiate();          // scim:engine/engine@0.2.0 (0.1.0: create takes JSON text)
//   const engine = RealmEngine.create({ compatibility: "entra", maxResults: 1000, maxOperations: 1000,
//                                       maxPayloadSize: 1 << 20, etag: true, cursorTimeout: 3600 });
//
// Methods returning `result<T, scim-error>` return T, or throw a jco `ComponentError` whose
// `payload` is the scim-error; `scimError(e)` tells the two kinds of exception apart.
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { transpile } from "@bytecodealliance/jco";
import { WASIShim } from "@bytecodealliance/preview2-shim/instantiation";

/** The interface of each scim:engine version this host runs, newest first. */
const INTERFACES = ["scim:engine/engine@0.2.0", "scim:engine/engine@0.1.0"];
const GEN = join(dirname(fileURLToPath(import.meta.url)), "gen");

/**
 * Transpiles the component at `wasmPath` into `gen/<digest of the component>/` (or `outDir`)
 * and compiles its core modules once.
 */
export async function loadComponent(wasmPath, { outDir } = {}) {
  const started = performance.now();
  const wasm = await readFile(wasmPath);
  outDir ??= join(GEN, createHash("sha256").update(wasm).digest("hex").slice(0, 16));
  const { files } = await transpile(wasm, {
    name: "component",
    instantiation: "async", // exports `instantiate(getCoreModule, imports)`: one instance per call
    emitTypescriptDeclarations: false,
  });
  const modules = new Map();
  for (const [name, bytes] of Object.entries(files)) {
    const path = join(outDir, name);
    await mkdir(dirname(path), { recursive: true });
    // Write then rename, so that a concurrent run never imports a half-written file.
    await writeFile(`${path}.${process.pid}.tmp`, bytes);
    await rename(`${path}.${process.pid}.tmp`, path);
    if (name.endsWith(".wasm")) modules.set(name, await WebAssembly.compile(bytes));
  }
  const { instantiate: instantiateJs } = await import(pathToFileURL(join(outDir, "component.js")).href);
  const transpileMs = performance.now() - started;

  // The component imports only the wasi:cli, wasi:io and wasi:random interfaces Rust's std
  // links; give it nothing of the host's (no environment, arguments, files or network), as
  // scimd's Rust host does.
  const wasi = new WASIShim({ sandbox: { preopens: {}, env: {}, args: [], enableNetwork: false } });

  async function instantiate() {
    const root = await instantiateJs((name) => modules.get(name), wasi.getImportObject());
    const engine = INTERFACES.map((i) => root[i]).find((e) => e?.RealmEngine);
    if (!engine) throw new Error(`the component exports none of ${INTERFACES.join(", ")}`);
    return engine;
  }
  return { instantiate, transpileMs };
}

/** The scim-error a failed engine call carries, or undefined when `e` is a trap or a host bug. */
export function scimError(e) {
  return e !== null && typeof e === "object" && Object.hasOwn(e, "payload") ? e.payload : undefined;
}
