//! Domain values shared by the browser and the server. Constructors parse and validate once
//! (parse, don't validate), so a `Username` or `SegmentIdNumber` in hand is always well formed.
use serde::{Deserialize, Serialize};
use std::fmt;

/// A username: trimmed, lowercase, only `a-z 0-9 . _ - @` (SPEC 1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Username(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("The username is empty.")]
    Empty,
    #[error("The username is longer than {max} characters.", max = Username::MAX_LEN)]
    TooLong,
    #[error("The username \"{0}\" has characters other than a-z, 0-9, '.', '_', '-' and '@'.")]
    InvalidCharacters(String),
}

impl Username {
    pub const MAX_LEN: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(UsernameError::Empty);
        }
        // Checked as written, then lowercased as ASCII: "Alice" is "alice", while look-alikes
        // stay refused, including those Unicode lowercases *into* ASCII (KELVIN SIGN → "k").
        if !trimmed.is_ascii() {
            return Err(UsernameError::InvalidCharacters(trimmed.to_string()));
        }
        let lower = trimmed.to_ascii_lowercase();
        if !lower.bytes().all(Self::allowed_byte) {
            return Err(UsernameError::InvalidCharacters(trimmed.to_string()));
        }
        if lower.len() > Self::MAX_LEN {
            return Err(UsernameError::TooLong);
        }
        Ok(Self(lower))
    }

    pub const fn allowed_byte(b: u8) -> bool {
        matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-' | b'@')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A segment's ID number ("user segment ID"): trimmed, matched exactly and case-sensitively.
/// Always a string, so "007" and "7" are different segments and never an internal key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SegmentIdNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SegmentIdNumberError {
    #[error("The segment ID number is empty.")]
    Empty,
    #[error("The segment ID number is longer than {max} characters.", max = SegmentIdNumber::MAX_LEN)]
    TooLong,
    #[error("The segment ID number contains control characters.")]
    ControlCharacters,
}

