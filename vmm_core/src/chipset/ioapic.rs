//! The IOAPIC (82093AA-compatible, version 0x20 with an EOI register): 24 pins whose
//! redirection entries become MSI routes.
//!
//! Each pin's RTE is turned into the MSI the IOAPIC would put on the bus and installed
//! as the route of GSI = pin when the guest writes it; asserting a pin only fires that
//! route. Level-triggered pins keep remote IRR until the guest's EOI (split irqchip:
//! KVM exits with the vector) or a write to the EOI register.

use crate::bus::BusDevice;
use crate::irq::GsiRoutes;
use crate::irq::MsiMessage;
use parking_lot::Mutex;
use std::sync::Arc;

/// Number of pins.
pub const NUM_PINS: usize = 24;

const IOREGSEL: u64 = 0x00;
const IOWIN: u64 = 0x10;
const EOI: u64 = 0x40;

const REG_ID: u32 = 0x00;
const REG_VERSION: u32 = 0x01;
const REG_ARB: u32 = 0x02;
const REG_RTE_BASE: u32 = 0x10;
/// Version 0x20 (has the EOI register), maximum redirection entry 23.
const VERSION: u32 = 0x20 | ((NUM_PINS as u32 - 1) << 16);

const RTE_DELIVERY_STATUS: u64 = 1 << 12;
const RTE_REMOTE_IRR: u64 = 1 << 14;
const RTE_LEVEL: u64 = 1 << 15;
const RTE_MASKED: u64 = 1 << 16;
/// Bits the guest cannot write (delivery status, remote IRR).
const RTE_RO: u64 = RTE_DELIVERY_STATUS | RTE_REMOTE_IRR;

/// Where the IOAPIC's pins are delivered: installs a pin's MSI and fires it.
///
/// An IOMMU with interrupt remapping wraps this to remap (or block) the pin's message.
pub trait IoapicRouting: Send + Sync {
    /// The pin's RTE changed: `msg` is the MSI it now produces, `None` while masked (a
    /// masked pin sends nothing, so a remapper must not see it).
    fn set_route(&self, pin: u8, msg: Option<MsiMessage>);
    /// Delivers the pin's current route.
    fn fire(&self, pin: u8);
}

impl IoapicRouting for GsiRoutes {
    fn set_route(&self, pin: u8, msg: Option<MsiMessage>) {
        if let Err(err) = self.set(pin.into(), msg) {
            tracing::error!(pin, error = &err as &dyn std::error::Error, "IOAPIC route");
        }
    }

    fn fire(&self, pin: u8) {
        GsiRoutes::fire(self, pin.into())
    }
}

/// The route a redirection entry needs: its MSI, or nothing while masked.
fn rte_route(rte: u64) -> Option<MsiMessage> {
    (rte & RTE_MASKED == 0).then(|| rte_to_msi(rte))
}

/// The MSI a redirection entry produces: the compatibility layout carries the
/// destination (bits 63:56) and extended destination (55:48) in address bits 19:4 and
/// the destination mode in address bit 2; the same bit copy yields the remappable
/// layout (format bit 48 → address bit 4, handle 63:49 → address 19:5, handle bit 15 in
/// RTE bit 11 → address bit 2) that an interrupt remapper decodes.
pub fn rte_to_msi(rte: u64) -> MsiMessage {
    let address = 0xFEE0_0000 | (((rte >> 48) & 0xffff) << 4) | (((rte >> 11) & 1) << 2);
    let level = rte & RTE_LEVEL != 0;
    let data = (rte & 0xff) as u32
        | (((rte >> 8) & 7) as u32) << 8
        | if level { (1 << 15) | (1 << 14) } else { 0 };
    MsiMessage { address, data }
}

struct State {
    select: u32,
    id: u32,
    rte: [u64; NUM_PINS],
    line: [bool; NUM_PINS],
}

/// The IOAPIC device.
pub struct Ioapic {
    state: Mutex<State>,
    routing: Arc<dyn IoapicRouting>,
}

