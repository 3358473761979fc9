//! Bytes to text, losslessly or not at all: UTF-8 (with or without a
//! byte-order mark), UTF-16 with a mark, and GB18030 (which GBK and GB2312
//! are subsets of, the "CSV" Chinese Excel saves), detected or named.
//!
//! Decoding streams: text is handed out in chunks as the input is read, so
//! a file of any size decodes in bounded memory. A byte sequence that is
//! not valid in the encoding is an error naming the physical line it is on;
//! nothing is ever replaced by U+FFFD.

use std::io::Read;

use crate::TableError;

/// Bytes read from the input at a time.
const CHUNK: usize = 1 << 16;

/// The encoding of a file: named by the user, or detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// Detect: a byte-order mark decides; without one, UTF-8 if the start
    /// of the file is valid UTF-8, else GB18030.
    #[default]
    Auto,
    /// UTF-8 (a leading byte-order mark is dropped).
    Utf8,
    /// UTF-16, little-endian.
    Utf16Le,
    /// UTF-16, big-endian.
    Utf16Be,
    /// GB18030, which includes GBK and GB2312.
    Gb18030,
}

impl Encoding {
    /// The name people and the `--encoding` option use.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Auto => "auto",
            Encoding::Utf8 => "utf-8",
            Encoding::Utf16Le => "utf-16le",
            Encoding::Utf16Be => "utf-16be",
            Encoding::Gb18030 => "gb18030",
        }
    }

    /// Parses a name (case-insensitive): `auto`, `utf-8`/`utf8`,
    /// `utf-16le`, `utf-16be`, `gb18030`, `gbk`, `gb2312`.
    pub fn parse(name: &str) -> Option<Encoding> {
        let n = name.trim().to_ascii_lowercase().replace('_', "-");
        Some(match n.as_str() {
            "auto" => Encoding::Auto,
            "utf-8" | "utf8" => Encoding::Utf8,
            "utf-16le" | "utf16le" => Encoding::Utf16Le,
            "utf-16be" | "utf16be" => Encoding::Utf16Be,
            "gb18030" | "gbk" | "gb2312" | "cp936" => Encoding::Gb18030,
            _ => return None,
        })
    }

    /// Every name [`Encoding::parse`] accepts, for messages.
    pub const NAMES: &'static str = "auto, utf-8, utf-16le, utf-16be, gb18030 (or gbk)";
}

impl std::str::FromStr for Encoding {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Encoding::parse(s)
            .ok_or_else(|| format!("unknown encoding {s:?}; use one of {}", Self::NAMES))
    }
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Text decoded from a byte stream, chunk by chunk.
pub(crate) struct Decoder<R> {
    input: R,
    asked: Encoding,
    /// The encoding in use, once known.
    resolved: Option<Encoding>,
    /// Bytes read but not yet decoded (a character cut by a chunk's end,
    /// or the bytes read to detect the encoding).
    pending: Vec<u8>,
    /// Other encodings' decoder.
    other: Option<encoding_rs::Decoder>,
    /// Line breaks in the text handed out so far.
    lines: u64,
    input_done: bool,
    done: bool,
}

impl<R: Read> Decoder<R> {
    pub(crate) fn new(input: R, encoding: Encoding) -> Self {
        Decoder {
            input,
            asked: encoding,
            resolved: None,
            pending: Vec::new(),
            other: None,
            lines: 0,
            input_done: false,
            done: false,
        }
    }

    /// The encoding in use (known after the first [`Decoder::fill`]).
    pub(crate) fn encoding(&self) -> Option<Encoding> {
        self.resolved
    }

    /// Reads up to one chunk of input into `pending`.
    fn read_chunk(&mut self) -> Result<(), TableError> {
        let start = self.pending.len();
        self.pending.resize(start + CHUNK, 0);
        let n = loop {
            match self.input.read(&mut self.pending[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.pending.truncate(start);
                    return Err(TableError::Io(e.to_string()));
                }
            }
        };
        self.pending.truncate(start + n);
        if n == 0 {
            self.input_done = true;
        }
        Ok(())
    }

