//! Queued invalidation (VT-d §6.5.2): the invalidation queue registers (IQH, IQT,
//! IQA), descriptor execution, invalidation wait with status write and completion
//! interrupt, and invalidation queue errors.
//!
//! The queue is latched from IQA when QIE is set and processed synchronously
//! whenever the tail moves (or IQE is cleared) while QIE is set. A bad descriptor
//! sets FSTS.IQE and leaves IQH on it; nothing more is fetched until software clears
//! IQE. Work per tail write is bounded by the queue size.

use crate::config::MAMV;
use crate::config::MHMV;
use crate::mem::page_addr_mask;
use crate::mem::read_u128;
use crate::mem::write_u32;
use crate::spec::qi::desc_type;
use crate::spec::qi::descriptor_type;
use crate::spec::qi::ContextInvDesc;
use crate::spec::qi::IecInvDesc;
use crate::spec::qi::IotlbInvDesc;
use crate::spec::qi::WaitDesc;
use crate::spec::qi::DESC_SIZE;
use crate::spec::regs::IqPointer;
use crate::spec::regs::Iqa;
use crate::spec::regs::GRAN_DEVICE_OR_PAGE;
use crate::spec::regs::GRAN_DOMAIN;
use crate::spec::regs::GRAN_GLOBAL;
use crate::state::State;

/// The queue registers and the latched queue.
#[derive(Debug, Default, inspect::Inspect)]
pub(crate) struct InvQueue {
    /// IQA as written (DW is RsvdZ).
    #[inspect(hex)]
    pub iqa: u64,
    /// IQT as written (QT only).
    #[inspect(hex)]
    pub iqt: u64,
    /// IQH's descriptor index.
    pub head: u32,
    /// Base of the latched queue.
    #[inspect(hex)]
    pub base: u64,
    /// Entries of the latched queue (0 while disabled).
    pub entries: u32,
}

impl InvQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// IQH as software reads it.
    pub fn iqh(&self) -> u64 {
        IqPointer::new().with_index(self.head as u16).into_bits()
    }

    /// The tail's descriptor index.
    fn tail(&self) -> u32 {
        IqPointer::from(self.iqt).index().into()
    }
}

/// Why a descriptor was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DescError {
    /// Reserved bits set, or a reserved or unsupported granularity.
    Invalid,
    /// A type this unit does not implement.
    UnknownType(u8),
}

impl State {
    /// IQA writable bits: base below the HAW and QS.
    pub(crate) fn iqa_mask(&self) -> u64 {
        page_addr_mask(self.caps.haw()) | 0x7
    }

    /// GCMD.QIE toggled.
    pub(crate) fn set_queue_enabled(&mut self, enable: bool) {
        let q = &mut self.queue;
        q.head = 0;
        if enable {
            let iqa = Iqa::from(q.iqa);
            q.base = iqa.iqa() << 12;
            q.entries = 1 << (8 + u32::from(iqa.qs()));
            self.gsts.set_qies(true);
            // Descriptors queued before QIE was set run now.
            self.process_queue();
        } else {
            q.entries = 0;
            self.gsts.set_qies(false);
        }
    }

    /// IQT written.
    pub(crate) fn write_iqt(&mut self, val: u64) {
        // Only QT (bits 18:4) is writable; bits 3:0 and 63:19 are RsvdZ.
        self.queue.iqt = IqPointer::new()
            .with_index(IqPointer::from(val).index())
            .into_bits();
        self.process_queue();
    }

    /// Runs descriptors from head to tail.
    pub(crate) fn process_queue(&mut self) {
        if !self.gsts.qies() || self.faults.iqe {
            return;
        }
        let entries = self.queue.entries;
        let tail = self.queue.tail();
        if tail >= entries {
            if self.log.allow() {
                tracing::warn!(
                    tail,
                    entries,
                    "intel-vtd: invalidation queue tail beyond the queue"
                );
            }
            self.raise_iqe();
            return;
        }
        // At most one pass around the queue.
        for _ in 0..entries {
            let head = self.queue.head;
            if head == tail {
                break;
            }
            let gpa = self.queue.base + u64::from(head) * DESC_SIZE;
            let result = match read_u128(&self.mem, gpa) {
                Ok(desc) => self.execute(desc),
                Err(_) => Err(DescError::Invalid),
            };
            if let Err(e) = result {
                if self.log.allow() {
                    tracing::warn!(head, error = ?e, "intel-vtd: invalidation queue error");
                }
                self.raise_iqe();
                return;
            }
            self.stats.descriptors += 1;
            self.queue.head = (head + 1) % entries;
        }
    }