impl Ioapic {
    /// A reset IOAPIC (all pins masked) delivering through `routing`.
    pub fn new(routing: Arc<dyn IoapicRouting>) -> Arc<Self> {
        let ioapic = Arc::new(Self {
            state: Mutex::new(State {
                select: 0,
                id: 0,
                rte: [RTE_MASKED; NUM_PINS],
                line: [false; NUM_PINS],
            }),
            routing,
        });
        for pin in 0..NUM_PINS {
            ioapic.routing.set_route(pin as u8, None);
        }
        ioapic
    }

    /// Sets the level of `pin` (level-triggered sources).
    pub fn set_level(&self, pin: usize, high: bool) {
        let Some(fire) = ({
            let mut s = self.state.lock();
            if pin >= NUM_PINS {
                return;
            }
            let rising = high && !s.line[pin];
            s.line[pin] = high;
            Self::evaluate(&mut s, pin, rising)
        }) else {
            return;
        };
        self.routing.fire(fire);
    }

    /// Pulses `pin` (edge-triggered sources).
    pub fn pulse(&self, pin: usize) {
        self.set_level(pin, true);
        self.set_level(pin, false);
    }

    /// Handles an EOI for `vector` (split-irqchip EOI exit or the EOI register).
    pub fn eoi(&self, vector: u8) {
        let mut fire = Vec::new();
        {
            let mut s = self.state.lock();
            for pin in 0..NUM_PINS {
                let rte = s.rte[pin];
                if rte as u8 == vector && rte & RTE_LEVEL != 0 && rte & RTE_REMOTE_IRR != 0 {
                    s.rte[pin] &= !RTE_REMOTE_IRR;
                    if let Some(p) = Self::evaluate(&mut s, pin, false) {
                        fire.push(p);
                    }
                }
            }
        }
        for pin in fire {
            self.routing.fire(pin);
        }
    }

    /// Decides whether `pin` must be delivered now (and sets remote IRR if so).
    fn evaluate(s: &mut State, pin: usize, rising: bool) -> Option<u8> {
        let rte = s.rte[pin];
        if rte & RTE_MASKED != 0 {
            return None;
        }
        if rte & RTE_LEVEL != 0 {
            if !s.line[pin] || rte & RTE_REMOTE_IRR != 0 {
                return None;
            }
            s.rte[pin] |= RTE_REMOTE_IRR;
        } else if !rising {
            return None;
        }
        Some(pin as u8)
    }

    fn read_reg(&self, s: &State) -> u32 {
        match s.select {
            REG_ID => s.id << 24,
            REG_VERSION => VERSION,
            REG_ARB => s.id << 24,
            sel if (REG_RTE_BASE..REG_RTE_BASE + 2 * NUM_PINS as u32).contains(&sel) => {
                let index = sel - REG_RTE_BASE;
                let rte = s.rte[(index / 2) as usize];
                if index % 2 == 0 {
                    rte as u32
                } else {
                    (rte >> 32) as u32
                }
            }
            _ => 0,
        }
    }

    fn write_reg(&self, value: u32) {
        let (route, fire) = {
            let mut s = self.state.lock();
            match s.select {
                REG_ID => {
                    s.id = (value >> 24) & 0xf;
                    return;
                }
                sel if (REG_RTE_BASE..REG_RTE_BASE + 2 * NUM_PINS as u32).contains(&sel) => {
                    let index = sel - REG_RTE_BASE;
                    let pin = (index / 2) as usize;
                    let old = s.rte[pin];
                    let mut new = if index % 2 == 0 {
                        (old & !0xffff_ffff) | value as u64
                    } else {
                        (old & 0xffff_ffff) | ((value as u64) << 32)
                    };
                    new = (new & !RTE_RO) | (old & RTE_RO);
                    if new & RTE_LEVEL == 0 {
                        new &= !RTE_REMOTE_IRR;
                    }
                    s.rte[pin] = new;
                    let route = (rte_route(new) != rte_route(old)).then(|| rte_route(new));
                    // A level-triggered line that is high fires once unmasked.
                    let fire = Self::evaluate(&mut s, pin, false).map(|p| (p, pin));
                    (route.map(|m| (pin as u8, m)), fire.map(|f| f.0))
                }
                _ => return,
            }
        };
        if let Some((pin, msg)) = route {
            self.routing.set_route(pin, msg);
        }
        if let Some(pin) = fire {
            self.routing.fire(pin);
        }
    }

