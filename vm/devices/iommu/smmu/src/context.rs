//! Context descriptor validation and stage 1 input address handling (IHI 0070 §5.4,
//! §3.4.1).

use crate::config::SmmuConfig;
use crate::mem::low_mask;
use crate::spec::cd::Cd;
use crate::spec::cd::CdTtb;
use crate::stream::effective_out_bits;
use crate::stream::input_bits_from_tsz;
use crate::walk::Granule;
use crate::walk::Stage;
use crate::walk::WalkParams;

/// The CD is invalid or asks for something not advertised (C_BAD_CD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadCd;

/// One stage 1 translation region (TTB0: low addresses; TTB1: high addresses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Region {
    /// Walk parameters (input_bits = 64 - TxSZ).
    pub walk: WalkParams,
    /// Top byte ignored.
    pub tbi: bool,
}

/// A validated CD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Context {
    /// TTB0 and TTB1 regions; `None` when walks are disabled (EPDx).
    pub regions: [Option<Region>; 2],
    /// Record stage 1 faults (CD.R).
    pub record: bool,
    /// ASID.
    pub asid: u16,
}

fn granule_supported(g: Granule, caps: &SmmuConfig) -> bool {
    caps.granules[match g {
        Granule::K4 => 0,
        Granule::K16 => 1,
        Granule::K64 => 2,
    }]
}

fn region(
    granule: Option<Granule>,
    tsz: u8,
    ttb: CdTtb,
    tbi: bool,
    common: (u32, bool, bool),
    caps: &SmmuConfig,
) -> Result<Region, BadCd> {
    let (output_bits, affd, privileged) = common;
    let granule = granule.ok_or(BadCd)?;
    if !granule_supported(granule, caps) {
        return Err(BadCd);
    }
    let input_bits = input_bits_from_tsz(tsz).ok_or(BadCd)?;
    // A TTB beyond the effective IPS makes the CD invalid (IHI 0070 §3.4, §5.4.2).
    let base = ttb.ttb() << 4;
    if base >> output_bits != 0 {
        return Err(BadCd);
    }
    Ok(Region {
        walk: WalkParams {
            granule,
            input_bits,
            start_level: granule.start_level(input_bits),
            ttb: base,
            output_bits,
            affd,
            stage: Stage::One {
                privileged,
                had: ttb.had(),
            },
        },
        tbi,
    })
}

/// Validates `cd` (IHI 0070 §5.4, "CD validity"). `privileged` is the stream's
/// privilege after STE override.
pub(crate) fn decode_cd(cd: &Cd, caps: &SmmuConfig, privileged: bool) -> Result<Context, BadCd> {
    let w0 = cd.w0();
    // No AArch32 tables, no big-endian tables, no stalls, no hardware updates with
    // stalls: anything else is an illegal CD for this SMMU.
    if !w0.v() || !w0.aa64() || w0.endi() || w0.s() {
        return Err(BadCd);
    }
    let common = (effective_out_bits(w0.ips(), caps), w0.affd(), privileged);
    let r0 = if w0.epd0() {
        None
    } else {
        Some(region(
            Granule::from_tg0(w0.tg0()),
            w0.t0sz(),
            cd.ttb0(),
            w0.tbi() & 1 != 0,
            common,
            caps,
        )?)
    };
    let r1 = if w0.epd1() {
        None
    } else {
        Some(region(
            Granule::from_tg1(w0.tg1()),
            w0.t1sz(),
            cd.ttb1(),
            w0.tbi() & 2 != 0,
            common,
            caps,
        )?)
    };
    Ok(Context {
        regions: [r0, r1],
        record: w0.r(),
        asid: w0.asid(),
    })
}

