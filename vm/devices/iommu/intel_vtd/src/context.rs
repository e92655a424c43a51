//! Root and context table lookup, legacy mode (VT-d §3.4.2, "Legacy Mode Address
//! Translation", §9.1 "Root Entry", §9.3 "Context Entry").

use crate::config::Caps;
use crate::mem::page_addr_mask;
use crate::mem::read_u128;
use crate::spec::fault::FaultReason;
use crate::spec::tables::tt;
use crate::spec::tables::ContextEntry;
use crate::spec::tables::RootEntry;
use crate::spec::tables::ENTRY_SIZE;
use guestmem::GuestMemory;

/// How a device's requests are translated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Translate {
    /// Untranslated requests pass through (TT = 10b).
    PassThrough,
    /// Second-level translation (TT = 00b).
    SecondLevel {
        /// Table root (SLPTPTR), 4 KiB aligned.
        root: u64,
        /// Paging levels: 3 or 4.
        levels: u8,
        /// Input address width in bits: min(MGAW, AGAW).
        width: u8,
    },
}

/// A validated context entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeviceContext {
    pub translate: Translate,
    /// Domain id.
    pub did: u16,
    /// Fault processing disable.
    pub fpd: bool,
}

/// A lookup failure: the reason, and whether FPD suppresses recording it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ContextFault {
    pub reason: FaultReason,
    pub fpd: bool,
}

impl ContextFault {
    fn new(reason: FaultReason, fpd: bool) -> Self {
        Self { reason, fpd }
    }
}

