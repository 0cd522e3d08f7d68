// Building guest crates from a build script, shared by `host/build.rs` (the default engine)
// and `tests/build.rs` (the test guests), which `include!` this file.
//
// The guests are built by a nested cargo with a target directory of their own (as wasmtime's
// test-programs do), so it never contends for the outer build's lock, and with the same
// settings in both scripts, so their shared dependencies are built once. Dep-info files tell
// cargo when to run the scripts again.

const TARGET: &str = "wasm32-wasip2";

/// The nested build's target directory: `SCIMD_GUEST_TARGET_DIR`, or `target/guest`.
fn guest_target_dir(root: &std::path::Path) -> std::path::PathBuf {
    println!("cargo:rerun-if-env-changed=SCIMD_GUEST_TARGET_DIR");
    println!("cargo:rerun-if-changed={}", root.join("wit").display());
    std::env::var_os("SCIMD_GUEST_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target").join("guest"))
}

/// Builds `packages` for `TARGET` in release, small and fast whatever the outer profile says;
/// returns whether cargo succeeded (its errors are on the console).
fn build_guests(root: &std::path::Path, target_dir: &std::path::Path, packages: &[&str]) -> bool {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = std::process::Command::new(&cargo);
    cmd.current_dir(root).args(["build", "--release", "--locked", "--target", TARGET]);
    for package in packages {
        cmd.args(["-p", package]);
    }
    cmd.env("CARGO_TARGET_DIR", target_dir)
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
    cmd.status().unwrap_or_else(|e| panic!("could not run {cargo}: {e}")).success()
}

/// Tells cargo to rerun the build script when any source of a guest changes.
fn emit_dep_info(dep_file: &std::path::Path) {
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
