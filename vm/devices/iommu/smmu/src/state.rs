//! The SMMU's register state, kept behind the device's single lock.

use crate::config::SmmuConfig;
use crate::irq::IrqCfg;
use crate::irq::Pending;
use crate::ratelimit::RateLimit;
use crate::spec::regs::Cr0;
use crate::spec::regs::Cr2;
use crate::spec::regs::Gbpa;
use crate::spec::regs::IrqCtrl;
use crate::spec::regs::QueueBase;
use crate::spec::regs::StrtabBase;
use crate::spec::regs::StrtabBaseCfg;
use crate::stream::Strtab;
use crate::translate::Pipeline;
use guestmem::GuestMemory;

/// Counters for inspection.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Stats {
    /// Translations requested.
    pub translations: u64,
    /// Translations that faulted.
    pub faults: u64,
    /// Events generated (written or not).
    pub events: u64,
    /// Events lost (queue disabled, full, or aborted).
    pub events_dropped: u64,
    /// Commands executed.
    pub commands: u64,
    /// Configuration/TLB invalidations executed (no caches: nothing to drop).
    pub invalidations: u64,
    /// CMD_SYNCs completed.
    pub syncs: u64,
}

/// Registers and everything derived from them.
pub(crate) struct State {
    pub caps: SmmuConfig,
    pub mem: GuestMemory,
    pub cr0: Cr0,
    pub cr1: u32,
    pub cr2: Cr2,
    pub gbpa: Gbpa,
    pub irq_ctrl: IrqCtrl,
    pub gerror: u32,
    pub gerrorn: u32,
    pub gerror_irq: IrqCfg,
    pub strtab_base: StrtabBase,
    pub strtab_base_cfg: StrtabBaseCfg,
    pub cmdq_base: QueueBase,
    pub cmdq_prod: u32,
    /// Index+wrap of CMDQ_CONS.
    pub cmdq_cons: u32,
    /// CMDQ_CONS.ERR.
    pub cmdq_err: u8,
    pub eventq_base: QueueBase,
    /// EVENTQ_PROD including OVFLG.
    pub eventq_prod: u32,
    /// EVENTQ_CONS including OVACKFLG.
    pub eventq_cons: u32,
    pub eventq_irq: IrqCfg,
    /// Interrupts to deliver once the lock is dropped.
    pub pending: Vec<Pending>,
    pub stats: Stats,
    pub log_limit: RateLimit,
}

impl State {
    /// Reset state (IHI 0070 §6.3: register reset values).
    pub fn new(caps: SmmuConfig, mem: GuestMemory) -> Self {
        let gbpa = Gbpa::new().with_abort(caps.gbpa_abort_at_reset);
        Self {
            caps,
            mem,
            cr0: Cr0::new(),
            cr1: 0,
            cr2: Cr2::new(),
            gbpa,
            irq_ctrl: IrqCtrl::new(),
            gerror: 0,
            gerrorn: 0,
            gerror_irq: IrqCfg::default(),
            strtab_base: StrtabBase::new(),
            strtab_base_cfg: StrtabBaseCfg::new(),
            cmdq_base: QueueBase::new(),
            cmdq_prod: 0,
            cmdq_cons: 0,
            cmdq_err: 0,
            eventq_base: QueueBase::new(),
            eventq_prod: 0,
            eventq_cons: 0,
            eventq_irq: IrqCfg::default(),
            pending: Vec::new(),
            stats: Stats::default(),
            log_limit: RateLimit::per_second(10),
        }
    }

    /// The translation pipeline over the current registers.
    pub fn pipeline(&self) -> Pipeline<'_> {
        Pipeline {
            mem: &self.mem,
            caps: &self.caps,
            strtab: Strtab::new(self.strtab_base, self.strtab_base_cfg, &self.caps),
            record_invalid_sid: self.cr2.recinvsid(),
        }
    }
}
