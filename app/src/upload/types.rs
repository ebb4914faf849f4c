//! Results the server sends to the page.
use super::report::PackedOutcomes;
use super::validate::Summary;
use super::UploadOptions;
use serde::{Deserialize, Serialize};

/// What a commit (or dry run) did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitResult {
    pub batch_id: Option<i32>,
    pub summary: Summary,
    pub rows: u32,
    pub outcomes: PackedOutcomes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRow {
    pub id: i32,
    pub created_at: String,
    pub admin: Option<String>,
    pub file_name: String,
    /// `users` for the membership upload, or the import kind (SPEC 7).
    pub kind: String,
    /// The upload's options (None for an import: see `import_options`).
    pub options: Option<UploadOptions>,
    pub summary: Option<Summary>,
    pub import_options: Option<crate::imports::ImportOptions>,
    pub import_summary: Option<crate::imports::ImportSummary>,
    pub undone_at: Option<String>,
    /// Memberships (or, for an import, records) from this batch that still exist: what undo takes back.
    pub still_present: i64,
}

/// One segment a file names that exists: what the page needs to plan its other look-ups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentFound {
    /// The ID number as the file wrote it (an exact match).
    pub id_number: String,
    pub id: i32,
    /// Its current member count: decides whether its memberships are sent whole.
    pub members: i64,
    /// Whether an enrolment method follows it, so the commit has sync effects to preview.
    pub followed: bool,
    /// Whether rules fill it (SPEC 8): a file cannot add members to it.
    #[serde(default)]
    pub automated: bool,
}

/// The server's answer about one batch of usernames, aligned with the question so the reply
/// stays small: a million usernames cost a few megabytes of ids, not their echo.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserLookup {
    /// The user's id for each asked username, 0 where no such user exists.
    pub ids: Vec<i32>,
    /// `[firstname, lastname, email]` for each asked username, when details were asked for.
    pub details: Vec<[String; 3]>,
    /// Existing (segment id, user id) memberships of the found users in the asked segments.
    #[serde(with = "packed_pairs")]
    pub memberships: Vec<(i32, i32)>,
}

/// (segment id, user id) memberships as a look-up answers them, in `packed_pairs` form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pairs(#[serde(with = "packed_pairs")] pub Vec<(i32, i32)>);

/// The wire form of (segment id, user id) pairs: a flat list of integers, per segment its id,
/// its pair count, then its user ids sorted and each sent as the difference from the one before.
/// A re-uploaded file's look-ups carry a million pairs; as `[segment, user]` arrays they were 11
/// MB of JSON for the page to read, and a segment's users, sorted, mostly differ by a few.
/// The order of the pairs is not kept (no reader needs it).
pub mod packed_pairs {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(pairs: &[(i32, i32)], s: S) -> Result<S::Ok, S::Error> {
        let mut sorted = pairs.to_vec();
        sorted.sort_unstable();
        let mut flat: Vec<i64> = Vec::with_capacity(sorted.len() + 64);
        for group in sorted.chunk_by(|a, b| a.0 == b.0) {
            flat.extend([i64::from(group[0].0), group.len() as i64]);
            let mut before = 0;
            for &(_, user) in group {
                flat.push(i64::from(user) - before);
                before = i64::from(user);
            }
        }
        flat.serialize(s)
    }

    /// Refuses a list that does not hold whole groups, or whose ids leave `i32`: an answer from
    /// another version or a broken proxy is an error, not wrong knowledge.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(i32, i32)>, D::Error> {
        let flat = Vec::<i64>::deserialize(d)?;
        let bad = || D::Error::custom("ill-formed membership pairs");
        let mut pairs = Vec::with_capacity(flat.len());
        let mut rest = &flat[..];
        while let [segment, count, tail @ ..] = rest {
            let segment = i32::try_from(*segment).map_err(|_| bad())?;
            let count = usize::try_from(*count)
                .ok()
                .filter(|&n| n <= tail.len())
                .ok_or_else(bad)?;
            let mut user: i64 = 0;
            for &step in &tail[..count] {
                user = user.checked_add(step).ok_or_else(bad)?;
                pairs.push((segment, i32::try_from(user).map_err(|_| bad())?));
            }
            rest = &tail[count..];
        }
        if !rest.is_empty() {
            return Err(bad());
        }
        Ok(pairs)
    }
}

