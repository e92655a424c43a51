//! vmm_tests: boot tests of openvmm with real Linux guests (see `tests/`).
//!
//! This library holds the parsers the tests use on guest output, so they can
//! be unit-tested without booting anything.
#![forbid(unsafe_code)]

/// Parses a `--memory` value (`512M`, `2G`, `1024K`, or bytes) into bytes.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.chars().last()? {
        'K' | 'k' => (&s[..s.len() - 1], 1u64 << 10),
        'M' | 'm' => (&s[..s.len() - 1], 1 << 20),
        'G' | 'g' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

/// `MemTotal` from `/proc/meminfo` text, in bytes.
pub fn mem_total(text: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("MemTotal:")?;
        let kb: u64 = rest.split_whitespace().next()?.parse().ok()?;
        Some(kb * 1024)
    })
}

/// The value after `key=` on a line of its own in `text`.
pub fn keyed<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
        .map(str::trim)
}

/// One `/proc/interrupts` line: the total count over CPUs and the rest
/// (chip, pin/type, handler names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IrqLine {
    /// The IRQ column (`4`, `NMI`, ...).
    pub irq: String,
    /// Sum of the per-CPU counts.
    pub total: u64,
    /// Chip and names, e.g. `IO-APIC   4-edge      ttyS0`.
    pub desc: String,
}

/// Parses one `/proc/interrupts` line.
pub fn parse_irq_line(line: &str) -> Option<IrqLine> {
    let (irq, rest) = line.trim().split_once(':')?;
    let mut total = 0u64;
    let mut words = rest.split_whitespace().peekable();
    let mut any = false;
    while let Some(w) = words.peek() {
        match w.parse::<u64>() {
            Ok(v) => {
                total += v;
                any = true;
                words.next();
            }
            Err(_) => break,
        }
    }
    if !any {
        return None;
    }
    Some(IrqLine {
        irq: irq.trim().to_string(),
        total,
        desc: words.collect::<Vec<_>>().join(" "),
    })
}

/// The `/proc/interrupts` line whose handler list names `name`, found in text
/// after a `prefix` (e.g. `irq-before:`).
pub fn find_irq(text: &str, prefix: &str, name: &str) -> Option<IrqLine> {
    text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix(prefix)?;
        let line = parse_irq_line(rest)?;
        line.desc
            .split_whitespace()
            .any(|w| w == name)
            .then_some(line)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("2G"), Some(2 << 30));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("xG"), None);
    }

    #[test]
    fn meminfo() {
        let t = "MemTotal:         483412 kB\nMemFree:          450000 kB\n";
        assert_eq!(mem_total(t), Some(483412 * 1024));
        assert_eq!(mem_total("nothing"), None);
    }

    #[test]
    fn keyed_values() {
        assert_eq!(keyed("a\nnproc=2\n", "nproc"), Some("2"));
        assert_eq!(keyed("nprocs=3\n", "nproc"), None);
    }

    #[test]
    fn interrupts() {
        let l = parse_irq_line("  4:        120         33   IO-APIC   4-edge      ttyS0").unwrap();
        assert_eq!(l.irq, "4");
        assert_eq!(l.total, 153);
        assert_eq!(l.desc, "IO-APIC 4-edge ttyS0");
        let l = parse_irq_line("  4:   7  IR-IO-APIC    4-edge      ttyS0").unwrap();
        assert!(l.desc.contains("IO-APIC"));
        assert!(parse_irq_line("           CPU0       CPU1").is_none());
        let text = "noise\nirq-before:   4:   5   IO-APIC   4-edge  ttyS0\nirq-after: 4:  90  IO-APIC 4-edge ttyS0\n";
        assert_eq!(find_irq(text, "irq-before:", "ttyS0").unwrap().total, 5);
        assert_eq!(find_irq(text, "irq-after:", "ttyS0").unwrap().total, 90);
        assert!(find_irq(text, "irq-after:", "ttyS1").is_none());
    }
}
