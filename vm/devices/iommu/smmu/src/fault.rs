//! Building event records for the faults the translation pipeline finds
//! (IHI 0070 §7.3).

use crate::spec::event::id;
use crate::spec::event::Event0;
use crate::spec::event::EventFault1;
use crate::spec::event::EventRecord;
use crate::spec::event::FaultClass;
use crate::spec::event::FETCH_ADDR_MASK;
use crate::spec::event::IPA_MASK;
use crate::walk::WalkFault;
use iommu_common::DmaFaultKind;

/// Who faulted: the transaction's identity as event records carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Origin {
    /// StreamID.
    pub sid: u32,
    /// SubstreamID, when the transaction carried one.
    pub ssid: Option<u32>,
    /// Input address.
    pub iova: u64,
    /// Write (else read).
    pub write: bool,
    /// Privileged after STE override.
    pub privileged: bool,
}

impl Origin {
    fn w0(&self, event: u8) -> u64 {
        Event0::new()
            .with_event_type(event)
            .with_sid(self.sid)
            .with_ssv(self.ssid.is_some())
            .with_ssid(self.ssid.unwrap_or(0) & 0xf_ffff)
            .into_bits()
    }

    /// A record with only StreamID/SSV/SubstreamID (C_BAD_STREAMID, C_BAD_STE,
    /// C_BAD_CD).
    pub fn simple(&self, event: u8) -> EventRecord {
        EventRecord([self.w0(event), 0, 0, 0])
    }

    /// C_BAD_SUBSTREAMID: the SubstreamID is always recorded and bit 11 (where other
    /// records hold SSV) is RES0 (IHI 0070 §7.3.9).
    pub fn bad_substream(&self) -> EventRecord {
        let w0 = Event0::new()
            .with_event_type(id::C_BAD_SUBSTREAMID)
            .with_sid(self.sid)
            .with_ssid(self.ssid.unwrap_or(0) & 0xf_ffff)
            .into_bits();
        EventRecord([w0, 0, 0, 0])
    }

    /// F_STREAM_DISABLED: only the StreamID is recorded (IHI 0070 §7.3.7).
    pub fn stream_disabled(&self) -> EventRecord {
        let w0 = Event0::new()
            .with_event_type(id::F_STREAM_DISABLED)
            .with_sid(self.sid)
            .into_bits();
        EventRecord([w0, 0, 0, 0])
    }

    /// A fetch-abort record (F_STE_FETCH, F_CD_FETCH) carrying FetchAddr.
    pub fn fetch(&self, event: u8, addr: u64) -> EventRecord {
        EventRecord([self.w0(event), 0, 0, addr & FETCH_ADDR_MASK])
    }

    /// RnW and PnU describe the incoming transaction whatever the class; InD is
    /// always 0 (data) (IHI 0070 §7.3, common fields).
    fn fault1(&self, s2: bool, class: FaultClass) -> EventFault1 {
        EventFault1::new()
            .with_rnw(!self.write)
            .with_pnu(self.privileged)
            .with_s2(s2)
            .with_class(class as u8)
    }

    /// A translation-related fault record (F_TRANSLATION, F_ADDR_SIZE, F_ACCESS,
    /// F_PERMISSION). `ipa` is recorded for stage 2 faults: the CD address
    /// (CLASS = CD), the stage 1 descriptor address (CLASS = TT) or the IPA being
    /// translated (CLASS = IN) (IHI 0070 §7.3.13).
    pub fn translation(&self, event: u8, s2: bool, class: FaultClass, ipa: u64) -> EventRecord {
        let w3 = if s2 { ipa & IPA_MASK } else { 0 };
        let mut w1 = self.fault1(s2, class);
        // Stage 1 descriptors are only ever read here (no hardware updates), so a
        // stage 2 permission fault on one reports TTRnW = read (IHI 0070 §7.3.16).
        if event == id::F_PERMISSION && s2 && class == FaultClass::Ttd {
            w1.set_ttrnw(true);
        }
        EventRecord([self.w0(event), w1.into_bits(), self.iova, w3])
    }