impl UserLookup {
    /// Appends the answer about the next `asked` names. An answer is aligned with its question;
    /// a short or long one is cut to it so it cannot shift the answers after it.
    pub fn append(&mut self, mut reply: UserLookup, asked: usize) {
        let details = !reply.details.is_empty();
        reply.ids.resize(asked, 0);
        self.ids.extend(reply.ids);
        if details {
            // Earlier answers without details are padded, so details stay aligned with ids.
            self.details
                .resize(self.ids.len() - asked, Default::default());
            reply.details.resize(asked, Default::default());
            self.details.extend(reply.details);
        }
        self.memberships.extend(reply.memberships);
    }

    /// Makes this answer, about all of a file's names in `Parsed::usernames()` order, what
    /// `known` holds about its users: the vectors are moved, no name is hashed.
    pub fn add_to(self, known: &mut super::validate::Knowledge) {
        known.users = super::validate::KnownUsers {
            ids: self.ids,
            details: self.details,
        };
        known.memberships.extend(self.memberships);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upload::validate::Knowledge;

    #[test]
    fn a_short_or_long_answer_does_not_shift_the_answers_after_it() {
        let answer = |ids: &[i32], details: bool| UserLookup {
            ids: ids.to_vec(),
            details: if details {
                ids.iter()
                    .map(|i| [format!("F{i}"), String::new(), String::new()])
                    .collect()
            } else {
                vec![]
            },
            memberships: vec![],
        };
        let mut all = UserLookup::default();
        all.append(answer(&[1], true), 2); // one id short
        all.append(answer(&[3, 4, 99], true), 2); // one id too many
        all.append(answer(&[5], true), 1);
        assert_eq!(all.ids, [1, 0, 3, 4, 5]);
        let mut known = Knowledge::default();
        all.add_to(&mut known);
        assert_eq!(known.users.found(), 4);
        assert_eq!(known.users.get(3).unwrap().id, 4);
        assert_eq!(known.users.get(3).unwrap().firstname, "F4");
        assert_eq!(known.users.get(4).unwrap().firstname, "F5");
        assert_eq!(known.users.get(1), None);
    }

    fn reply(memberships: Vec<(i32, i32)>) -> UserLookup {
        UserLookup {
            memberships,
            ..Default::default()
        }
    }

    proptest::proptest! {
        #[test]
        fn packed_pairs_carry_every_pair(pairs: Vec<(i32, i32)>) {
            // Through JSON and through postcard, the look-ups' wire (`upload::api`).
            let json = serde_json::to_string(&reply(pairs.clone())).unwrap();
            let mut back = serde_json::from_str::<UserLookup>(&json).unwrap().memberships;
            let bytes = postcard::to_allocvec(&reply(pairs.clone())).unwrap();
            let mut wire = postcard::from_bytes::<UserLookup>(&bytes).unwrap().memberships;
            let mut pairs = pairs;
            pairs.sort_unstable();
            back.sort_unstable();
            wire.sort_unstable();
            proptest::prop_assert_eq!(&back, &pairs);
            proptest::prop_assert_eq!(wire, pairs);
        }
    }

    #[test]
    fn packed_pairs_are_small_and_ill_formed_ones_are_refused() {
        // 20 segments of 6,250 users each among 25,000 consecutive ids, as a re-upload's call.
        let pairs: Vec<(i32, i32)> = (0..125_000)
            .map(|i| (1_000 + i % 20, 500_000 + i / 5))
            .collect();
        let packed = serde_json::to_string(&reply(pairs.clone())).unwrap();
        let plain = serde_json::to_string(&pairs).unwrap();
        assert!(
            packed.len() * 4 < plain.len(),
            "{} bytes packed against {} plain",
            packed.len(),
            plain.len()
        );
        let read = |m: &str| {
            serde_json::from_str::<UserLookup>(&format!(
                r#"{{"ids":[],"details":[],"memberships":{m}}}"#
            ))
        };
        assert_eq!(read("[7,2,5,1]").unwrap().memberships, [(7, 5), (7, 6)]);
        assert_eq!(
            read("[7,1,2147483647,-3,1,-5]").unwrap().memberships,
            [(7, i32::MAX), (-3, -5)]
        );
        for bad in [
            "[7,3,5,1]", // fewer users than counted
            "[7,1,5,9]", // a stray number after the group
            "[7,-1]",    // a negative count
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
        assert!(read("[7,2,2147483647,1]").is_err(), "a user id past i32");
        assert!(read("[4294967296,1,1]").is_err(), "a segment id past i32");
    }
}
