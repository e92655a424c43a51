//! `#[derive(inspect::Inspect)]` as seen from a user crate.

use inspect::inspect_to_json;
use inspect::inspect_to_string_pretty;
use inspect::Inspect;
use inspect::Node;
use parking_lot::Mutex;
use serde_json::json;
use std::fmt;
use std::sync::Arc;

#[derive(inspect::Inspect)]
struct Device {
    name: String,
    #[inspect(hex)]
    base: u64,
    #[inspect(skip)]
    _scratch: Vec<u8>,
    #[inspect(rename = "irq_line")]
    irq: u8,
    queues: Vec<Queue>,
    state: Arc<Mutex<State>>,
    #[inspect(display)]
    speed: Speed,
    #[inspect(flatten)]
    common: Common,
    mode: Mode,
    last_error: Option<Error>,
    #[inspect(hex)]
    masks: [u16; 2],
    #[inspect(debug)]
    pending: Option<(u8, bool)>,
    #[inspect(with = "count_set")]
    bitmap: u32,
    #[inspect(hex, with = "low_byte")]
    id: u32,
}

fn count_set(v: &u32) -> u32 {
    v.count_ones()
}

fn low_byte(v: &u32) -> u8 {
    *v as u8
}

#[derive(inspect::Inspect)]
struct Queue {
    #[inspect(hex)]
    desc: u64,
    size: u16,
    enabled: bool,
}

#[derive(inspect::Inspect)]
struct State {
    head: u32,
    #[inspect(hex)]
    status: Option<u8>,
}

struct Speed(u32);

impl fmt::Display for Speed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} MT/s", self.0)
    }
}

#[derive(inspect::Inspect)]
struct Common {
    vendor: u16,
    #[inspect(rename = "dev")]
    device: u16,
}

#[derive(inspect::Inspect)]
enum Mode {
    #[allow(dead_code)]
    Off,
    Translating,
}

#[derive(inspect::Inspect)]
enum Error {
    #[allow(dead_code)]
    Timeout,
    Fault {
        #[inspect(hex)]
        addr: u64,
        write: bool,
    },
    #[allow(dead_code)]
    Code(#[inspect(hex)] u32),
    #[allow(dead_code)]
    #[inspect(rename = "pair")]
    Pair(u8, #[inspect(skip)] u8, bool),
}

fn device() -> Device {
    Device {
        name: "nvme0".into(),
        base: 0xfe00_0000,
        _scratch: vec![1, 2, 3],
        irq: 11,
        queues: vec![
            Queue {
                desc: 0x1000,
                size: 64,
                enabled: true,
            },
            Queue {
                desc: 0,
                size: 0,
                enabled: false,
            },
        ],
        state: Arc::new(Mutex::new(State {
            head: 3,
            status: Some(0x80),
        })),
        speed: Speed(2500),
        common: Common {
            vendor: 0x1b36,
            device: 0x10,
        },
        mode: Mode::Translating,
        last_error: Some(Error::Fault {
            addr: 0xdead_b000,
            write: true,
        }),
        masks: [0xff, 0],
        pending: Some((1, false)),
        bitmap: 0b1011,
        id: 0x1234,
    }
}

#[test]
fn nested_struct_json_exact() {
    assert_eq!(
        inspect_to_json(&device()),
        json!({
            "name": "nvme0",
            "base": "0xfe000000",
            "irq_line": 11,
            "queues": {
                "0": { "desc": "0x1000", "size": 64, "enabled": true },
                "1": { "desc": "0x0", "size": 0, "enabled": false },
            },
            "state": { "head": 3, "status": "0x80" },
            "speed": "2500 MT/s",
            "vendor": 6966,
            "dev": 16,
            "mode": "Translating",
            "last_error": { "Fault": { "addr": "0xdeadb000", "write": true } },
            "masks": { "0": "0xff", "1": "0x0" },
            "pending": "Some((1, false))",
            "bitmap": 3,
            "id": "0x34",
        })
    );
}

#[test]
fn pretty_output_keeps_field_order() {
    let q = Queue {
        desc: 0x2000,
        size: 8,
        enabled: true,
    };
    assert_eq!(
        inspect_to_string_pretty(&q),
        "{\n  \"desc\": \"0x2000\",\n  \"size\": 8,\n  \"enabled\": true\n}"
    );
    let keys: Vec<String> = inspect::inspect_to_node(&device())
        .children()
        .map(|(n, _)| n.to_owned())
        .collect();
    assert_eq!(keys[..4], ["name", "base", "irq_line", "queues"]);
}

#[test]
fn enum_variants() {
    assert_eq!(inspect_to_json(&Mode::Off), json!("Off"));
    assert_eq!(inspect_to_json(&Error::Timeout), json!("Timeout"));
    assert_eq!(
        inspect_to_json(&Error::Code(0x1f)),
        json!({ "Code": "0x1f" })
    );
    assert_eq!(
        inspect_to_json(&Error::Pair(1, 2, true)),
        json!({ "pair": { "0": 1, "2": true } })
    );
    assert_eq!(inspect_to_json(&None::<Error>), json!(null));
}

#[derive(inspect::Inspect)]
struct Wrapper<T>(T, #[inspect(skip)] std::marker::PhantomData<T>);

#[derive(inspect::Inspect)]
#[inspect(transparent)]
struct Newtype(u32);

#[derive(inspect::Inspect)]
struct Unit;

#[derive(inspect::Inspect)]
struct Raw {
    r#type: u8,
}

#[derive(inspect::Inspect)]
struct Borrowed<'a, T: Clone> {
    items: &'a [T],
}

#[test]
fn tuple_generic_transparent_unit_raw() {
    assert_eq!(
        inspect_to_json(&Wrapper(5u8, std::marker::PhantomData)),
        json!({ "0": 5 })
    );
    assert_eq!(inspect_to_json(&Newtype(9)), json!(9));
    assert_eq!(inspect_to_json(&Unit), json!({}));
    assert_eq!(inspect_to_json(&Raw { r#type: 1 }), json!({ "type": 1 }));
    assert_eq!(
        inspect_to_json(&Borrowed { items: &[true] }),
        json!({ "items": { "0": true } })
    );
}

/// A hand-written implementation mixing builder calls with a derived child.
struct Manual {
    regs: [u32; 2],
}

impl Inspect for Manual {
    fn inspect(&self, node: &mut Node) {
        node.child("regs", |n| {
            n.hex("ctrl", self.regs[0]).hex("status", self.regs[1]);
        })
        .value("ok", true)
        .field("mode", &Mode::Off);
    }
}

#[test]
fn manual_and_dyn() {
    let m = Manual {
        regs: [1, 0x8000_0000],
    };
    let devices: Vec<Box<dyn Inspect>> = vec![Box::new(m), Box::new(Newtype(2))];
    assert_eq!(
        inspect_to_json(&devices),
        json!({
            "0": {
                "regs": { "ctrl": "0x1", "status": "0x80000000" },
                "ok": true,
                "mode": "Off",
            },
            "1": 2,
        })
    );
}
