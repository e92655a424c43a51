//! Stream table lookup (linear and 2-level) and STE validation (IHI 0070 §3.3, §5.1,
//! §5.2).

use crate::config::SmmuConfig;
use crate::mem::low_mask;
use crate::mem::read_dwords;
use crate::spec::regs::oas_bits;
use crate::spec::regs::StrtabBase;
use crate::spec::regs::StrtabBaseCfg;
use crate::spec::ste::config;
use crate::spec::ste::L1Std;
use crate::spec::ste::Ste;
use crate::spec::ste::L1STD_SIZE;
use crate::spec::ste::MAX_SPAN;
use crate::spec::ste::PRIVCFG_PRIVILEGED;
use crate::spec::ste::STE_SIZE;
use crate::walk::Granule;
use crate::walk::Stage;
use crate::walk::WalkParams;
use guestmem::GuestMemory;

/// The effective stream table configuration (IHI 0070 §6.3, SMMU_STRTAB_BASE_CFG).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Strtab {
    /// Base address, aligned as the architecture requires.
    pub base: u64,
    /// Effective LOG2SIZE: the written value capped at IDR1.SIDSIZE.
    pub log2size: u8,
    /// 2-level split, or `None` for a linear table.
    pub split: Option<u8>,
}

impl Strtab {
    /// Decodes the registers. Reserved SPLIT values behave as 6 and reserved FMT values
    /// as linear, as the architecture specifies; FMT 2-level without IDR0.ST_LEVEL is
    /// linear.
    pub fn new(base: StrtabBase, cfg: StrtabBaseCfg, caps: &SmmuConfig) -> Self {
        let log2size = cfg.log2size().min(caps.sid_bits);
        let two_level = cfg.fmt() == 1 && caps.two_level_strtab;
        let split = two_level.then(|| match cfg.split() {
            s @ (6 | 8 | 10) => s,
            _ => 6,
        });
        let addr = base.addr() << 6;
        // Linear: aligned to the table size; 2-level: to the L1 table size (min 64).
        let align_bits = match split {
            None => cfg.log2size() as u32 + 6,
            Some(s) => (cfg.log2size().saturating_sub(s) as u32 + 3).max(6),
        };
        Self {
            base: addr & !low_mask(align_bits),
            log2size,
            split,
        }
    }
}

/// Why no STE could be found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LookupError {
    /// StreamID out of range or no level-2 table for it (C_BAD_STREAMID).
    BadStreamId,
    /// Reading the L1 descriptor or the STE failed at this address (F_STE_FETCH).
    Fetch(u64),
}

/// Finds and reads the STE for `sid` (IHI 0070 §3.3.2, §3.3.3).
pub(crate) fn fetch_ste(mem: &GuestMemory, st: &Strtab, sid: u32) -> Result<Ste, LookupError> {
    if (sid as u64) >> st.log2size != 0 {
        return Err(LookupError::BadStreamId);
    }
    let addr = match st.split {
        None => st.base + sid as u64 * STE_SIZE,
        Some(split) => {
            let l1_addr = st.base + (sid as u64 >> split) * L1STD_SIZE;
            let [raw] = read_dwords::<1>(mem, l1_addr).map_err(|_| LookupError::Fetch(l1_addr))?;
            let l1 = L1Std::from_bits(raw);
            let span = l1.span();
            if span == 0 || span > MAX_SPAN || span > split + 1 {
                return Err(LookupError::BadStreamId);
            }
            let l2_index = sid as u64 & low_mask(split as u32);
            if l2_index >> (span - 1) != 0 {
                return Err(LookupError::BadStreamId);
            }
            (l1.l2ptr() << 6) + l2_index * STE_SIZE
        }
    };
    let dw = read_dwords::<8>(mem, addr).map_err(|_| LookupError::Fetch(addr))?;
    Ok(Ste(dw))
}

