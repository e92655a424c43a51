//! Primary fault logging: the fault recording registers (FRCD), the fault status
//! register (FSTS) and the fault event (VT-d §7.3, "Fault Reporting", §7.4, and
//! §11.4, FSTS_REG / FRCD_REG).
//!
//! Records fill in a circle starting at index 0. A fault is dropped while PFO is
//! set; a fault whose next record still holds an unserviced fault sets PFO instead.
//! The fault event is raised when PPF, PFO or IQE becomes set.

use crate::irq::EventIrq;
use crate::spec::fault::FaultReason;
use crate::spec::regs::FrcdHi;
use crate::spec::regs::Fsts;
use crate::state::State;
use iommu_common::MsiMessage;

/// One fault recording register's contents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, inspect::Inspect)]
pub(crate) struct FaultRecord {
    /// Bits 63:0: fault information (page address, or interrupt index in 63:48).
    #[inspect(hex)]
    pub lo: u64,
    /// Bits 127:64: source id, reason, type, F.
    #[inspect(hex)]
    pub hi: u64,
}

/// A fault to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fault {
    pub reason: FaultReason,
    /// Requester id of the faulting request.
    pub sid: u16,
    /// The faulting address (DMA) or interrupt index (interrupt remapping).
    pub info: u64,
    /// A DMA read (FRCD.T = 1); false for writes and interrupt requests.
    pub read: bool,
}

impl Fault {
    /// The record this fault is written as.
    fn to_record(self) -> FaultRecord {
        let lo = if self.reason.is_interrupt() {
            (self.info & 0xffff) << 48
        } else {
            self.info & !0xfff
        };
        let hi = FrcdHi::new()
            .with_sid(self.sid)
            .with_fr(self.reason as u8)
            .with_t(self.read)
            .with_f(true);
        FaultRecord {
            lo,
            hi: hi.into_bits(),
        }
    }
}

/// What happened to a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Logged {
    /// Written to a record.
    Recorded,
    /// Lost: the log overflowed (PFO).
    Overflowed,
}

/// The fault recording registers and the fault status/event state.
#[derive(Debug, inspect::Inspect)]
pub(crate) struct FaultLog {
    records: Vec<FaultRecord>,
    /// Where the next fault goes.
    next: usize,
    /// FSTS.PFO.
    pub pfo: bool,
    /// FSTS.IQE.
    pub iqe: bool,
    /// FSTS.FRI.
    fri: u8,
    /// The fault event interrupt.
    pub event: EventIrq,
}

const FRCD_F: u64 = 1 << 63;

impl FaultLog {
    pub fn new(records: usize, eim: bool) -> Self {
        Self {
            records: vec![FaultRecord::default(); records],
            next: 0,
            pfo: false,
            iqe: false,
            fri: 0,
            event: EventIrq::new(eim),
        }
    }

    fn ppf(&self) -> bool {
        self.records.iter().any(|r| r.hi & FRCD_F != 0)
    }

    /// FSTS as software reads it.
    pub fn fsts(&self) -> u32 {
        Fsts::new()
            .with_pfo(self.pfo)
            .with_ppf(self.ppf())
            .with_iqe(self.iqe)
            .with_fri(self.fri)
            .into_bits()
    }

    /// Records `fault`, raising the fault event as needed.
    pub fn log(&mut self, fault: Fault, out: &mut Vec<MsiMessage>) -> Logged {
        if self.pfo {
            return Logged::Overflowed;
        }
        let next = self.next;
        if self.records[next].hi & FRCD_F != 0 {
            self.pfo = true;
            self.event.raise(out);
            return Logged::Overflowed;
        }
        let had_ppf = self.ppf();
        self.records[next] = fault.to_record();
        self.next = (next + 1) % self.records.len();
        if !had_ppf {
            // Records never exceed 222, so the index fits FRI's 8 bits.
            self.fri = next as u8;
            self.event.raise(out);
        }
        Logged::Recorded
    }

    /// Sets FSTS.IQE, raising the fault event if it was clear.
    pub fn set_iqe(&mut self, out: &mut Vec<MsiMessage>) {
        if !self.iqe {
            self.iqe = true;
            self.event.raise(out);
        }
    }

    /// A write to FSTS: PFO and IQE are RW1C (ICE/ITE are never set; PPF and FRI are
    /// read-only). Returns whether IQE was cleared.
    pub fn write_fsts(&mut self, val: u32) -> bool {
        let v = Fsts::from(val);
        if v.pfo() {
            self.pfo = false;
        }
        let iqe_cleared = v.iqe() && self.iqe;
        if v.iqe() {
            self.iqe = false;
        }
        self.update_pending();
        iqe_cleared
    }