    /// A pin's raw redirection entry (for tests and inspection).
    pub fn rte(&self, pin: usize) -> u64 {
        self.state.lock().rte.get(pin).copied().unwrap_or(0)
    }
}

impl inspect::Inspect for Ioapic {
    fn inspect(&self, node: &mut inspect::Node) {
        let s = self.state.lock();
        node.value("id", s.id).hex("select", s.select);
        node.child("pins", |pins| {
            for (pin, (&rte, &line)) in s.rte.iter().zip(&s.line).enumerate() {
                pins.child(pin.to_string(), |p| {
                    p.hex("rte", rte)
                        .value("masked", rte & RTE_MASKED != 0)
                        .value("level", rte & RTE_LEVEL != 0)
                        .value("remote_irr", rte & RTE_REMOTE_IRR != 0)
                        .value("line", line);
                });
            }
        });
    }
}

impl BusDevice for Ioapic {
    fn read(&self, offset: u64, data: &mut [u8]) {
        let s = self.state.lock();
        let value = match offset {
            IOREGSEL => s.select,
            IOWIN => self.read_reg(&s),
            _ => 0,
        };
        let bytes = value.to_le_bytes();
        for (i, b) in data.iter_mut().enumerate() {
            *b = bytes.get(i).copied().unwrap_or(0);
        }
    }

    fn write(&self, offset: u64, data: &[u8]) {
        let mut bytes = [0u8; 4];
        let n = data.len().min(4);
        bytes[..n].copy_from_slice(&data[..n]);
        let value = u32::from_le_bytes(bytes);
        match offset {
            IOREGSEL => self.state.lock().select = value & 0xff,
            IOWIN => self.write_reg(value),
            EOI => self.eoi(value as u8),
            _ => {}
        }
    }
}

/// A device's connection to one IOAPIC pin.
#[derive(Clone)]
pub struct IoapicLine {
    ioapic: Arc<Ioapic>,
    pin: usize,
}

impl IoapicLine {
    /// The line for `pin`.
    pub fn new(ioapic: Arc<Ioapic>, pin: usize) -> Self {
        Self { ioapic, pin }
    }

    /// Edge: one interrupt.
    pub fn pulse(&self) {
        self.ioapic.pulse(self.pin)
    }

