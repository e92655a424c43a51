//! Leaf values of an inspection tree.

use std::fmt;

/// A leaf value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value (`None`, `()`); JSON `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An unsigned integer.
    Unsigned(u64),
    /// A signed integer.
    Signed(i64),
    /// A floating-point number; non-finite values render as JSON `null`.
    Float(f64),
    /// An unsigned integer rendered as a `"0x…"` string.
    Hex(u128),
    /// A string.
    String(String),
}

impl Value {
    /// The value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Unsigned(v) => J::from(*v),
            Value::Signed(v) => J::from(*v),
            Value::Float(v) => serde_json::Number::from_f64(*v).map_or(J::Null, J::Number),
            Value::Hex(v) => J::String(format!("{v:#x}")),
            Value::String(s) => J::String(s.clone()),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => b.fmt(f),
            Value::Unsigned(v) => v.fmt(f),
            Value::Signed(v) => v.fmt(f),
            Value::Float(v) => v.fmt(f),
            Value::Hex(v) => write!(f, "{v:#x}"),
            Value::String(s) => s.fmt(f),
        }
    }
}

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Unsigned(v) => s.serialize_u64(*v),
            Value::Signed(v) => s.serialize_i64(*v),
            Value::Float(v) if v.is_finite() => s.serialize_f64(*v),
            Value::Float(_) => s.serialize_unit(),
            Value::Hex(v) => s.collect_str(&format_args!("{v:#x}")),
            Value::String(v) => s.serialize_str(v),
        }
    }
}

macro_rules! from_as {
    ($variant:ident($target:ty): $($ty:ty),*) => {$(
        impl From<$ty> for Value {
            fn from(v: $ty) -> Self {
                Value::$variant(v as $target)
            }
        }
    )*};
}

from_as!(Unsigned(u64): u8, u16, u32, u64, usize);
from_as!(Signed(i64): i8, i16, i32, i64, isize);
from_as!(Float(f64): f32, f64);

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}

impl From<char> for Value {
    fn from(v: char) -> Self {
        Value::String(v.to_string())
    }
}

impl From<()> for Value {
    fn from((): ()) -> Self {
        Value::Null
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_rendering() {
        assert_eq!(Value::Hex(0x1f).to_json(), json!("0x1f"));
        assert_eq!(Value::Hex(0).to_json(), json!("0x0"));
        assert_eq!(
            Value::Hex(u128::MAX).to_json(),
            json!(format!("{:#x}", u128::MAX))
        );
        assert_eq!(Value::from(-3i8).to_json(), json!(-3));
        assert_eq!(Value::from(u64::MAX).to_json(), json!(u64::MAX));
        assert_eq!(Value::from(1.5f32).to_json(), json!(1.5));
        assert_eq!(Value::Float(f64::NAN).to_json(), json!(null));
        assert_eq!(Value::from(Some(true)).to_json(), json!(true));
        assert_eq!(Value::from(None::<u8>).to_json(), json!(null));
        assert_eq!(Value::from('x').to_json(), json!("x"));
    }

    #[test]
    fn serialize_matches_to_json() {
        for v in [
            Value::Null,
            Value::Bool(false),
            Value::Unsigned(7),
            Value::Signed(-7),
            Value::Float(0.25),
            Value::Float(f64::INFINITY),
            Value::Hex(0xabc),
            Value::String("q\"uote".into()),
        ] {
            assert_eq!(serde_json::to_value(&v).unwrap(), v.to_json(), "{v:?}");
        }
    }

    #[test]
    fn display() {
        assert_eq!(Value::Hex(255).to_string(), "0xff");
        assert_eq!(Value::String("s".into()).to_string(), "s");
        assert_eq!(Value::Null.to_string(), "null");
    }
}
