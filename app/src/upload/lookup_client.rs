//! The look-up protocol of an upload preview: how a client learns what only the server knows
//! about a parsed file (which segments and users exist, and their memberships), in as few and as
//! small calls as the batch limits allow. It exists once, here, so the upload page and the load
//! tool (`tools/src/bin/load.rs`) ask the server the same questions in the same order, and what
//! the load tool measures is what the page does.
//!
//! The protocol, over the three look-up server functions in `api.rs`:
//! 1. `upload_segments`: the file's segment ID numbers, `LOOKUP_BATCH` at a time; each found
//!    segment comes with its member count and whether an enrolment method follows it.
//! 2. Existing memberships: none to learn when those segments are empty; when they hold at most
//!    `MEMBERSHIPS_WHOLE` members, and no more than the file has names, `upload_memberships`
//!    sends them whole in one call; otherwise they come user by user with step 3.
//! 3. `upload_users`: the file's distinct usernames (interned by the parse, in first-seen order),
//!    `LOOKUP_BATCH` a call as one text of a name per line, `LOOKUP_CONCURRENCY` calls in flight
//!    (a new call as each one ends), with the segments of step 2 when memberships come per user
//!    and stored details when an "existing user details" mode needs them. The answers are
//!    aligned with the names, so validation reaches a row's user by its index, not its name.
//!
//! How the calls travel is the caller's: a [`LookupTransport`] makes them (the page calls the
//! generated server functions, the load tool posts JSON and times each call). Nothing here needs
//! the server's dependencies, so it compiles into the browser's WebAssembly and into `ssr` alike.
use super::api::{LOOKUP_BATCH, LOOKUP_CONCURRENCY, MEMBERSHIPS_WHOLE};
use super::types::{SegmentFound, UserLookup};
use super::validate::Knowledge;
use super::{Parsed, UploadOptions};

/// Makes the three look-up calls; the arguments and answers are those of the server functions
/// `upload_segments`, `upload_memberships` and `upload_users`.
// No `Send` bound on the futures: the browser's are not `Send`. A caller that needs `Send` (the
// load tool spawns its workers on tokio) gets it from its concrete transport.
#[allow(async_fn_in_trait)]
pub trait LookupTransport {
    type Error;

    async fn segments(&self, id_numbers: Vec<String>) -> Result<Vec<SegmentFound>, Self::Error>;

    /// Every (segment id, user id) membership of these segments.
    async fn memberships(&self, segment_ids: Vec<i32>) -> Result<Vec<(i32, i32)>, Self::Error>;

    /// `usernames` travel as one text, a name per line (see `upload_users`).
    async fn users(
        &self,
        usernames: String,
        segment_ids: Vec<i32>,
        details: bool,
    ) -> Result<UserLookup, Self::Error>;
}

/// What the server knows about a file, as validation needs it.
#[derive(Debug, Default)]
pub struct LookedUp {
    pub known: Knowledge,
    /// The file's segments that an enrolment method follows (their sync effects are previewed).
    pub synced: Vec<i32>,
}

/// The batch limits of the protocol; the server enforces the same ones.
#[derive(Debug, Clone, Copy)]
struct Limits {
    batch: usize,
    memberships_whole: usize,
    concurrency: usize,
}

const SERVER_LIMITS: Limits = Limits {
    batch: LOOKUP_BATCH,
    memberships_whole: MEMBERSHIPS_WHOLE,
    concurrency: LOOKUP_CONCURRENCY,
};

/// Asks `transport` what the server knows about `parsed`'s names under `options` (which decide
/// whether stored details are needed). `progress(done, total)` is told first and as each user
/// batch is merged; `total` is the number of user batches.
pub async fn look_up<T: LookupTransport>(
    transport: &T,
    parsed: &Parsed,
    options: &UploadOptions,
    progress: impl Fn(usize, usize),
) -> Result<LookedUp, T::Error> {
    look_up_with(SERVER_LIMITS, transport, parsed, options, progress).await
}

