//! Draining the agent's stderr concurrently, keeping only a bounded tail.

use std::collections::VecDeque;

use tokio::io::{AsyncRead, AsyncReadExt};

/// The end of what the agent wrote on stderr.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StderrTail {
    /// The last bytes written, as (lossy) text.
    pub text: String,
    /// Everything written, in bytes.
    pub total_bytes: u64,
}

/// Reads `stderr` to its end, keeping the last `keep` bytes. Never holds more than
/// `keep` plus one read buffer, however much the agent writes.
pub async fn drain_stderr(mut stderr: impl AsyncRead + Unpin, keep: usize) -> StderrTail {
    let mut tail: VecDeque<u8> = VecDeque::with_capacity(keep.min(64 * 1024));
    let mut buffer = vec![0_u8; 8 * 1024];
    let mut total_bytes = 0_u64;
    loop {
        let read = match stderr.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        total_bytes += read as u64;
        let chunk = &buffer[read.saturating_sub(keep)..read];
        tail.extend(chunk);
        let excess = tail.len().saturating_sub(keep);
        tail.drain(..excess);
    }
    StderrTail {
        text: String::from_utf8_lossy(tail.make_contiguous()).into_owned(),
        total_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_last_bytes_are_kept_and_all_are_counted() {
        let written = "line one\n".repeat(10_000) + "the end\n";
        let tail = drain_stderr(written.as_bytes(), 12).await;
        assert_eq!(tail.text, "one\nthe end\n");
        assert_eq!(tail.total_bytes, written.len() as u64);
    }
}
