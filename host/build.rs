//! Builds the default SCIM engine (`guest/component`) for `wasm32-wasip2` and embeds it (see
//! `guest/nested_build.rs` for how).

use std::path::PathBuf;
use std::process::Command;

include!("../guest/nested_build.rs");

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("host/ lives in the workspace root").to_path_buf();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target_dir = guest_target_dir(&root);
    let dest = out_dir.join("scimd_guest.wasm");

    if !build_guests(&root, &target_dir, &["scimd-guest"]) {
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
    let release = target_dir.join(TARGET).join("release");
    let built = release.join("scimd_guest.wasm");
    std::fs::copy(&built, &dest).unwrap_or_else(|e| panic!("copy {}: {e}", built.display()));
    emit_dep_info(&release.join("scimd_guest.d"));
}
