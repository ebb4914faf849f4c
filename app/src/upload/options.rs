//! Upload options (SPEC 4) and their spellings in forms, the CLI and JSON.
use serde::{Deserialize, Serialize};

macro_rules! choice {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal / $label:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The spelling used by forms, the CLI and JSON.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// What the admin reads in the page.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.trim() {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown value \"{other}\"; expected one of: {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

choice!(
    /// Which users a file may touch.
    UploadType {
        UpdateExisting = "update-existing" / "Update existing users only",
        AddNew = "add-new" / "Add new users only",
        AddAndUpdate = "add-and-update" / "Add new and update existing users",
    }
);

choice!(
    /// What happens to the stored details of existing users.
    ExistingDetails {
        NoChanges = "no-changes" / "No changes",
        Override = "override" / "Override with file",
        FillMissing = "fill-missing" / "Fill in missing from file",
    }
);

choice!(
    DelimiterChoice {
        Auto = "auto" / "Detect from the header line",
        Comma = "comma" / "Comma (,)",
        Semicolon = "semicolon" / "Semicolon (;)",
        Tab = "tab" / "Tab",
        Colon = "colon" / "Colon (:)",
    }
);

choice!(
    EncodingChoice {
        Auto = "auto" / "Detect (UTF-8, else Windows-1252)",
        Utf8 = "utf-8" / "UTF-8",
        Windows1252 = "windows-1252" / "Windows-1252 (Excel on Windows)",
    }
);

impl DelimiterChoice {
    pub fn byte(self) -> Option<u8> {
        match self {
            DelimiterChoice::Auto => None,
            DelimiterChoice::Comma => Some(b','),
            DelimiterChoice::Semicolon => Some(b';'),
            DelimiterChoice::Tab => Some(b'\t'),
            DelimiterChoice::Colon => Some(b':'),
        }
    }

    pub fn from_byte(b: u8) -> Self {
        match b {
            b';' => DelimiterChoice::Semicolon,
            b'\t' => DelimiterChoice::Tab,
            b':' => DelimiterChoice::Colon,
            _ => DelimiterChoice::Comma,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UploadOptions {
    pub upload_type: UploadType,
    pub existing_details: ExistingDetails,
    pub delimiter: DelimiterChoice,
    pub encoding: EncodingChoice,
}

impl Default for UploadOptions {
    fn default() -> Self {
        Self {
            upload_type: UploadType::UpdateExisting,
            existing_details: ExistingDetails::NoChanges,
            delimiter: DelimiterChoice::Auto,
            encoding: EncodingChoice::Auto,
        }
    }
}

impl UploadOptions {
    /// Whether existing users' details may change under these options.
    pub fn updates_details(&self) -> bool {
        self.upload_type != UploadType::AddNew
            && self.existing_details != ExistingDetails::NoChanges
    }

    pub fn creates_users(&self) -> bool {
        self.upload_type != UploadType::UpdateExisting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for t in UploadType::ALL {
            assert_eq!(t.as_str().parse::<UploadType>().unwrap(), *t);
        }
        for d in DelimiterChoice::ALL {
            assert_eq!(d.as_str().parse::<DelimiterChoice>().unwrap(), *d);
        }
        assert!("pipe"
            .parse::<DelimiterChoice>()
            .unwrap_err()
            .contains("comma"));
    }
}
