//! The inspection tree builder.

use crate::Inspect;
use crate::InspectHex;
use crate::Value;
use std::fmt;

/// A node of an inspection tree: empty, a leaf [`Value`], or an ordered list
/// of named children.
///
/// Builder methods return `&mut Self` so calls can be chained. Adding a child
/// whose name already exists replaces that child in place; adding a child to
/// a leaf discards the leaf's value, and setting a value discards children.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    content: Content,
}

#[derive(Debug, Clone, Default, PartialEq)]
enum Content {
    #[default]
    Empty,
    Value(Value),
    Children(Vec<(String, Node)>),
}

impl Node {
    /// An empty node.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes this node a leaf holding `value`.
    pub fn set_value(&mut self, value: impl Into<Value>) -> &mut Self {
        self.content = Content::Value(value.into());
        self
    }

    /// Adds a child `name` describing `value`.
    pub fn field(&mut self, name: impl Into<String>, value: &(impl Inspect + ?Sized)) -> &mut Self {
        value.inspect(self.child_node(name.into()));
        self
    }

    /// Adds a leaf child `name` holding `value`.
    pub fn value(&mut self, name: impl Into<String>, value: impl Into<Value>) -> &mut Self {
        self.child_node(name.into()).set_value(value);
        self
    }

    /// Adds a child `name` rendering `value` in hexadecimal (`"0x…"`).
    pub fn hex(&mut self, name: impl Into<String>, value: impl InspectHex) -> &mut Self {
        value.inspect_hex(self.child_node(name.into()));
        self
    }

    /// Adds a leaf child `name` holding `value`'s `Display` output.
    pub fn display(
        &mut self,
        name: impl Into<String>,
        value: &(impl fmt::Display + ?Sized),
    ) -> &mut Self {
        self.value(name, value.to_string())
    }

    /// Adds a leaf child `name` holding `value`'s `Debug` output.
    pub fn debug(
        &mut self,
        name: impl Into<String>,
        value: &(impl fmt::Debug + ?Sized),
    ) -> &mut Self {
        self.value(name, format!("{value:?}"))
    }

    /// Adds a child `name` built by `f`.
    pub fn child(&mut self, name: impl Into<String>, f: impl FnOnce(&mut Node)) -> &mut Self {
        f(self.child_node(name.into()));
        self
    }

    /// Describes `value` into this node itself, merging its children with
    /// this node's (`#[inspect(flatten)]`).
    pub fn merge(&mut self, value: &(impl Inspect + ?Sized)) -> &mut Self {
        value.inspect(self);
        self
    }

    /// Adds one child per item, named `"0"`, `"1"`, … in order, each
    /// described by `f`.
    pub fn sequence<T>(
        &mut self,
        items: impl IntoIterator<Item = T>,
        mut f: impl FnMut(&mut Node, T),
    ) -> &mut Self {
        // Names are unique by construction when starting from no children,
        // so skip the duplicate scan (it would be quadratic).
        let fresh = !matches!(self.content, Content::Children(_));
        for (i, item) in items.into_iter().enumerate() {
            let child = if fresh {
                self.push_child(i.to_string())
            } else {
                self.child_node(i.to_string())
            };
            f(child, item);
        }
        if fresh && matches!(self.content, Content::Empty | Content::Value(_)) {
            // An empty sequence is an empty object, not a stale leaf.
            self.content = Content::Children(Vec::new());
        }
        self
    }

    /// The leaf value, if this node is a leaf.
    pub fn as_value(&self) -> Option<&Value> {
        match &self.content {
            Content::Value(v) => Some(v),
            _ => None,
        }
    }

    /// The children, in insertion order (none for a leaf or empty node).
    pub fn children(&self) -> impl Iterator<Item = (&str, &Node)> {
        let children = match &self.content {
            Content::Children(c) => c.as_slice(),
            _ => &[],
        };
        children.iter().map(|(n, c)| (n.as_str(), c))
    }

    /// The child called `name`.
    pub fn get(&self, name: &str) -> Option<&Node> {
        self.children().find(|(n, _)| *n == name).map(|(_, c)| c)
    }

    /// Whether the node has neither a value nor children.
    pub fn is_empty(&self) -> bool {
        match &self.content {
            Content::Empty => true,
            Content::Value(_) => false,
            Content::Children(c) => c.is_empty(),
        }
    }

