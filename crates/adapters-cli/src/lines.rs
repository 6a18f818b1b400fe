//! A bounded line decoder for the agent's stdout: memory never grows past the cap.

use bytes::{Buf, BytesMut};
use tokio_util::codec::Decoder;

/// One stdout line, or what stood in for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A complete line (without its `\n`), valid UTF-8, within the cap.
    Text(String),
    /// A line longer than the cap: its bytes were discarded as they arrived, all but a
    /// window at each end, enough to tell a `result` line (which repeats the whole reply).
    Oversized {
        /// Its length in bytes (without the `\n`).
        bytes: usize,
        /// `Some(is_error)` when it was the turn's `result` line.
        result: Option<bool>,
    },
    /// A line within the cap that was not valid UTF-8.
    NotUtf8 {
        /// Its length in bytes.
        bytes: usize,
    },
}

/// Splits a byte stream into [`Line`]s, holding at most `max_len` bytes of any one line.
///
/// Unlike `LinesCodec`, an oversized line is an item (not an error that ends the stream):
/// the decoder drops its bytes as they come, then reports its size once the `\n` arrives.
#[derive(Debug)]
pub struct BoundedLines {
    max_len: usize,
    /// Bytes of an oversized line dropped so far; `None` while not discarding.
    discarded: Option<usize>,
    /// How far the buffer was already searched for `\n`.
    searched: usize,
    /// The first bytes of the oversized line being dropped.
    head: Vec<u8>,
    /// Its last bytes so far.
    tail: Vec<u8>,
}

/// Bytes kept at each end of an oversized line.
const WINDOW: usize = 64 * 1024;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

impl BoundedLines {
    /// A decoder that keeps lines of up to `max_len` bytes.
    pub fn new(max_len: usize) -> Self {
        Self {
            max_len,
            discarded: None,
            searched: 0,
            head: Vec::new(),
            tail: Vec::new(),
        }
    }

    /// Keeps the ends of bytes about to be dropped.
    fn keep_ends(&mut self, dropped: &[u8]) {
        if self.head.len() < WINDOW {
            let room = WINDOW - self.head.len();
            self.head
                .extend_from_slice(&dropped[..room.min(dropped.len())]);
        }
        self.tail
            .extend_from_slice(&dropped[dropped.len().saturating_sub(WINDOW)..]);
        let excess = self.tail.len().saturating_sub(WINDOW);
        self.tail.drain(..excess);
    }

    /// For a dropped line: `Some(is_error)` if its ends show a `result` line.
    fn dropped_result(&mut self) -> Option<bool> {
        let (head, tail) = (
            std::mem::take(&mut self.head),
            std::mem::take(&mut self.tail),
        );
        let has = |needle: &[u8]| contains(&head, needle) || contains(&tail, needle);
        has(br#""type":"result""#).then(|| has(br#""is_error":true"#))
    }

    fn finish(&mut self, line: &[u8]) -> Line {
        self.searched = 0;
        let dropped = self.discarded.take();
        if dropped.is_some() || line.len() > self.max_len {
            self.keep_ends(line);
            return Line::Oversized {
                bytes: dropped.unwrap_or(0) + line.len(),
                result: self.dropped_result(),
            };
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match std::str::from_utf8(line) {
            Ok(text) => Line::Text(text.to_owned()),
            Err(_) => Line::NotUtf8 { bytes: line.len() },
        }
    }
}

impl Decoder for BoundedLines {
    type Item = Line;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Line>, Self::Error> {
        let newline = buf[self.searched..]
            .iter()
            .position(|byte| *byte == b'\n')
            .map(|offset| self.searched + offset);
        if let Some(end) = newline {
            let line = buf.split_to(end + 1);
            return Ok(Some(self.finish(&line[..end])));
        }
        if self.discarded.is_some() || buf.len() > self.max_len {
            *self.discarded.get_or_insert(0) += buf.len();
            self.keep_ends(buf);
            buf.advance(buf.len());
            self.searched = 0;
            return Ok(None);
        }
        self.searched = buf.len();
        Ok(None)
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Line>, Self::Error> {
        if let Some(line) = self.decode(buf)? {
            return Ok(Some(line));
        }
        if buf.is_empty() && self.discarded.is_none() {
            return Ok(None);
        }
        let rest = buf.split();
        Ok(Some(self.finish(&rest)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(max_len: usize, chunks: &[&[u8]]) -> Vec<Line> {
        let mut decoder = BoundedLines::new(max_len);
        let mut buf = BytesMut::new();
        let mut lines = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            while let Some(line) = decoder.decode(&mut buf).unwrap() {
                lines.push(line);
            }
            assert!(
                buf.len() <= max_len + chunk.len(),
                "buffer grew past the cap"
            );
        }
        while let Some(line) = decoder.decode_eof(&mut buf).unwrap() {
            lines.push(line);
        }
        lines
    }

    #[test]
    fn lines_split_across_chunks_are_joined() {
        let lines = decode_all(100, &[b"{\"a\":", b"1}\n{\"b\"", b":2}\r\n"]);
        assert_eq!(
            lines,
            vec![
                Line::Text("{\"a\":1}".into()),
                Line::Text("{\"b\":2}".into())
            ]
        );
    }

    #[test]
    fn an_oversized_line_is_reported_by_size_and_the_next_line_survives() {
        let big = vec![b'x'; 50];
        let lines = decode_all(16, &[&big[..20], &big[20..], b"\nok\n"]);
        assert_eq!(
            lines,
            vec![
                Line::Oversized {
                    bytes: 50,
                    result: None
                },
                Line::Text("ok".into())
            ]
        );
        let in_one_chunk = [big.as_slice(), b"\n"].concat();
        assert_eq!(
            decode_all(16, &[&in_one_chunk]),
            vec![Line::Oversized {
                bytes: 50,
                result: None
            }]
        );
    }

    #[test]
    fn invalid_utf8_and_a_last_line_without_newline_are_items() {
        let lines = decode_all(16, &[b"\xff\xfe\n", b"tail"]);
        assert_eq!(
            lines,
            vec![Line::NotUtf8 { bytes: 2 }, Line::Text("tail".into())]
        );
    }

    #[test]
    fn an_oversized_result_line_is_still_known_as_one_whatever_its_key_order() {
        let huge = "x".repeat(200);
        let type_first = format!(r#"{{"type":"result","is_error":false,"result":"{huge}"}}"#);
        let type_last = format!(r#"{{"is_error":true,"result":"{huge}","type":"result"}}"#);
        let chunks: Vec<&[u8]> = vec![
            type_first.as_bytes(),
            b"\n",
            type_last.as_bytes(),
            b"\n",
            huge.as_bytes(),
            b"\n",
        ];
        let lines = decode_all(50, &chunks);
        let results: Vec<Option<bool>> = lines
            .iter()
            .map(|line| match line {
                Line::Oversized { result, .. } => *result,
                other => panic!("oversized: {other:?}"),
            })
            .collect();
        assert_eq!(results, vec![Some(false), Some(true), None]);
    }
}