/// Stage 1 part of a stream's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct S1Stream {
    /// CD table base (an IPA when stage 2 is enabled).
    pub cd_table: u64,
    /// log2 of the number of CDs.
    pub s1cdmax: u8,
    /// Default substream behaviour.
    pub s1dss: u8,
}

/// Stage 2 part of a stream's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct S2Stream {
    /// Walk parameters.
    pub walk: WalkParams,
    /// Record stage 2 faults (STE.S2R).
    pub record: bool,
}

/// A validated STE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamConfig {
    /// Abort silently.
    Abort,
    /// Bypass both stages.
    Bypass,
    /// Translate through stage 1, stage 2 or both.
    Translate {
        /// Stage 1, if enabled.
        s1: Option<S1Stream>,
        /// Stage 2, if enabled.
        s2: Option<S2Stream>,
        /// Transactions are privileged (STE.PRIVCFG).
        privileged: bool,
    },
}

/// The STE is invalid or asks for something not advertised (C_BAD_STE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadSte;

/// Stage 2 starting level from S2SL0 and S2TG (IHI 0070 §5.2, STE.S2SL0).
fn s2_start_level(g: Granule, sl0: u8) -> Option<u8> {
    match (g, sl0) {
        (Granule::K4, 0) => Some(2),
        (Granule::K4, 1) => Some(1),
        (Granule::K4, 2) => Some(0),
        (Granule::K16 | Granule::K64, 0) => Some(3),
        (Granule::K16 | Granule::K64, 1) => Some(2),
        (Granule::K16 | Granule::K64, 2) => Some(1),
        _ => None,
    }
}

fn granule_supported(g: Granule, caps: &SmmuConfig) -> bool {
    match g {
        Granule::K4 => caps.granules[0],
        Granule::K16 => caps.granules[1],
        Granule::K64 => caps.granules[2],
    }
}

/// Validates a stage 1 or stage 2 TxSZ (IHI 0070 §5.2 S2T0SZ, §5.4 T0SZ: 16..=39
/// without small translation tables).
pub(crate) fn input_bits_from_tsz(tsz: u8) -> Option<u32> {
    (16..=39).contains(&tsz).then(|| 64 - tsz as u32)
}

/// Effective output size for an IPS/S2PS field: reserved and too-large values behave
/// as the OAS (IHI 0070 §5.2, §5.4).
pub(crate) fn effective_out_bits(field: u8, caps: &SmmuConfig) -> u32 {
    oas_bits(field).unwrap_or(caps.oas_bits).min(caps.oas_bits)
}

/// Decodes the stage 2 fields of `ste`.
fn decode_s2(ste: &Ste, caps: &SmmuConfig) -> Result<S2Stream, BadSte> {
    let w2 = ste.w2();
    if !w2.s2aa64() || w2.s2endi() || w2.s2s() {
        return Err(BadSte);
    }
    let g = Granule::from_tg0(w2.s2tg()).ok_or(BadSte)?;
    if !granule_supported(g, caps) {
        return Err(BadSte);
    }
    let input_bits = input_bits_from_tsz(w2.s2t0sz()).ok_or(BadSte)?;
    let start_level = s2_start_level(g, w2.s2sl0()).ok_or(BadSte)?;
    // The start level must resolve between 1 bit and a 16-table concatenation
    // (Arm ARM D8.2.x, stage 2 concatenated tables).
    let start_bits = input_bits as i64 - g.level_shift(start_level) as i64;
    if start_bits < 1 || start_bits > g.stride() as i64 + 4 {
        return Err(BadSte);
    }
    // An S2TTB beyond the effective S2PS makes the STE invalid (IHI 0070 §3.4).
    let output_bits = effective_out_bits(w2.s2ps(), caps);
    if ste.s2ttb() >> output_bits != 0 {
        return Err(BadSte);
    }
    Ok(S2Stream {
        walk: WalkParams {
            granule: g,
            input_bits,
            start_level,
            ttb: ste.s2ttb(),
            output_bits,
            affd: w2.s2affd(),
            stage: Stage::Two,
        },
        record: w2.s2r(),
    })
}

