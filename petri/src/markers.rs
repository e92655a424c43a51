//! The line protocol between petri and its two kinds of `/init`.
//!
//! Guest (L2) `/init` prints, on its console:
//! - `@@PETRI-GUEST <nonce> start` before running the guest command,
//! - `@@PETRI-GUEST <nonce> exit=<code>` after it (the sentinel).
//!
//! Test-host (L1) `/init` prints, on the L1 serial console:
//! - `@@PETRI-L1 <run> ready` once KVM is usable,
//! - `@@PETRI-L1 <run> job-start <id>` / `@@PETRI-L1 <run> job-end <id> status=<s> ms=<ms>`
//!   around each openvmm run (`status` is openvmm's exit status),
//! - `@@PETRI-L1 <run> job-timeout <id>` when a job exceeded its time and was killed,
//! - `@@PETRI-L1 <run> error <text>` on a set-up failure (e.g. no /dev/kvm),
//! - `@@PETRI-L1 <run> done` before powering off.
//!
//! Markers carry a per-run word so that output of a guest can never be taken
//! for a marker of another run.

/// Prefix of guest sentinels.
pub const GUEST_PREFIX: &str = "@@PETRI-GUEST";
/// Prefix of test-host markers.
pub const L1_PREFIX: &str = "@@PETRI-L1";

/// A guest sentinel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestMarker {
    /// The guest command is about to run.
    Start,
    /// The guest command finished with this exit code.
    Exit(i32),
}

/// A test-host marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L1Marker {
    /// L1 booted and loaded KVM.
    Ready,
    /// A job started.
    JobStart(usize),
    /// A job ended; openvmm's exit status and its run time in milliseconds.
    JobEnd {
        /// Job index.
        id: usize,
        /// openvmm's exit status (as the shell reports it: 128+N for signal N).
        status: i32,
        /// Wall time of the job inside L1.
        ms: u64,
    },
    /// A job was killed after its timeout.
    JobTimeout(usize),
    /// Set-up failure inside L1.
    Error(String),
    /// All jobs ran.
    Done,
}

/// Removes carriage returns (the tty layers add `\r` before `\n`).
pub fn clean_line(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

/// Splits a line at a marker with `prefix` and `word`, returning the text
/// before it (ordinary console output, possibly empty) and the marker body.
fn split_marker<'a>(line: &'a str, prefix: &str, word: &str) -> Option<(&'a str, &'a str)> {
    let pos = line.find(prefix)?;
    let rest = line[pos + prefix.len()..].strip_prefix(' ')?;
    let rest = rest.strip_prefix(word)?.strip_prefix(' ')?;
    Some((&line[..pos], rest.trim().trim_end_matches('\r')))
}

/// Parses a guest sentinel for `nonce`; returns the text before it too.
pub fn parse_guest<'a>(line: &'a str, nonce: &str) -> Option<(&'a str, GuestMarker)> {
    let (before, body) = split_marker(line, GUEST_PREFIX, nonce)?;
    let m = if body == "start" {
        GuestMarker::Start
    } else {
        GuestMarker::Exit(body.strip_prefix("exit=")?.parse().ok()?)
    };
    Some((before, m))
}

/// Parses a test-host marker for run `run`; returns the text before it too.
pub fn parse_l1<'a>(line: &'a str, run: &str) -> Option<(&'a str, L1Marker)> {
    let (before, body) = split_marker(line, L1_PREFIX, run)?;
    let mut words = body.split_whitespace();
    let kind = words.next()?;
    let m = match kind {
        "ready" => L1Marker::Ready,
        "done" => L1Marker::Done,
        "job-start" => L1Marker::JobStart(words.next()?.parse().ok()?),
        "job-timeout" => L1Marker::JobTimeout(words.next()?.parse().ok()?),
        "job-end" => {
            let id = words.next()?.parse().ok()?;
            let mut status = None;
            let mut ms = 0;
            for w in words {
                if let Some(v) = w.strip_prefix("status=") {
                    status = v.parse().ok();
                } else if let Some(v) = w.strip_prefix("ms=") {
                    ms = v.parse().unwrap_or(0);
                }
            }
            L1Marker::JobEnd {
                id,
                status: status?,
                ms,
            }
        }
        "error" => L1Marker::Error(body["error".len()..].trim().to_string()),
        _ => return None,
    };
    Some((before, m))
}

