//! Register-based invalidation: the context command register (CCMD) and the IOTLB
//! invalidate register (VT-d §6.5.1, "Register-based Invalidation Interface").
//!
//! Nothing is cached, so a valid request completes at once with the actual
//! granularity equal to the requested one. A request with a reserved granularity, or
//! a page-selective request whose IVA.AM exceeds CAP.MAMV, completes with actual
//! granularity 0 ("request rejected"). While queued invalidation is enabled the
//! registers are not to be used (VT-d §6.5.2); writes to them are then ignored.

use crate::config::MAMV;
use crate::spec::regs::Ccmd;
use crate::spec::regs::IotlbReg;
use crate::spec::regs::Iva;
use crate::spec::regs::GRAN_DEVICE_OR_PAGE;
use crate::spec::regs::GRAN_DOMAIN;
use crate::spec::regs::GRAN_GLOBAL;
use crate::state::State;

impl State {
    /// CCMD written; `execute` when the dword holding ICC was written.
    pub(crate) fn write_ccmd(&mut self, val: u64, execute: bool) {
        if self.gsts.qies() {
            return;
        }
        let mut c = Ccmd::from(val).with_caig(Ccmd::from(self.ccmd).caig());
        if execute && c.icc() {
            c.set_caig(c.cirg());
            c.set_icc(false);
            if c.cirg() != 0 {
                self.stats.context_invalidations += 1;
                self.iotlb_cache.clear();
            }
        }
        self.ccmd = c.into_bits();
    }

    /// IOTLB register written; `execute` when the dword holding IVT was written.
    pub(crate) fn write_iotlb(&mut self, val: u64, execute: bool) {
        if self.gsts.qies() {
            return;
        }
        let mut r = IotlbReg::from(val).with_iaig(IotlbReg::from(self.iotlb).iaig());
        if execute && r.ivt() {
            let am_ok = Iva::from(self.iva).am() <= MAMV && self.caps.cap.psi();
            let valid = r.iirg() != 0 && (r.iirg() != GRAN_DEVICE_OR_PAGE || am_ok);
            r.set_iaig(if valid { r.iirg() } else { 0 });
            r.set_ivt(false);
            if valid {
                self.stats.iotlb_invalidations += 1;
                let iva = Iva::from(self.iva);
                match r.iirg() {
                    GRAN_GLOBAL => self.iotlb_cache.clear(),
                    GRAN_DOMAIN => self.iotlb_cache.invalidate_domain(r.did()),
                    _ => self
                        .iotlb_cache
                        .invalidate_pages(r.did(), iva.addr() << 12, iva.am()),
                }
            }
        }
        self.iotlb = r.into_bits();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::VtdConfig;
    use crate::test_util::TestMem;

    fn state() -> State {
        State::new(&VtdConfig::default(), TestMem::new().mem)
    }

    #[test]
    fn context_command() {
        let mut s = state();
        for g in 1..=3 {
            s.write_ccmd(
                Ccmd::new()
                    .with_icc(true)
                    .with_cirg(g)
                    .with_did(4)
                    .into_bits(),
                true,
            );
            let c = Ccmd::from(s.ccmd);
            assert!(!c.icc());
            assert_eq!(c.caig(), g);
        }
        s.write_ccmd(Ccmd::new().with_icc(true).into_bits(), true);
        assert_eq!(Ccmd::from(s.ccmd).caig(), 0);
        assert!(!Ccmd::from(s.ccmd).icc());
        // Low dword alone does not execute; CAIG is read-only.
        s.write_ccmd(
            Ccmd::new()
                .with_icc(true)
                .with_cirg(1)
                .with_caig(3)
                .into_bits(),
            false,
        );
        assert!(Ccmd::from(s.ccmd).icc());
        assert_eq!(Ccmd::from(s.ccmd).caig(), 0);
        assert_eq!(s.stats.context_invalidations, 3);
    }

    #[test]
    fn iotlb_command_and_mamv() {
        let mut s = state();
        s.iva = Iva::new().with_am(MAMV).with_addr(0x100).into_bits();
        for g in 1..=3 {
            s.write_iotlb(
                IotlbReg::new()
                    .with_ivt(true)
                    .with_iirg(g)
                    .with_did(1)
                    .into_bits(),
                true,
            );
            assert_eq!(IotlbReg::from(s.iotlb).iaig(), g);
            assert!(!IotlbReg::from(s.iotlb).ivt());
        }
        s.iva = Iva::new().with_am(MAMV + 1).into_bits();
        s.write_iotlb(
            IotlbReg::new().with_ivt(true).with_iirg(3).into_bits(),
            true,
        );
        assert_eq!(IotlbReg::from(s.iotlb).iaig(), 0);
        assert!(!IotlbReg::from(s.iotlb).ivt());
        // Global ignores IVA.
        s.write_iotlb(
            IotlbReg::new().with_ivt(true).with_iirg(1).into_bits(),
            true,
        );
        assert_eq!(IotlbReg::from(s.iotlb).iaig(), 1);
    }

    #[test]
    fn ignored_while_queued_invalidation_is_on() {
        let mut s = state();
        s.gsts.set_qies(true);
        s.write_ccmd(Ccmd::new().with_icc(true).with_cirg(1).into_bits(), true);
        s.write_iotlb(
            IotlbReg::new().with_ivt(true).with_iirg(1).into_bits(),
            true,
        );
        assert_eq!((s.ccmd, s.iotlb), (0, 0));
    }
}
