//! `Inspect` for primitive and standard types.

use crate::Inspect;
use crate::Node;
use crate::Value;
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::collections::VecDeque;
use std::fmt::Display;
use std::rc::Rc;
use std::sync::atomic;
use std::sync::Arc;

macro_rules! leaf {
    ($($ty:ty),*) => {$(
        impl Inspect for $ty {
            fn inspect(&self, node: &mut Node) {
                node.set_value(*self);
            }
        }
    )*};
}

leaf!(
    u8,
    u16,
    u32,
    u64,
    usize,
    i8,
    i16,
    i32,
    i64,
    isize,
    f32,
    f64,
    bool,
    char,
    ()
);

/// 128-bit integers are exact in JSON only as strings beyond 64 bits.
impl Inspect for u128 {
    fn inspect(&self, node: &mut Node) {
        match u64::try_from(*self) {
            Ok(v) => node.set_value(v),
            Err(_) => node.set_value(self.to_string()),
        };
    }
}

impl Inspect for i128 {
    fn inspect(&self, node: &mut Node) {
        match i64::try_from(*self) {
            Ok(v) => node.set_value(v),
            Err(_) => node.set_value(self.to_string()),
        };
    }
}

impl Inspect for str {
    fn inspect(&self, node: &mut Node) {
        node.set_value(self);
    }
}

impl Inspect for String {
    fn inspect(&self, node: &mut Node) {
        node.set_value(self.as_str());
    }
}

impl Inspect for Value {
    fn inspect(&self, node: &mut Node) {
        node.set_value(self.clone());
    }
}

impl Inspect for Node {
    fn inspect(&self, node: &mut Node) {
        *node = self.clone();
    }
}

macro_rules! atomic {
    ($($ty:ident),*) => {$(
        /// Loads with `Relaxed` ordering.
        impl Inspect for atomic::$ty {
            fn inspect(&self, node: &mut Node) {
                node.set_value(self.load(atomic::Ordering::Relaxed));
            }
        }
    )*};
}

atomic!(
    AtomicBool,
    AtomicU8,
    AtomicU16,
    AtomicU32,
    AtomicU64,
    AtomicUsize,
    AtomicI8,
    AtomicI16,
    AtomicI32,
    AtomicI64,
    AtomicIsize
);

/// `None` is `null`; `Some(v)` is `v` itself.
impl<T: Inspect> Inspect for Option<T> {
    fn inspect(&self, node: &mut Node) {
        match self {
            Some(v) => v.inspect(node),
            None => {
                node.set_value(Value::Null);
            }
        }
    }
}

/// Elements are children named `"0"`, `"1"`, ….
impl<T: Inspect> Inspect for [T] {
    fn inspect(&self, node: &mut Node) {
        node.sequence(self, |n, v| v.inspect(n));
    }
}

impl<T: Inspect, const N: usize> Inspect for [T; N] {
    fn inspect(&self, node: &mut Node) {
        self.as_slice().inspect(node)
    }
}

impl<T: Inspect> Inspect for Vec<T> {
    fn inspect(&self, node: &mut Node) {
        self.as_slice().inspect(node)
    }
}

impl<T: Inspect> Inspect for VecDeque<T> {
    fn inspect(&self, node: &mut Node) {
        node.sequence(self, |n, v| v.inspect(n));
    }
}

/// Entries are children named by the keys' `Display` output.
impl<K: Display, V: Inspect> Inspect for BTreeMap<K, V> {
    fn inspect(&self, node: &mut Node) {
        for (k, v) in self {
            node.field(k.to_string(), v);
        }
    }
}

/// Entries are children named by the keys' `Display` output, sorted by name.
impl<K: Display, V: Inspect, S> Inspect for HashMap<K, V, S> {
    fn inspect(&self, node: &mut Node) {
        let sorted: BTreeMap<String, &V> = self.iter().map(|(k, v)| (k.to_string(), v)).collect();
        sorted.inspect(node)
    }
}

