//! MC146818 CMOS RTC: the wall clock from host time (BCD, 24-hour), update-in-progress
//! never set. No alarms or periodic interrupts.

use crate::bus::BusDevice;
use parking_lot::Mutex;
use std::time::SystemTime;

/// Index port.
pub const CMOS_BASE: u16 = 0x70;
/// ISA IRQ (described in ACPI; this model raises no interrupts).
pub const CMOS_IRQ: u8 = 8;
/// Two ports: index and data.
pub const CMOS_SIZE: u64 = 2;

/// The CMOS device.
#[derive(Default)]
pub struct Cmos {
    state: Mutex<CmosState>,
}

struct CmosState {
    index: u8,
    ram: [u8; 128],
}

impl Default for CmosState {
    fn default() -> Self {
        let mut ram = [0u8; 128];
        ram[0x0a] = 0x26; // 32.768 kHz base, 1024 Hz rate; UIP clear
        ram[0x0b] = 0x02; // 24-hour, BCD
        ram[0x0d] = 0x80; // valid RAM and time
        Self { index: 0, ram }
    }
}

fn bcd(v: u64) -> u8 {
    (((v / 10) % 10) << 4 | (v % 10)) as u8
}

/// Civil date from days since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u64, u64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u64;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u64;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

impl Cmos {
    /// A CMOS with the clock running from host time.
    pub fn new() -> Self {
        Self::default()
    }

    fn time_register(index: u8, now: u64) -> Option<u8> {
        let secs = now % 86_400;
        let days = (now / 86_400) as i64;
        let (year, month, day) = civil_from_days(days);
        Some(match index {
            0x00 => bcd(secs % 60),
            0x02 => bcd(secs / 60 % 60),
            0x04 => bcd(secs / 3600),
            0x06 => bcd(((days + 4).rem_euclid(7) + 1) as u64),
            0x07 => bcd(day),
            0x08 => bcd(month),
            0x09 => bcd(year.rem_euclid(100) as u64),
            0x32 => bcd((year / 100) as u64),
            _ => return None,
        })
    }
}

impl BusDevice for Cmos {
    fn read(&self, offset: u64, data: &mut [u8]) {
        let s = self.state.lock();
        let value = match offset {
            0 => s.index,
            _ => {
                let now = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                Self::time_register(s.index, now).unwrap_or(s.ram[s.index as usize])
            }
        };
        data.fill(value);
    }

    fn write(&self, offset: u64, data: &[u8]) {
        let Some(&value) = data.first() else { return };
        let mut s = self.state.lock();
        match offset {
            0 => s.index = value & 0x7f, // bit 7 is the NMI mask
            _ => {
                let index = s.index as usize;
                // Status registers C and D are read-only; time writes are ignored.
                if index >= 0x0e && index != 0x32 {
                    s.ram[index] = value;
                } else if index == 0x0a || index == 0x0b {
                    s.ram[index] = value & !0x80;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_date() {
        // 2026-11-22 02:06:48 UTC is 1_795_313_208 s after the epoch.
        let t = 1_795_313_208;
        assert_eq!(Cmos::time_register(0x09, t), Some(0x26));
        assert_eq!(Cmos::time_register(0x08, t), Some(0x11));
        assert_eq!(Cmos::time_register(0x07, t), Some(0x22));
        assert_eq!(Cmos::time_register(0x04, t), Some(0x02));
        assert_eq!(Cmos::time_register(0x02, t), Some(0x06));
        assert_eq!(Cmos::time_register(0x32, t), Some(0x20));
    }

    #[test]
    fn uip_never_set() {
        let c = Cmos::new();
        c.write(0, &[0x8a]);
        let mut b = [0];
        c.read(1, &mut b);
        assert_eq!(b[0] & 0x80, 0);
        c.write(1, &[0xff]);
        c.read(1, &mut b);
        assert_eq!(b[0] & 0x80, 0);
    }
}
