//! A PCI Express root complex: one segment and bus range behind an ECAM window, a host
//! bridge at 00.0, root ports at 01.0 upwards with one device each. Decodes
//! configuration cycles by the bus numbers the guest assigned, derives each device's
//! requester id from its port's secondary bus, and maps BARs on the MMIO bus.

use crate::bar::BarKind;
use crate::config_space::ConfigSpace;
use crate::device::PciDevice;
use crate::device::RequesterIdCell;
use crate::root_port::RootPortConfig;
use crate::spec;
use device_bus::Bus;
use device_bus::BusDevice;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Device id of this VMM's host bridges.
pub const HOST_BRIDGE_DEVICE_ID: u16 = 0xc0a0;

/// Where a root complex sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootComplexConfig {
    /// Name (CLI and logs).
    pub name: String,
    /// PCI segment.
    pub segment: u16,
    /// First bus number.
    pub start_bus: u8,
    /// Last bus number.
    pub end_bus: u8,
    /// ECAM base of `start_bus`.
    pub ecam_base: u64,
    /// 32-bit MMIO window (base, length).
    pub low_mmio: (u64, u64),
    /// 64-bit MMIO window (base, length).
    pub high_mmio: (u64, u64),
}

impl RootComplexConfig {
    /// Size of the ECAM window.
    pub fn ecam_size(&self) -> u64 {
        (self.end_bus as u64 - self.start_bus as u64 + 1) << 20
    }
}

/// Most root ports one root complex holds (devices 1–31 of its first bus but one).
pub const MAX_ROOT_PORTS: usize = 30;

/// The device number of root port `index` on the first bus: 1, 2, … skipping
/// [`RESERVED_DEVICE`].
pub const fn root_port_device(index: usize) -> u8 {
    let device = index as u8 + 1;
    if device >= RESERVED_DEVICE {
        device + 1
    } else {
        device
    }
}

/// A root port to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootPortDescription {
    /// Name.
    pub name: String,
    /// ACS capabilities it advertises.
    pub acs: u16,
}

/// Device number on the first bus never given to a root port: 00:14.0 is the source id
/// the IOAPIC's interrupts carry (what Linux's AMD-Vi driver expects; VT-d's DMAR names
/// the same), so no PCI function may claim it.
pub const RESERVED_DEVICE: u8 = 0x14;

/// Called when requester ids changed (a port's secondary bus was renumbered).
pub type RidChangeListener = Arc<dyn Fn() + Send + Sync>;

struct Endpoint {
    device: Arc<dyn PciDevice>,
    mapped: BTreeMap<u8, u64>,
}

struct Port {
    name: String,
    devfn: u8,
    config: RootPortConfig,
    rid: RequesterIdCell,
    endpoint: Option<Endpoint>,
}

/// The root complex.
pub struct RootComplex {
    config: RootComplexConfig,
    host_bridge: Mutex<ConfigSpace>,
    ports: Vec<Mutex<Port>>,
    root_functions: Mutex<BTreeMap<u8, Arc<dyn PciDevice>>>,
    mmio: Arc<Bus>,
    rid_listener: Mutex<Option<RidChangeListener>>,
    /// Limits the guest-triggerable "BAR not mapped" warning.
    bar_warnings: Mutex<ratelimit::RateLimit>,
}

/// Errors attaching devices.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// No such port.
    #[error("no root port named {0}")]
    NoSuchPort(String),
    /// The port already has a device.
    #[error("root port {0} already has a device")]
    PortInUse(String),
}

struct BarHandler {
    device: Arc<dyn PciDevice>,
    bar: u8,
}

impl BusDevice for BarHandler {
    fn read(&self, offset: u64, data: &mut [u8]) {
        self.device.bar_read(self.bar, offset, data)
    }
    fn write(&self, offset: u64, data: &[u8]) {
        self.device.bar_write(self.bar, offset, data)
    }
}

