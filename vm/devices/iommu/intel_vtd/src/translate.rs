//! DMA remapping of one request: translation enable, context lookup, address-width
//! check, second-level walk, and fault recording (VT-d §3.4, §3.6, §7.1).

use crate::context::lookup;
use crate::context::Translate;
use crate::fault::Fault;
use crate::spec::fault::FaultReason;
use crate::state::State;
use crate::walk::walk;
use crate::walk::WalkCaps;
use iommu_common::DmaAccess;
use iommu_common::DmaFaultKind;
use iommu_common::DmaPerms;
use iommu_common::DmaRequest;
use iommu_common::Translation;

/// Mapping size reported for untranslated and pass-through requests.
const PASS_THROUGH_PAGE: u64 = 1 << 30;

/// The coarse kind of a fault reason, for the DMA seam.
fn kind(reason: FaultReason) -> DmaFaultKind {
    match reason {
        FaultReason::RootNotPresent | FaultReason::ContextNotPresent => DmaFaultKind::Blocked,
        FaultReason::TranslationTypeBlocked => DmaFaultKind::Blocked,
        FaultReason::AddressBeyondAgaw => DmaFaultKind::AddressSize,
        FaultReason::Read | FaultReason::Write => DmaFaultKind::Permission,
        FaultReason::RootTableAccess
        | FaultReason::ContextTableAccess
        | FaultReason::PagingEntryAccess => DmaFaultKind::WalkError,
        _ => DmaFaultKind::BadConfig,
    }
}

fn identity(iova: u64) -> Translation {
    Translation {
        gpa: iova,
        page_size: PASS_THROUGH_PAGE,
        perms: DmaPerms::RW,
    }
}

impl State {
    /// Translates `req`, recording any fault.
    pub(crate) fn translate_dma(&mut self, req: &DmaRequest) -> Result<Translation, DmaFaultKind> {
        self.stats.translations += 1;
        if req.requester.segment != self.caps.config.segment {
            // A wiring error, not a guest action: refuse without a record.
            self.stats.dma_faults += 1;
            if self.log.allow() {
                tracing::warn!(requester = %req.requester, "intel-vtd: request from a foreign segment");
            }
            return Err(DmaFaultKind::Blocked);
        }
        if req.pasid.is_some() {
            // Legacy mode has no PASID support (ECAP.PASID = 0).
            self.stats.dma_faults += 1;
            return Err(DmaFaultKind::Blocked);
        }
        if !self.gsts.tes() {
            return Ok(identity(req.iova));
        }
        if let Some(t) = self
            .iotlb_cache
            .lookup(req.requester.bdf, req.iova, req.access)
        {
            self.stats.iotlb_hits += 1;
            return Ok(t);
        }
        match self.walk_request(req) {
            Ok((t, did)) => {
                if let Some(did) = did {
                    self.iotlb_cache
                        .insert(req.requester.bdf, did, req.iova, &t);
                }
                Ok(t)
            }
            Err((reason, fpd)) => {
                self.stats.dma_faults += 1;
                self.report_fault(
                    Fault {
                        reason,
                        sid: req.requester.bdf,
                        info: req.iova,
                        read: req.access == DmaAccess::Read,
                    },
                    fpd,
                );
                Err(kind(reason))
            }
        }
    }