/// Validates `ste` against what this SMMU advertises (IHI 0070 §5.2, "STE validity").
pub(crate) fn decode_ste(ste: &Ste, caps: &SmmuConfig) -> Result<StreamConfig, BadSte> {
    let w0 = ste.w0();
    if !w0.v() {
        return Err(BadSte);
    }
    let (s1_on, s2_on) = match w0.config() {
        config::ABORT => return Ok(StreamConfig::Abort),
        config::BYPASS => return Ok(StreamConfig::Bypass),
        config::S1_TRANS => (true, false),
        config::S2_TRANS => (false, true),
        config::NESTED => (true, true),
        _ => return Err(BadSte),
    };
    if (s1_on && !caps.stage1) || (s2_on && !caps.stage2) {
        return Err(BadSte);
    }
    let s1 = if s1_on {
        // Only linear CD tables (IDR0.CD2L = 0).
        if w0.s1fmt() != 0 || w0.s1cdmax() > caps.ssid_bits {
            return Err(BadSte);
        }
        let s1dss = ste.w1().s1dss();
        if s1dss == 0b11 {
            return Err(BadSte);
        }
        Some(S1Stream {
            cd_table: ste.cd_table(),
            s1cdmax: w0.s1cdmax(),
            s1dss,
        })
    } else {
        None
    };
    let s2 = if s2_on {
        Some(decode_s2(ste, caps)?)
    } else {
        None
    };
    Ok(StreamConfig::Translate {
        s1,
        s2,
        privileged: ste.w1().privcfg() == PRIVCFG_PRIVILEGED,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::ste::Ste0;
    use crate::spec::ste::Ste2;
    use crate::spec::ste::Ste3;
    use crate::test_util::mem;

    fn caps() -> SmmuConfig {
        SmmuConfig::default()
    }

    fn s2_ste(tg: u8, t0sz: u8, sl0: u8) -> Ste {
        Ste([
            Ste0::new()
                .with_v(true)
                .with_config(config::S2_TRANS)
                .into_bits(),
            0,
            Ste2::new()
                .with_s2aa64(true)
                .with_s2tg(tg)
                .with_s2t0sz(t0sz)
                .with_s2sl0(sl0)
                .with_s2ps(5)
                .with_s2r(true)
                .into_bits(),
            Ste3::new().with_s2ttb(0x1000 >> 4).into_bits(),
            0,
            0,
            0,
            0,
        ])
    }

    #[test]
    fn linear_lookup() {
        let m = mem();
        let st = Strtab::new(
            StrtabBase::new().with_addr(0x10_0000 >> 6),
            StrtabBaseCfg::new().with_log2size(4),
            &caps(),
        );
        m.write_at(0x10_0000 + 5 * 64, &[0xab]).unwrap();
        assert_eq!(fetch_ste(&m, &st, 5).unwrap().0[0], 0xab);
        assert_eq!(fetch_ste(&m, &st, 16), Err(LookupError::BadStreamId));
    }

    #[test]
    fn two_level_lookup_every_split() {
        for split in [6u8, 8, 10] {
            let m = mem();
            let st = Strtab::new(
                StrtabBase::new().with_addr(0x10_0000 >> 6),
                StrtabBaseCfg::new()
                    .with_log2size(16)
                    .with_fmt(1)
                    .with_split(split),
                &caps(),
            );
            let sid = (3u32 << split) | 2;
            let l1 = L1Std::new().with_span(3).with_l2ptr(0x20_0000 >> 6);
            m.write_plain(0x10_0000 + 3 * 8, &l1.into_bits()).unwrap();
            m.write_plain(0x20_0000 + 2 * 64, &0x77u64).unwrap();
            assert_eq!(fetch_ste(&m, &st, sid).unwrap().0[0], 0x77, "split {split}");
            // Span 2 covers two STEs: index 2 is outside the L2 table.
            let l1 = L1Std::new().with_span(2).with_l2ptr(0x20_0000 >> 6);
            m.write_plain(0x10_0000 + 3 * 8, &l1.into_bits()).unwrap();
            assert_eq!(fetch_ste(&m, &st, sid), Err(LookupError::BadStreamId));
            // Span 0: no L2 table.
            assert_eq!(
                fetch_ste(&m, &st, 1 << split),
                Err(LookupError::BadStreamId)
            );
        }
    }

    /// Hostile: SPAN > 11 or > SPLIT + 1.
    #[test]
    fn hostile_span() {
        let m = mem();
        let st = Strtab::new(
            StrtabBase::new().with_addr(0x10_0000 >> 6),
            StrtabBaseCfg::new()
                .with_log2size(16)
                .with_fmt(1)
                .with_split(6),
            &caps(),
        );
        for span in [8u8, 12, 31] {
            m.write_plain(
                0x10_0000,
                &L1Std::new()
                    .with_span(span)
                    .with_l2ptr(0x20_0000 >> 6)
                    .into_bits(),
            )
            .unwrap();
            assert_eq!(
                fetch_ste(&m, &st, 0),
                Err(LookupError::BadStreamId),
                "span {span}"
            );
        }
    }

    /// Hostile: LOG2SIZE above 58 or above SIDSIZE, SPLIT not in {6, 8, 10}.
    #[test]
    fn hostile_strtab_cfg() {
        let m = mem();
        let st = Strtab::new(
            StrtabBase::new().with_addr(0x10_0000 >> 6),
            StrtabBaseCfg::new().with_log2size(63),
            &caps(),
        );
        assert_eq!(st.log2size, 16);
        assert_eq!(fetch_ste(&m, &st, 1 << 16), Err(LookupError::BadStreamId));
        assert_eq!(fetch_ste(&m, &st, u32::MAX), Err(LookupError::BadStreamId));
        // Alignment with a huge literal LOG2SIZE must not overflow.
        assert_eq!(st.base, 0);
        for split in [0u8, 5, 7, 9, 11, 31] {
            let st = Strtab::new(
                StrtabBase::new().with_addr(0x10_0000 >> 6),
                StrtabBaseCfg::new()
                    .with_log2size(16)
                    .with_fmt(1)
                    .with_split(split),
                &caps(),
            );
            assert_eq!(st.split, Some(6), "split {split}");
        }
        let st = Strtab::new(
            StrtabBase::new(),
            StrtabBaseCfg::new().with_log2size(58).with_fmt(3),
            &caps(),
        );
        assert_eq!(st.split, None);
    }

    #[test]
    fn fetch_beyond_ram() {
        let m = mem();
        let st = Strtab::new(
            StrtabBase::new().with_addr((1u64 << 46) - 1),
            StrtabBaseCfg::new().with_log2size(0),
            &caps(),
        );
        assert!(matches!(fetch_ste(&m, &st, 0), Err(LookupError::Fetch(_))));
    }

    #[test]
    fn ste_configs() {
        let c = caps();
        let mk = |cfg: u8| {
            Ste([
                Ste0::new().with_v(true).with_config(cfg).into_bits(),
                0,
                0,
                0,
                0,
                0,
                0,
                0,
            ])
        };
        assert_eq!(decode_ste(&Ste::default(), &c), Err(BadSte));
        assert_eq!(decode_ste(&mk(config::ABORT), &c), Ok(StreamConfig::Abort));
        assert_eq!(
            decode_ste(&mk(config::BYPASS), &c),
            Ok(StreamConfig::Bypass)
        );
        for reserved in 1..4 {
            assert_eq!(decode_ste(&mk(reserved), &c), Err(BadSte));
        }
        assert!(matches!(
            decode_ste(&mk(config::S1_TRANS), &c),
            Ok(StreamConfig::Translate {
                s1: Some(_),
                s2: None,
                ..
            })
        ));
        // S1CDMax above SSIDSIZE.
        let mut ste = mk(config::S1_TRANS);
        ste.0[0] |= 9 << 59;
        assert_eq!(decode_ste(&ste, &c), Err(BadSte));
        // 2-level CD tables are not advertised.
        let mut ste = mk(config::S1_TRANS);
        ste.0[0] |= 1 << 4;
        assert_eq!(decode_ste(&ste, &c), Err(BadSte));
    }

    #[test]
    fn stage2_fields() {
        let c = caps();
        let s2 = |ste: &Ste| match decode_ste(ste, &c) {
            Ok(StreamConfig::Translate { s2: Some(s2), .. }) => Some(s2.walk),
            _ => None,
        };
        // 4K, 40-bit IPA from level 1 (with 2 concatenated tables).
        let w = s2(&s2_ste(0, 24, 1)).unwrap();
        assert_eq!(
            (w.granule, w.start_level, w.input_bits),
            (Granule::K4, 1, 40)
        );
        // 16K, 36-bit IPA from level 2.
        let w = s2(&s2_ste(2, 28, 1)).unwrap();
        assert_eq!((w.granule, w.start_level), (Granule::K16, 2));
        // 64K, 42-bit IPA from level 2.
        let w = s2(&s2_ste(1, 22, 1)).unwrap();
        assert_eq!((w.granule, w.start_level), (Granule::K64, 2));
    }

    /// Hostile: S2AA64 = 0, reserved TG/SL0, T0SZ out of range, start level out of
    /// range for the input size, stage 2 when not advertised.
    #[test]
    fn hostile_stage2_fields() {
        let c = caps();
        let mut ste = s2_ste(0, 24, 1);
        ste.0[2] &= !(1 << 51);
        assert_eq!(decode_ste(&ste, &c), Err(BadSte), "S2AA64=0");
        assert_eq!(
            decode_ste(&s2_ste(3, 24, 1), &c),
            Err(BadSte),
            "S2TG reserved"
        );
        assert_eq!(
            decode_ste(&s2_ste(0, 24, 3), &c),
            Err(BadSte),
            "S2SL0 reserved"
        );
        assert_eq!(
            decode_ste(&s2_ste(0, 15, 2), &c),
            Err(BadSte),
            "S2T0SZ too small"
        );
        assert_eq!(
            decode_ste(&s2_ste(0, 40, 0), &c),
            Err(BadSte),
            "S2T0SZ too big"
        );
        // 4K, 32-bit IPA cannot start at level 0 (no bits left for it).
        assert_eq!(
            decode_ste(&s2_ste(0, 32, 2), &c),
            Err(BadSte),
            "level 0 for 32 bits"
        );
        // 4K, 48-bit IPA cannot start at level 2 (would need 2^18 concatenated tables).
        assert_eq!(
            decode_ste(&s2_ste(0, 16, 0), &c),
            Err(BadSte),
            "level 2 for 48 bits"
        );
        let no_s2 = SmmuConfig {
            stage2: false,
            ..caps()
        };
        assert_eq!(decode_ste(&s2_ste(0, 24, 1), &no_s2), Err(BadSte));
        // S2TTB beyond the effective S2PS (40 bits here): C_BAD_STE, not a walk fault.
        let mut far = s2_ste(0, 24, 1);
        far.0[2] = (far.0[2] & !(7 << 48)) | (2 << 48);
        far.0[3] = Ste3::new().with_s2ttb((1 << 40) >> 4).into_bits();
        assert_eq!(decode_ste(&far, &c), Err(BadSte), "S2TTB > S2PS");
        let mut nested = s2_ste(0, 24, 1);
        nested.0[0] |= (config::NESTED as u64) << 1;
        assert_eq!(decode_ste(&nested, &no_s2), Err(BadSte));
        let no_64k = SmmuConfig {
            granules: [true, true, false],
            ..caps()
        };
        assert_eq!(decode_ste(&s2_ste(1, 22, 1), &no_64k), Err(BadSte));
    }
}
