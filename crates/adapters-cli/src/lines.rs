//! A bounded line decoder for the agent's stdout: memory never grows past the cap.

use bytes::{Buf, BytesMut};
use tokio_util::codec::Decoder;

/// One stdout line, or what stood in for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A complete line (without its `\n`), valid UTF-8, within the cap.
    Text(String),
    /// A line longer than the cap: its bytes were discarded as they arrived.
    Oversized {
        /// Its length in bytes (without the `\n`).
        bytes: usize,
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
}

impl BoundedLines {
    /// A decoder that keeps lines of up to `max_len` bytes.
    pub fn new(max_len: usize) -> Self {
        Self {
            max_len,
            discarded: None,
            searched: 0,
        }
    }

    fn finish(&mut self, line: &[u8]) -> Line {
        self.searched = 0;
        let dropped = self.discarded.take();
        if dropped.is_some() || line.len() > self.max_len {
            return Line::Oversized {
                bytes: dropped.unwrap_or(0) + line.len(),
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
            vec![Line::Oversized { bytes: 50 }, Line::Text("ok".into())]
        );
        let in_one_chunk = [big.as_slice(), b"\n"].concat();
        assert_eq!(
            decode_all(16, &[&in_one_chunk]),
            vec![Line::Oversized { bytes: 50 }]
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
}
