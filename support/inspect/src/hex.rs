//! Hexadecimal rendering (`#[inspect(hex)]`, [`Node::hex`]).

use crate::Inspect;
use crate::Node;
use crate::Value;

/// A value that can be described in hexadecimal: unsigned integers (signed
/// ones as their two's-complement bits), and options, slices, arrays and
/// vectors of them.
pub trait InspectHex {
    /// Describes `self` into `node`, integers as [`Value::Hex`].
    fn inspect_hex(&self, node: &mut Node);
}

macro_rules! hex_int {
    ($($ty:ty => $bits:ty),*) => {$(
        impl InspectHex for $ty {
            fn inspect_hex(&self, node: &mut Node) {
                node.set_value(Value::Hex(*self as $bits as u128));
            }
        }
    )*};
}

hex_int!(
    u8 => u8, u16 => u16, u32 => u32, u64 => u64, u128 => u128, usize => usize,
    i8 => u8, i16 => u16, i32 => u32, i64 => u64, i128 => u128, isize => usize
);

impl<T: InspectHex + ?Sized> InspectHex for &T {
    fn inspect_hex(&self, node: &mut Node) {
        (**self).inspect_hex(node)
    }
}

impl<T: InspectHex> InspectHex for Option<T> {
    fn inspect_hex(&self, node: &mut Node) {
        match self {
            Some(v) => v.inspect_hex(node),
            None => {
                node.set_value(Value::Null);
            }
        }
    }
}

impl<T: InspectHex> InspectHex for [T] {
    fn inspect_hex(&self, node: &mut Node) {
        node.sequence(self, |n, v| v.inspect_hex(n));
    }
}

impl<T: InspectHex, const N: usize> InspectHex for [T; N] {
    fn inspect_hex(&self, node: &mut Node) {
        self.as_slice().inspect_hex(node)
    }
}

impl<T: InspectHex> InspectHex for Vec<T> {
    fn inspect_hex(&self, node: &mut Node) {
        self.as_slice().inspect_hex(node)
    }
}

/// Wraps a value so that it is inspected in hexadecimal, e.g. as an element
/// of a collection: `node.field("regs", &AsHex(&self.regs))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsHex<T>(pub T);

impl<T: InspectHex> Inspect for AsHex<T> {
    fn inspect(&self, node: &mut Node) {
        self.0.inspect_hex(node)
    }
}

#[cfg(test)]
mod tests {
    use crate::inspect_to_json;
    use crate::AsHex;
    use serde_json::json;

    #[test]
    fn integers_and_containers() {
        assert_eq!(inspect_to_json(&AsHex(0xffu8)), json!("0xff"));
        assert_eq!(inspect_to_json(&AsHex(-1i8)), json!("0xff"));
        assert_eq!(inspect_to_json(&AsHex(-1i64)), json!("0xffffffffffffffff"));
        assert_eq!(
            inspect_to_json(&AsHex(1u128 << 100)),
            json!("0x10000000000000000000000000")
        );
        assert_eq!(inspect_to_json(&AsHex(Some(&10u32))), json!("0xa"));
        assert_eq!(inspect_to_json(&AsHex(None::<u32>)), json!(null));
        assert_eq!(
            inspect_to_json(&AsHex([1u16, 0x20])),
            json!({ "0": "0x1", "1": "0x20" })
        );
        assert_eq!(inspect_to_json(&AsHex(vec![0usize; 0])), json!({}));
    }
}
