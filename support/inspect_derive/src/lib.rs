//! `#[derive(Inspect)]` for the `inspect` crate. Use it through the
//! re-export: `#[derive(inspect::Inspect)]`.
//!
//! Structs describe one child per field (tuple fields are named `"0"`,
//! `"1"`, …). Enums describe a unit variant as its name (a string) and a
//! data variant as a child named after the variant holding its fields (a
//! single-field tuple variant holds the field itself).
//!
//! Field attributes (`#[inspect(...)]`, comma-separated):
//! - `skip`: omit the field.
//! - `rename = "name"`: use another child name.
//! - `hex`: render integers as `"0x…"` (via `inspect::InspectHex`).
//! - `display` / `debug`: render the field's `Display` / `Debug` text.
//! - `flatten`: merge the field's children into the parent.
//! - `with = "path"`: inspect `path(&field)` instead of the field.
//!
//! Variant attribute: `rename = "name"`. Container attribute:
//! `transparent` (a single-field struct is inspected as that field).
//!
//! Every type parameter gets an `inspect::Inspect` bound.
#![forbid(unsafe_code)]

mod attrs;
mod expand;

use proc_macro::TokenStream;

/// Derives `inspect::Inspect`; see the crate documentation for attributes.
#[proc_macro_derive(Inspect, attributes(inspect))]
pub fn derive_inspect(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