    /// Drops a held fault event once software has serviced every condition.
    fn update_pending(&mut self) {
        if !self.pfo && !self.iqe && !self.ppf() {
            self.event.conditions_cleared();
        }
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Qword `half` (0 = bits 63:0, 1 = bits 127:64) of record `index`.
    pub fn read(&self, index: usize, half: usize) -> u64 {
        self.records
            .get(index)
            .map_or(0, |r| if half == 0 { r.lo } else { r.hi })
    }

    /// A write to the high qword of record `index`: F is RW1C, the rest is RO.
    pub fn write_hi(&mut self, index: usize, val: u64) {
        if let Some(r) = self.records.get_mut(index) {
            if val & FRCD_F != 0 {
                r.hi &= !FRCD_F;
            }
        }
        self.update_pending();
    }
}

impl State {
    /// Records a fault unless `suppressed` (FPD), with a rate-limited log line.
    pub(crate) fn report_fault(&mut self, fault: Fault, suppressed: bool) {
        if suppressed {
            self.stats.faults_suppressed += 1;
            return;
        }
        if self.log.allow() {
            tracing::warn!(
                reason = fault.reason as u8,
                sid = fault.sid,
                info = fault.info,
                "intel-vtd: {:?} fault",
                fault.reason
            );
        }
        match self.faults.log(fault, &mut self.effects.msis) {
            Logged::Recorded => self.stats.faults_recorded += 1,
            Logged::Overflowed => self.stats.faults_overflowed += 1,
        }
    }

    /// Raises an invalidation queue error.
    pub(crate) fn raise_iqe(&mut self) {
        self.stats.queue_errors += 1;
        self.faults.set_iqe(&mut self.effects.msis);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dma_fault(sid: u16, addr: u64) -> Fault {
        Fault {
            reason: FaultReason::Read,
            sid,
            info: addr,
            read: true,
        }
    }

    fn unmasked_log(n: usize) -> FaultLog {
        let mut log = FaultLog::new(n, false);
        log.event.write_data(0x55);
        log.event.write_addr(0xfee0_0000);
        log.event.write_ctl(0, &mut Vec::new());
        log
    }

    #[test]
    fn record_layout() {
        let mut log = unmasked_log(8);
        let mut out = Vec::new();
        assert_eq!(
            log.log(dma_fault(0x0108, 0x1234_5678), &mut out),
            Logged::Recorded
        );
        assert_eq!(log.read(0, 0), 0x1234_5000);
        let hi = FrcdHi::from(log.read(0, 1));
        assert!(hi.f() && hi.t());
        assert_eq!((hi.sid(), hi.fr()), (0x0108, 6));
        assert_eq!(log.fsts(), 0b10);
        assert_eq!(out.len(), 1);

        let ir = Fault {
            reason: FaultReason::IrEntryNotPresent,
            sid: 0xf0f8,
            info: 0x1234,
            read: false,
        };
        log.log(ir, &mut out);
        assert_eq!(log.read(1, 0), 0x1234 << 48);
        assert!(!FrcdHi::from(log.read(1, 1)).t());
        // PPF was already set: no second event.
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn overflow_and_rw1c() {
        let mut log = unmasked_log(8);
        let mut out = Vec::new();
        for i in 0..8 {
            assert_eq!(log.log(dma_fault(i, 0), &mut out), Logged::Recorded);
        }
        assert_eq!(out.len(), 1);
        assert_eq!(log.log(dma_fault(9, 0), &mut out), Logged::Overflowed);
        assert_eq!(out.len(), 2, "PFO raises the fault event");
        assert_eq!(log.fsts() & 0b11, 0b11);
        assert_eq!(log.log(dma_fault(10, 0), &mut out), Logged::Overflowed);
        assert_eq!(out.len(), 2);
        // Clearing PFO alone lets nothing in while record 0 is still full.
        log.write_fsts(1);
        assert_eq!(log.log(dma_fault(11, 0), &mut out), Logged::Overflowed);
        log.write_fsts(1);
        log.write_hi(0, FRCD_F);
        assert_eq!(log.log(dma_fault(12, 0), &mut out), Logged::Recorded);
        assert_eq!(FrcdHi::from(log.read(0, 1)).sid(), 12);
        // Writing PPF or FRI does nothing.
        log.write_fsts(0xff02);
        assert_ne!(log.fsts() & 2, 0);
    }

    #[test]
    fn fri_points_at_first_pending() {
        let mut log = unmasked_log(8);
        let mut out = Vec::new();
        log.log(dma_fault(1, 0), &mut out);
        log.log(dma_fault(2, 0), &mut out);
        log.write_hi(0, FRCD_F);
        log.write_hi(1, FRCD_F);
        assert_eq!(log.fsts(), 0);
        log.log(dma_fault(3, 0), &mut out);
        assert_eq!(Fsts::from(log.fsts()).fri(), 2);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn masked_event_held_then_dropped_when_serviced() {
        let mut log = FaultLog::new(8, false);
        let mut out = Vec::new();
        log.log(dma_fault(1, 0), &mut out);
        assert!(out.is_empty());
        assert!(log.event.pending);
        log.write_hi(0, FRCD_F);
        assert!(!log.event.pending);
        log.event.write_ctl(0, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn out_of_range_record_access() {
        let mut log = FaultLog::new(8, false);
        assert_eq!(log.read(100, 1), 0);
        log.write_hi(100, u64::MAX);
        assert_eq!(log.len(), 8);
    }
}
