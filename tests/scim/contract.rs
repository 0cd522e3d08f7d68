//! The built default component honours the contract: it imports nothing but `wasi:*`
//! interfaces and exports `scim:engine/engine@0.1.0`.

use anyhow::Result;
use scimd::runtime::{DEFAULT_COMPONENT, engine};
use wasmtime::component::Component;

#[test]
fn default_component_imports_only_wasi_and_exports_the_engine() -> Result<()> {
    let engine = engine();
    let component = Component::new(engine, DEFAULT_COMPONENT).map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let ty = component.component_type();
    let imports: Vec<String> = ty.imports(engine).map(|(name, _)| name.to_string()).collect();
    assert!(!imports.is_empty());
    for name in &imports {
        assert!(name.starts_with("wasi:"), "unexpected import {name}");
    }
    let exports: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_string()).collect();
    assert_eq!(exports, vec!["scim:engine/engine@0.1.0".to_string()]);
    Ok(())
}
