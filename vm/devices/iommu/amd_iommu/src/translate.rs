//! DMA translation (#48882 §2.2): device table lookup, exclusion range, pass-through
//! and the host page walk, with the events each failure logs.

use crate::devtab;
use crate::devtab::DteFetchError;
use crate::spec::dte::mode;
use crate::spec::event::code;
use crate::spec::event::flags;
use crate::spec::event::Event;
use crate::spec::regs::ExclBase;
use crate::state::State;
use crate::walk;
use crate::walk::WalkFault;
use iommu_common::DmaAccess;
use iommu_common::DmaFaultKind;
use iommu_common::DmaPerms;
use iommu_common::DmaRequest;
use iommu_common::Translation;

/// Page size reported for untranslated (pass-through) accesses.
const PASS_THROUGH_PAGE: u64 = 1 << 30;

impl State {
    /// Translates one request, logging the architectural event on failure.
    pub fn translate(&mut self, req: &DmaRequest) -> Result<Translation, DmaFaultKind> {
        self.stats.translations += 1;
        let result = self.translate_inner(req);
        if result.is_err() {
            self.stats.dma_faults += 1;
        }
        result
    }

    fn translate_inner(&mut self, req: &DmaRequest) -> Result<Translation, DmaFaultKind> {
        if req.requester.segment != self.config.segment {
            return Err(DmaFaultKind::Blocked);
        }
        // #48882 §3.4.4: with IommuEn = 0 every access passes untranslated.
        if !self.ctrl().iommu_en() {
            return Ok(identity(req.iova, PASS_THROUGH_PAGE));
        }
        let devid = req.requester.bdf;
        let write = req.access == DmaAccess::Write;
        let rw = if write { flags::RW } else { 0 };
        // Exclusion range for all devices (Allow = 1) needs no DTE (#48882 §2.3.2).
        let excl = ExclBase::from_bits(self.excl_base);
        if excl.ex_en() && excl.allow() && self.in_exclusion(req.iova) {
            return Ok(identity(req.iova, 1 << 12));
        }
        let dte = match devtab::fetch(&self.mem, self.dev_table(), devid) {
            Ok(dte) => dte,
            Err(DteFetchError::OutOfTable) => {
                self.log_event(Event {
                    code: code::ILLEGAL_DEV_TABLE_ENTRY,
                    device_id: devid,
                    domain_or_pasid: 0,
                    flags: rw,
                    address: req.iova,
                });
                return Err(DmaFaultKind::BadConfig);
            }
            Err(DteFetchError::ReadError { addr }) => {
                self.log_event(Event {
                    code: code::DEV_TAB_HARDWARE_ERROR,
                    device_id: devid,
                    domain_or_pasid: 0,
                    flags: rw,
                    address: addr,
                });
                return Err(DmaFaultKind::WalkError);
            }
        };
        let q0 = dte.q0();
        // #48882 §2.2.2: V = 0 or TV = 0 leaves DMA untranslated.
        if !q0.v() || !q0.tv() {
            return Ok(identity(req.iova, PASS_THROUGH_PAGE));
        }
        if dte.translation_illegal() {
            self.log_event(Event {
                code: code::ILLEGAL_DEV_TABLE_ENTRY,
                device_id: devid,
                domain_or_pasid: 0,
                flags: rw | flags::RZ,
                address: req.iova,
            });
            return Err(DmaFaultKind::BadConfig);
        }
        let domain = dte.q1().domain_id();
        if let Some(pasid) = req.pasid {
            // Guest (PASID) translation is not advertised (#48882 §2.5.9).
            self.log_event(Event {
                code: code::INVALID_DEVICE_REQUEST,
                device_id: devid,
                domain_or_pasid: pasid as u16,
                flags: rw,
                address: req.iova,
            });
            return Err(DmaFaultKind::BadConfig);
        }
        if excl.ex_en() && dte.q1().ex() && self.in_exclusion(req.iova) {
            return Ok(identity(req.iova, 1 << 12));
        }
        let dte_perms = DmaPerms {
            read: q0.ir(),
            write: q0.iw(),
        };
        let result = if q0.mode() == mode::PASS_THROUGH {
            Ok(walk::WalkResult {
                gpa: req.iova,
                page_size: PASS_THROUGH_PAGE,
                perms: dte_perms,
            })
        } else {
            walk::walk(
                &self.mem,
                q0.pt_root() << 12,
                q0.mode(),
                req.iova,
                dte_perms,
            )
        };
        let suppressed = dte.faults_suppressed();
        let fault = |flags_extra: u16| Event {
            code: code::IO_PAGE_FAULT,
            device_id: devid,
            domain_or_pasid: domain,
            flags: rw | flags_extra,
            address: req.iova,
        };
        match result {
            Ok(w) if w.perms.allows(req.access) => Ok(Translation {
                gpa: w.gpa,
                page_size: w.page_size,
                perms: w.perms,
            }),
            Ok(_) => {
                if !suppressed {
                    self.log_event(fault(flags::PR | flags::PE));
                }
                Err(DmaFaultKind::Permission)
            }
            Err(WalkFault::NotPresent) | Err(WalkFault::AddressRange) => {
                if !suppressed {
                    self.log_event(fault(0));
                }
                Err(DmaFaultKind::NotMapped)
            }
            Err(WalkFault::Illegal) => {
                if !suppressed {
                    self.log_event(fault(flags::PR | flags::RZ));
                }
                Err(DmaFaultKind::BadConfig)
            }
            Err(WalkFault::ReadError { entry_addr }) => {
                self.log_event(Event {
                    code: code::PAGE_TAB_HARDWARE_ERROR,
                    device_id: devid,
                    domain_or_pasid: domain,
                    flags: rw,
                    address: entry_addr,
                });
                Err(DmaFaultKind::WalkError)
            }
        }
    }

    /// Whether `iova` lies in the exclusion range (#48882 §3.4.5, §3.4.6: the limit
    /// register's bits 11:0 read as ones, so the range is inclusive of that page).
    fn in_exclusion(&self, iova: u64) -> bool {
        let base = ExclBase::from_bits(self.excl_base).base() << 12;
        let limit = self.excl_limit | 0xfff;
        base <= iova && iova <= limit
    }
}

fn identity(iova: u64, page_size: u64) -> Translation {
    Translation {
        gpa: iova,
        page_size,
        perms: DmaPerms::RW,
    }
}
