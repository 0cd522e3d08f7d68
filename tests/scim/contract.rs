//! The built default component honours the contract: it imports nothing but `wasi:*`
//! interfaces and exports `scim:engine/engine@0.2.0`; and so does the 0.1 build kept as a
//! fixture, with 0.1's interface.

use anyhow::Result;
use scimd::runtime::{DEFAULT_COMPONENT, wasmtime_engine};
use wasmtime::component::Component;

#[test]
fn default_component_imports_only_wasi_and_exports_the_engine() -> Result<()> {
    only_wasi_and(DEFAULT_COMPONENT, "scim:engine/engine@0.2.0")
}

#[test]
fn the_0_1_build_imports_only_wasi_and_exports_the_0_1_engine() -> Result<()> {
    only_wasi_and(include_bytes!("../fixtures/engines-v0.1/scimd-default.wasm"), "scim:engine/engine@0.1.0")
}

fn only_wasi_and(wasm: &[u8], export: &str) -> Result<()> {
    let engine = wasmtime_engine();
    let component = Component::new(engine, wasm).map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let ty = component.component_type();
    let imports: Vec<String> = ty.imports(engine).map(|(name, _)| name.to_string()).collect();
    assert!(!imports.is_empty());
    for name in &imports {
        assert!(name.starts_with("wasi:"), "unexpected import {name}");
    }
    let exports: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_string()).collect();
    assert_eq!(exports, vec![export.to_string()]);
    Ok(())
}