    /// The translation proper; errors carry the reason and the FPD state.
    /// Walks the tables for `req`; also returns the domain id when the result may be
    /// cached (second-level translations, not pass-through).
    fn walk_request(
        &self,
        req: &DmaRequest,
    ) -> Result<(Translation, Option<u16>), (FaultReason, bool)> {
        let ctx = lookup(&self.mem, &self.caps, self.root_table, req.requester.bdf)
            .map_err(|f| (f.reason, f.fpd))?;
        match ctx.translate {
            Translate::PassThrough => Ok((identity(req.iova), None)),
            Translate::SecondLevel {
                root,
                levels,
                width,
            } => {
                if req.iova >> width != 0 {
                    return Err((FaultReason::AddressBeyondAgaw, ctx.fpd));
                }
                let sllps = self.caps.cap.sllps();
                let caps = WalkCaps {
                    haw: self.caps.haw(),
                    large_2m: sllps & 1 != 0,
                    large_1g: sllps & 2 != 0,
                };
                walk(&self.mem, caps, root, levels, req.iova, req.access)
                    .map(|t| (t, Some(ctx.did)))
                    .map_err(|r| (r, ctx.fpd))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::VtdConfig;
    use crate::spec::regs::FrcdHi;
    use crate::spec::tables::tt;
    use crate::spec::tables::ContextEntry;
    use crate::test_util::TestMem;
    use iommu_common::RequesterId;

    fn state(m: &TestMem, config: VtdConfig) -> State {
        let mut s = State::new(&config, m.mem.clone());
        s.gsts.set_tes(true);
        s
    }

    fn req(bdf: u16, iova: u64, access: DmaAccess) -> DmaRequest {
        DmaRequest::new(RequesterId::new(0, bdf), iova, access)
    }

    #[test]
    fn translation_disabled_is_identity() {
        let m = TestMem::new();
        let mut s = State::new(&VtdConfig::default(), m.mem.clone());
        let t = s
            .translate_dma(&req(0x10, 0xdead_b000, DmaAccess::Write))
            .unwrap();
        assert_eq!(t.gpa, 0xdead_b000);
        assert_eq!(s.stats.faults_recorded, 0);
    }

    #[test]
    fn translates_and_records_faults() {
        let m = TestMem::new();
        let root = m.alloc();
        let ctx = m.alloc();
        let pt = m.alloc();
        m.set_root(root, 0, ctx);
        m.set_context(
            ctx,
            0x18,
            ContextEntry::new()
                .with_p(true)
                .with_aw(2)
                .with_slptptr(pt >> 12),
        );
        m.map(pt, 4, 0x1000, 0x7000, 12, true, false);
        let mut s = state(&m, VtdConfig::default());
        s.root_table = Some(root);
        assert_eq!(
            s.translate_dma(&req(0x18, 0x1010, DmaAccess::Read))
                .unwrap()
                .gpa,
            0x7010
        );
        assert_eq!(
            s.translate_dma(&req(0x18, 0x1010, DmaAccess::Write)),
            Err(DmaFaultKind::Permission)
        );
        let hi = FrcdHi::from(s.faults.read(0, 1));
        assert_eq!((hi.fr(), hi.sid(), hi.t(), hi.f()), (5, 0x18, false, true));
        assert_eq!(s.faults.read(0, 0), 0x1000);
        // Above the 48-bit AGAW.
        assert_eq!(
            s.translate_dma(&req(0x18, 1 << 48, DmaAccess::Read)),
            Err(DmaFaultKind::AddressSize)
        );
        assert_eq!(FrcdHi::from(s.faults.read(1, 1)).fr(), 4);
        // No context.
        assert_eq!(
            s.translate_dma(&req(0x20, 0, DmaAccess::Read)),
            Err(DmaFaultKind::Blocked)
        );
        assert_eq!(FrcdHi::from(s.faults.read(2, 1)).fr(), 2);
        assert!(FrcdHi::from(s.faults.read(2, 1)).t());
        // No root entry.
        assert_eq!(
            s.translate_dma(&req(0x100, 0, DmaAccess::Read)),
            Err(DmaFaultKind::Blocked)
        );
        assert_eq!(FrcdHi::from(s.faults.read(3, 1)).fr(), 1);
        assert_eq!(s.stats.faults_recorded, 4);
    }

    #[test]
    fn agaw_limit_for_three_level_contexts() {
        let m = TestMem::new();
        let root = m.alloc();
        let ctx = m.alloc();
        let pt = m.alloc();
        m.set_root(root, 0, ctx);
        m.set_context(
            ctx,
            0,
            ContextEntry::new()
                .with_p(true)
                .with_aw(1)
                .with_slptptr(pt >> 12),
        );
        m.map(pt, 3, 0x7f_ffff_f000, 0x1000, 12, true, true);
        let mut s = state(&m, VtdConfig::default());
        s.root_table = Some(root);
        assert!(s
            .translate_dma(&req(0, 0x7f_ffff_f000, DmaAccess::Read))
            .is_ok());
        assert_eq!(
            s.translate_dma(&req(0, 0x80_0000_0000, DmaAccess::Read)),
            Err(DmaFaultKind::AddressSize)
        );
    }

    #[test]
    fn fpd_suppresses_recording() {
        let m = TestMem::new();
        let root = m.alloc();
        let ctx = m.alloc();
        let pt = m.alloc();
        m.set_root(root, 0, ctx);
        m.set_context(
            ctx,
            0,
            ContextEntry::new()
                .with_p(true)
                .with_fpd(true)
                .with_aw(2)
                .with_slptptr(pt >> 12),
        );
        m.set_context(ctx, 1, ContextEntry::new().with_fpd(true));
        let mut s = state(&m, VtdConfig::default());
        s.root_table = Some(root);
        assert!(s.translate_dma(&req(0, 0x5000, DmaAccess::Read)).is_err());
        assert!(s.translate_dma(&req(1, 0x5000, DmaAccess::Read)).is_err());
        assert_eq!(s.stats.faults_suppressed, 2);
        assert_eq!(s.faults.fsts(), 0);
        // Root-level faults ignore FPD.
        assert!(s.translate_dma(&req(0x300, 0, DmaAccess::Read)).is_err());
        assert_eq!(s.stats.faults_recorded, 1);
    }

    #[test]
    fn iotlb_serves_until_invalidated() {
        let m = TestMem::new();
        let root = m.alloc();
        let ctx = m.alloc();
        let pt = m.alloc();
        m.set_root(root, 0, ctx);
        m.set_context(
            ctx,
            0,
            ContextEntry::new()
                .with_p(true)
                .with_aw(2)
                .with_did(5)
                .with_slptptr(pt >> 12),
        );
        m.map(pt, 4, 0x5000, 0x1000, 12, true, true);
        let mut s = state(&m, VtdConfig::default());
        s.root_table = Some(root);
        s.gsts.set_tes(true);
        let gpa = |s: &mut State| {
            s.translate_dma(&req(0, 0x5008, DmaAccess::Read))
                .map(|t| t.gpa)
        };
        assert_eq!(gpa(&mut s), Ok(0x1008));
        // The guest remaps the page: the cached translation stands until invalidated.
        m.map(pt, 4, 0x5000, 0x2000, 12, true, true);
        assert_eq!(gpa(&mut s), Ok(0x1008));
        assert_eq!(s.stats.iotlb_hits, 1);
        // Another domain's invalidation does not drop it; its own does.
        s.iotlb_cache.invalidate_pages(6, 0x5000, 0);
        assert_eq!(gpa(&mut s), Ok(0x1008));
        s.iotlb_cache.invalidate_pages(5, 0x5000, 0);
        assert_eq!(gpa(&mut s), Ok(0x2008));
    }

    #[test]
    fn pass_through_and_te_before_srtp() {
        let m = TestMem::new();
        let root = m.alloc();
        let ctx = m.alloc();
        m.set_root(root, 0, ctx);
        m.set_context(
            ctx,
            8,
            ContextEntry::new()
                .with_p(true)
                .with_aw(2)
                .with_tt(tt::PASS_THROUGH),
        );
        let mut s = state(&m, VtdConfig::default());
        // TE without a latched root table: blocked, reason 8.
        assert_eq!(
            s.translate_dma(&req(8, 0, DmaAccess::Read)),
            Err(DmaFaultKind::WalkError)
        );
        assert_eq!(FrcdHi::from(s.faults.read(0, 1)).fr(), 8);
        s.root_table = Some(root);
        let t = s
            .translate_dma(&req(8, 0x1234_5678_9000, DmaAccess::Write))
            .unwrap();
        assert_eq!(t.gpa, 0x1234_5678_9000);
        assert_eq!(t.perms, DmaPerms::RW);
    }

    #[test]
    fn foreign_segment_and_pasid_refused_unrecorded() {
        let m = TestMem::new();
        let mut s = state(
            &m,
            VtdConfig {
                segment: 1,
                ..Default::default()
            },
        );
        let r = DmaRequest::new(RequesterId::new(0, 0), 0, DmaAccess::Read);
        assert_eq!(s.translate_dma(&r), Err(DmaFaultKind::Blocked));
        let r = DmaRequest::new(RequesterId::new(1, 0), 0, DmaAccess::Read).with_pasid(1);
        assert_eq!(s.translate_dma(&r), Err(DmaFaultKind::Blocked));
        assert_eq!(s.faults.fsts(), 0);
    }
}
