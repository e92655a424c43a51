//! The unit's state, kept behind the device's single lock.

use crate::config::Caps;
use crate::config::VtdConfig;
use crate::fault::FaultLog;
use crate::irq::EventIrq;
use crate::qi::InvQueue;
use crate::ratelimit::RateLimit;
use crate::spec::regs::Gsts;
use guestmem::GuestMemory;
use iommu_common::MsiMessage;
use iommu_common::RemapChangeListener;
use std::sync::Arc;

/// Counters for inspection and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, inspect::Inspect)]
pub struct VtdStats {
    /// DMA translations requested.
    pub translations: u64,
    /// DMA translations that faulted.
    pub dma_faults: u64,
    /// MSIs remapped (or passed through) successfully.
    pub remaps: u64,
    /// MSIs blocked.
    pub remap_faults: u64,
    /// Faults written to a fault recording register.
    pub faults_recorded: u64,
    /// Faults not recorded because of FPD.
    pub faults_suppressed: u64,
    /// Faults lost to a primary fault overflow.
    pub faults_overflowed: u64,
    /// Invalidation descriptors executed.
    pub descriptors: u64,
    /// Context-cache invalidations (queued or register-based).
    pub context_invalidations: u64,
    /// IOTLB invalidations (queued or register-based).
    pub iotlb_invalidations: u64,
    /// Translations answered from the IOTLB.
    pub iotlb_hits: u64,
    /// Interrupt entry cache invalidations.
    pub iec_invalidations: u64,
    /// Invalidation wait descriptors completed.
    pub waits: u64,
    /// Invalidation queue errors raised.
    pub queue_errors: u64,
    /// Malformed register accesses ignored.
    pub bad_accesses: u64,
}

/// The interrupt remapping table latched by SIRTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, inspect::Inspect)]
pub(crate) struct IrTable {
    #[inspect(hex)]
    pub base: u64,
    pub entries: u32,
    /// Extended interrupt mode (x2APIC destinations).
    pub eime: bool,
}

/// Work to do once the lock is dropped.
#[derive(Default)]
pub(crate) struct Effects {
    pub msis: Vec<MsiMessage>,
    pub remap_changed: bool,
}

/// Registers and everything derived from them.
#[derive(inspect::Inspect)]
pub(crate) struct State {
    #[inspect(flatten)]
    pub caps: Caps,
    #[inspect(skip)]
    pub mem: GuestMemory,
    #[inspect(with = "gsts_hex")]
    pub gsts: Gsts,
    /// RTADDR as written.
    #[inspect(hex)]
    pub rtaddr: u64,
    /// The root table latched by SRTP.
    #[inspect(hex)]
    pub root_table: Option<u64>,
    #[inspect(hex)]
    pub ccmd: u64,
    #[inspect(hex)]
    pub iva: u64,
    #[inspect(hex)]
    pub iotlb: u64,
    /// PMEN.EPM (no protected regions are advertised, so it protects nothing).
    pub pmen_epm: bool,
    /// IRTA as written.
    #[inspect(hex)]
    pub irta: u64,
    /// The interrupt remapping table latched by SIRTP.
    pub ir_table: Option<IrTable>,
    pub faults: FaultLog,
    pub queue: InvQueue,
    /// ICS.IWC.
    pub iwc: bool,
    pub inv_event: EventIrq,
    /// Cached second-level translations.
    pub iotlb_cache: crate::iotlb::Iotlb,
    pub stats: VtdStats,
    pub log: RateLimit,
    #[inspect(skip)]
    pub effects: Effects,
    #[inspect(skip)]
    pub listener: Option<Arc<dyn RemapChangeListener>>,
}

fn gsts_hex(g: &Gsts) -> inspect::AsHex<u32> {
    inspect::AsHex(g.into_bits())
}

impl State {
    /// Reset state (VT-d §11.4: register reset values).
    pub fn new(config: &VtdConfig, mem: GuestMemory) -> Self {
        let caps = Caps::new(config);
        let eim = caps.config.eim;
        let records = caps.fault_records();
        Self {
            caps,
            mem,
            gsts: Gsts::new(),
            rtaddr: 0,
            root_table: None,
            ccmd: 0,
            iva: 0,
            iotlb: 0,
            pmen_epm: false,
            irta: 0,
            ir_table: None,
            faults: FaultLog::new(records, eim),
            queue: InvQueue::new(),
            iwc: false,
            inv_event: EventIrq::new(eim),
            iotlb_cache: Default::default(),
            stats: VtdStats::default(),
            log: RateLimit::per_second(10),
            effects: Effects::default(),
            listener: None,
        }
    }
}
