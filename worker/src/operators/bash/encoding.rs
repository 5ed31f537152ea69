//! Decoding output lines with the operator's `output_encoding`, the way Python's
//! `bytes.decode(encoding, errors="backslashreplace")` does for the codecs we
//! support: every byte that cannot be decoded becomes the text `\xNN`.

use std::fmt::Write;

/// A supported Python codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decoder {
    Utf8,
    Ascii,
    Latin1,
}

impl Decoder {
    /// Accepts Python's spellings: case, `-`, `_` and spaces do not matter.
    pub(super) fn parse(name: &str) -> Option<Self> {
        let norm: String = name
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .collect::<String>()
            .to_ascii_lowercase();
        match norm.as_str() {
            "utf8" | "u8" | "utf" | "cp65001" => Some(Self::Utf8),
            "ascii" | "usascii" | "646" => Some(Self::Ascii),
            "latin1" | "latin" | "l1" | "iso88591" | "iso8859" | "8859" | "cp819" => {
                Some(Self::Latin1)
            }
            _ => None,
        }
    }

    pub(super) fn decode(self, bytes: &[u8]) -> String {
        match self {
            Self::Utf8 => {
                let mut out = String::with_capacity(bytes.len());
                for chunk in bytes.utf8_chunks() {
                    out.push_str(chunk.valid());
                    push_escaped(&mut out, chunk.invalid());
                }
                out
            }
            Self::Ascii => {
                let mut out = String::with_capacity(bytes.len());
                for &b in bytes {
                    if b.is_ascii() {
                        out.push(char::from(b));
                    } else {
                        push_escaped(&mut out, &[b]);
                    }
                }
                out
            }
            Self::Latin1 => bytes.iter().map(|&b| char::from(b)).collect(),
        }
    }
}

fn push_escaped(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "\\x{b:02x}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Python's codec names resolve regardless of spelling.
    #[test]
    fn parses_python_spellings() {
        assert_eq!(Decoder::parse("UTF-8"), Some(Decoder::Utf8));
        assert_eq!(Decoder::parse("utf_8"), Some(Decoder::Utf8));
        assert_eq!(Decoder::parse("ISO-8859-1"), Some(Decoder::Latin1));
        assert_eq!(Decoder::parse("US-ASCII"), Some(Decoder::Ascii));
        assert_eq!(Decoder::parse("shift_jis"), None);
    }

    // Undecodable bytes become \xNN, as with errors="backslashreplace".
    #[test]
    fn backslash_replaces_invalid_bytes() {
        assert_eq!(Decoder::Utf8.decode(b"caf\xc3\xa9 \xff!"), "café \\xff!");
        assert_eq!(Decoder::Ascii.decode(b"caf\xe9"), "caf\\xe9");
        assert_eq!(Decoder::Latin1.decode(b"caf\xe9"), "café");
    }
}
