//! The golden cases of `conformance/`: every call of `cases.json` made on the default engine
//! component from a Rust host, each answer compared with `expected.json`. The Node.js host of
//! `examples/node-gateway` makes the same calls through jco and must give the same answers, so
//! the component behaves the same wherever it is embedded.
//!
//! The calls go through wasmtime's dynamic API, values converted by the component's own types
//! (the canonical JSON encoding of `conformance/README.md`), so the runner knows nothing of
//! scimd's bindings. `SCIMD_BLESS=1` rewrites `expected.json` from this run; review the diff.

use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::{Map, Value, json};
use wasmtime::component::{Component, Func, Linker, ResourceAny, ResourceTable, Type, Val};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// The interface of each WIT version scimd runs, newest first.
const INTERFACES: [&str; 2] = ["scim:engine/engine@0.2.0", "scim:engine/engine@0.1.0"];

/// The default engine as built from the 0.1 sources (`tests/fixtures/engines-v0.1`).
const DEFAULT_V0_1: &[u8] = include_bytes!("../fixtures/engines-v0.1/scimd-default.wasm");

struct State {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// wasmtime's errors, as this test's.
fn w<T>(r: wasmtime::Result<T>) -> Result<T> {
    r.map_err(|e| anyhow!("{e:#}"))
}

/// A canonical JSON value as the component value of type `ty`.
fn to_val(v: &Value, ty: &Type, at: &str) -> Result<Val> {
    Ok(match ty {
        Type::Bool => Val::Bool(v.as_bool().ok_or_else(|| anyhow!("{at}: expected a boolean"))?),
        Type::U16 => {
            Val::U16(v.as_u64().and_then(|n| n.try_into().ok()).ok_or_else(|| anyhow!("{at}: expected a u16"))?)
        }
        Type::U32 => {
            Val::U32(v.as_u64().and_then(|n| n.try_into().ok()).ok_or_else(|| anyhow!("{at}: expected a u32"))?)
        }
        Type::S64 => Val::S64(v.as_i64().ok_or_else(|| anyhow!("{at}: expected an s64"))?),
        Type::String => Val::String(v.as_str().ok_or_else(|| anyhow!("{at}: expected a string"))?.to_string()),
        Type::List(l) => {
            let items = v.as_array().ok_or_else(|| anyhow!("{at}: expected a list"))?;
            Val::List(items.iter().map(|i| to_val(i, &l.ty(), at)).collect::<Result<_>>()?)
        }
        Type::Record(r) => {
            let o = v.as_object().ok_or_else(|| anyhow!("{at}: expected a record"))?;
            let mut fields = Vec::new();
            for f in r.fields() {
                let here = format!("{at}.{}", f.name);
                fields.push((f.name.to_string(), to_val(o.get(f.name).unwrap_or(&Value::Null), &f.ty, &here)?));
            }
            Val::Record(fields)
        }
        Type::Variant(t) => {
            let tag = v["tag"].as_str().ok_or_else(|| anyhow!("{at}: expected a variant {{tag, val}}"))?;
            let case = t.cases().find(|c| c.name == tag).ok_or_else(|| anyhow!("{at}: no case '{tag}'"))?;
            let payload = match &case.ty {
                Some(ty) => Some(Box::new(to_val(&v["val"], ty, &format!("{at}.{tag}"))?)),
                None => None,
            };
            Val::Variant(tag.to_string(), payload)
        }
        Type::Enum(e) => {
            let name = v.as_str().ok_or_else(|| anyhow!("{at}: expected an enum case"))?;
            if !e.names().any(|n| n == name) {
                bail!("{at}: no enum case '{name}'");
            }
            Val::Enum(name.to_string())
        }
        Type::Option(o) => match v {
            Value::Null => Val::Option(None),
            v => Val::Option(Some(Box::new(to_val(v, &o.ty(), at)?))),
        },
        other => bail!("{at}: the golden cases have no values of type {other:?}"),
    })
}

/// A component value in the canonical JSON encoding.
fn to_json(v: &Val) -> Value {
    let boxed = |b: &Option<Box<Val>>| b.as_deref().map(to_json).unwrap_or(Value::Null);
    match v {
        Val::Bool(b) => json!(b),
        Val::U16(n) => json!(n),
        Val::U32(n) => json!(n),
        Val::S64(n) => json!(n),
        Val::String(s) => json!(s),
        Val::List(items) => Value::Array(items.iter().map(to_json).collect()),
        Val::Record(fields) => Value::Object(fields.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
        Val::Variant(tag, payload) => {
            let mut o = Map::from_iter([("tag".to_string(), json!(tag))]);
            if let Some(p) = payload {
                o.insert("val".into(), to_json(p));
            }
            Value::Object(o)
        }
        Val::Enum(name) => json!(name),
        Val::Option(o) => boxed(o),
        Val::Result(Ok(v)) => json!({"ok": boxed(v)}),
        Val::Result(Err(e)) => json!({"err": boxed(e)}),
        other => json!(format!("unencodable {other:?}")),
    }
}

/// One engine instance of the component.
struct Guest {
    store: Store<State>,
    instance: wasmtime::component::Instance,
    interface: wasmtime::component::ComponentExportIndex,
}

impl Guest {
    fn new(engine: &Engine, component: &Component) -> Result<Guest> {
        let mut linker = Linker::new(engine);
        w(wasmtime_wasi::p2::add_to_linker_sync(&mut linker))?;
        let mut store = Store::new(engine, State { wasi: WasiCtx::builder().build(), table: ResourceTable::new() });
        let instance = w(linker.instantiate(&mut store, component))?;
        let interface = INTERFACES
            .iter()
            .find_map(|i| instance.get_export_index(&mut store, None, i))
            .ok_or_else(|| anyhow!("no export of {INTERFACES:?}"))?;
        Ok(Guest { store, instance, interface })
    }

    fn func(&mut self, name: &str) -> Result<Func> {
        let index = self
            .instance
            .get_export_index(&mut self.store, Some(&self.interface), name)
            .ok_or_else(|| anyhow!("the component exports no {name}"))?;
        self.instance.get_func(&mut self.store, index).ok_or_else(|| anyhow!("{name} is not a function"))
    }

    /// Calls `func` with the canonical JSON `args` (after `this`, for methods).
    fn call(&mut self, func: Func, this: Option<ResourceAny>, args: &[Value], at: &str) -> Result<Val> {
        let ty = func.ty(&self.store);
        let mut params = Vec::new();
        let mut types = ty.params().map(|(name, ty)| (name.to_string(), ty)).collect::<Vec<_>>().into_iter();
        if let Some(r) = this {
            types.next();
            params.push(Val::Resource(r));
        }
        if types.len() != args.len() {
            bail!("{at}: {} arguments given, {} expected", args.len(), types.len());
        }
        for ((name, ty), arg) in types.zip(args) {
            params.push(to_val(arg, &ty, &format!("{at}({name})"))?);
        }
        let mut results = vec![Val::Bool(false); ty.results().len()];
        w(func.call(&mut self.store, &params, &mut results)).with_context(|| format!("{at}: the call failed"))?;
        Ok(results.into_iter().next().unwrap_or(Val::Tuple(Vec::new())))
    }
}

/// What a 0.1 engine is given for a case's `realm-config`: the same content as one JSON object
/// with camelCase keys and the profile and extensions as values, as scimd gives it
/// (`host/src/runtime/compat.rs`).
fn config_v0_1(record: &Value) -> Result<Value> {
    let fields = record.as_object().ok_or_else(|| anyhow!("a case's config is not a realm-config record"))?;
    let mut out = Map::new();
    for (key, value) in fields {
        let camel = key.split('-').enumerate().fold(String::new(), |mut acc, (i, part)| {
            let mut chars = part.chars();
            if let (true, Some(first)) = (i > 0, chars.next()) {
                acc.extend(first.to_uppercase());
                acc.push_str(chars.as_str());
            } else {
                acc.push_str(part);
            }
            acc
        });
        let value = match value {
            Value::String(text) if key == "profile" || key == "extensions" => serde_json::from_str(text)?,
            other => other.clone(),
        };
        out.insert(camel, value);
    }
    Ok(Value::String(Value::Object(out).to_string()))
}

/// Every case's answers from a component, in the canonical encoding; cases of calls added
/// after `version` (their `since`) are left out.
fn answers(cases: &Value, wasm: &[u8], version: &str) -> Result<Map<String, Value>> {
    let engine = w(Engine::new(Config::new().wasm_component_model(true)))?;
    let component = w(Component::new(&engine, wasm))?;
    let mut out = Map::new();
    for case in cases["cases"].as_array().ok_or_else(|| anyhow!("cases.json has no cases"))? {
        let name = case["name"].as_str().ok_or_else(|| anyhow!("a case has no name"))?;
        if case["since"].as_str().is_some_and(|since| since > version) {
            continue;
        }
        let mut guest = Guest::new(&engine, &component)?;
        let create = guest.func("[static]realm-engine.create")?;
        let config = if version < "0.2" { config_v0_1(&case["config"])? } else { case["config"].clone() };
        let created = guest.call(create, None, std::slice::from_ref(&config), &format!("{name}: create"))?;
        let (create, handle) = match created {
            Val::Result(Ok(Some(r))) => match *r {
                Val::Resource(handle) => (json!({"ok": null}), Some(handle)),
                other => bail!("{name}: create returned {other:?}"),
            },
            err => (to_json(&err), None),
        };
        let mut calls = Vec::new();
        if let Some(handle) = handle {
            for (i, call) in case["calls"].as_array().into_iter().flatten().enumerate() {
                let method = call["method"].as_str().ok_or_else(|| anyhow!("{name}: call {i} names no method"))?;
                let func = guest.func(&format!("[method]realm-engine.{method}"))?;
                let args = call["args"].as_array().cloned().unwrap_or_default();
                let at = format!("{name}: call {i} ({method})");
                calls.push(to_json(&guest.call(func, Some(handle), &args, &at)?));
            }
            w(handle.resource_drop(&mut guest.store))?;
        }
        out.insert(name.to_string(), json!({"create": create, "calls": calls}));
    }
    Ok(out)
}

#[test]
fn the_default_engine_answers_every_golden_case_as_recorded() -> Result<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conformance");
    let cases: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json"))?)?;
    let got = answers(&cases, scimd::runtime::DEFAULT_COMPONENT, "0.2")?;
    let expected_path = dir.join("expected.json");
    if std::env::var_os("SCIMD_BLESS").is_some() {
        let mut text = serde_json::to_string_pretty(&got)?;
        text.push('\n');
        std::fs::write(&expected_path, text)?;
        return Ok(());
    }
    let expected: Map<String, Value> = serde_json::from_str(
        &std::fs::read_to_string(&expected_path).context("conformance/expected.json (SCIMD_BLESS=1 writes it)")?,
    )?;
    let names = |m: &Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&got), names(&expected), "the cases and the recorded answers name the same cases");
    for (name, answer) in &got {
        assert_eq!(answer, &expected[name], "case '{name}' answers differently than recorded");
    }
    Ok(())
}