/// Finds and validates the context entry for `bdf` under the latched root table.
pub(crate) fn lookup(
    mem: &GuestMemory,
    caps: &Caps,
    root_table: Option<u64>,
    bdf: u16,
) -> Result<DeviceContext, ContextFault> {
    let haw_mask = page_addr_mask(caps.haw());
    // Translation enabled with no root table latched: treated as an inaccessible
    // root table.
    let root_table = root_table.ok_or(ContextFault::new(FaultReason::RootTableAccess, false))?;
    let bus = u64::from(bdf >> 8);
    let devfn = u64::from(bdf & 0xff);
    let root = read_u128(mem, root_table + bus * ENTRY_SIZE)
        .map(RootEntry::from)
        .map_err(|_| ContextFault::new(FaultReason::RootTableAccess, false))?;
    if !root.p() {
        return Err(ContextFault::new(FaultReason::RootNotPresent, false));
    }
    let ctp = root.ctp() << 12;
    if root.rsvd_lo() != 0 || root.rsvd_hi() != 0 || ctp & !haw_mask != 0 {
        return Err(ContextFault::new(FaultReason::RootReserved, false));
    }
    let ctx = read_u128(mem, ctp + devfn * ENTRY_SIZE)
        .map(ContextEntry::from)
        .map_err(|_| ContextFault::new(FaultReason::ContextTableAccess, false))?;
    // FPD is honoured whether or not the entry is present (VT-d §9.3).
    let fpd = ctx.fpd();
    if !ctx.p() {
        return Err(ContextFault::new(FaultReason::ContextNotPresent, fpd));
    }
    if ctx.rsvd0() != 0 || ctx.rsvd1() || ctx.rsvd2() != 0 {
        return Err(ContextFault::new(FaultReason::ContextReserved, fpd));
    }
    if !caps.aw_supported(ctx.aw()) {
        return Err(ContextFault::new(FaultReason::ContextInvalid, fpd));
    }
    let translate = match ctx.tt() {
        tt::MULTI_LEVEL => {
            let root = ctx.slptptr() << 12;
            if root & !haw_mask != 0 {
                return Err(ContextFault::new(FaultReason::ContextReserved, fpd));
            }
            let agaw = 30 + 9 * ctx.aw();
            Translate::SecondLevel {
                root,
                levels: ctx.aw() + 2,
                width: agaw.min(caps.cap.mgaw() + 1),
            }
        }
        tt::PASS_THROUGH if caps.ecap.pt() => Translate::PassThrough,
        // Device-TLB (needs ECAP.DT), pass-through without ECAP.PT, reserved 11b.
        _ => return Err(ContextFault::new(FaultReason::ContextInvalid, fpd)),
    };
    Ok(DeviceContext {
        translate,
        did: ctx.did(),
        fpd,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::VtdConfig;
    use crate::test_util::TestMem;

    fn caps() -> Caps {
        Caps::new(&VtdConfig::default())
    }

    fn setup() -> (TestMem, u64) {
        let m = TestMem::new();
        let root = m.alloc();
        (m, root)
    }

    #[test]
    fn finds_multi_level_and_pass_through() {
        let (m, root) = setup();
        let ctx = m.alloc();
        m.set_root(root, 3, ctx);
        let pt = m.alloc();
        m.set_context(
            ctx,
            0x10,
            ContextEntry::new()
                .with_p(true)
                .with_aw(2)
                .with_slptptr(pt >> 12)
                .with_did(7),
        );
        m.set_context(
            ctx,
            0x11,
            ContextEntry::new()
                .with_p(true)
                .with_aw(2)
                .with_tt(tt::PASS_THROUGH),
        );
        let c = lookup(&m.mem, &caps(), Some(root), 0x0310).unwrap();
        assert_eq!(
            c.translate,
            Translate::SecondLevel {
                root: pt,
                levels: 4,
                width: 48
            }
        );
        assert_eq!(c.did, 7);
        let c = lookup(&m.mem, &caps(), Some(root), 0x0311).unwrap();
        assert_eq!(c.translate, Translate::PassThrough);
    }

    #[test]
    fn each_context_fault_reason() {
        let (m, root) = setup();
        let ctx = m.alloc();
        let caps = caps();
        let check = |bdf: u16, reason: FaultReason, fpd: bool| {
            assert_eq!(
                lookup(&m.mem, &caps, Some(root), bdf),
                Err(ContextFault { reason, fpd }),
                "bdf {bdf:#x}"
            );
        };
        // No root table latched.
        assert_eq!(
            lookup(&m.mem, &caps, None, 0).unwrap_err().reason,
            FaultReason::RootTableAccess
        );
        // Root table beyond RAM.
        assert_eq!(
            lookup(&m.mem, &caps, Some(0x7f_0000_0000), 0)
                .unwrap_err()
                .reason,
            FaultReason::RootTableAccess
        );
        check(0x0100, FaultReason::RootNotPresent, false);
        m.write_u128(
            root + 2 * 16,
            RootEntry::new()
                .with_p(true)
                .with_ctp(ctx >> 12)
                .with_rsvd_lo(1)
                .into_bits(),
        );
        check(0x0200, FaultReason::RootReserved, false);
        m.write_u128(
            root + 4 * 16,
            RootEntry::new()
                .with_p(true)
                .with_ctp(ctx >> 12)
                .with_rsvd_hi(1)
                .into_bits(),
        );
        check(0x0400, FaultReason::RootReserved, false);
        // Context table pointer above the host address width.
        m.set_root(root, 5, 1 << 50);
        check(0x0500, FaultReason::RootReserved, false);
        // Context table beyond RAM (but below the HAW).
        m.set_root(root, 6, 0x7f_0000_0000);
        check(0x0600, FaultReason::ContextTableAccess, false);

        m.set_root(root, 1, ctx);
        check(0x0100, FaultReason::ContextNotPresent, false);
        m.set_context(ctx, 1, ContextEntry::new().with_fpd(true));
        check(0x0101, FaultReason::ContextNotPresent, true);
        let good = ContextEntry::new()
            .with_p(true)
            .with_aw(2)
            .with_slptptr(0x1234);
        m.set_context(ctx, 2, good.with_rsvd0(1));
        check(0x0102, FaultReason::ContextReserved, false);
        m.set_context(ctx, 3, good.with_rsvd1(true));
        check(0x0103, FaultReason::ContextReserved, false);
        m.set_context(ctx, 4, good.with_rsvd2(1 << 39).with_fpd(true));
        check(0x0104, FaultReason::ContextReserved, true);
        m.set_context(ctx, 5, good.with_aw(3));
        check(0x0105, FaultReason::ContextInvalid, false);
        m.set_context(ctx, 6, good.with_aw(0));
        check(0x0106, FaultReason::ContextInvalid, false);
        m.set_context(ctx, 7, good.with_tt(tt::DEV_IOTLB));
        check(0x0107, FaultReason::ContextInvalid, false);
        m.set_context(ctx, 8, good.with_tt(3));
        check(0x0108, FaultReason::ContextInvalid, false);
        m.set_context(ctx, 9, good.with_slptptr(1 << 40));
        check(0x0109, FaultReason::ContextReserved, false);
        // AVAIL bits are software's.
        m.set_context(ctx, 10, good.with_avail(0xf));
        assert!(lookup(&m.mem, &caps, Some(root), 0x010a).is_ok());
    }

    #[test]
    fn aw_follows_sagaw() {
        let (m, root) = setup();
        let ctx = m.alloc();
        m.set_root(root, 0, ctx);
        m.set_context(ctx, 0, ContextEntry::new().with_p(true).with_aw(2));
        m.set_context(ctx, 1, ContextEntry::new().with_p(true).with_aw(1));
        let caps39 = Caps::new(&VtdConfig {
            aw_bits: 39,
            ..Default::default()
        });
        assert_eq!(
            lookup(&m.mem, &caps39, Some(root), 0).unwrap_err().reason,
            FaultReason::ContextInvalid
        );
        let c = lookup(&m.mem, &caps39, Some(root), 1).unwrap();
        assert_eq!(
            c.translate,
            Translate::SecondLevel {
                root: 0,
                levels: 3,
                width: 39
            }
        );
        // A 48-bit unit still takes 3-level tables.
        let c = lookup(&m.mem, &caps(), Some(root), 1).unwrap();
        assert_eq!(
            c.translate,
            Translate::SecondLevel {
                root: 0,
                levels: 3,
                width: 39
            }
        );
        // DMA translation off: SAGAW = 0, so even pass-through is invalid.
        let off = Caps::new(&VtdConfig {
            dma_translation: false,
            ..Default::default()
        });
        m.set_context(
            ctx,
            2,
            ContextEntry::new()
                .with_p(true)
                .with_aw(2)
                .with_tt(tt::PASS_THROUGH),
        );
        assert_eq!(
            lookup(&m.mem, &off, Some(root), 2).unwrap_err().reason,
            FaultReason::ContextInvalid
        );
    }
}
