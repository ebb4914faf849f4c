//! Import kinds and their options (SPEC 6-7), spelled one way in forms, the CLI and JSON, as the
//! upload's options are (`upload::options`).
use crate::upload::{DelimiterChoice, EncodingChoice};
use serde::{Deserialize, Serialize};
use strum::{EnumMessage, EnumString, IntoStaticStr, VariantArray};

/// The four imports of SPEC 7.
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
pub enum ImportKind {
    #[strum(message = "Bulk create user segments")]
    Segments,
    #[strum(message = "Bulk create course groups")]
    Groups,
    #[strum(message = "Bulk add users to course groups")]
    GroupMembers,
    #[strum(message = "Bulk enrol users into courses")]
    Enrolments,
}

impl ImportKind {
    /// The page's path.
    pub fn path(self) -> &'static str {
        match self {
            ImportKind::Segments => "/import/segments",
            ImportKind::Groups => "/import/groups",
            ImportKind::GroupMembers => "/import/group-members",
            ImportKind::Enrolments => "/import/enrolments",
        }
    }

    /// A file an admin can fill in, with `course` (a short name) in its course cells.
    pub fn template_for(self, course: Option<&str>) -> String {
        match course {
            Some(c) => self.template().replace("MATH101", c),
            None => self.template().to_string(),
        }
    }

    /// A file an admin can fill in.
    pub fn template(self) -> &'static str {
        match self {
            ImportKind::Segments => {
                "idnumber,name,description,visible\nsales,Sales,Everyone in sales,1\n"
            }
            ImportKind::Groups => {
                "course,groupname,groupidnumber,description\nMATH101,Group A,math101-a,Morning cohort\n"
            }
            ImportKind::GroupMembers => "username,course,group1,group2\njdoe,MATH101,Group A,\n",
            ImportKind::Enrolments => "username,course1,status1,course2\njdoe,MATH101,active,\n",
        }
    }

    /// Whether the kind has the create-only / create-and-update choice.
    pub fn has_mode(self) -> bool {
        matches!(self, ImportKind::Segments | ImportKind::Groups)
    }
}

/// What an existing segment or group (same key) means for a `segments` or `groups` import.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
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
pub enum ImportMode {
    #[default]
    #[strum(message = "Create new only (an existing one is an error)")]
    CreateOnly,
    #[strum(message = "Create new and update existing")]
    CreateAndUpdate,
}

/// What a `group-members` row means for a user not enrolled in the course.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
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
pub enum NotEnrolled {
    #[default]
    #[strum(message = "Refuse the row (not_enrolled)")]
    Error,
    #[strum(message = "Enrol them (manual enrolment) first")]
    Enrol,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOptions {
    pub kind: ImportKind,
    #[serde(default)]
    pub mode: ImportMode,
    #[serde(default)]
    pub not_enrolled: NotEnrolled,
    pub delimiter: DelimiterChoice,
    pub encoding: EncodingChoice,
}

impl ImportOptions {
    pub fn new(kind: ImportKind) -> Self {
        Self {
            kind,
            mode: ImportMode::default(),
            not_enrolled: NotEnrolled::default(),
            delimiter: DelimiterChoice::Auto,
            encoding: EncodingChoice::Auto,
        }
    }
}
