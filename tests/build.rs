//! Builds the components the end-to-end tests deploy: the deliberately bad guests of
//! `tests/guests/` and the `examples/custom-mapping` engine, for `wasm32-wasip2`, by a nested
//! cargo with the same target directory and settings as the host's default guest (so their
//! shared dependencies are built once). Their paths reach the tests as `SCIMD_TEST_GUEST_*`.

use std::path::PathBuf;

include!("../guest/nested_build.rs");

/// Package, its wasm file's stem, and the env var that names it for the tests.
const GUESTS: &[(&str, &str, &str)] = &[
    ("scimd-misbehaving-guest", "scimd_misbehaving_guest", "SCIMD_TEST_GUEST_MISBEHAVING"),
    ("scimd-wrong-world-guest", "scimd_wrong_world_guest", "SCIMD_TEST_GUEST_WRONG_WORLD"),
    ("custom-mapping", "custom_mapping", "SCIMD_TEST_GUEST_CUSTOM_MAPPING"),
];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("tests/ lives in the workspace root").to_path_buf();
    let target_dir = guest_target_dir(&root);
    let packages: Vec<&str> = GUESTS.iter().map(|(package, _, _)| *package).collect();
    assert!(
        build_guests(&root, &target_dir, &packages),
        "building the test guests for {TARGET} failed (is the target installed? `rustup target add {TARGET}`)"
    );
    let release = target_dir.join(TARGET).join("release");
    for (_, stem, var) in GUESTS {
        println!("cargo:rustc-env={var}={}", release.join(format!("{stem}.wasm")).display());
        emit_dep_info(&release.join(format!("{stem}.d")));
    }
}