/// Takes out of a recorded answer what only 0.2 has: the `pagination` block of the
/// `ServiceProviderConfig` (for a 0.1 engine the host adds it, see `cursor.rs`), the `cursor`
/// of a parsed search request, a member's `display` (0.1 engines cannot return one: the host
/// stores none for them), the `bulk` block of the `ServiceProviderConfig` (0.2 serves bulk),
/// the description of the User schema's `groups` (which include
/// indirect groups since 0.2), and the Group schema's `members.display`, which the 0.2 build
/// documents as the client's (immutable) where the 0.1 build had it read-only.
fn since_0_2(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for key in ["cursor", "display"] {
                if map.get(key).is_some_and(Value::is_null) {
                    map.shift_remove(key);
                }
            }
            if let Some(Value::String(schemas)) = map.get_mut("schemas")
                && let Ok(mut doc) = serde_json::from_str::<Value>(schemas)
            {
                for schema in doc.as_array_mut().into_iter().flatten() {
                    for attr in schema["attributes"].as_array_mut().into_iter().flatten() {
                        if attr["name"] == "members"
                            && let Some(subs) = attr["subAttributes"].as_array_mut()
                        {
                            subs.retain(|s| s["name"] != "display");
                        }
                        // Since 0.2 a user's `groups` include indirect ones, as it says.
                        if attr["name"] == "groups"
                            && let Some(a) = attr.as_object_mut()
                        {
                            a.shift_remove("description");
                        }
                    }
                }
                *schemas = doc.to_string();
            }
            if let Some(Value::String(spc)) = map.get_mut("service-provider-config")
                && let Ok(mut doc) = serde_json::from_str::<Value>(spc)
            {
                if let Some(o) = doc.as_object_mut() {
                    o.shift_remove("pagination");
                    o.shift_remove("bulk");
                }
                *spc = doc.to_string();
            }
            map.values_mut().for_each(since_0_2);
        }
        Value::Array(items) => items.iter_mut().for_each(since_0_2),
        _ => {}
    }
}

