//! The guest components `tests/build.rs` builds: the custom-mapping example and the
//! deliberately bad guests of `tests/guests/`.

use anyhow::Result;

fn guest(path: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| anyhow::anyhow!("{path}: {e} (tests/build.rs builds it)"))
}

/// `examples/custom-mapping`.
pub fn custom_mapping() -> Result<Vec<u8>> {
    guest(env!("SCIMD_TEST_GUEST_CUSTOM_MAPPING"))
}

/// `tests/guests/misbehaving`: traps, loops, allocates or returns hostile plans on request.
pub fn misbehaving() -> Result<Vec<u8>> {
    guest(env!("SCIMD_TEST_GUEST_MISBEHAVING"))
}

/// `tests/guests/wrong-world`: built against another WIT world.
pub fn wrong_world() -> Result<Vec<u8>> {
    guest(env!("SCIMD_TEST_GUEST_WRONG_WORLD"))
}
