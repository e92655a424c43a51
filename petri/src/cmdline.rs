//! Encoding of guest commands onto the kernel command line, and shell quoting.
//!
//! The guest's `/init` reads `petri.cmd=<base64>` and `petri.nonce=<word>` from
//! `/proc/cmdline`, decodes the command with busybox `base64 -d` and runs it
//! with `sh -c`.

/// Kernel parameter carrying the base64-encoded guest command.
pub const CMD_PARAM: &str = "petri.cmd";
/// Kernel parameter carrying the per-run nonce used in guest sentinels.
pub const NONCE_PARAM: &str = "petri.nonce";
/// The x86 kernel command line limit (`COMMAND_LINE_SIZE`), including the NUL.
pub const KERNEL_CMDLINE_MAX: usize = 2048;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (what busybox `base64 -d` reads).
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64 (used by tests and tools); `None` on bad input.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = B64.iter().position(|&x| x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Quotes one word for a POSIX shell (single quotes, `'` as `'\''`).
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Joins argv words into one shell command line.
pub fn shell_join<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| shell_quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Builds the guest kernel command line: `base`, then `extra`, then the petri
/// parameters. Fails if the result exceeds the kernel's limit.
pub fn guest_cmdline(
    base: &str,
    extra: &[String],
    command: Option<&str>,
    nonce: &str,
) -> Result<String, String> {
    let mut parts: Vec<String> = base.split_whitespace().map(str::to_string).collect();
    parts.extend(extra.iter().cloned());
    parts.push(format!("{NONCE_PARAM}={nonce}"));
    if let Some(cmd) = command {
        parts.push(format!("{CMD_PARAM}={}", base64_encode(cmd.as_bytes())));
    }
    let line = parts.join(" ");
    if line.len() + 1 > KERNEL_CMDLINE_MAX {
        return Err(format!(
            "guest kernel command line is {} bytes, over the {} byte limit (shorten the guest command)",
            line.len(),
            KERNEL_CMDLINE_MAX - 1
        ));
    }
    Ok(line)
}

/// Extracts the value of `key=` from a kernel command line (as the guest does).
pub fn param_value<'a>(cmdline: &'a str, key: &str) -> Option<&'a str> {
    cmdline
        .split_whitespace()
        .find_map(|p| p.strip_prefix(key)?.strip_prefix('='))
}

/// A short random-looking word for sentinels (time, pid and a counter).
pub fn new_nonce() -> String {
    use std::sync::atomic::AtomicU32;
    use std::sync::atomic::Ordering;
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let c = COUNTER.fetch_add(1, Ordering::Relaxed) as u64;
    let mut x = t ^ (u64::from(std::process::id()) << 32) ^ c.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    // splitmix64 finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    format!("{:012x}", x & 0xffff_ffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"\xff\xfe"), "//4=");
    }

    #[test]
    fn base64_round_trips() {
        let data: Vec<u8> = (0..=255u8).collect();
        for n in 0..data.len() {
            let e = base64_encode(&data[..n]);
            assert!(!e.contains(' '));
            assert_eq!(base64_decode(&e).unwrap(), &data[..n]);
        }
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("uname"), "uname");
        assert_eq!(shell_quote("exit 3"), "'exit 3'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_join(&["sh", "-c", "exit 3"]), "sh -c 'exit 3'");
    }

    #[test]
    fn cmdline_carries_command() {
        let line = guest_cmdline(
            "console=ttyS0 quiet",
            &["foo=1".into()],
            Some("echo 'a b'; exit 3"),
            "abc",
        )
        .unwrap();
        assert!(line.starts_with("console=ttyS0 quiet foo=1 "));
        assert_eq!(param_value(&line, NONCE_PARAM), Some("abc"));
        let cmd = base64_decode(param_value(&line, CMD_PARAM).unwrap()).unwrap();
        assert_eq!(cmd, b"echo 'a b'; exit 3");
        // No command: no petri.cmd parameter (the guest prints its report).
        let line = guest_cmdline("console=ttyS0", &[], None, "n").unwrap();
        assert_eq!(param_value(&line, CMD_PARAM), None);
    }

    #[test]
    fn cmdline_limit_is_enforced() {
        let big = "x".repeat(3000);
        assert!(guest_cmdline("console=ttyS0", &[], Some(&big), "n").is_err());
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(new_nonce(), new_nonce());
        assert_eq!(new_nonce().len(), 12);
    }
}