    /// Decides the encoding from the first bytes (reading a chunk or so),
    /// and drops a byte-order mark.
    fn resolve(&mut self) -> Result<Encoding, TableError> {
        while self.pending.len() < CHUNK && !self.input_done {
            self.read_chunk()?;
        }
        let p = &self.pending;
        let (encoding, mark) = if p.starts_with(&[0xEF, 0xBB, 0xBF]) {
            (Encoding::Utf8, 3)
        } else if p.starts_with(&[0xFF, 0xFE]) {
            (Encoding::Utf16Le, 2)
        } else if p.starts_with(&[0xFE, 0xFF]) {
            (Encoding::Utf16Be, 2)
        } else {
            (Encoding::Auto, 0)
        };
        let encoding = match (self.asked, encoding) {
            (Encoding::Auto, Encoding::Auto) => sniff(p, self.input_done),
            (Encoding::Auto, found) => found,
            (asked, _) => asked,
        };
        // A mark is dropped only when it is the mark of the encoding used.
        if mark > 0 && encoding_of_mark(&self.pending) == Some(encoding) {
            self.pending.drain(..mark);
        }
        self.other = match encoding {
            Encoding::Utf16Le => Some(encoding_rs::UTF_16LE.new_decoder_without_bom_handling()),
            Encoding::Utf16Be => Some(encoding_rs::UTF_16BE.new_decoder_without_bom_handling()),
            Encoding::Gb18030 => Some(encoding_rs::GB18030.new_decoder_without_bom_handling()),
            Encoding::Utf8 | Encoding::Auto => None,
        };
        self.resolved = Some(encoding);
        Ok(encoding)
    }

    /// Appends the next decoded text to `out`; returns false once the
    /// input is exhausted (and nothing was appended).
    pub(crate) fn fill(&mut self, out: &mut String) -> Result<bool, TableError> {
        if self.done {
            return Ok(false);
        }
        let encoding = match self.resolved {
            Some(e) => e,
            None => self.resolve()?,
        };
        if self.pending.is_empty() && !self.input_done {
            self.read_chunk()?;
        }
        let before = out.len();
        match encoding {
            Encoding::Utf8 | Encoding::Auto => self.fill_utf8(out)?,
            _ => self.fill_other(encoding, out)?,
        }
        self.lines += count_newlines(&out.as_bytes()[before..]);
        if self.input_done && self.pending.is_empty() {
            // Everything is decoded (a decoder told `last` is finished).
            self.done = true;
            return Ok(out.len() > before);
        }
        Ok(true)
    }

    fn fill_utf8(&mut self, out: &mut String) -> Result<(), TableError> {
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(text) => {
                out.push_str(text);
                self.pending.clear();
                return Ok(());
            }
            Err(e) => e,
        };
        let upto = valid.valid_up_to();
        let (good, rest) = self.pending.split_at(upto);
        // The prefix was just validated.
        out.push_str(std::str::from_utf8(good).unwrap_or_default());
        if valid.error_len().is_some() || self.input_done {
            let line = self.lines + count_newlines(good) + 1;
            let bytes = rest
                .iter()
                .take(4)
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(" ");
            return Err(TableError::Encoding {
                line,
                encoding: Encoding::Utf8,
                detail: format!(
                    "bytes {bytes} are not UTF-8 (if the file is GBK or GB18030, as Chinese Excel saves it, say so with the encoding option)"
                ),
            });
        }
        // A character cut by the chunk's end: keep its first bytes.
        self.pending.drain(..upto);
        if !self.input_done {
            self.read_chunk()?;
        }
        Ok(())
    }

    fn fill_other(&mut self, encoding: Encoding, out: &mut String) -> Result<(), TableError> {
        let Some(decoder) = self.other.as_mut() else {
            return Ok(());
        };
        let last = self.input_done;
        let before = out.len();
        out.reserve(
            decoder
                .max_utf8_buffer_length_without_replacement(self.pending.len())
                .unwrap_or(self.pending.len() * 3 + 16),
        );
        let (result, read) = decoder.decode_to_string_without_replacement(&self.pending, out, last);
        match result {
            encoding_rs::DecoderResult::Malformed(bad, _) => {
                let line = self.lines + count_newlines(&out.as_bytes()[before..]) + 1;
                let end = read.min(self.pending.len());
                let start = end.saturating_sub(usize::from(bad));
                let bytes = self.pending[start..end]
                    .iter()
                    .map(|b| format!("{b:02X}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                Err(TableError::Encoding {
                    line,
                    encoding,
                    detail: format!("bytes {bytes} are not {}", encoding.name()),
                })
            }
            encoding_rs::DecoderResult::InputEmpty | encoding_rs::DecoderResult::OutputFull => {
                self.pending.drain(..read);
                Ok(())
            }
        }
    }
}

/// The encoding a byte-order mark at the start of `bytes` names.
fn encoding_of_mark(bytes: &[u8]) -> Option<Encoding> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        Some(Encoding::Utf8)
    } else if bytes.starts_with(&[0xFF, 0xFE]) {
        Some(Encoding::Utf16Le)
    } else if bytes.starts_with(&[0xFE, 0xFF]) {
        Some(Encoding::Utf16Be)
    } else {
        None
    }
}

