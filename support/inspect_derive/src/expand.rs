//! Code generation for `#[derive(Inspect)]`.

use crate::attrs::ContainerAttrs;
use crate::attrs::FieldAttrs;
use crate::attrs::Style;
use crate::attrs::VariantAttrs;
use proc_macro2::TokenStream;
use quote::format_ident;
use quote::quote;
use syn::Data;
use syn::DeriveInput;
use syn::Fields;

/// Expands the derive for `input`.
pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let container = ContainerAttrs::parse(&input.attrs)?;
    let body = match &input.data {
        Data::Struct(s) => expand_struct(&s.fields, &container)?,
        Data::Enum(e) => {
            if container.transparent {
                return Err(syn::Error::new_spanned(
                    &input.ident,
                    "`transparent` applies to single-field structs only",
                ));
            }
            expand_enum(e)?
        }
        Data::Union(u) => {
            return Err(syn::Error::new_spanned(
                u.union_token,
                "Inspect cannot be derived for unions",
            ))
        }
    };

    let mut generics = input.generics.clone();
    let params: Vec<_> = generics.type_params().map(|p| p.ident.clone()).collect();
    let where_clause = generics.make_where_clause();
    for param in params {
        where_clause
            .predicates
            .push(syn::parse_quote!(#param: ::inspect::Inspect));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let name = &input.ident;
    Ok(quote! {
        impl #impl_generics ::inspect::Inspect for #name #ty_generics #where_clause {
            fn inspect(&self, node: &mut ::inspect::Node) {
                #body
            }
        }
    })
}

/// One field to describe: its child name and an expression of type `&Field`.
struct FieldRef {
    name: String,
    access: TokenStream,
    attrs: FieldAttrs,
}

/// The fields of a struct or variant, with `access(index, ident)` building
/// each field's reference expression.
fn field_refs(
    fields: &Fields,
    access: impl Fn(usize, Option<&syn::Ident>) -> TokenStream,
) -> syn::Result<Vec<FieldRef>> {
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let attrs = FieldAttrs::parse(&f.attrs)?;
            let default_name = match &f.ident {
                Some(ident) => unraw(ident),
                None => i.to_string(),
            };
            Ok(FieldRef {
                name: attrs.rename.clone().unwrap_or(default_name),
                access: access(i, f.ident.as_ref()),
                attrs,
            })
        })
        .collect()
}

/// `r#type` is described as `type`.
fn unraw(ident: &syn::Ident) -> String {
    let s = ident.to_string();
    match s.strip_prefix("r#") {
        Some(bare) => bare.to_owned(),
        None => s,
    }
}

