//! Builds the components the end-to-end tests deploy: the deliberately bad guests of
//! `tests/guests/` and the `examples/custom-mapping` engine, for `wasm32-wasip2`, by a nested
//! cargo with the same target directory and settings as the host's default guest (so their
//! shared dependencies are built once). Their paths reach the tests as `SCIMD_TEST_GUEST_*`.

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

/// Package, its wasm file's stem, and the env var that names it for the tests.
const GUESTS: &[(&str, &str, &str)] = &[
    ("scimd-misbehaving-guest", "scimd_misbehaving_guest", "SCIMD_TEST_GUEST_MISBEHAVING"),
    ("scimd-wrong-world-guest", "scimd_wrong_world_guest", "SCIMD_TEST_GUEST_WRONG_WORLD"),
    ("custom-mapping", "custom_mapping", "SCIMD_TEST_GUEST_CUSTOM_MAPPING"),
];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("tests/ lives in the workspace root").to_path_buf();
    let target_dir = std::env::var_os("SCIMD_GUEST_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target").join("guest"));
    println!("cargo:rerun-if-env-changed=SCIMD_GUEST_TARGET_DIR");
    println!("cargo:rerun-if-changed={}", root.join("wit").display());

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(&root).args(["build", "--release", "--locked", "--target", TARGET]);
    for (package, _, _) in GUESTS {
        cmd.args(["-p", package]);
    }
    cmd.env("CARGO_TARGET_DIR", &target_dir)
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "true")
        .env("CARGO_PROFILE_RELEASE_LTO", "true")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "3")
        .env("CARGO_PROFILE_RELEASE_PANIC", "abort");
    for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_TARGET", "CARGO_MAKEFLAGS", "MAKEFLAGS", "MFLAGS"]
    {
        cmd.env_remove(var);
    }
    let status = cmd.status().unwrap_or_else(|e| panic!("could not run {cargo}: {e}"));
    assert!(
        status.success(),
        "building the test guests for {TARGET} failed (is the target installed? `rustup target add {TARGET}`)"
    );
    let release = target_dir.join(TARGET).join("release");
    for (_, stem, var) in GUESTS {
        println!("cargo:rustc-env={var}={}", release.join(format!("{stem}.wasm")).display());
        emit_dep_info(&release.join(format!("{stem}.d")));
    }
}

/// Tells cargo to rerun this script when any source of a guest changes.
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
