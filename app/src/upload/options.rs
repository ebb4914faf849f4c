//! Upload options (SPEC 4) and their spellings in forms, the CLI and JSON.
//!
//! Each option is an enum with one spelling everywhere (kebab-case: `update-existing`, `utf-8`):
//! strum gives the text and its parsing (forms), clap's `ValueEnum` the CLI choices, serde the
//! JSON. The label the admin reads is the variant's strum message. Upload history stored before
//! the spellings were unified holds the variant names (`UpdateExisting`), read through aliases.
use serde::{Deserialize, Serialize};
use strum::{EnumMessage, EnumString, IntoStaticStr, VariantArray};

/// What every option enum offers: its spelling, its label and all its values.
pub trait OptionValue:
    Copy + 'static + VariantArray + EnumMessage + Into<&'static str> + std::str::FromStr
{
    /// The spelling used by forms, the CLI and JSON.
    fn as_str(self) -> &'static str {
        self.into()
    }

    /// What the admin reads in the page.
    fn label(self) -> &'static str {
        self.get_message().unwrap_or_default()
    }

    /// Every value, in the order the page offers them.
    fn all() -> &'static [Self] {
        Self::VARIANTS
    }
}

impl<T> OptionValue for T where
    T: Copy + 'static + VariantArray + EnumMessage + Into<&'static str> + std::str::FromStr
{
}

/// Which users a file may touch.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    EnumString,
    IntoStaticStr,
    VariantArray,
    EnumMessage,
)]
#[cfg_attr(feature = "ssr", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum UploadType {
    #[strum(message = "Update existing users only")]
    #[serde(alias = "UpdateExisting")]
    UpdateExisting,
    #[strum(message = "Add new users only")]
    #[serde(alias = "AddNew")]
    AddNew,
    #[strum(message = "Add new and update existing users")]
    #[serde(alias = "AddAndUpdate")]
    AddAndUpdate,
}

/// What happens to the stored details of existing users.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    EnumString,
    IntoStaticStr,
    VariantArray,
    EnumMessage,
)]
#[cfg_attr(feature = "ssr", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum ExistingDetails {
    #[strum(message = "No changes")]
    #[serde(alias = "NoChanges")]
    NoChanges,
    #[strum(message = "Override with file")]
    #[serde(alias = "Override")]
    Override,
    #[strum(message = "Fill in missing from file")]
    #[serde(alias = "FillMissing")]
    FillMissing,
}

/// The file's delimiter: detected from the header line, or forced.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    EnumString,
    IntoStaticStr,
    VariantArray,
    EnumMessage,
)]
#[cfg_attr(feature = "ssr", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum DelimiterChoice {
    #[strum(message = "Detect from the header line")]
    #[serde(alias = "Auto")]
    Auto,
    #[strum(message = "Comma (,)")]
    #[serde(alias = "Comma")]
    Comma,
    #[strum(message = "Semicolon (;)")]
    #[serde(alias = "Semicolon")]
    Semicolon,
    #[strum(message = "Tab")]
    #[serde(alias = "Tab")]
    Tab,
    #[strum(message = "Colon (:)")]
    #[serde(alias = "Colon")]
    Colon,
}

/// The file's encoding: detected, or forced.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    EnumString,
    IntoStaticStr,
    VariantArray,
    EnumMessage,
)]
#[cfg_attr(feature = "ssr", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum EncodingChoice {
    #[strum(message = "Detect (UTF-8, else Windows-1252)")]
    #[serde(alias = "Auto")]
    Auto,
    #[strum(message = "UTF-8", to_string = "utf-8")]
    #[serde(rename = "utf-8", alias = "Utf8")]
    #[cfg_attr(feature = "ssr", value(name = "utf-8"))]
    Utf8,
    #[strum(
        message = "Windows-1252 (Excel on Windows)",
        to_string = "windows-1252"
    )]
    #[serde(rename = "windows-1252", alias = "Windows1252")]
    #[cfg_attr(feature = "ssr", value(name = "windows-1252"))]
    Windows1252,
}

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

    fn round_trips<
        T: OptionValue + std::fmt::Debug + PartialEq + Serialize + serde::de::DeserializeOwned,
    >() {
        for v in T::all() {
            let text = v.as_str();
            assert_eq!(text.parse::<T>().ok().as_ref(), Some(v), "{text}");
            // JSON spells it the same way as forms and the CLI.
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(text));
            assert!(!v.label().is_empty(), "{text} has a label");
        }
    }

    #[test]
    fn one_spelling_for_forms_cli_and_json() {
        round_trips::<UploadType>();
        round_trips::<ExistingDetails>();
        round_trips::<DelimiterChoice>();
        round_trips::<EncodingChoice>();
        assert_eq!(EncodingChoice::Utf8.as_str(), "utf-8");
        assert_eq!(UploadType::AddAndUpdate.as_str(), "add-and-update");
        assert!("pipe".parse::<DelimiterChoice>().is_err());
    }

    /// Upload history written before the spellings were unified still reads back.
    #[test]
    fn options_stored_under_the_old_spelling_still_read() {
        let old = serde_json::json!({
            "upload_type": "AddAndUpdate",
            "existing_details": "FillMissing",
            "delimiter": "Semicolon",
            "encoding": "Windows1252",
        });
        let options: UploadOptions = serde_json::from_value(old).unwrap();
        assert_eq!(
            options,
            UploadOptions {
                upload_type: UploadType::AddAndUpdate,
                existing_details: ExistingDetails::FillMissing,
                delimiter: DelimiterChoice::Semicolon,
                encoding: EncodingChoice::Windows1252,
            }
        );
    }
}