    /// F_WALK_EABT: a descriptor fetch aborted at PA `addr`. `s2` says whether it was
    /// a stage 2 descriptor (for a CD, stage 1 descriptor or input IPA, per `class`)
    /// or a stage 1 descriptor (always CLASS = TT) (IHI 0070 §7.3.12).
    pub fn walk_eabt(&self, s2: bool, class: FaultClass, addr: u64) -> EventRecord {
        EventRecord([
            self.w0(id::F_WALK_EABT),
            self.fault1(s2, class).into_bits(),
            self.iova,
            addr & FETCH_ADDR_MASK,
        ])
    }
}

/// Event number for a walk fault (IHI 0070 §7.3.13-§7.3.16).
pub(crate) const fn walk_event(f: WalkFault) -> u8 {
    match f {
        WalkFault::Translation => id::F_TRANSLATION,
        WalkFault::AddressSize => id::F_ADDR_SIZE,
        WalkFault::Access => id::F_ACCESS,
        WalkFault::Permission => id::F_PERMISSION,
    }
}

/// The coarse kind callers see for a walk fault.
pub(crate) const fn walk_kind(f: WalkFault) -> DmaFaultKind {
    match f {
        WalkFault::Translation => DmaFaultKind::NotMapped,
        WalkFault::AddressSize => DmaFaultKind::AddressSize,
        WalkFault::Access => DmaFaultKind::Access,
        WalkFault::Permission => DmaFaultKind::Permission,
    }
}

/// A failed translation: what the caller sees and what, if anything, to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fault {
    /// Coarse reason.
    pub kind: DmaFaultKind,
    /// The event to record, if the configuration says to record it.
    pub event: Option<EventRecord>,
}

impl Fault {
    /// A fault with an event.
    pub fn recorded(kind: DmaFaultKind, event: EventRecord) -> Self {
        Self {
            kind,
            event: Some(event),
        }
    }

    /// A fault terminated silently.
    pub fn silent(kind: DmaFaultKind) -> Self {
        Self { kind, event: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_layout() {
        let o = Origin {
            sid: 0x1234,
            ssid: Some(5),
            iova: 0xdead_b000,
            write: false,
            privileged: false,
        };
        let r = o.translation(id::F_PERMISSION, true, FaultClass::In, 0x8765_4321);
        assert_eq!(r.event_type(), id::F_PERMISSION);
        assert_eq!(r.w0().sid(), 0x1234);
        assert!(r.w0().ssv());
        assert_eq!(r.w0().ssid(), 5);
        assert!(r.fault().rnw());
        assert!(r.fault().s2());
        assert_eq!(r.fault().class(), FaultClass::In as u8);
        assert_eq!(r.input_addr(), 0xdead_b000);
        assert_eq!(r.addr3(), 0x8765_4000);
        assert!(!r.fault().ttrnw(), "TTRnW only for CLASS = TT");
        let f = o.fetch(id::F_STE_FETCH, 0x1_2345_6789);
        assert_eq!(f.addr3(), 0x1_2345_6788);
        let tt = o.translation(id::F_PERMISSION, true, FaultClass::Ttd, 0x4000_0008);
        assert!(tt.fault().ttrnw());
        assert_eq!(tt.addr3(), 0x4000_0000);
        let tt = o.translation(id::F_TRANSLATION, true, FaultClass::Ttd, 0x4000_0008);
        assert!(!tt.fault().ttrnw());
        let e = o.walk_eabt(true, FaultClass::Cd, 0x77_0010);
        assert!(e.fault().s2());
        assert_eq!(e.fault().class(), FaultClass::Cd as u8);
        assert_eq!(e.addr3(), 0x77_0010);
        let b = o.bad_substream();
        assert_eq!(
            (b.event_type(), b.w0().ssid(), b.w0().ssv()),
            (id::C_BAD_SUBSTREAMID, 5, false)
        );
        let d = o.stream_disabled();
        assert_eq!(
            (d.w0().sid(), d.w0().ssid(), d.w0().ssv()),
            (0x1234, 0, false)
        );
    }
}
