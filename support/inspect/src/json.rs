//! Rendering inspection trees.

use crate::Inspect;
use crate::Node;

/// Describes `value` into a fresh [`Node`].
pub fn inspect_to_node(value: &(impl Inspect + ?Sized)) -> Node {
    let mut node = Node::new();
    value.inspect(&mut node);
    node
}

/// Describes `value` as JSON. Accepts `&dyn Inspect` as well as any
/// (possibly unsized) `Inspect` type.
pub fn inspect_to_json(value: &(impl Inspect + ?Sized)) -> serde_json::Value {
    inspect_to_node(value).to_json()
}

/// Describes `value` as compact JSON text, keeping field order.
pub fn inspect_to_string(value: &(impl Inspect + ?Sized)) -> String {
    serde_json::to_string(&inspect_to_node(value)).expect("a Node always serializes")
}

/// Describes `value` as indented JSON text, keeping field order.
pub fn inspect_to_string_pretty(value: &(impl Inspect + ?Sized)) -> String {
    serde_json::to_string_pretty(&inspect_to_node(value)).expect("a Node always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms() {
        let v = vec![Some(1u8), None];
        let d: &dyn Inspect = &v;
        assert_eq!(inspect_to_string(d), r#"{"0":1,"1":null}"#);
        assert_eq!(
            inspect_to_string_pretty(&v[..]),
            "{\n  \"0\": 1,\n  \"1\": null\n}"
        );
        assert_eq!(inspect_to_json(d), serde_json::json!({ "0": 1, "1": null }));
    }
}