enum Target<'a> {
    HostBridge,
    Port(&'a Mutex<Port>),
    Endpoint(&'a Mutex<Port>),
    RootFunction(Arc<dyn PciDevice>),
}

impl RootComplex {
    /// Creates the root complex with `ports` at devices 1, 2, … of its first bus.
    pub fn new(
        config: RootComplexConfig,
        ports: &[RootPortDescription],
        mmio: Arc<Bus>,
    ) -> Arc<Self> {
        assert!(ports.len() < 32, "at most 31 root ports");
        let mut host_bridge = ConfigSpace::endpoint(
            spec::VENDOR_ID,
            HOST_BRIDGE_DEVICE_ID,
            spec::CLASS_BRIDGE_HOST,
            0,
        );
        host_bridge.set_writable_u16(spec::COMMAND, 0);
        let ports = ports
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let devfn = root_port_device(i) << 3;
                Mutex::new(Port {
                    name: p.name.clone(),
                    devfn,
                    config: RootPortConfig::new(i as u16 + 1, p.acs),
                    rid: RequesterIdCell::new(config.segment, 0),
                    endpoint: None,
                })
            })
            .collect();
        Arc::new(Self {
            config,
            host_bridge: Mutex::new(host_bridge),
            ports,
            root_functions: Mutex::new(BTreeMap::new()),
            mmio,
            rid_listener: Mutex::new(None),
            bar_warnings: Mutex::new(ratelimit::RateLimit::per_second(5)),
        })
    }

    /// The root complex's placement.
    pub fn config(&self) -> &RootComplexConfig {
        &self.config
    }

    /// Requester id of port `name` itself (bus:dev.fn on the root bus).
    pub fn port_bdf(&self, name: &str) -> Option<u16> {
        self.ports.iter().find_map(|p| {
            let p = p.lock();
            (p.name == name).then(|| (self.config.start_bus as u16) << 8 | p.devfn as u16)
        })
    }

    /// The requester-id cell of the device behind port `name` (device 0, function 0 of
    /// the port's secondary bus, as the guest numbers it).
    pub fn device_rid(&self, name: &str) -> Option<RequesterIdCell> {
        self.ports.iter().find_map(|p| {
            let p = p.lock();
            (p.name == name).then(|| p.rid.clone())
        })
    }

    /// Plugs `device` into port `name`.
    pub fn attach(&self, name: &str, device: Arc<dyn PciDevice>) -> Result<(), AttachError> {
        let port = self
            .ports
            .iter()
            .find(|p| p.lock().name == name)
            .ok_or_else(|| AttachError::NoSuchPort(name.into()))?;
        let mut port = port.lock();
        if port.endpoint.is_some() {
            return Err(AttachError::PortInUse(name.into()));
        }
        port.config.set_presence(true);
        port.endpoint = Some(Endpoint {
            device,
            mapped: BTreeMap::new(),
        });
        Ok(())
    }

    /// Places a platform function (an IOMMU) at `devfn` of the first bus; functions of
    /// device 0 make the host bridge multi-function.
    pub fn attach_root_function(&self, devfn: u8, device: Arc<dyn PciDevice>) {
        assert!(
            devfn != 0 && devfn >> 3 != RESERVED_DEVICE,
            "devfn {devfn:#x} is taken"
        );
        if devfn >> 3 == 0 {
            let mut hb = self.host_bridge.lock();
            let ht = hb.read_u8(spec::HEADER_TYPE) | 0x80;
            hb.set_u8(spec::HEADER_TYPE, ht);
        }
        self.root_functions.lock().insert(devfn, device);
    }

    /// Sets what is told when requester ids change.
    pub fn set_rid_listener(&self, listener: RidChangeListener) {
        *self.rid_listener.lock() = Some(listener);
    }

    fn target(&self, bus: u8, devfn: u8) -> Option<Target<'_>> {
        if bus == self.config.start_bus {
            if devfn == 0 {
                return Some(Target::HostBridge);
            }
            if let Some(f) = self.root_functions.lock().get(&devfn) {
                return Some(Target::RootFunction(f.clone()));
            }
            return self
                .ports
                .iter()
                .find(|p| p.lock().devfn == devfn)
                .map(Target::Port);
        }
        if devfn != 0 {
            return None;
        }
        self.ports
            .iter()
            .find(|p| {
                let p = p.lock();
                p.endpoint.is_some() && p.config.forwards(bus)
            })
            .map(Target::Endpoint)
    }

    fn decode(&self, offset: u64) -> Option<(u8, u8, u16)> {
        let bus = (self.config.start_bus as u64).checked_add(offset >> 20)?;
        if bus > self.config.end_bus as u64 {
            return None;
        }
        Some((bus as u8, (offset >> 12) as u8, (offset & 0xfff) as u16))
    }

    fn config_read(&self, offset: u64, len: usize) -> u32 {
        let Some((bus, devfn, reg)) = self.decode(offset) else {
            return u32::MAX;
        };
        match self.target(bus, devfn) {
            Some(Target::HostBridge) => self.host_bridge.lock().read(reg, len),
            Some(Target::Port(p)) => p.lock().config.config.read(reg, len),
            Some(Target::RootFunction(f)) => f.config_read(reg, len),
            Some(Target::Endpoint(p)) => {
                let device = p.lock().endpoint.as_ref().map(|e| e.device.clone());
                device.map_or(u32::MAX, |d| d.config_read(reg, len))
            }
            None => u32::MAX,
        }
    }

    fn config_write(&self, offset: u64, len: usize, value: u32) {
        let Some((bus, devfn, reg)) = self.decode(offset) else {
            return;
        };
        match self.target(bus, devfn) {
            Some(Target::HostBridge) => {
                self.host_bridge.lock().write(reg, len, value);
            }
            Some(Target::RootFunction(f)) => f.config_write(reg, len, value),
            Some(Target::Port(p)) => {
                let renumbered = {
                    let mut port = p.lock();
                    let before = port.config.secondary_bus();
                    port.config.config.write(reg, len, value);
                    let after = port.config.secondary_bus();
                    if before != after {
                        port.rid.set_bus(after);
                        true
                    } else {
                        false
                    }
                };
                if renumbered {
                    let listener = self.rid_listener.lock().clone();
                    if let Some(listener) = listener {
                        listener();
                    }
                }
            }
            Some(Target::Endpoint(p)) => {
                let device = p.lock().endpoint.as_ref().map(|e| e.device.clone());
                if let Some(device) = device {
                    device.config_write(reg, len, value);
                    self.remap_bars(p);
                }
            }
            None => {}
        }
    }

    /// Maps, moves or unmaps the endpoint's BARs to match its configuration space.
    fn remap_bars(&self, port: &Mutex<Port>) {
        let mut port = port.lock();
        let Some(endpoint) = port.endpoint.as_mut() else {
            return;
        };
        let device = endpoint.device.clone();
        let command = device.config_read(spec::COMMAND, 2) as u16;
        for bar in device.bars() {
            let off = spec::BAR0 + 4 * bar.index as u16;
            let low = (device.config_read(off, 4) & !0xf) as u64;
            let addr = match bar.kind {
                BarKind::Memory32 => low,
                BarKind::Memory64 { .. } => low | (device.config_read(off + 4, 4) as u64) << 32,
            };
            let want = (command & spec::COMMAND_MEMORY != 0
                && addr != 0
                && addr.checked_add(bar.size).is_some())
            .then_some(addr);
            let have = endpoint.mapped.get(&bar.index).copied();
            if want == have {
                continue;
            }
            if let Some(old) = have {
                self.mmio.remove(old);
                endpoint.mapped.remove(&bar.index);
            }
            let mut mapped = None;
            if let Some(new) = want {
                let handler = Arc::new(BarHandler {
                    device: device.clone(),
                    bar: bar.index,
                });
                match self.mmio.insert("pci-bar", new, bar.size, handler) {
                    Ok(()) => {
                        endpoint.mapped.insert(bar.index, new);
                        mapped = Some(new);
                    }
                    Err(err) => {
                        if self.bar_warnings.lock().allow() {
                            tracing::warn!(
                                device = device.name(),
                                bar = bar.index,
                                error = &err as &dyn std::error::Error,
                                "BAR not mapped"
                            )
                        }
                    }
                }
            }
            device.bar_mapped(bar.index, mapped);
        }
    }
}