/// Selects the region for `va` and returns its walk parameters and the address to walk,
/// or `None` for a translation fault (disabled region or bits out of range)
/// (IHI 0070 §3.4.1; Arm ARM D8.2 "Input address size").
pub(crate) fn select_region(ctx: &Context, va: u64) -> Option<(WalkParams, u64)> {
    let upper = va & (1 << 55) != 0;
    let r = ctx.regions[upper as usize]?;
    let top = if r.tbi { 55 } else { 63 };
    let ia = r.walk.input_bits;
    // Bits [top:ia] must all equal bit 55 (all zero for TTB0, all one for TTB1).
    let field = (va >> ia) & low_mask(top + 1 - ia);
    let expect = if upper { low_mask(top + 1 - ia) } else { 0 };
    if field != expect {
        return None;
    }
    Some((r.walk, va & low_mask(ia)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::cd::Cd0;

    pub(crate) fn cd(t0sz: u8, tg0: u8) -> Cd {
        Cd([
            Cd0::new()
                .with_v(true)
                .with_aa64(true)
                .with_r(true)
                .with_t0sz(t0sz)
                .with_tg0(tg0)
                .with_epd1(true)
                .with_ips(5)
                .into_bits(),
            CdTtb::new().with_ttb(0x4000 >> 4).into_bits(),
            0,
            0,
            0,
            0,
            0,
            0,
        ])
    }

    #[test]
    fn valid_cd() {
        let c = decode_cd(&cd(16, 0), &SmmuConfig::default(), false).unwrap();
        let r0 = c.regions[0].unwrap();
        assert_eq!(r0.walk.ttb, 0x4000);
        assert_eq!(r0.walk.start_level, 0);
        assert!(c.regions[1].is_none());
        assert!(c.record);
    }

    /// Hostile: T0SZ out of range for the granule, reserved TG, AArch32, invalid.
    #[test]
    fn hostile_cd() {
        let caps = SmmuConfig::default();
        for (t0sz, tg0) in [(15, 0), (40, 0), (63, 2), (0, 1), (16, 3)] {
            assert_eq!(
                decode_cd(&cd(t0sz, tg0), &caps, false),
                Err(BadCd),
                "{t0sz} {tg0}"
            );
        }
        let mut c = cd(16, 0);
        c.0[0] &= !(1 << 41);
        assert_eq!(decode_cd(&c, &caps, false), Err(BadCd), "AA64 = 0");
        let mut c = cd(16, 0);
        c.0[0] &= !(1 << 31);
        assert_eq!(decode_cd(&c, &caps, false), Err(BadCd), "V = 0");
        let mut c = cd(16, 0);
        c.0[0] |= 1 << 44;
        assert_eq!(decode_cd(&c, &caps, false), Err(BadCd), "stall");
        let mut c = cd(16, 0);
        c.0[0] &= !(1 << 30);
        assert_eq!(decode_cd(&c, &caps, false), Err(BadCd), "TTB1 with TG1 = 0");
        let no16 = SmmuConfig {
            granules: [true, false, true],
            ..caps
        };
        assert_eq!(decode_cd(&cd(16, 2), &no16, false), Err(BadCd));
        // TTB0 beyond the effective IPS (32 bits): C_BAD_CD, not a walk fault.
        let mut c = cd(16, 0);
        c.0[0] &= !(7 << 32);
        c.0[1] = CdTtb::new().with_ttb((1 << 32) >> 4).into_bits();
        assert_eq!(decode_cd(&c, &caps, false), Err(BadCd), "TTB0 > IPS");
    }

    #[test]
    fn ips_capped_at_oas() {
        let caps = SmmuConfig {
            oas_bits: 40,
            ..SmmuConfig::default()
        };
        let c = decode_cd(&cd(16, 0), &caps, false).unwrap();
        assert_eq!(c.regions[0].unwrap().walk.output_bits, 40);
    }

    #[test]
    fn region_selection() {
        let caps = SmmuConfig::default();
        let mut raw = cd(25, 0);
        // Enable TTB1 with 4K granule, T1SZ 25.
        raw.0[0] &= !(1 << 30);
        raw.0[0] |= (25 << 16) | (2 << 22);
        raw.0[2] = 0x9000;
        let c = decode_cd(&raw, &caps, false).unwrap();
        let (w, a) = select_region(&c, 0x12_3456_7000).unwrap();
        assert_eq!((w.ttb, a), (0x4000, 0x12_3456_7000));
        let (w, a) = select_region(&c, 0xffff_ff80_0000_1000).unwrap();
        assert_eq!((w.ttb, a), (0x9000, 0x1000));
        assert!(select_region(&c, 1 << 40).is_none());
        assert!(select_region(&c, 0xff00_0000_0000_1000).is_none());
        // TBI on TTB0 ignores the top byte.
        raw.0[0] |= 1 << 38;
        let c = decode_cd(&raw, &caps, false).unwrap();
        assert_eq!(select_region(&c, 0xab00_0000_0000_1000).unwrap().1, 0x1000);
    }
}
