//! The translation pipeline: StreamID → STE → (CD → stage 1) → (stage 2) → PA, with
//! every failure turned into the architectural event (IHI 0070 §3.2, §3.4, §7.3).

use crate::config::SmmuConfig;
use crate::context::decode_cd;
use crate::context::select_region;
use crate::fault::walk_event;
use crate::fault::walk_kind;
use crate::fault::Fault;
use crate::fault::Origin;
use crate::mem::read_dwords;
use crate::spec::cd::Cd;
use crate::spec::cd::CD_SIZE;
use crate::spec::event::id;
use crate::spec::event::FaultClass;
use crate::spec::ste::s1dss;
use crate::stream::decode_ste;
use crate::stream::fetch_ste;
use crate::stream::LookupError;
use crate::stream::S2Stream;
use crate::stream::StreamConfig;
use crate::stream::Strtab;
use crate::walk::walk;
use crate::walk::WalkError;
use crate::walk::WalkOutput;
use guestmem::GuestMemory;
use iommu_common::DmaFaultKind;
use iommu_common::DmaPerms;
use iommu_common::Translation;

/// log2 of the mapping size reported for bypassed traffic.
const BYPASS_SHIFT: u32 = 30;

/// Inputs the pipeline reads from the SMMU's registers.
pub(crate) struct Pipeline<'a> {
    /// Guest memory holding the tables.
    pub mem: &'a GuestMemory,
    /// Advertised features.
    pub caps: &'a SmmuConfig,
    /// Effective stream table.
    pub strtab: Strtab,
    /// CR2.RECINVSID: record C_BAD_STREAMID.
    pub record_invalid_sid: bool,
}

/// Why a descriptor fetch in a stage 1 walk failed.
enum FetchError {
    /// Memory abort at this PA.
    Abort(u64),
    /// Stage 2 translation of the descriptor's IPA faulted.
    Stage2(Fault),
}