    /// Level: the line's state.
    pub fn set_level(&self, high: bool) {
        self.ioapic.set_level(self.pin, high)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Recorder {
        routes: Mutex<Vec<(u8, Option<MsiMessage>)>>,
        fired: Mutex<Vec<u8>>,
    }

    impl IoapicRouting for Recorder {
        fn set_route(&self, pin: u8, msg: Option<MsiMessage>) {
            self.routes.lock().push((pin, msg));
        }
        fn fire(&self, pin: u8) {
            self.fired.lock().push(pin);
        }
    }

    fn write_rte(io: &Ioapic, pin: u32, rte: u64) {
        io.write(IOREGSEL, &(REG_RTE_BASE + 2 * pin + 1).to_le_bytes());
        io.write(IOWIN, &((rte >> 32) as u32).to_le_bytes());
        io.write(IOREGSEL, &(REG_RTE_BASE + 2 * pin).to_le_bytes());
        io.write(IOWIN, &(rte as u32).to_le_bytes());
    }

    fn setup() -> (Arc<Recorder>, Arc<Ioapic>) {
        let rec = Arc::new(Recorder::default());
        let io = Ioapic::new(rec.clone());
        rec.routes.lock().clear();
        (rec, io)
    }

    #[test]
    fn version_register() {
        let (_, io) = setup();
        io.write(IOREGSEL, &REG_VERSION.to_le_bytes());
        let mut v = [0u8; 4];
        io.read(IOWIN, &mut v);
        assert_eq!(u32::from_le_bytes(v), 0x0017_0020);
    }

    #[test]
    fn rte_becomes_msi_route() {
        let (rec, io) = setup();
        write_rte(&io, 4, (3u64 << 56) | 0x31);
        let (pin, msg) = *rec.routes.lock().last().unwrap();
        let msg = msg.unwrap();
        assert_eq!(pin, 4);
        assert_eq!(msg.address, 0xFEE0_3000);
        assert_eq!(msg.data, 0x31);
    }

    #[test]
    fn remappable_rte_keeps_handle_bits() {
        // Format bit 48, handle 0x1234 in 63:49, handle bit 15 in bit 11.
        let rte = (1u64 << 48) | (0x1234u64 << 49) | (1 << 11) | 0x40;
        let msg = rte_to_msi(rte);
        assert_eq!(msg.address & (1 << 4), 1 << 4);
        assert_eq!((msg.address >> 5) & 0x7fff, 0x1234);
        assert_eq!(msg.address & (1 << 2), 1 << 2);
    }

    #[test]
    fn masked_pins_have_no_route() {
        let (rec, io) = setup();
        write_rte(&io, 4, RTE_MASKED | 0x31);
        assert!(rec.routes.lock().is_empty());
        write_rte(&io, 4, 0x31);
        assert!(rec.routes.lock().last().unwrap().1.is_some());
        write_rte(&io, 4, RTE_MASKED | 0x31);
        assert_eq!(rec.routes.lock().last().unwrap().1, None);
    }

    #[test]
    fn masked_edge_is_dropped_unmasked_fires() {
        let (rec, io) = setup();
        io.pulse(4);
        assert!(rec.fired.lock().is_empty());
        write_rte(&io, 4, 0x31);
        io.pulse(4);
        assert_eq!(*rec.fired.lock(), vec![4]);
    }

    #[test]
    fn level_remote_irr_and_eoi() {
        let (rec, io) = setup();
        write_rte(&io, 9, RTE_LEVEL | 0x41);
        io.set_level(9, true);
        io.set_level(9, true);
        assert_eq!(*rec.fired.lock(), vec![9]);
        assert_ne!(io.rte(9) & RTE_REMOTE_IRR, 0);
        // Remote IRR is read-only.
        write_rte(&io, 9, RTE_LEVEL | 0x41);
        assert_ne!(io.rte(9) & RTE_REMOTE_IRR, 0);
        // EOI with the line still high redelivers.
        io.eoi(0x41);
        assert_eq!(*rec.fired.lock(), vec![9, 9]);
        io.set_level(9, false);
        io.eoi(0x41);
        assert_eq!(io.rte(9) & RTE_REMOTE_IRR, 0);
        assert_eq!(rec.fired.lock().len(), 2);
    }

    #[test]
    fn unmask_with_high_level_line_fires() {
        let (rec, io) = setup();
        write_rte(&io, 10, RTE_LEVEL | RTE_MASKED | 0x50);
        io.set_level(10, true);
        assert!(rec.fired.lock().is_empty());
        write_rte(&io, 10, RTE_LEVEL | 0x50);
        assert_eq!(*rec.fired.lock(), vec![10]);
    }

    #[test]
    fn inspect_shows_pins() {
        let (_, io) = setup();
        write_rte(&io, 4, 0x31);
        let json = inspect::inspect_to_json(&*io);
        assert_eq!(json["pins"]["4"]["rte"], "0x31");
        assert_eq!(json["pins"]["4"]["masked"], false);
        assert_eq!(json["pins"]["5"]["masked"], true);
    }

    #[test]
    fn hostile_accesses_are_ignored() {
        let (_, io) = setup();
        io.write(IOREGSEL, &0xffu32.to_le_bytes());
        io.write(IOWIN, &[1, 2, 3, 4, 5, 6, 7, 8]);
        let mut big = [0u8; 8];
        io.read(IOWIN, &mut big);
        io.write(0x7ff, &[1]);
        io.set_level(200, true);
        io.eoi(0);
    }
}