/// An engine built against 0.1 answers every case 0.1 has as the current default engine
/// recorded them (save the version it reports): the 0.2 host runs it unchanged.
#[test]
fn the_default_engine_built_for_0_1_answers_the_0_1_golden_cases_as_recorded() -> Result<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conformance");
    let cases: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json"))?)?;
    let expected: Map<String, Value> = serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json"))?)?;
    let got = answers(&cases, DEFAULT_V0_1, "0.1")?;
    assert!(got.len() >= 10 && got.len() < expected.len(), "the 0.1 cases, not those since 0.2");
    let versions = |v: &mut Value, to: &str| {
        for call in v["calls"].as_array_mut().into_iter().flatten() {
            if let Some(version) = call.get_mut("api-version") {
                *version = Value::String(to.into());
            }
        }
    };
    for (name, answer) in got {
        let mut answer = answer.clone();
        let mut recorded = expected[&name].clone();
        if answer.to_string().contains("\"api-version\"") {
            assert!(answer.to_string().contains("\"api-version\":\"0.1.0\""), "{name}: the fixture is the 0.1 build");
        }
        versions(&mut answer, "-");
        versions(&mut recorded, "-");
        since_0_2(&mut recorded);
        since_0_2(&mut answer);
        assert_eq!(answer, recorded, "case '{name}' answers differently on the 0.1 build");
    }
    Ok(())
}