    /// Executes one descriptor. Nothing is cached, so invalidations only validate.
    fn execute(&mut self, desc: u128) -> Result<(), DescError> {
        let ty = descriptor_type(desc as u64);
        match ty {
            desc_type::CONTEXT => {
                let d = ContextInvDesc::from(desc);
                if d.g() == 0 || d.rsvd0() != 0 || d.rsvd1() != 0 || d.rsvd_hi() != 0 {
                    return Err(DescError::Invalid);
                }
                self.stats.context_invalidations += 1;
                // Cached translations carry what the context entries said.
                self.iotlb_cache.clear();
            }
            desc_type::IOTLB => {
                let d = IotlbInvDesc::from(desc);
                if d.g() == 0 || d.rsvd0() != 0 || d.rsvd1() != 0 || d.rsvd2() != 0 {
                    return Err(DescError::Invalid);
                }
                if d.g() == GRAN_DEVICE_OR_PAGE && (!self.caps.cap.psi() || d.am() > MAMV) {
                    return Err(DescError::Invalid);
                }
                self.stats.iotlb_invalidations += 1;
                match d.g() {
                    GRAN_GLOBAL => self.iotlb_cache.clear(),
                    GRAN_DOMAIN => self.iotlb_cache.invalidate_domain(d.did()),
                    _ => self
                        .iotlb_cache
                        .invalidate_pages(d.did(), d.addr() << 12, d.am()),
                }
            }
            desc_type::IEC if self.caps.ecap.ir() => {
                let d = IecInvDesc::from(desc);
                if d.rsvd0() != 0 || d.rsvd1() != 0 || d.rsvd_hi() != 0 || (d.g() && d.im() > MHMV)
                {
                    return Err(DescError::Invalid);
                }
                self.stats.iec_invalidations += 1;
                self.effects.remap_changed = true;
            }
            desc_type::WAIT => {
                let d = WaitDesc::from(desc);
                if d.pd() || d.rsvd0() != 0 || d.rsvd1() != 0 {
                    return Err(DescError::Invalid);
                }
                if d.sw() {
                    let addr = d.status_addr() << 2;
                    if write_u32(&self.mem, addr, d.status_data()).is_err() && self.log.allow() {
                        // A status write outside RAM goes nowhere, as on hardware.
                        tracing::warn!(
                            addr,
                            "intel-vtd: invalidation wait status write outside RAM"
                        );
                    }
                }
                if d.if_flag() && !self.iwc {
                    self.iwc = true;
                    self.inv_event.raise(&mut self.effects.msis);
                }
                self.stats.waits += 1;
            }
            _ => return Err(DescError::UnknownType(ty)),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::VtdConfig;
    use crate::test_util::TestMem;

    const Q: u64 = 0x30_0000;

    fn enabled(m: &TestMem) -> State {
        let mut s = State::new(&VtdConfig::default(), m.mem.clone());
        s.queue.iqa = Q;
        s.set_queue_enabled(true);
        s
    }

    fn put(m: &TestMem, index: u64, desc: u128) {
        m.write_u128(Q + index * 16, desc);
    }

    fn submit(s: &mut State, tail: u32) {
        s.write_iqt(u64::from(tail) << 4);
    }

    fn wait(addr: u64, data: u32) -> u128 {
        WaitDesc::new()
            .with_type_lo(5)
            .with_sw(true)
            .with_status_addr(addr >> 2)
            .with_status_data(data)
            .into_bits()
    }

    #[test]
    fn runs_each_valid_descriptor() {
        let m = TestMem::new();
        let mut s = enabled(&m);
        assert_eq!(s.queue.entries, 256);
        for g in 1..=3 {
            put(
                &m,
                g - 1,
                ContextInvDesc::new()
                    .with_type_lo(1)
                    .with_g(g as u8)
                    .with_did(3)
                    .with_sid(0x10)
                    .with_fm(1)
                    .into_bits(),
            );
        }
        put(
            &m,
            3,
            IotlbInvDesc::new().with_type_lo(2).with_g(1).into_bits(),
        );
        put(
            &m,
            4,
            IotlbInvDesc::new()
                .with_type_lo(2)
                .with_g(2)
                .with_did(9)
                .with_dr(true)
                .with_dw(true)
                .into_bits(),
        );
        put(
            &m,
            5,
            IotlbInvDesc::new()
                .with_type_lo(2)
                .with_g(3)
                .with_am(MAMV)
                .with_ih(true)
                .with_addr(0x12345)
                .into_bits(),
        );
        put(&m, 6, IecInvDesc::new().with_type_lo(4).into_bits());
        put(
            &m,
            7,
            IecInvDesc::new()
                .with_type_lo(4)
                .with_g(true)
                .with_im(5)
                .with_iidx(32)
                .into_bits(),
        );
        put(&m, 8, wait(0x40_0000, 0xabcd));
        submit(&mut s, 9);
        assert_eq!(s.queue.head, 9);
        assert!(!s.faults.iqe);
        assert_eq!(m.read_u32(0x40_0000), 0xabcd);
        assert_eq!(s.stats.context_invalidations, 3);
        assert_eq!(s.stats.iotlb_invalidations, 3);
        assert_eq!(s.stats.iec_invalidations, 2);
        assert!(s.effects.remap_changed);
    }

    #[test]
    fn wait_with_status_write_and_interrupt() {
        let m = TestMem::new();
        let mut s = enabled(&m);
        s.inv_event.write_addr(0xfee0_0000);
        s.inv_event.write_data(0x66);
        s.inv_event.write_ctl(0, &mut Vec::new());
        let mut d = WaitDesc::from(wait(0x40_0010, 7));
        d.set_if_flag(true);
        put(&m, 0, d.into_bits());
        submit(&mut s, 1);
        assert_eq!(m.read_u32(0x40_0010), 7);
        assert!(s.iwc);
        assert_eq!(s.effects.msis.len(), 1);
        assert_eq!(s.effects.msis[0].data, 0x66);
        // IWC still set: no second interrupt.
        put(&m, 1, d.into_bits());
        submit(&mut s, 2);
        assert_eq!(s.effects.msis.len(), 1);
        // A status write outside RAM is dropped; the queue goes on.
        put(&m, 2, wait(0x80_0000_0000, 1));
        put(&m, 3, wait(0x40_0020, 2));
        submit(&mut s, 4);
        assert_eq!(s.queue.head, 4);
        assert_eq!(m.read_u32(0x40_0020), 2);
    }

    #[test]
    fn bad_descriptors_stop_with_head_on_them() {
        let good = wait(0x40_0000, 1);
        let bad: [u128; 13] = [
            0,                                                 // type 0
            0x3,                                               // device-TLB (no DT)
            0x6,                                               // PASID-IOTLB
            0x7,                                               // PASID-cache
            0xf,                                               // unknown
            good | (1 << 9),                                   // type bits 11:9
            ContextInvDesc::new().with_type_lo(1).into_bits(), // G = 0
            ContextInvDesc::new()
                .with_type_lo(1)
                .with_g(1)
                .with_rsvd_hi(1)
                .into_bits(),
            IotlbInvDesc::new()
                .with_type_lo(2)
                .with_g(3)
                .with_am(MAMV + 1)
                .into_bits(),
            IotlbInvDesc::new()
                .with_type_lo(2)
                .with_g(1)
                .with_rsvd2(1)
                .into_bits(),
            IecInvDesc::new()
                .with_type_lo(4)
                .with_g(true)
                .with_im(MHMV + 1)
                .into_bits(),
            WaitDesc::from(good).with_pd(true).into_bits(),
            WaitDesc::from(good).with_rsvd1(1).into_bits(),
        ];
        for d in bad {
            let m = TestMem::new();
            let mut s = enabled(&m);
            put(&m, 0, good);
            put(&m, 1, d);
            put(&m, 2, wait(0x40_0004, 3));
            submit(&mut s, 3);
            assert!(s.faults.iqe, "{d:#x}");
            assert_eq!(s.queue.head, 1, "{d:#x}");
            assert_eq!(m.read_u32(0x40_0004), 0, "{d:#x}");
            // Clearing IQE with the bad descriptor fixed resumes processing.
            put(&m, 1, good);
            s.write_fsts_reg(1 << 4);
            assert_eq!(s.queue.head, 3);
            assert_eq!(m.read_u32(0x40_0004), 3);
        }
    }

    #[test]
    fn tail_rules() {
        let m = TestMem::new();
        let mut s = State::new(&VtdConfig::default(), m.mem.clone());
        s.queue.iqa = Q; // QS = 0: 256 entries.
        put(&m, 0, wait(0x40_0000, 9));
        // Tail written before QIE: nothing runs until QIE is set.
        submit(&mut s, 1);
        assert_eq!(m.read_u32(0x40_0000), 0);
        s.set_queue_enabled(true);
        assert_eq!(m.read_u32(0x40_0000), 9);
        assert_eq!(s.queue.head, 1);
        // Tail bits 3:0 are reserved: 0x28 means index 2.
        put(&m, 1, wait(0x40_0000, 10));
        s.write_iqt(0x28);
        assert_eq!(s.queue.iqt, 0x20);
        assert_eq!(s.queue.head, 2);
        // Tail beyond the queue: IQE, head unchanged.
        submit(&mut s, 256);
        assert!(s.faults.iqe);
        assert_eq!(s.queue.head, 2);
        // A queue beyond RAM.
        let mut s = State::new(&VtdConfig::default(), m.mem.clone());
        s.queue.iqa = 0x80_0000_0000;
        s.set_queue_enabled(true);
        submit(&mut s, 1);
        assert!(s.faults.iqe);
        assert_eq!(s.queue.head, 0);
    }

    #[test]
    fn wraps_and_disable_resets_head() {
        let m = TestMem::new();
        let mut s = enabled(&m);
        for i in 0..256 {
            put(&m, i, wait(0x40_0000, i as u32));
        }
        submit(&mut s, 255);
        submit(&mut s, 3);
        assert_eq!(s.queue.head, 3);
        assert_eq!(s.stats.waits, 255 + 4);
        s.set_queue_enabled(false);
        assert_eq!(s.queue.iqh(), 0);
        assert!(!s.gsts.qies());
    }

    #[test]
    fn iec_without_interrupt_remapping_is_invalid() {
        let m = TestMem::new();
        let mut s = State::new(
            &VtdConfig {
                intremap: false,
                eim: false,
                ..Default::default()
            },
            m.mem.clone(),
        );
        s.queue.iqa = Q;
        s.set_queue_enabled(true);
        put(&m, 0, IecInvDesc::new().with_type_lo(4).into_bits());
        submit(&mut s, 1);
        assert!(s.faults.iqe);
    }
}