/// Statements describing `field` into `node` (nothing if skipped).
fn emit(field: &FieldRef) -> TokenStream {
    let FieldRef {
        name,
        access,
        attrs,
    } = field;
    if attrs.skip {
        return TokenStream::new();
    }
    let value = match &attrs.with {
        Some(with) => quote!(&#with(#access)),
        None => access.clone(),
    };
    match attrs.style {
        Style::Inspect => quote!(node.field(#name, #value);),
        Style::Hex => quote!(node.hex(#name, #value);),
        Style::Display => quote!(node.display(#name, #value);),
        Style::Debug => quote!(node.debug(#name, #value);),
        Style::Flatten => quote!(node.merge(#value);),
    }
}

fn expand_struct(fields: &Fields, container: &ContainerAttrs) -> syn::Result<TokenStream> {
    let refs = field_refs(fields, |i, ident| match ident {
        Some(ident) => quote!(&self.#ident),
        None => {
            let index = syn::Index::from(i);
            quote!(&self.#index)
        }
    })?;
    if container.transparent {
        let [field] = refs.as_slice() else {
            return Err(syn::Error::new_spanned(
                fields,
                "`transparent` needs exactly one field",
            ));
        };
        let access = &field.access;
        return Ok(quote!(::inspect::Inspect::inspect(#access, node);));
    }
    Ok(refs.iter().map(emit).collect())
}

fn expand_enum(data: &syn::DataEnum) -> syn::Result<TokenStream> {
    let mut arms = Vec::new();
    for variant in &data.variants {
        let attrs = VariantAttrs::parse(&variant.attrs)?;
        let ident = &variant.ident;
        let name = attrs.rename.unwrap_or_else(|| unraw(ident));
        let binding = |i: usize| format_ident!("__inspect_field_{}", i);
        let mut refs = field_refs(&variant.fields, |i, _| {
            let b = binding(i);
            quote!(#b)
        })?;
        let pattern_fields = variant.fields.iter().enumerate().map(|(i, f)| {
            let b = if refs[i].attrs.skip {
                quote!(_)
            } else {
                let b = binding(i);
                quote!(#b)
            };
            match &f.ident {
                Some(ident) => quote!(#ident: #b),
                None => b,
            }
        });
        let pattern_fields: Vec<TokenStream> = pattern_fields.collect();
        let arm = match &variant.fields {
            Fields::Unit => quote! {
                Self::#ident => {
                    node.set_value(::inspect::Value::from(#name));
                }
            },
            Fields::Named(_) => {
                let body = refs.iter().map(emit);
                quote! {
                    Self::#ident { #(#pattern_fields),* } => {
                        node.child(#name, |node| { #(#body)* });
                    }
                }
            }
            Fields::Unnamed(_) if refs.len() == 1 => {
                // A newtype variant holds its field directly.
                let mut field = refs.remove(0);
                field.name = name;
                let body = emit(&field);
                quote! {
                    Self::#ident(#(#pattern_fields),*) => { #body }
                }
            }
            Fields::Unnamed(_) => {
                let body = refs.iter().map(emit);
                quote! {
                    Self::#ident(#(#pattern_fields),*) => {
                        node.child(#name, |node| { #(#body)* });
                    }
                }
            }
        };
        arms.push(arm);
    }
    Ok(quote! {
        match self {
            #(#arms)*
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn expand_str(input: DeriveInput) -> String {
        expand(&input).unwrap().to_string()
    }

    #[test]
    fn struct_expansion() {
        let s = expand_str(parse_quote! {
            struct S<T> {
                #[inspect(hex)]
                a: u32,
                #[inspect(skip)]
                b: T,
                #[inspect(rename = "see")]
                r#c: u8,
            }
        });
        assert!(s.contains(":: inspect :: Inspect for S < T >"), "{s}");
        assert!(s.contains("T : :: inspect :: Inspect"), "{s}");
        assert!(s.contains("node . hex (\"a\" , & self . a)"), "{s}");
        assert!(!s.contains("self . b"), "{s}");
        assert!(s.contains("node . field (\"see\" , & self . r#c)"), "{s}");
    }

    #[test]
    fn enum_expansion() {
        let s = expand_str(parse_quote! {
            enum E {
                A,
                #[inspect(rename = "bee")]
                B { x: u8, #[inspect(skip)] y: u8 },
                C(#[inspect(hex)] u8),
            }
        });
        assert!(s.contains("Self :: A =>"), "{s}");
        assert!(s.contains("node . child (\"bee\""), "{s}");
        assert!(s.contains("y : _"), "{s}");
        assert!(s.contains("node . hex (\"C\" , __inspect_field_0)"), "{s}");
    }

    #[test]
    fn errors() {
        for input in [
            parse_quote!(
                union U {
                    a: u8,
                }
            ),
            parse_quote!(
                #[inspect(transparent)]
                struct T(u8, u8);
            ),
            parse_quote!(
                #[inspect(transparent)]
                enum E {
                    A,
                }
            ),
            parse_quote!(
                struct S {
                    #[inspect(nope)]
                    a: u8,
                }
            ),
            parse_quote!(
                enum E {
                    #[inspect(hex)]
                    A,
                }
            ),
        ] {
            let input: DeriveInput = input;
            assert!(expand(&input).is_err());
        }
    }
}
