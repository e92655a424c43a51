//! The interrupt path end to end without a guest: a vector programmed with a
//! remappable-format MSI is installed as a KVM route holding the *remapped* message,
//! stays unchanged while the guest edits the remapping table, and is re-translated
//! exactly when the guest invalidates the interrupt entry cache (Intel VT-d).

use guestmem::GuestMemory;
use intel_vtd::spec::irte::Irte;
use intel_vtd::spec::qi::IecInvDesc;
use intel_vtd::spec::regs;
use intel_vtd::IntelVtd;
use intel_vtd::VtdConfig;
use iommu_common::MsiMessage;
use iommu_common::MsiSink;
use iommu_common::RequesterIdCell;
use parking_lot::Mutex;
use pci_core::MsiController;
use std::sync::Arc;
use vmm_core::irq::GsiBackend;
use vmm_core::irq::GsiRoutes;
use vmm_core::msi_routes::IrqfdRegistrar;
use vmm_core::msi_routes::MsiRouteRegistry;
use vmm_sys_util::eventfd::EventFd;

const QIE: u32 = 1 << 26;
const IRE: u32 = 1 << 25;
const SIRTP: u32 = 1 << 24;
const IQ_BASE: u64 = 0x1000;
const IR_TABLE: u64 = 0x10000;
const DEVICE: u16 = 0x0100; // 01:00.0

#[derive(Default)]
struct Kernel {
    routes: Mutex<Vec<(u32, MsiMessage)>>,
    fired: Mutex<Vec<u32>>,
}

struct Backend(Arc<Kernel>);

impl GsiBackend for Backend {
    fn set_routes(&self, routes: &[(u32, MsiMessage)]) -> std::io::Result<()> {
        *self.0.routes.lock() = routes.to_vec();
        Ok(())
    }
    fn fire(&self, gsi: u32) -> std::io::Result<()> {
        self.0.fired.lock().push(gsi);
        Ok(())
    }
}

struct NoIrqfd;

impl IrqfdRegistrar for NoIrqfd {
    fn register_irqfd(&self, _event: &EventFd, _gsi: u32) -> std::io::Result<()> {
        Ok(())
    }
}

struct NoMsi;

impl MsiSink for NoMsi {
    fn signal_msi(&self, _msg: MsiMessage) {}
}

struct Setup {
    kernel: Arc<Kernel>,
    vtd: Arc<IntelVtd>,
    memory: GuestMemory,
    registry: Arc<MsiRouteRegistry>,
    tail: Mutex<u64>,
}

impl Setup {
    fn new() -> Self {
        let memory = GuestMemory::new(&[(0, 1 << 20)]).unwrap();
        let kernel = Arc::new(Kernel::default());
        let routes = Arc::new(GsiRoutes::new(Box::new(Backend(kernel.clone()))));
        let vtd = IntelVtd::new(VtdConfig::default(), memory.clone(), Arc::new(NoMsi));
        let registry = MsiRouteRegistry::new(routes, Arc::new(NoIrqfd), vtd.clone());
        vtd.set_remap_listener(registry.clone());
        Self {
            kernel,
            vtd,
            memory,
            registry,
            tail: Mutex::new(0),
        }
    }

    fn w32(&self, off: u64, v: u32) {
        self.vtd.mmio_write(off, &v.to_le_bytes());
    }

    fn w64(&self, off: u64, v: u64) {
        self.vtd.mmio_write(off, &v.to_le_bytes());
    }

    fn irte(&self, index: u64, irte: Irte) {
        self.memory
            .write_at(IR_TABLE + index * 16, &irte.into_bits().to_le_bytes())
            .unwrap();
    }

    /// Queues one invalidation descriptor and moves the tail past it.
    fn invalidate(&self, desc: u128) {
        let mut tail = self.tail.lock();
        self.memory
            .write_at(IQ_BASE + *tail, &desc.to_le_bytes())
            .unwrap();
        *tail += 16;
        self.w64(regs::IQT, *tail);
    }

    fn route(&self) -> Option<MsiMessage> {
        self.kernel.routes.lock().first().map(|r| r.1)
    }
}

/// Linux's remappable MSI for IRTE `index` (SHV clear, no subhandle).
fn remappable(index: u16) -> MsiMessage {
    MsiMessage {
        address: 0xfee0_0000 | (1 << 4) | (u64::from(index & 0x7fff) << 5),
        data: 0,
    }
}

fn iec_index(index: u16) -> u128 {
    IecInvDesc::new()
        .with_type_lo(4)
        .with_g(true)
        .with_iidx(index)
        .into_bits()
}

#[test]
fn routes_follow_interrupt_entry_invalidations() {
    let s = Setup::new();
    // Linux's order: QI, the table (x2APIC mode, 16 entries), a global IEC, IRE.
    s.w32(regs::IQT, 0);
    s.w64(regs::IQA, IQ_BASE);
    s.w32(regs::GCMD, QIE);
    s.w64(regs::IRTA, IR_TABLE | (1 << 11) | 3);
    s.w32(regs::GCMD, QIE | SIRTP);
    s.invalidate(IecInvDesc::new().with_type_lo(4).into_bits());
    s.w32(regs::GCMD, QIE | IRE);

    let entry = |vector| {
        Irte::new()
            .with_p(true)
            .with_vector(vector)
            .with_dst(0x105)
            .with_svt(1)
            .with_sid(DEVICE)
    };
    s.irte(7, entry(0x41));
    s.invalidate(iec_index(7));

    // Programming the vector installs the remapped message (x2APIC id 0x105).
    let vector = s.registry.new_vector(RequesterIdCell::new(0, DEVICE));
    vector.set_message(Some(remappable(7)));
    let want = |data| MsiMessage {
        address: (1 << 40) | 0xfee0_5000,
        data,
    };
    assert_eq!(s.route(), Some(want(0x41)));

    // The guest edits the entry: the route keeps what was translated...
    s.irte(7, entry(0x42));
    assert_eq!(s.route(), Some(want(0x41)));
    // ...until it invalidates it.
    s.invalidate(iec_index(7));
    assert_eq!(s.route(), Some(want(0x42)));

    // A not-present entry blocks the interrupt: no route at all.
    s.irte(7, Irte::new());
    s.invalidate(iec_index(7));
    assert_eq!(s.route(), None);

    // Disabling interrupt remapping re-translates too: with IRE clear the unit
    // passes interrupt requests through unremapped (VT-d §5.1), so the route now
    // holds the message exactly as the device writes it.
    s.w32(regs::GCMD, QIE);
    assert_eq!(s.route(), Some(remappable(7)));
    // Raising the vector never touched the route table.
    vector.signal();
    assert!(s.kernel.fired.lock().is_empty());
}
