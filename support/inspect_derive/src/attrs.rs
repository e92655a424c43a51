//! Parsing of `#[inspect(...)]` attributes.

use syn::spanned::Spanned;
use syn::Attribute;
use syn::LitStr;
use syn::Path;

/// How a field is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// Through its `Inspect` implementation.
    #[default]
    Inspect,
    /// Through `InspectHex`.
    Hex,
    /// As its `Display` text.
    Display,
    /// As its `Debug` text.
    Debug,
    /// Merged into the parent node.
    Flatten,
}

/// The attributes of one field.
#[derive(Default)]
pub struct FieldAttrs {
    pub skip: bool,
    pub rename: Option<String>,
    pub style: Style,
    pub with: Option<Path>,
}

impl FieldAttrs {
    pub fn parse(attrs: &[Attribute]) -> syn::Result<Self> {
        let mut out = FieldAttrs::default();
        for attr in inspect_attrs(attrs) {
            attr.parse_nested_meta(|meta| {
                let style = if meta.path.is_ident("skip") {
                    out.skip = true;
                    return Ok(());
                } else if meta.path.is_ident("rename") {
                    set_once(&mut out.rename, parse_str(&meta)?.value(), &meta)?;
                    return Ok(());
                } else if meta.path.is_ident("with") {
                    set_once(&mut out.with, parse_str(&meta)?.parse()?, &meta)?;
                    return Ok(());
                } else if meta.path.is_ident("hex") {
                    Style::Hex
                } else if meta.path.is_ident("display") {
                    Style::Display
                } else if meta.path.is_ident("debug") {
                    Style::Debug
                } else if meta.path.is_ident("flatten") {
                    Style::Flatten
                } else {
                    return Err(meta.error(
                        "unknown inspect field attribute (expected skip, rename, hex, \
                         display, debug, flatten or with)",
                    ));
                };
                if out.style != Style::Inspect {
                    return Err(
                        meta.error("at most one of hex, display, debug and flatten may be given")
                    );
                }
                out.style = style;
                Ok(())
            })?;
        }
        if out.style == Style::Flatten && out.rename.is_some() {
            return Err(syn::Error::new(
                attrs_span(attrs),
                "a flattened field has no name to rename",
            ));
        }
        if out.with.is_some() && matches!(out.style, Style::Display | Style::Debug) {
            return Err(syn::Error::new(
                attrs_span(attrs),
                "`with` cannot be combined with display or debug",
            ));
        }
        Ok(out)
    }
}

/// The attributes of one enum variant.
#[derive(Default)]
pub struct VariantAttrs {
    pub rename: Option<String>,
}

impl VariantAttrs {
    pub fn parse(attrs: &[Attribute]) -> syn::Result<Self> {
        let mut out = VariantAttrs::default();
        for attr in inspect_attrs(attrs) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    set_once(&mut out.rename, parse_str(&meta)?.value(), &meta)
                } else {
                    Err(meta.error("unknown inspect variant attribute (expected rename)"))
                }
            })?;
        }
        Ok(out)
    }
}

/// The attributes of the deriving type.
#[derive(Default)]
pub struct ContainerAttrs {
    pub transparent: bool,
}

impl ContainerAttrs {
    pub fn parse(attrs: &[Attribute]) -> syn::Result<Self> {
        let mut out = ContainerAttrs::default();
        for attr in inspect_attrs(attrs) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("transparent") {
                    out.transparent = true;
                    Ok(())
                } else {
                    Err(meta.error("unknown inspect container attribute (expected transparent)"))
                }
            })?;
        }
        Ok(out)
    }
}

fn inspect_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("inspect"))
}

fn attrs_span(attrs: &[Attribute]) -> proc_macro2::Span {
    inspect_attrs(attrs)
        .next()
        .map_or_else(proc_macro2::Span::call_site, |a| a.span())
}

fn parse_str(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<LitStr> {
    meta.value()?.parse()
}

fn set_once<T>(
    slot: &mut Option<T>,
    value: T,
    meta: &syn::meta::ParseNestedMeta<'_>,
) -> syn::Result<()> {
    if slot.is_some() {
        return Err(meta.error("duplicate inspect attribute"));
    }
    *slot = Some(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn field(attrs: Vec<Attribute>) -> syn::Result<FieldAttrs> {
        FieldAttrs::parse(&attrs)
    }

    #[test]
    fn parses_field_attributes() {
        let a = field(vec![
            parse_quote!(#[inspect(hex, rename = "r")]),
            parse_quote!(#[doc = "ignored"]),
        ])
        .unwrap();
        assert_eq!(a.style, Style::Hex);
        assert_eq!(a.rename.as_deref(), Some("r"));
        assert!(!a.skip);
        let a = field(vec![parse_quote!(#[inspect(skip)])]).unwrap();
        assert!(a.skip);
        let a = field(vec![parse_quote!(#[inspect(with = "u64::from")])]).unwrap();
        assert!(a.with.is_some());
        assert_eq!(field(vec![]).unwrap().style, Style::Inspect);
    }

    #[test]
    fn rejects_bad_field_attributes() {
        for attrs in [
            vec![parse_quote!(#[inspect(bogus)])],
            vec![parse_quote!(#[inspect(hex, display)])],
            vec![parse_quote!(#[inspect(flatten, rename = "x")])],
            vec![
                parse_quote!(#[inspect(rename = "a")]),
                parse_quote!(#[inspect(rename = "b")]),
            ],
            vec![parse_quote!(#[inspect(rename = 5)])],
            vec![parse_quote!(#[inspect(display, with = "f")])],
        ] {
            assert!(field(attrs).is_err());
        }
    }

    #[test]
    fn variant_and_container_attributes() {
        let v = VariantAttrs::parse(&[parse_quote!(#[inspect(rename = "v")])]).unwrap();
        assert_eq!(v.rename.as_deref(), Some("v"));
        assert!(VariantAttrs::parse(&[parse_quote!(#[inspect(hex)])]).is_err());
        let c = ContainerAttrs::parse(&[parse_quote!(#[inspect(transparent)])]).unwrap();
        assert!(c.transparent);
        assert!(ContainerAttrs::parse(&[parse_quote!(#[inspect(skip)])]).is_err());
    }
}