impl Pipeline<'_> {
    /// Translates one transaction.
    pub fn translate(
        &self,
        sid: u32,
        ssid: Option<u32>,
        iova: u64,
        write: bool,
    ) -> Result<Translation, Fault> {
        let mut origin = Origin {
            sid,
            ssid,
            iova,
            write,
            privileged: false,
        };
        let ste = match fetch_ste(self.mem, &self.strtab, sid) {
            Ok(ste) => ste,
            Err(LookupError::BadStreamId) => {
                return Err(if self.record_invalid_sid {
                    Fault::recorded(DmaFaultKind::BadConfig, origin.simple(id::C_BAD_STREAMID))
                } else {
                    Fault::silent(DmaFaultKind::BadConfig)
                });
            }
            Err(LookupError::Fetch(addr)) => {
                return Err(Fault::recorded(
                    DmaFaultKind::WalkError,
                    origin.fetch(id::F_STE_FETCH, addr),
                ))
            }
        };
        let (s1, s2, privileged) = match decode_ste(&ste, self.caps) {
            Err(_) => {
                return Err(Fault::recorded(
                    DmaFaultKind::BadConfig,
                    origin.simple(id::C_BAD_STE),
                ))
            }
            Ok(StreamConfig::Abort) => return Err(Fault::silent(DmaFaultKind::Blocked)),
            Ok(StreamConfig::Bypass) => {
                if ssid.is_some() {
                    return Err(Fault::recorded(
                        DmaFaultKind::BadConfig,
                        origin.bad_substream(),
                    ));
                }
                // Both stages bypassed: the address is still checked against the OAS
                // and reported as a stage 1 Address Size fault (IHI 0070 §3.4).
                if iova >> self.caps.oas_bits != 0 {
                    return Err(Self::bypass_addr_size(&origin));
                }
                return Ok(Translation {
                    gpa: iova,
                    page_size: 1 << BYPASS_SHIFT,
                    perms: DmaPerms::RW,
                });
            }
            Ok(StreamConfig::Translate { s1, s2, privileged }) => (s1, s2, privileged),
        };
        origin.privileged = privileged;

        // Stage 1: pick the CD (or bypass stage 1).
        let mut ipa = iova;
        let mut shift = u32::MAX;
        let mut perms = DmaPerms::RW;
        let bad_substream = || Fault::recorded(DmaFaultKind::BadConfig, origin.bad_substream());
        let stream_disabled = || Fault::recorded(DmaFaultKind::Blocked, origin.stream_disabled());
        // IHI 0070 §7.3.7 (F_STREAM_DISABLED) and §7.3.9 (C_BAD_SUBSTREAMID).
        let cd_index = match (s1, ssid) {
            (None, Some(_)) => return Err(bad_substream()),
            (None, None) => None,
            (Some(s1), Some(ssid)) => {
                if s1.s1cdmax == 0 || (ssid as u64) >> s1.s1cdmax != 0 {
                    return Err(bad_substream());
                }
                // With S1DSS = SUBSTREAM0, CD 0 is reserved for non-substream traffic.
                if ssid == 0 && s1.s1dss == s1dss::SUBSTREAM0 {
                    return Err(stream_disabled());
                }
                Some((s1, ssid))
            }
            (Some(s1), None) if s1.s1cdmax == 0 => Some((s1, 0)),
            (Some(s1), None) => match s1.s1dss {
                s1dss::BYPASS => None,
                s1dss::SUBSTREAM0 => Some((s1, 0)),
                _ => return Err(stream_disabled()),
            },
        };
        // Stage 1 bypassed: the input goes to stage 2 as the IPA, but must fit the IAS
        // first, else a stage 1 Address Size fault (IHI 0070 §3.4).
        if cd_index.is_none() && iova >> self.ias() != 0 {
            return Err(Self::bypass_addr_size(&origin));
        }
        if let Some((s1, index)) = cd_index {
            let cd_ipa = s1.cd_table + index as u64 * CD_SIZE;
            let cd_pa = match &s2 {
                Some(s2) => self.stage2(s2, &origin, cd_ipa, false, FaultClass::Cd)?.oa,
                None => cd_ipa,
            };
            let cd = read_dwords::<8>(self.mem, cd_pa).map_err(|_| {
                Fault::recorded(DmaFaultKind::WalkError, origin.fetch(id::F_CD_FETCH, cd_pa))
            })?;
            let ctx = decode_cd(&Cd(cd), self.caps, privileged).map_err(|_| {
                Fault::recorded(DmaFaultKind::BadConfig, origin.simple(id::C_BAD_CD))
            })?;
            let stage1_fault = |f| {
                if ctx.record {
                    Fault::recorded(
                        walk_kind(f),
                        origin.translation(walk_event(f), false, FaultClass::In, 0),
                    )
                } else {
                    Fault::silent(walk_kind(f))
                }
            };
            let Some((params, va)) = select_region(&ctx, iova) else {
                return Err(stage1_fault(crate::walk::WalkFault::Translation));
            };
            let mut fetch = |addr: u64| -> Result<u64, FetchError> {
                let pa = match &s2 {
                    Some(s2) => {
                        self.stage2(s2, &origin, addr, false, FaultClass::Ttd)
                            .map_err(FetchError::Stage2)?
                            .oa
                    }
                    None => addr,
                };
                read_dwords::<1>(self.mem, pa)
                    .map(|[d]| d)
                    .map_err(|_| FetchError::Abort(pa))
            };
            let out = walk(&params, va, write, &mut fetch).map_err(|e| match e {
                WalkError::Fault(f) => stage1_fault(f),
                WalkError::Fetch {
                    err: FetchError::Stage2(f),
                    ..
                } => f,
                WalkError::Fetch {
                    err: FetchError::Abort(pa),
                    ..
                } => Fault::recorded(
                    DmaFaultKind::WalkError,
                    origin.walk_eabt(false, FaultClass::Ttd, pa),
                ),
            })?;
            ipa = out.oa;
            shift = out.size_shift;
            perms = out.perms;
        }

        if let Some(s2) = &s2 {
            let out = self.stage2(s2, &origin, ipa, write, FaultClass::In)?;
            ipa = out.oa;
            shift = shift.min(out.size_shift);
            perms = perms.intersect(out.perms);
        }
        Ok(Translation {
            gpa: ipa,
            page_size: 1 << shift.min(BYPASS_SHIFT),
            perms,
        })
    }

    /// Translates `ipa` through stage 2 on behalf of `origin`, for `class`.
    fn stage2(
        &self,
        s2: &S2Stream,
        origin: &Origin,
        ipa: u64,
        write: bool,
        class: FaultClass,
    ) -> Result<WalkOutput, Fault> {
        let mut fetch = |addr: u64| read_dwords::<1>(self.mem, addr).map(|[d]| d);
        walk(&s2.walk, ipa, write, &mut fetch).map_err(|e| match e {
            WalkError::Fault(f) => {
                if s2.record {
                    Fault::recorded(
                        walk_kind(f),
                        origin.translation(walk_event(f), true, class, ipa),
                    )
                } else {
                    Fault::silent(walk_kind(f))
                }
            }
            WalkError::Fetch { addr, .. } => {
                Fault::recorded(DmaFaultKind::WalkError, origin.walk_eabt(true, class, addr))
            }
        })
    }

    /// The intermediate address size: the OAS, as only AArch64 tables are supported
    /// (IDR0.TTF = 0b10) (IHI 0070 §3.4).
    fn ias(&self) -> u32 {
        self.caps.oas_bits
    }

    /// A stage 1 Address Size fault for an address that bypassed stage 1: S2 = 0,
    /// CLASS = IN, always recorded (no CD controls it) (IHI 0070 §7.3.14).
    fn bypass_addr_size(origin: &Origin) -> Fault {
        Fault::recorded(
            DmaFaultKind::AddressSize,
            origin.translation(id::F_ADDR_SIZE, false, FaultClass::In, 0),
        )
    }
}

#[cfg(test)]
mod tests;