impl BusDevice for RootComplex {
    fn read(&self, offset: u64, data: &mut [u8]) {
        match data.len() {
            1 | 2 | 4 if offset % data.len() as u64 == 0 => {
                let v = self.config_read(offset, data.len()).to_le_bytes();
                data.copy_from_slice(&v[..data.len()]);
            }
            8 if offset % 8 == 0 => {
                let lo = self.config_read(offset, 4);
                let hi = self.config_read(offset + 4, 4);
                data[..4].copy_from_slice(&lo.to_le_bytes());
                data[4..].copy_from_slice(&hi.to_le_bytes());
            }
            _ => data.fill(0xff),
        }
    }

    fn write(&self, offset: u64, data: &[u8]) {
        match data.len() {
            1 | 2 | 4 if offset % data.len() as u64 == 0 => {
                let mut v = [0u8; 4];
                v[..data.len()].copy_from_slice(data);
                self.config_write(offset, data.len(), u32::from_le_bytes(v));
            }
            8 if offset % 8 == 0 => {
                self.config_write(offset, 4, u32::from_le_bytes(data[..4].try_into().unwrap()));
                self.config_write(
                    offset + 4,
                    4,
                    u32::from_le_bytes(data[4..].try_into().unwrap()),
                );
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bar::BarInfo;

    struct TestDevice {
        config: Mutex<ConfigSpace>,
        bar: BarInfo,
        reads: Mutex<u32>,
    }

    impl PciDevice for TestDevice {
        fn name(&self) -> &str {
            "test"
        }
        fn config_read(&self, offset: u16, len: usize) -> u32 {
            self.config.lock().read(offset, len)
        }
        fn config_write(&self, offset: u16, len: usize, value: u32) {
            self.config.lock().write(offset, len, value);
        }
        fn bars(&self) -> Vec<BarInfo> {
            vec![self.bar]
        }
        fn bar_read(&self, _bar: u8, offset: u64, data: &mut [u8]) {
            *self.reads.lock() += 1;
            data.fill(offset as u8);
        }
        fn bar_write(&self, _bar: u8, _offset: u64, _data: &[u8]) {}
    }

    fn setup() -> (Arc<RootComplex>, Arc<Bus>, Arc<TestDevice>) {
        let mmio = Arc::new(Bus::new());
        let rc = RootComplex::new(
            RootComplexConfig {
                name: "rc0".into(),
                segment: 1,
                start_bus: 0,
                end_bus: 15,
                ecam_base: 0xe000_0000,
                low_mmio: (0xc000_0000, 0x1000_0000),
                high_mmio: (0x10_0000_0000, 0x10_0000_0000),
            },
            &[
                RootPortDescription {
                    name: "p0".into(),
                    acs: spec::ACS_DEFAULT,
                },
                RootPortDescription {
                    name: "p1".into(),
                    acs: spec::ACS_DEFAULT,
                },
            ],
            mmio.clone(),
        );
        let mut config = ConfigSpace::endpoint(spec::VENDOR_ID, 0x99, spec::CLASS_SYSTEM_OTHER, 1);
        let bar = BarInfo {
            index: 0,
            size: 0x1000,
            kind: BarKind::Memory64 {
                prefetchable: false,
            },
        };
        bar.install(&mut config);
        let dev = Arc::new(TestDevice {
            config: Mutex::new(config),
            bar,
            reads: Mutex::new(0),
        });
        rc.attach("p1", dev.clone()).unwrap();
        (rc, mmio, dev)
    }

    fn cfg_addr(bus: u64, dev: u64, reg: u64) -> u64 {
        (bus << 20) | (dev << 15) | reg
    }

    fn rd(rc: &RootComplex, addr: u64, len: usize) -> u32 {
        let mut b = [0u8; 4];
        rc.read(addr, &mut b[..len]);
        u32::from_le_bytes(b)
    }

    #[test]
    fn enumeration_follows_guest_bus_numbers() {
        let (rc, _mmio, _dev) = setup();
        assert_eq!(rd(&rc, cfg_addr(0, 0, 0), 2), spec::VENDOR_ID as u32);
        assert_eq!(rd(&rc, cfg_addr(0, 2, 2), 2), 0xc0a1);
        assert_eq!(rd(&rc, cfg_addr(0, 3, 0), 4), u32::MAX);
        // Behind p1, nothing is visible until the guest assigns a secondary bus.
        assert_eq!(rd(&rc, cfg_addr(2, 0, 0), 4), u32::MAX);
        let rid = rc.device_rid("p1").unwrap();
        let changed = Arc::new(Mutex::new(0));
        let c = changed.clone();
        rc.set_rid_listener(Arc::new(move || *c.lock() += 1));
        rc.write(cfg_addr(0, 2, spec::SECONDARY_BUS as u64), &[2]);
        assert_eq!(rd(&rc, cfg_addr(2, 0, 2), 2), 0x99);
        assert_eq!(rid.get().bdf, 0x0200);
        assert_eq!(rid.get().segment, 1);
        assert_eq!(*changed.lock(), 1);
        // Renumbering moves the device and its requester id.
        rc.write(cfg_addr(0, 2, spec::SECONDARY_BUS as u64), &[5]);
        assert_eq!(rd(&rc, cfg_addr(2, 0, 0), 4), u32::MAX);
        assert_eq!(rd(&rc, cfg_addr(5, 0, 2), 2), 0x99);
        assert_eq!(rid.get().bdf, 0x0500);
        // Only device 0 exists behind a port; p0 has no device.
        assert_eq!(rd(&rc, cfg_addr(5, 1, 0), 4), u32::MAX);
        rc.write(cfg_addr(0, 1, spec::SECONDARY_BUS as u64), &[7]);
        assert_eq!(rd(&rc, cfg_addr(7, 0, 0), 4), u32::MAX);
    }

    #[test]
    fn bars_map_and_move() {
        let (rc, mmio, dev) = setup();
        rc.write(cfg_addr(0, 2, spec::SECONDARY_BUS as u64), &[1]);
        rc.write(
            cfg_addr(1, 0, spec::BAR0 as u64),
            &0xc000_0000u32.to_le_bytes(),
        );
        let mut b = [0u8; 1];
        assert!(!mmio.read(0xc000_0010, &mut b));
        rc.write(
            cfg_addr(1, 0, spec::COMMAND as u64),
            &spec::COMMAND_MEMORY.to_le_bytes(),
        );
        assert!(mmio.read(0xc000_0010, &mut b));
        assert_eq!(b[0], 0x10);
        rc.write(
            cfg_addr(1, 0, spec::BAR0 as u64),
            &0xc010_0000u32.to_le_bytes(),
        );
        assert!(!mmio.read(0xc000_0010, &mut b));
        assert!(mmio.read(0xc010_0010, &mut b));
        rc.write(cfg_addr(1, 0, spec::COMMAND as u64), &[0, 0]);
        assert!(!mmio.read(0xc010_0010, &mut b));
        assert_eq!(*dev.reads.lock(), 2);
    }

    #[test]
    fn hostile_ecam_accesses() {
        let (rc, _mmio, _dev) = setup();
        let mut b = [0u8; 3];
        rc.read(0, &mut b);
        assert_eq!(b, [0xff; 3]);
        let mut w = [0u8; 4];
        rc.read(u64::MAX - 3, &mut w);
        rc.read(16 << 20, &mut w); // past end_bus
        assert_eq!(w, [0xff; 4]);
        rc.write(u64::MAX - 3, &[0; 4]);
        rc.write(1, &[0; 2]);
        let mut q = [0u8; 8];
        rc.read(0, &mut q);
        assert_eq!(u16::from_le_bytes([q[0], q[1]]), spec::VENDOR_ID);
    }
}
