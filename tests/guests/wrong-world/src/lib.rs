//! A component of the wrong world: it exports `scim:engine/engine@0.9.0` with other functions.

// wit-bindgen's generated glue is `unsafe`.
#![allow(unsafe_code)]

wit_bindgen::generate!({ path: "wit", world: "scim-guest" });

struct Wrong;

impl exports::scim::engine::engine::Guest for Wrong {
    fn describe() -> String {
        "a scim:engine 0.2 component".into()
    }
}

export!(Wrong);