    /// The tree as JSON: leaves as their value, other nodes as objects.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.content {
            Content::Empty => serde_json::Value::Object(Default::default()),
            Content::Value(v) => v.to_json(),
            Content::Children(c) => {
                serde_json::Value::Object(c.iter().map(|(n, c)| (n.clone(), c.to_json())).collect())
            }
        }
    }

    /// The child `name`, created empty (at the end) if missing.
    fn child_node(&mut self, name: String) -> &mut Node {
        let children = self.children_mut();
        match children.iter().position(|(n, _)| *n == name) {
            Some(i) => &mut children[i].1,
            None => {
                children.push((name, Node::new()));
                &mut children.last_mut().expect("just pushed").1
            }
        }
    }

    /// Appends a new child `name` without checking for duplicates.
    fn push_child(&mut self, name: String) -> &mut Node {
        let children = self.children_mut();
        children.push((name, Node::new()));
        &mut children.last_mut().expect("just pushed").1
    }

    fn children_mut(&mut self) -> &mut Vec<(String, Node)> {
        if !matches!(self.content, Content::Children(_)) {
            self.content = Content::Children(Vec::new());
        }
        match &mut self.content {
            Content::Children(c) => c,
            _ => unreachable!("just set"),
        }
    }
}

/// Serializes in insertion order (unlike [`Node::to_json`], whose object key
/// order follows `serde_json`'s map).
impl serde::Serialize for Node {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match &self.content {
            Content::Empty => s.serialize_map(Some(0))?.end(),
            Content::Value(v) => v.serialize(s),
            Content::Children(c) => {
                let mut map = s.serialize_map(Some(c.len()))?;
                for (name, child) in c {
                    map.serialize_entry(name, child)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builder_chains() {
        let mut n = Node::new();
        n.value("a", 1u8)
            .hex("b", 0x10u32)
            .display("c", &std::net::Ipv4Addr::LOCALHOST)
            .debug("d", &Some(1))
            .child("e", |n| {
                n.value("f", true);
            })
            .field("g", &-5i32);
        assert_eq!(
            n.to_json(),
            json!({
                "a": 1, "b": "0x10", "c": "127.0.0.1", "d": "Some(1)",
                "e": { "f": true }, "g": -5
            })
        );
        assert_eq!(n.get("b").unwrap().as_value(), Some(&Value::Hex(0x10)));
        let names: Vec<&str> = n.children().map(|(n, _)| n).collect();
        assert_eq!(names, ["a", "b", "c", "d", "e", "g"]);
    }

    #[test]
    fn duplicate_names_replace_in_place() {
        let mut n = Node::new();
        n.value("x", 1u8).value("y", 2u8).value("x", 3u8);
        assert_eq!(serde_json::to_string(&n).unwrap(), r#"{"x":3,"y":2}"#);
    }

    #[test]
    fn leaf_and_children_replace_each_other() {
        let mut n = Node::new();
        n.set_value(5u8);
        n.value("a", 1u8);
        assert_eq!(n.to_json(), json!({ "a": 1 }));
        n.set_value("leaf");
        assert_eq!(n.to_json(), json!("leaf"));
        assert!(n.children().next().is_none());
    }

    #[test]
    fn empty_and_sequences() {
        let mut n = Node::new();
        assert!(n.is_empty());
        assert_eq!(n.to_json(), json!({}));
        n.sequence(Vec::<u8>::new(), |_, _| {});
        assert_eq!(serde_json::to_string(&n).unwrap(), "{}");
        n.sequence([7u8, 8], |n, v| {
            n.set_value(v);
        });
        assert_eq!(n.to_json(), json!({ "0": 7, "1": 8 }));
        // A sequence merged into existing children replaces by name.
        n.sequence([9u8], |n, v| {
            n.set_value(v);
        });
        assert_eq!(n.to_json(), json!({ "0": 9, "1": 8 }));
    }

    #[test]
    fn serialize_keeps_insertion_order() {
        let mut n = Node::new();
        n.value("z", 1u8).value("a", 2u8).child("m", |n| {
            n.value("y", ()).value("b", "s");
        });
        assert_eq!(
            serde_json::to_string(&n).unwrap(),
            r#"{"z":1,"a":2,"m":{"y":null,"b":"s"}}"#
        );
    }
}