async fn look_up_with<T: LookupTransport>(
    limits: Limits,
    transport: &T,
    parsed: &Parsed,
    options: &UploadOptions,
    progress: impl Fn(usize, usize),
) -> Result<LookedUp, T::Error> {
    let names: Vec<&str> = parsed.usernames().collect();
    let details = options.updates_details();
    let mut out = LookedUp::default();
    let mut members: i64 = 0;
    for chunk in parsed.segment_ids.chunks(limits.batch) {
        for found in transport.segments(chunk.to_vec()).await? {
            if found.automated {
                out.known.automated.insert(found.id);
            }
            out.known.segments.insert(found.id_number, found.id);
            members += found.members;
            if found.followed {
                out.synced.push(found.id);
            }
        }
    }
    let mut segment_ids: Vec<i32> = out.known.segments.values().copied().collect();
    // Existing memberships: none to learn for empty segments; small segments come whole in one
    // call; only segments larger than the file are asked about user by user.
    if members == 0 {
        segment_ids.clear();
    } else if members as usize <= limits.memberships_whole.min(names.len().max(1)) {
        out.known
            .memberships
            .extend(transport.memberships(segment_ids.clone()).await?);
        segment_ids.clear();
    }
    // The answers are gathered in the names' order, which is the order validation indexes them
    // by: no name is cloned into a map or hashed again.
    let mut answers = UserLookup::default();
    answers.ids.reserve(names.len());
    crate::bulk::in_batches(
        &names,
        limits.batch,
        limits.concurrency,
        progress,
        |b| transport.users(b.join("\n"), segment_ids.clone(), details),
        |b, reply| answers.append(reply, b.len()),
    )
    .await?;
    answers.add_to(&mut out.known);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upload::validate::KnownUsers;
    use crate::upload::{parse, validate, ExistingDetails, KnownUser, UploadType};
    use std::cell::RefCell;
    use std::collections::HashMap;

    /// A server in memory that records the calls it is asked.
    struct Fake {
        segments: Vec<SegmentFound>,
        users: HashMap<String, KnownUser>,
        members: Vec<(i32, i32)>,
        calls: RefCell<Vec<String>>,
    }

    impl LookupTransport for Fake {
        type Error = String;

        async fn segments(&self, ids: Vec<String>) -> Result<Vec<SegmentFound>, String> {
            self.calls
                .borrow_mut()
                .push(format!("segments {}", ids.len()));
            Ok(self
                .segments
                .iter()
                .filter(|s| ids.contains(&s.id_number))
                .cloned()
                .collect())
        }

        async fn memberships(&self, segment_ids: Vec<i32>) -> Result<Vec<(i32, i32)>, String> {
            self.calls
                .borrow_mut()
                .push(format!("memberships {}", segment_ids.len()));
            Ok(self
                .members
                .iter()
                .filter(|(s, _)| segment_ids.contains(s))
                .copied()
                .collect())
        }

        async fn users(
            &self,
            usernames: String,
            segment_ids: Vec<i32>,
            details: bool,
        ) -> Result<UserLookup, String> {
            let usernames: Vec<&str> = usernames.split('\n').collect();
            self.calls.borrow_mut().push(format!(
                "users {} segments {} details {details}",
                usernames.len(),
                segment_ids.len()
            ));
            let found: Vec<Option<&KnownUser>> =
                usernames.iter().map(|u| self.users.get(*u)).collect();
            Ok(UserLookup {
                ids: found.iter().map(|u| u.map_or(0, |u| u.id)).collect(),
                details: if details {
                    found
                        .iter()
                        .map(|u| {
                            u.map(|u| [u.firstname.clone(), u.lastname.clone(), u.email.clone()])
                                .unwrap_or_default()
                        })
                        .collect()
                } else {
                    vec![]
                },
                memberships: self
                    .members
                    .iter()
                    .filter(|(s, u)| {
                        segment_ids.contains(s) && found.iter().flatten().any(|k| k.id == *u)
                    })
                    .copied()
                    .collect(),
            })
        }
    }

    fn fake() -> Fake {
        let user = |id, name: &str| KnownUser {
            id,
            firstname: format!("F{id}"),
            lastname: String::new(),
            email: format!("{name}@example.com"),
        };
        let segment = |id_number: &str, id, members, followed| SegmentFound {
            id_number: id_number.into(),
            id,
            members,
            followed,
            automated: false,
        };
        Fake {
            segments: vec![segment("sales", 1, 2, true), segment("ops", 2, 1, false)],
            users: [(1, "alice"), (2, "bob"), (3, "carol")]
                .into_iter()
                .map(|(id, n)| (n.to_string(), user(id, n)))
                .collect(),
            members: vec![(1, 1), (1, 2), (2, 3)],
            calls: RefCell::new(vec![]),
        }
    }

    const FILE: &str = "username,cohort1,cohort2\nalice,sales,\nbob,ops,nope\nghost,sales,ops\ncarol,ops,\ndave,sales,\n";

    /// The knowledge the whole database gives, as the commit path sees it.
    fn everything(server: &Fake, parsed: &Parsed) -> Knowledge {
        let mut k = Knowledge::default();
        k.segments
            .extend(server.segments.iter().map(|s| (s.id_number.clone(), s.id)));
        k.users = KnownUsers::by_name(parsed, |name| server.users.get(name).cloned());
        k.memberships.extend(server.members.iter().copied());
        k
    }

    fn run(limits: Limits, options: UploadOptions) -> (LookedUp, Vec<String>, Vec<(usize, usize)>) {
        let server = fake();
        let parsed = parse(FILE.as_bytes(), options.delimiter, options.encoding).unwrap();
        let progress = RefCell::new(vec![]);
        let out = futures::executor::block_on(look_up_with(
            limits,
            &server,
            &parsed,
            &options,
            |done, total| progress.borrow_mut().push((done, total)),
        ))
        .unwrap();
        // Whatever route the memberships took, validation sees what the whole database says.
        let full = validate(&parsed, &options, &everything(&server, &parsed));
        let got = validate(&parsed, &options, &out.known);
        assert_eq!(got.summary, full.summary, "{limits:?} {options:?}");
        assert_eq!(got.outcomes, full.outcomes, "{limits:?} {options:?}");
        (out, server.calls.into_inner(), progress.into_inner())
    }

    #[test]
    fn small_segments_come_whole_and_users_in_one_batch() {
        let (out, calls, progress) = run(SERVER_LIMITS, UploadOptions::default());
        assert_eq!(out.synced, vec![1]);
        assert_eq!(
            calls,
            [
                "segments 3",
                "memberships 2",
                "users 5 segments 0 details false"
            ]
        );
        assert_eq!(progress, [(0, 1), (1, 1)]);
    }

    #[test]
    fn segments_larger_than_the_file_come_user_by_user_in_concurrent_batches() {
        let limits = Limits {
            batch: 2,
            memberships_whole: 2,
            concurrency: 2,
        };
        let options = UploadOptions {
            upload_type: UploadType::AddAndUpdate,
            existing_details: ExistingDetails::FillMissing,
            ..Default::default()
        };
        let (out, calls, progress) = run(limits, options);
        assert_eq!(out.known.users.found(), 3);
        assert_eq!(
            calls,
            [
                "segments 2",
                "segments 1",
                "users 2 segments 2 details true",
                "users 2 segments 2 details true",
                "users 1 segments 2 details true",
            ]
        );
        assert_eq!(progress, [(0, 3), (1, 3), (2, 3), (3, 3)]);
    }

    #[test]
    fn empty_segments_ask_for_no_memberships() {
        let mut server = fake();
        server.segments.iter_mut().for_each(|s| s.members = 0);
        server.members.clear();
        let options = UploadOptions::default();
        let parsed = parse(FILE.as_bytes(), options.delimiter, options.encoding).unwrap();
        let out =
            futures::executor::block_on(look_up(&server, &parsed, &options, |_, _| {})).unwrap();
        assert_eq!(out.known.segments.len(), 2);
        assert_eq!(
            server.calls.into_inner(),
            ["segments 3", "users 5 segments 0 details false"]
        );
    }
}
