//! inspect_derive
#![forbid(unsafe_code)]
