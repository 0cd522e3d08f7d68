//! The default scimd engine as a `wasm32-wasip2` component. All the glue lives in
//! `scim_engine::component` (so customised guests reuse it); this crate only exports the
//! default `Engine`.

/// The default engine, as the component's exported interface.
type DefaultEngine = scim_engine::component::Adapter<scim_engine::Engine>;

scim_engine::component::export_scim_engine!(DefaultEngine);