macro_rules! deref {
    ($($ty:ty),*) => {$(
        impl<T: Inspect + ?Sized> Inspect for $ty {
            fn inspect(&self, node: &mut Node) {
                (**self).inspect(node)
            }
        }
    )*};
}

deref!(&T, &mut T, Box<T>, Arc<T>, Rc<T>);

/// Locks the mutex for the duration of the inspection (so do not inspect a
/// value while holding its lock).
impl<T: Inspect + ?Sized> Inspect for parking_lot::Mutex<T> {
    fn inspect(&self, node: &mut Node) {
        self.lock().inspect(node)
    }
}

/// Takes a read lock for the duration of the inspection.
impl<T: Inspect + ?Sized> Inspect for parking_lot::RwLock<T> {
    fn inspect(&self, node: &mut Node) {
        self.read().inspect(node)
    }
}

/// Locks the mutex for the duration of the inspection, ignoring poisoning.
impl<T: Inspect + ?Sized> Inspect for std::sync::Mutex<T> {
    fn inspect(&self, node: &mut Node) {
        self.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .inspect(node)
    }
}

impl<T: Inspect + Copy> Inspect for std::cell::Cell<T> {
    fn inspect(&self, node: &mut Node) {
        self.get().inspect(node)
    }
}

#[cfg(test)]
mod tests {
    use crate::inspect_to_json;
    use crate::inspect_to_string;
    use serde_json::json;
    use std::collections::BTreeMap;
    use std::collections::HashMap;
    use std::sync::atomic::AtomicU32;
    use std::sync::Arc;

    #[test]
    fn primitives() {
        assert_eq!(inspect_to_json(&5u8), json!(5));
        assert_eq!(inspect_to_json(&-5i64), json!(-5));
        assert_eq!(inspect_to_json(&true), json!(true));
        assert_eq!(inspect_to_json("str"), json!("str"));
        assert_eq!(inspect_to_json(&String::from("s")), json!("s"));
        assert_eq!(inspect_to_json(&()), json!(null));
        assert_eq!(inspect_to_json(&7u128), json!(7));
        assert_eq!(inspect_to_json(&u128::MAX), json!(u128::MAX.to_string()));
        assert_eq!(inspect_to_json(&i128::MIN), json!(i128::MIN.to_string()));
        assert_eq!(inspect_to_json(&AtomicU32::new(9)), json!(9));
    }

    #[test]
    fn containers() {
        assert_eq!(inspect_to_json(&Some(3u8)), json!(3));
        assert_eq!(inspect_to_json(&None::<u8>), json!(null));
        assert_eq!(
            inspect_to_json(&vec!["a", "b"]),
            json!({ "0": "a", "1": "b" })
        );
        assert_eq!(
            inspect_to_json(&[[1u8; 2]; 1]),
            json!({ "0": { "0": 1, "1": 1 } })
        );
        assert_eq!(inspect_to_json(&Vec::<u8>::new()), json!({}));
        let map: BTreeMap<u32, bool> = [(2, true), (10, false)].into();
        assert_eq!(inspect_to_string(&map), r#"{"2":true,"10":false}"#);
        assert_eq!(inspect_to_json(&BTreeMap::<u8, u8>::new()), json!({}));
        let hmap: HashMap<&str, u8> = [("b", 2), ("a", 1)].into();
        assert_eq!(inspect_to_string(&hmap), r#"{"a":1,"b":2}"#);
    }

    #[test]
    fn wrappers() {
        let shared = Arc::new(parking_lot::Mutex::new(vec![1u8]));
        assert_eq!(inspect_to_json(&shared), json!({ "0": 1 }));
        assert_eq!(
            inspect_to_json(&Box::new(parking_lot::RwLock::new(2u8))),
            json!(2)
        );
        assert_eq!(inspect_to_json(&std::sync::Mutex::new(3u8)), json!(3));
        assert_eq!(inspect_to_json(&std::cell::Cell::new(4u8)), json!(4));
        let boxed: Box<dyn crate::Inspect> = Box::new(5u8);
        assert_eq!(inspect_to_json(&boxed), json!(5));
    }
}