/// What a guest console transcript says about the guest command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    /// The guest command started.
    pub started: bool,
    /// The sentinel's exit code, if the command finished.
    pub exit_code: Option<i32>,
    /// Console lines between the start and exit sentinels.
    pub output: String,
}

/// Scans a guest console transcript for the sentinels of `nonce`.
pub fn scan_transcript(console: &str, nonce: &str) -> Transcript {
    let mut t = Transcript::default();
    for raw in console.lines() {
        let line = clean_line(raw);
        match parse_guest(line, nonce) {
            Some((before, GuestMarker::Start)) => {
                if t.started && !before.is_empty() {
                    t.output.push_str(before);
                    t.output.push('\n');
                }
                t.started = true;
            }
            Some((before, GuestMarker::Exit(code))) => {
                if t.started && !before.is_empty() {
                    t.output.push_str(before);
                    t.output.push('\n');
                }
                t.exit_code = Some(code);
                break;
            }
            None => {
                if t.started {
                    t.output.push_str(line);
                    t.output.push('\n');
                }
            }
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_markers() {
        assert_eq!(
            parse_guest("@@PETRI-GUEST abc start", "abc"),
            Some(("", GuestMarker::Start))
        );
        assert_eq!(
            parse_guest("tail@@PETRI-GUEST abc exit=3\r", "abc"),
            Some(("tail", GuestMarker::Exit(3)))
        );
        assert_eq!(parse_guest("@@PETRI-GUEST abd exit=3", "abc"), None);
        assert_eq!(parse_guest("@@PETRI-GUEST abc exit=x", "abc"), None);
        assert_eq!(parse_guest("plain output", "abc"), None);
    }

    #[test]
    fn l1_markers() {
        let r = "r1";
        assert_eq!(
            parse_l1("@@PETRI-L1 r1 ready", r).unwrap().1,
            L1Marker::Ready
        );
        assert_eq!(parse_l1("@@PETRI-L1 r1 done", r).unwrap().1, L1Marker::Done);
        assert_eq!(
            parse_l1("@@PETRI-L1 r1 job-start 4", r).unwrap().1,
            L1Marker::JobStart(4)
        );
        assert_eq!(
            parse_l1("junk@@PETRI-L1 r1 job-end 2 status=10 ms=1234\r", r).unwrap(),
            (
                "junk",
                L1Marker::JobEnd {
                    id: 2,
                    status: 10,
                    ms: 1234
                }
            )
        );
        assert_eq!(
            parse_l1("@@PETRI-L1 r1 error no /dev/kvm", r).unwrap().1,
            L1Marker::Error("no /dev/kvm".into())
        );
        assert_eq!(parse_l1("@@PETRI-L1 r2 done", r), None);
        assert_eq!(parse_l1("@@PETRI-L1 r1 job-end 2", r), None);
        assert_eq!(parse_l1("@@PETRI-L1 r1 bogus", r), None);
    }

    #[test]
    fn transcript() {
        let console = "boot noise\r\n@@PETRI-GUEST n start\r\nline 1\r\nline 2\r\n@@PETRI-GUEST n exit=7\r\nreboot: Power down\r\n";
        let t = scan_transcript(console, "n");
        assert!(t.started);
        assert_eq!(t.exit_code, Some(7));
        assert_eq!(t.output, "line 1\nline 2\n");
        // Output without a final newline before the sentinel is kept.
        let t = scan_transcript("@@PETRI-GUEST n start\nabc@@PETRI-GUEST n exit=0\n", "n");
        assert_eq!(t.output, "abc\n");
        assert_eq!(t.exit_code, Some(0));
        // A guest that never finished.
        let t = scan_transcript("@@PETRI-GUEST n start\nhang\n", "n");
        assert_eq!(t.exit_code, None);
        // Another run's sentinel is ignored.
        let t = scan_transcript("@@PETRI-GUEST m start\n@@PETRI-GUEST m exit=0\n", "n");
        assert!(!t.started);
    }
}
