//! Builds the default SCIM engine (`guest/component`) for `wasm32-wasip2` and embeds it.
//!
//! The guest is built by a nested cargo with its own target directory (as wasmtime's
//! test-programs do), so it never contends for the outer build's lock. Its dep-info file
//! tells cargo when to rebuild.

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("host/ lives in the workspace root").to_path_buf();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target_dir = std::env::var_os("SCIMD_GUEST_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target").join("guest"));
    let dest = out_dir.join("scimd_guest.wasm");

    println!("cargo:rerun-if-env-changed=SCIMD_GUEST_TARGET_DIR");
    println!("cargo:rerun-if-changed={}", root.join("wit").display());

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(&root)
        .args(["build", "--release", "--locked", "-p", "scimd-guest", "--target", TARGET])
        .env("CARGO_TARGET_DIR", &target_dir)
        // A small, fast component whatever the outer profile says.
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "true")
        .env("CARGO_PROFILE_RELEASE_LTO", "true")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "3")
        .env("CARGO_PROFILE_RELEASE_PANIC", "abort");
    // Settings of the outer build that must not leak into the nested one.
    for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_TARGET", "CARGO_MAKEFLAGS", "MAKEFLAGS", "MFLAGS"]
    {
        cmd.env_remove(var);
    }
    let status = cmd.status().unwrap_or_else(|e| panic!("could not run {cargo}: {e}"));
    if !status.success() {
        let installed = Command::new("rustup")
            .args(["target", "list", "--installed"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains(TARGET))
            .unwrap_or(true);
        if !installed {
            panic!(
                "building the SCIM engine component needs the {TARGET} target: run `rustup target add {TARGET}` \
                 (the README's commands do this for you)"
            );
        }
        panic!("building the SCIM engine component (guest/component) failed; see the errors above");
    }
    let built = target_dir.join(TARGET).join("release").join("scimd_guest.wasm");
    std::fs::copy(&built, &dest).unwrap_or_else(|e| panic!("copy {}: {e}", built.display()));
    emit_dep_info(&target_dir.join(TARGET).join("release").join("scimd_guest.d"));
}

/// Tells cargo to rerun this script when any source of the guest changes.
fn emit_dep_info(dep_file: &Path) {
    let Ok(text) = std::fs::read_to_string(dep_file) else {
        return;
    };
    let Some((_, deps)) = text.split_once(": ") else {
        return;
    };
    let mut current = String::new();
    let mut chars = deps.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                current.push(' ');
                chars.next();
            }
            ' ' | '\n' => {
                if !current.is_empty() && !current.contains("/.cargo/registry/") {
                    println!("cargo:rerun-if-changed={current}");
                }
                current.clear();
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        println!("cargo:rerun-if-changed={current}");
    }
}