/// Without a mark: UTF-8 when the first bytes are UTF-8 (a character cut
/// at the end of what was read is fine), else GB18030 when they are that,
/// else UTF-8 (whose error then names the line).
fn sniff(start: &[u8], whole: bool) -> Encoding {
    match std::str::from_utf8(start) {
        Ok(_) => Encoding::Utf8,
        Err(e) if e.error_len().is_none() && !whole => Encoding::Utf8,
        Err(_) => {
            let mut decoder = encoding_rs::GB18030.new_decoder_without_bom_handling();
            let mut out = String::with_capacity(start.len() * 2);
            let (result, _) = decoder.decode_to_string_without_replacement(start, &mut out, whole);
            match result {
                encoding_rs::DecoderResult::Malformed(..) => Encoding::Utf8,
                _ => Encoding::Gb18030,
            }
        }
    }
}

/// Line breaks (`\n`) in `bytes`.
pub(crate) fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], encoding: Encoding) -> Result<(String, Encoding), TableError> {
        let mut d = Decoder::new(bytes, encoding);
        let mut out = String::new();
        while d.fill(&mut out)? {}
        Ok((out, d.encoding().unwrap_or(Encoding::Auto)))
    }

    #[test]
    fn marks_name_the_encoding_and_are_dropped() {
        let (text, e) = decode(b"\xEF\xBB\xBFid,a\n", Encoding::Auto).expect("utf-8");
        assert_eq!((text.as_str(), e), ("id,a\n", Encoding::Utf8));
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("京,a\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(
            decode(&le, Encoding::Auto).expect("utf-16le"),
            ("京,a\n".to_owned(), Encoding::Utf16Le)
        );
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("京,a\n".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(
            decode(&be, Encoding::Auto).expect("utf-16be"),
            ("京,a\n".to_owned(), Encoding::Utf16Be)
        );
    }

    #[test]
    fn gbk_is_detected_and_decoded_exactly() {
        // "京-R0000001" in GBK: 京 is BE A9.
        let gbk = b"id\n\xBE\xA9-R0000001\n";
        let (text, e) = decode(gbk, Encoding::Auto).expect("gbk");
        assert_eq!((text.as_str(), e), ("id\n京-R0000001\n", Encoding::Gb18030));
        // A four-byte GB18030 character (U+20000, CJK Extension B).
        let four = b"\x95\x32\x82\x36\n";
        assert_eq!(
            decode(four, Encoding::Gb18030).expect("gb18030").0,
            "\u{20000}\n"
        );
    }

    #[test]
    fn invalid_bytes_name_their_line_and_are_never_replaced() {
        let bad = b"id,a\n1,x\n2,\xFF\xFE\xFD\n";
        match decode(bad, Encoding::Utf8) {
            Err(TableError::Encoding { line, encoding, .. }) => {
                assert_eq!((line, encoding), (3, Encoding::Utf8));
            }
            other => panic!("{other:?}"),
        }
        // Valid UTF-8 at the start, invalid far beyond what detection reads.
        let mut late = "id\n".repeat(40_000).into_bytes();
        late.extend_from_slice(b"\xC3\x28\n");
        match decode(&late, Encoding::Auto) {
            Err(TableError::Encoding { line, .. }) => assert_eq!(line, 40_001),
            other => panic!("{other:?}"),
        }
        // GB18030 named, but the bytes are not GB18030.
        match decode(b"a\nb\n\x81\x20\n", Encoding::Gb18030) {
            Err(TableError::Encoding { line, encoding, .. }) => {
                assert_eq!((line, encoding), (3, Encoding::Gb18030));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn characters_cut_by_chunk_ends_are_joined() {
        let text = "京".repeat(CHUNK);
        let (out, _) = decode(text.as_bytes(), Encoding::Auto).expect("utf-8");
        assert_eq!(out, text);
        let (gbk, _, _) = encoding_rs::GB18030.encode(&text);
        let (out, e) = decode(&gbk, Encoding::Gb18030).expect("gb18030");
        assert_eq!((out == text, e), (true, Encoding::Gb18030));
    }

    #[test]
    fn names_parse() {
        assert_eq!(Encoding::parse("GBK"), Some(Encoding::Gb18030));
        assert_eq!(Encoding::parse("utf8"), Some(Encoding::Utf8));
        assert_eq!(Encoding::parse("latin1"), None);
    }
}
