//! placeholder-free crate root
