//! End-to-end tests of scimd: each module covers one area of RFC 7643/7644 against a real
//! server over HTTP, with a fresh SQLite file and the real SCIM engine component.

mod admin_api;
mod attacks;
mod auth;
mod bad_input;
mod bulk;
mod components;
mod conformance;
mod contract;
mod cursor;
mod discovery;
mod durability;
mod entra;
mod etag;
mod failure_cases;
mod filter;
mod groups;
mod hostile_input;
mod import;
mod migration;
mod oauth;
mod okta;
mod pagination;
mod patch;
mod prefer;
mod profile;
mod projection;
mod roles;
mod root;
mod scale;
mod search;
mod sessions;
mod strict_mode;
mod third_party_client;
mod token_attacks;
mod users;
