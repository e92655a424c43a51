//! Test harness: a unit over 64 MiB of guest RAM, an MSI recorder, a remap-change
//! listener, register helpers and a tiny model of Linux's queued-invalidation code.
#![allow(dead_code)]

use guestmem::GuestMemory;
use intel_vtd::spec::qi::WaitDesc;
use intel_vtd::spec::regs;
use intel_vtd::IntelVtd;
use intel_vtd::VtdConfig;
use iommu_common::MsiMessage;
use iommu_common::MsiSink;
use iommu_common::RemapChangeListener;
use parking_lot::Mutex;
use std::cell::Cell;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::sync::Weak;

pub const RAM: u64 = 64 << 20;

/// Records the unit's own MSIs.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<MsiMessage>>);

impl MsiSink for Recorder {
    fn signal_msi(&self, msg: MsiMessage) {
        self.0.lock().push(msg);
    }
}

/// Counts notifications and, like the lead's route registry, calls back into the
/// unit from inside the callback (which would deadlock if called under the lock).
pub struct Listener {
    pub count: AtomicUsize,
    pub vtd: Mutex<Weak<IntelVtd>>,
}

impl RemapChangeListener for Listener {
    fn remapping_changed(&self) {
        self.count.fetch_add(1, Ordering::SeqCst);
        if let Some(vtd) = self.vtd.lock().upgrade() {
            let _ = vtd.stats();
        }
    }
}

pub struct Harness {
    pub vtd: Arc<IntelVtd>,
    pub mem: GuestMemory,
    pub msis: Arc<Recorder>,
    pub listener: Arc<Listener>,
    next: Cell<u64>,
    /// Linux-style queue state.
    pub iq_base: u64,
    pub iq_head: Cell<u64>,
    pub status_page: u64,
}

impl Harness {
    pub fn new(config: VtdConfig) -> Self {
        let mem = GuestMemory::new(&[(0, RAM)]).unwrap();
        let msis = Arc::new(Recorder::default());
        let vtd = IntelVtd::new(config, mem.clone(), msis.clone());
        let listener = Arc::new(Listener {
            count: AtomicUsize::new(0),
            vtd: Mutex::new(Arc::downgrade(&vtd)),
        });
        vtd.set_remap_listener(listener.clone());
        let h = Self {
            vtd,
            mem,
            msis,
            listener,
            next: Cell::new(0x10_0000),
            iq_base: 0,
            iq_head: Cell::new(0),
            status_page: 0,
        };
        let iq = h.alloc();
        let status = h.alloc();
        Self {
            iq_base: iq,
            status_page: status,
            ..h
        }
    }

    pub fn alloc(&self) -> u64 {
        let p = self.next.get();
        self.next.set(p + 0x1000);
        p
    }

    pub fn alloc_pages(&self, n: u64) -> u64 {
        let p = self.next.get();
        self.next.set(p + n * 0x1000);
        p
    }

    pub fn changes(&self) -> usize {
        self.listener.count.load(Ordering::SeqCst)
    }

    pub fn take_msis(&self) -> Vec<MsiMessage> {
        std::mem::take(&mut *self.msis.0.lock())
    }

    pub fn r32(&self, off: u64) -> u32 {
        let mut b = [0; 4];
        self.vtd.mmio_read(off, &mut b);
        u32::from_le_bytes(b)
    }

    pub fn r64(&self, off: u64) -> u64 {
        let mut b = [0; 8];
        self.vtd.mmio_read(off, &mut b);
        u64::from_le_bytes(b)
    }

    pub fn w32(&self, off: u64, v: u32) {
        self.vtd.mmio_write(off, &v.to_le_bytes());
    }

    pub fn w64(&self, off: u64, v: u64) {
        self.vtd.mmio_write(off, &v.to_le_bytes());
    }

    pub fn write_u64(&self, gpa: u64, v: u64) {
        self.mem.write_at(gpa, &v.to_le_bytes()).unwrap();
    }

    pub fn write_u128(&self, gpa: u64, v: u128) {
        self.mem.write_at(gpa, &v.to_le_bytes()).unwrap();
    }

    pub fn read_u32(&self, gpa: u64) -> u32 {
        let mut b = [0; 4];
        self.mem.read_at(gpa, &mut b).unwrap();
        u32::from_le_bytes(b)
    }

    pub fn gsts(&self) -> u32 {
        self.r32(regs::GSTS)
    }

    /// Linux's `dmar_enable_qi` for a one-page (256-entry) queue.
    pub fn enable_qi(&self, shadow: &mut u32) {
        self.w32(regs::IQT, 0);
        self.w64(regs::IQA, self.iq_base);
        *shadow |= 1 << 26;
        self.w32(regs::GCMD, *shadow);
        assert_ne!(self.gsts() & (1 << 26), 0, "QIES");
        self.iq_head.set(0);
    }

    /// Linux's `qi_submit_sync`: the descriptors, then a wait with a status write,
    /// then the tail; returns whether the wait's status arrived (no IQE).
    pub fn qi_submit(&self, descs: &[u128]) -> bool {
        let status_addr = self.status_page;
        self.write_u128(status_addr, 0);
        let mut head = self.iq_head.get();
        for d in descs {
            self.write_u128(self.iq_base + head * 16, *d);
            head = (head + 1) % 256;
        }
        let wait = WaitDesc::new()
            .with_type_lo(5)
            .with_sw(true)
            .with_status_data(2)
            .with_status_addr(status_addr >> 2);
        self.write_u128(self.iq_base + head * 16, wait.into_bits());
        head = (head + 1) % 256;
        self.iq_head.set(head);
        self.w32(regs::IQT, (head << 4) as u32);
        self.read_u32(status_addr) == 2
    }
}