impl SegmentIdNumber {
    pub const MAX_LEN: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, SegmentIdNumberError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(SegmentIdNumberError::Empty);
        }
        if trimmed.chars().count() > Self::MAX_LEN {
            return Err(SegmentIdNumberError::TooLong);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(SegmentIdNumberError::ControlCharacters);
        }
        Ok(Self(trimmed.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SegmentIdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A human-facing name (segment, course, group): trimmed, non-empty, bounded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisplayNameError {
    #[error("The name is empty.")]
    Empty,
    #[error("The name is longer than {max} characters.", max = DisplayName::MAX_LEN)]
    TooLong,
    #[error("The name contains control characters.")]
    ControlCharacters,
}

impl DisplayName {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, DisplayNameError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(DisplayNameError::Empty);
        }
        if trimmed.chars().count() > Self::MAX_LEN {
            return Err(DisplayNameError::TooLong);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(DisplayNameError::ControlCharacters);
        }
        Ok(Self(trimmed.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Everything needed to create or edit a segment, already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentDraft {
    pub id_number: SegmentIdNumber,
    pub name: DisplayName,
    pub description: String,
    pub visible: bool,
}

impl SegmentDraft {
    pub const MAX_DESCRIPTION: usize = 10_000;

    /// Parses the raw form fields, naming the field at fault in the message.
    pub fn parse(
        id_number: &str,
        name: &str,
        description: &str,
        visible: bool,
    ) -> Result<Self, String> {
        let id_number = SegmentIdNumber::parse(id_number).map_err(|e| e.to_string())?;
        let name = DisplayName::parse(name).map_err(|e| format!("Segment name: {e}"))?;
        let description = description.trim().to_string();
        if description.chars().count() > Self::MAX_DESCRIPTION {
            return Err(format!(
                "The description is longer than {} characters.",
                Self::MAX_DESCRIPTION
            ));
        }
        Ok(Self {
            id_number,
            name,
            description,
            visible,
        })
    }
}

/// A plausible email address: one `@`, a non-empty local part, a dotted domain, no spaces or
/// characters that cannot appear unquoted in an address. Deliverability is not our business.
pub fn is_valid_email(raw: &str) -> bool {
    const MAX: usize = 254;
    let Some((local, domain)) = raw.split_once('@') else {
        return false;
    };
    let bad = |c: char| c.is_whitespace() || c.is_control() || "@,;:<>()[]\\\"".contains(c);
    !local.is_empty()
        && local.len() <= 64
        && raw.len() <= MAX
        && !local.chars().any(bad)
        && !domain.chars().any(bad)
        && domain.contains('.')
        && !domain.starts_with(['.', '-'])
        && !domain.ends_with(['.', '-'])
        && !domain.contains("..")
}

/// One page of a listing, with what the pager needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

impl<T> Page<T> {
    /// The same page with each item turned into something else.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            page: self.page,
            per_page: self.per_page,
        }
    }

    pub fn page_count(&self) -> u64 {
        self.total.div_ceil(self.per_page.max(1)).max(1)
    }
}

/// Clamps a requested page size to something the server is willing to return.
pub fn clamp_per_page(per_page: u64) -> u64 {
    per_page.clamp(1, 200)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentAdmin {
    pub user_id: i32,
    pub username: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_is_trimmed_and_lowercased() {
        let u = Username::parse("  Alice.Smith@Example-1_x ").unwrap();
        assert_eq!(u.as_str(), "alice.smith@example-1_x");
    }

    #[test]
    fn username_rejects_empty_and_blank() {
        assert_eq!(Username::parse(""), Err(UsernameError::Empty));
        assert_eq!(Username::parse(" \t "), Err(UsernameError::Empty));
    }

    #[test]
    fn username_rejects_characters_outside_the_set() {
        for bad in [
            "a b",
            "a,b",
            "<script>",
            "o'brien",
            "a;drop",
            "josé",
            "\u{430}lice",
            "a\u{301}",
            // KELVIN SIGN lowercases to an ASCII "k": "\u{212A}ate" must not become "kate".
            "\u{212A}ate",
            "\u{130}stanbul",
        ] {
            assert!(
                matches!(
                    Username::parse(bad),
                    Err(UsernameError::InvalidCharacters(_))
                ),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn username_length_is_bounded() {
        assert!(Username::parse(&"a".repeat(100)).is_ok());
        assert_eq!(
            Username::parse(&"a".repeat(101)),
            Err(UsernameError::TooLong)
        );
    }

    #[test]
    fn segment_id_number_is_trimmed_but_case_and_zeros_are_kept() {
        assert_eq!(
            SegmentIdNumber::parse(" Sales-01 ").unwrap().as_str(),
            "Sales-01"
        );
        assert_ne!(
            SegmentIdNumber::parse("007").unwrap(),
            SegmentIdNumber::parse("7").unwrap()
        );
        assert_ne!(
            SegmentIdNumber::parse("sales").unwrap(),
            SegmentIdNumber::parse("SALES").unwrap()
        );
    }

    #[test]
    fn segment_id_number_rejects_empty_long_and_control() {
        assert_eq!(
            SegmentIdNumber::parse("  "),
            Err(SegmentIdNumberError::Empty)
        );
        assert_eq!(
            SegmentIdNumber::parse(&"x".repeat(101)),
            Err(SegmentIdNumberError::TooLong)
        );
        assert_eq!(
            SegmentIdNumber::parse("a\u{0}b"),
            Err(SegmentIdNumberError::ControlCharacters)
        );
    }

    #[test]
    fn segment_draft_names_the_bad_field() {
        let err = SegmentDraft::parse("s1", "  ", "", true).unwrap_err();
        assert!(err.starts_with("Segment name"), "{err}");
        let ok = SegmentDraft::parse(" s1 ", " Sales ", "  d ", false).unwrap();
        assert_eq!(ok.name.as_str(), "Sales");
        assert_eq!(ok.description, "d");
        assert!(!ok.visible);
    }

    #[test]
    fn emails() {
        for ok in [
            "a@b.co",
            "first.last+tag@sub.example.org",
            "x_y@ex-ample.com",
        ] {
            assert!(is_valid_email(ok), "{ok}");
        }
        for bad in [
            "", "a", "a@", "@b.co", "a@b", "a b@c.de", "a@b..co", "a@.b.co", "a@b.co.", "a@@b.co",
            "<a@b.co>", "a@b.co;x",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn page_count_rounds_up_and_is_at_least_one() {
        let p = |total| Page::<()> {
            items: vec![],
            total,
            page: 1,
            per_page: 25,
        };
        assert_eq!(p(0).page_count(), 1);
        assert_eq!(p(25).page_count(), 1);
        assert_eq!(p(26).page_count(), 2);
    }
}
