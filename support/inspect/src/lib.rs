//! Observability for device state: the [`Inspect`] trait exposes a value as a
//! tree of named values, which can be printed as JSON.
//!
//! ```
//! #[derive(inspect::Inspect)]
//! struct Queue {
//!     #[inspect(hex)]
//!     base: u64,
//!     size: u16,
//!     #[inspect(skip)]
//!     _cache: Vec<u8>,
//! }
//!
//! let q = Queue { base: 0x1000, size: 256, _cache: Vec::new() };
//! assert_eq!(
//!     inspect::inspect_to_json(&q),
//!     serde_json::json!({ "base": "0x1000", "size": 256 }),
//! );
//! ```
//!
//! Hand-written implementations use the [`Node`] builder:
//!
//! ```
//! use inspect::{Inspect, Node};
//!
//! struct Regs { ctrl: u32, status: u32 }
//!
//! impl Inspect for Regs {
//!     fn inspect(&self, node: &mut Node) {
//!         node.hex("ctrl", self.ctrl)
//!             .child("status", |n| {
//!                 n.value("raw", self.status).value("busy", self.status & 1 != 0);
//!             });
//!     }
//! }
//! ```
#![forbid(unsafe_code)]

mod hex;
mod impls;
mod json;
mod node;
mod value;

pub use hex::AsHex;
pub use hex::InspectHex;
pub use inspect_derive::Inspect;
pub use json::inspect_to_json;
pub use json::inspect_to_node;
pub use json::inspect_to_string;
pub use json::inspect_to_string_pretty;
pub use node::Node;
pub use value::Value;

/// A value whose state can be exposed as a tree of named values.
///
/// An implementation either sets the node's own value
/// ([`Node::set_value`]; for leaves such as integers) or adds named children
/// ([`Node::field`], [`Node::hex`], [`Node::child`], ...; for structures).
///
/// `#[derive(Inspect)]` implements it for structs (one child per field) and
/// enums (unit variants as their name; data variants as a child named after
/// the variant). Field attributes: `#[inspect(hex)]`, `#[inspect(skip)]`,
/// `#[inspect(rename = "name")]`, `#[inspect(display)]`,
/// `#[inspect(debug)]`, `#[inspect(flatten)]` and
/// `#[inspect(with = "path")]` (inspect `path(&field)` instead). Container
/// attribute: `#[inspect(transparent)]` on a single-field struct.
pub trait Inspect {
    /// Describes `self` into `node`.
    fn inspect(&self, node: &mut Node);
}
