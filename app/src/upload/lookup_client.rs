//! The look-up protocol of an upload preview: how a client learns what only the server knows
//! about a parsed file (which segments and users exist, and their memberships), in as few and as
//! small calls as the batch limits allow. It exists once, here, so the upload page and the load
//! tool (`tools/src/bin/load.rs`) ask the server the same questions in the same order, and what
//! the load tool measures is what the page does.
//!
//! The protocol, over the look-up server functions in `api.rs`:
//! 1. `upload_segments`: the file's segment ID numbers, `LOOKUP_BATCH` at a time; each found
//!    segment comes with its member count and whether an enrolment method follows it.
//! 2. Existing memberships: none to learn when those segments are empty; when they hold at most
//!    `MEMBERSHIPS_WHOLE` members, and no more than the file has names, `upload_memberships`
//!    sends them whole (`LOOKUP_BATCH` segments a call), in flight beside step 3's; otherwise
//!    they come user by user with step 3.
//! 3. `upload_users`: the file's distinct usernames (interned by the parse, in first-seen order),
//!    `LOOKUP_BATCH` a call as one text of a name per line, `LOOKUP_CONCURRENCY` calls in flight
//!    (a new call as each one ends), with the segments of step 2 when memberships come per user
//!    and stored details when an "existing user details" mode needs them. The answers are
//!    aligned with the names, so validation reaches a row's user by its index, not its name.
//!
//! A large file (`parse_and_look_up`) asks steps 1 and 2 for the segments each parse step meets,
//! then step 3 for that step's names while the next one parses, so per-user memberships travel
//! with the names. Only a segment first met after some names were asked needs another call: its
//! memberships for those names come by the users' ids (`upload_user_memberships`).
//!
//! Memberships travel as `types::Pairs` (grouped by segment, user ids delta-coded), not as JSON
//! pairs: a re-uploaded million-row file's answers were 11 MB.
//!
//! How the calls travel is the caller's: a [`LookupTransport`] makes them (the page calls the
//! generated server functions, the load tool posts each call in its wire form, JSON or postcard,
//! and times it). Nothing here needs the server's dependencies, so it compiles into the
//! browser's WebAssembly and into `ssr` alike.
use super::api::{LOOKUP_BATCH, LOOKUP_CONCURRENCY, MEMBERSHIPS_WHOLE};
use super::browser::now_ms;
use super::parse::{FileText, Parsing};
use super::types::{SegmentFound, UserLookup};
use super::validate::Knowledge;
use super::{FileError, Parsed, UploadOptions};
use futures::future::Either;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use std::future::Future;
use std::sync::Arc;
use std::task::Poll;

/// Makes the look-up calls; the arguments and answers are those of the server functions
/// `upload_segments`, `upload_memberships`, `upload_users` and `upload_user_memberships`.
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

    /// The (segment id, user id) memberships of these users in these segments.
    async fn user_memberships(
        &self,
        user_ids: Vec<i32>,
        segment_ids: Vec<i32>,
    ) -> Result<Vec<(i32, i32)>, Self::Error>;
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
    /// Rows parsed between two rounds of questions in `parse_and_look_up`.
    step_rows: usize,
}

const SERVER_LIMITS: Limits = Limits {
    batch: LOOKUP_BATCH,
    memberships_whole: MEMBERSHIPS_WHOLE,
    concurrency: LOOKUP_CONCURRENCY,
    step_rows: PARSE_STEP_ROWS,
};

/// Rows `parse_and_look_up` parses before it sends the names they brought and lets the browser
/// run (deliver answers, send questions, paint): 15-20 ms of the page's thread on the bench's
/// 2-core machine. Each stage of an answer (its headers, its body, its decoding) waits for the
/// step under way to end, so longer steps held the answers back (100,000 rows: 0.2-0.4 s after
/// they had come).
pub const PARSE_STEP_ROWS: usize = 20_000;

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
    let mut out = LookedUp::default();
    let names = parsed.usernames().len();
    let mut whole = limits.memberships_whole;
    let (batch, ids) = (limits.batch, &parsed.segment_ids);
    let learnt = learn_segments(transport, batch, ids, names, &mut whole, &mut out).await?;
    let (members, answers) = futures::future::try_join(
        whole_memberships(transport, batch, learnt.whole),
        users(
            limits,
            transport,
            parsed,
            learnt.per_user,
            options,
            progress,
        ),
    )
    .await?;
    answers.add_to(&mut out.known);
    out.known.memberships.extend(members);
    Ok(out)
}

/// How a step's segments' existing memberships are to be learnt (step 2).
#[derive(Debug, Default)]
struct Learnt {
    /// Segments whose memberships come whole, in `memberships` calls of a batch of segments.
    whole: Vec<i32>,
    /// Segments whose memberships come user by user, with the names' calls.
    per_user: Vec<i32>,
}

/// Steps 1 and 2, for these segment ID numbers (a whole file's, or those a parse step met
/// first): records what comes back in `out` and decides how their memberships are learnt:
/// whole when they hold no more than `whole` members in all (what is left of
/// `memberships_whole`, which deciding to fetch uses up) and no more than `names` (the file's
/// names: asking user by user costs a read per name and per membership found, a whole read a
/// cheaper one per member); else user by user; not at all when they are empty. The whole call
/// is the caller's to make, so it travels beside the names' calls instead of holding them up.
async fn learn_segments<T: LookupTransport>(
    transport: &T,
    batch: usize,
    id_numbers: &[String],
    names: usize,
    whole: &mut usize,
    out: &mut LookedUp,
) -> Result<Learnt, T::Error> {
    let mut members: i64 = 0;
    let mut segment_ids = Vec::new();
    for chunk in id_numbers.chunks(batch) {
        for found in transport.segments(chunk.to_vec()).await? {
            if found.automated {
                out.known.automated.insert(found.id);
            }
            out.known.segments.insert(found.id_number, found.id);
            segment_ids.push(found.id);
            members += found.members;
            if found.followed {
                out.synced.push(found.id);
            }
        }
    }
    segment_ids.sort_unstable();
    segment_ids.dedup();
    // Existing memberships: none to learn for empty segments; small segments come whole; only
    // segments larger than the file are asked about user by user.
    if members == 0 {
        Ok(Learnt::default())
    } else if members as usize <= (*whole).min(names.max(1)) {
        *whole -= members as usize;
        Ok(Learnt {
            whole: segment_ids,
            per_user: vec![],
        })
    } else {
        Ok(Learnt {
            whole: vec![],
            per_user: segment_ids,
        })
    }
}

/// The memberships of segments learnt whole, `batch` segments a call (none to ask about when
/// there are none).
async fn whole_memberships<T: LookupTransport>(
    transport: &T,
    batch: usize,
    segment_ids: Vec<i32>,
) -> Result<Vec<(i32, i32)>, T::Error> {
    let mut pairs = Vec::new();
    for ids in segment_ids.chunks(batch) {
        pairs.extend(transport.memberships(ids.to_vec()).await?);
    }
    Ok(pairs)
}

/// Step 3: every distinct username, with memberships in `segment_ids`.
async fn users<T: LookupTransport>(
    limits: Limits,
    transport: &T,
    parsed: &Parsed,
    segment_ids: Vec<i32>,
    options: &UploadOptions,
    progress: impl Fn(usize, usize),
) -> Result<UserLookup, T::Error> {
    let names: Vec<&str> = parsed.usernames().collect();
    let details = options.updates_details();
    // The answers are gathered in the names' order, which is the order validation indexes them
    // by: no name is cloned into a map or hashed again.
    let mut answers = UserLookup::default();
    answers.ids.reserve(names.len());
    crate::bulk::in_batches(
        &names,
        limits.batch,
        limits.concurrency,
        progress,
        |b| transport.users(join_lines(b.iter().copied()), segment_ids.clone(), details),
        |b, reply| answers.append(reply, b.len()),
    )
    .await?;
    Ok(answers)
}

/// Why a preview could not be made: the file itself, or a failed question.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PreviewError<E: std::fmt::Display> {
    #[error("{0}")]
    File(#[from] FileError),
    #[error("{0}")]
    Server(E),
    /// `pause` said not to go on (the page has begun a newer preview).
    #[error("A newer preview replaced this one.")]
    Superseded,
    /// The rest of a file being read could not be read.
    #[error("{0}")]
    Unreadable(String),
}

/// A file to preview: whole, or its first part while the rest is still being read. The head is
/// parsed (and its names asked about) while the browser reads the rest, which `rest` gives as
/// the whole file once read, or why it could not be read.
pub enum Source<'b, R> {
    Whole(&'b [u8]),
    Reading {
        head: &'b [u8],
        size: usize,
        rest: R,
    },
}

/// What `Source::Reading::rest` gives.
pub type WholeFile = Result<Arc<Vec<u8>>, String>;

impl<'b> Source<'b, NoRest> {
    pub fn whole(bytes: &'b [u8]) -> Self {
        Source::Whole(bytes)
    }
}

/// The rest of a file already whole: it has no value, so a `Source<NoRest>` is always
/// `Source::Whole`, and the parse of one can never be begun afresh (its `Afresh` holds one).
pub enum NoRest {}

impl Future for NoRest {
    type Output = WholeFile;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<WholeFile> {
        match *self {}
    }
}

/// What `parse_and_look_up` gives: the parsed file, what the server knows about it, and the
/// time spent parsing (the rest of its time the page waited for answers).
pub struct Previewed {
    pub parsed: Parsed,
    pub looked_up: LookedUp,
    pub parse_ms: f64,
}

/// Parses `bytes` in steps of `PARSE_STEP_ROWS` rows and asks about each step's new usernames
/// while the next step parses, so the server answers on its own core instead of after the parse
/// (the look-ups were most of a large file's preview). Between steps `pause` lets the browser
/// run, and answers whether to go on (a preview the page has replaced stops within a step); the
/// answers that come meanwhile are taken in as they come.
/// The segments each step meets are asked about before that step's names, so the names' calls
/// carry the per-user memberships (those that come whole travel beside them); a segment met
/// only after some names were asked has its memberships for those names asked by user id
/// (`upload_user_memberships`) at the end. A file of one step is parsed and then asked about
/// exactly as `look_up` does.
///
/// A file still being read (`Source::Reading`) is parsed from its head when the head can be
/// read alone (`FileText::head`), and the parse goes on in the whole file once it is read
/// (`Parsing::resume`); if the whole file does not read as its head did (quotes or another
/// encoding in the rest), everything is dropped and the whole file is previewed afresh.
pub async fn parse_and_look_up<T, F, R>(
    transport: &T,
    source: Source<'_, R>,
    options: &UploadOptions,
    progress: impl Fn(usize, usize),
    pause: impl Fn() -> F,
) -> Result<Previewed, PreviewError<T::Error>>
where
    T: LookupTransport,
    T::Error: std::fmt::Display,
    F: Future<Output = bool>,
    R: Future<Output = WholeFile>,
{
    parse_and_look_up_with(SERVER_LIMITS, transport, source, options, progress, pause).await
}

async fn parse_and_look_up_with<T, F, R>(
    limits: Limits,
    transport: &T,
    source: Source<'_, R>,
    options: &UploadOptions,
    progress: impl Fn(usize, usize),
    pause: impl Fn() -> F,
) -> Result<Previewed, PreviewError<T::Error>>
where
    T: LookupTransport,
    T::Error: std::fmt::Display,
    F: Future<Output = bool>,
    R: Future<Output = WholeFile>,
{
    let stepped = parse_in_steps(limits, transport, source, options, &progress, &pause).await?;
    match stepped {
        Ok(previewed) => Ok(previewed),
        Err(Afresh {
            bytes, parse_ms, ..
        }) => {
            let whole = Source::whole(&bytes);
            let stepped = parse_in_steps(limits, transport, whole, options, &progress, &pause);
            match stepped.await? {
                Ok(mut previewed) => {
                    previewed.parse_ms += parse_ms;
                    Ok(previewed)
                }
                Err(Afresh { rest, .. }) => match *rest {},
            }
        }
    }
}

/// A head whose parse was dropped: the whole file, to preview afresh, the time spent parsing
/// the head, and the rest that read it. Only a head has a rest: a `NoRest` cannot be made, so
/// a whole file's parse is never begun afresh, and the compiler knows it.
struct Afresh<R> {
    bytes: Arc<Vec<u8>>,
    parse_ms: f64,
    rest: std::pin::Pin<Box<R>>,
}

/// The whole file's bytes and text, once read, for a parse begun on its head.
type Whole<'t> = (
    std::cell::OnceCell<Arc<Vec<u8>>>,
    std::cell::OnceCell<Result<FileText<'t>, FileError>>,
);

/// One parse step of up to `rows` rows (its time added to `parse_ms`): whether more remain. At
/// a head's end (or a head whose parse failed) the whole file, once `rest` has read it, takes
/// its place: `Afresh` when it does not read as its head did, and its parse must begin afresh.
async fn step_in<'t, R, E>(
    parsing: &mut Parsing<'t>,
    rows: usize,
    rest: &mut Option<std::pin::Pin<Box<R>>>,
    whole: &'t Whole<'t>,
    encoding: crate::upload::EncodingChoice,
    parse_ms: &mut f64,
) -> Result<Result<bool, Afresh<R>>, PreviewError<E>>
where
    R: Future<Output = WholeFile>,
    E: std::fmt::Display,
{
    let t = now_ms();
    let stepped = parsing.step(rows);
    *parse_ms += now_ms() - t;
    let Some(mut reading) = rest.take_if(|_| !matches!(stepped, Ok(true))) else {
        return Ok(Ok(stepped?));
    };
    let bytes = (&mut reading).await.map_err(PreviewError::Unreadable)?;
    let bytes = whole.0.get_or_init(|| bytes);
    let text = whole.1.get_or_init(|| FileText::new(bytes, encoding));
    let text = text.as_ref().map_err(Clone::clone)?;
    Ok(match stepped.is_ok() && parsing.resume(text) {
        true => Ok(true),
        false => Err(Afresh {
            bytes: Arc::clone(bytes),
            parse_ms: *parse_ms,
            rest: reading,
        }),
    })
}

/// The steps of `parse_and_look_up` over `source`: the preview, or `Afresh` when a head's parse
/// was dropped (never for a whole file).
async fn parse_in_steps<T, F, R>(
    limits: Limits,
    transport: &T,
    source: Source<'_, R>,
    options: &UploadOptions,
    progress: impl Fn(usize, usize),
    pause: impl Fn() -> F,
) -> Result<Result<Previewed, Afresh<R>>, PreviewError<T::Error>>
where
    T: LookupTransport,
    T::Error: std::fmt::Display,
    F: Future<Output = bool>,
    R: Future<Output = WholeFile>,
{
    let server = PreviewError::Server;
    // The text parsed: a head's (while the rest is read) or the whole file's.
    let whole_file: Whole = Default::default();
    let (text, mut rest) = match source {
        Source::Whole(bytes) => (FileText::new(bytes, options.encoding)?, None),
        Source::Reading { head, size, rest } => {
            match FileText::head(head, size, options.encoding) {
                Some(text) => (text, Some(Box::pin(rest))),
                None => {
                    let bytes = rest.await.map_err(PreviewError::Unreadable)?;
                    let bytes = whole_file.0.get_or_init(|| bytes);
                    (FileText::new(bytes, options.encoding)?, None)
                }
            }
        }
    };
    let mut parsing = Parsing::new(&text, options.delimiter);
    let mut parse_ms = 0.0;
    let encoding = options.encoding;
    let rows = limits.step_rows;
    let mut more = match step_in(
        &mut parsing,
        rows,
        &mut rest,
        &whole_file,
        encoding,
        &mut parse_ms,
    )
    .await?
    {
        Ok(more) => more,
        Err(afresh) => return Ok(Err(afresh)),
    };
    if !more {
        let parsed = parsing.finish()?;
        let looked_up = look_up_with(limits, transport, &parsed, options, progress)
            .await
            .map_err(server)?;
        return Ok(Ok(Previewed {
            parsed,
            looked_up,
            parse_ms,
        }));
    }
    let details = options.updates_details();
    let mut looked_up = LookedUp::default();
    // Segments are asked about as the parse meets them, before the names that follow, so the
    // names' calls carry the memberships of `per_user` (segments larger than the file) and no
    // second round is needed after the parse. A segment first met after some names were asked
    // is `late`: those names' memberships in it are asked by user id at the end.
    let (mut segments_asked, mut per_user) = (0, Vec::<i32>::new());
    let mut late: Vec<(usize, Vec<i32>)> = Vec::new();
    let mut whole = limits.memberships_whole;
    let lines = parsing.lines_hint();
    // The names' calls and the whole memberships' calls, in flight together and taken in as
    // they come (see `Gathered`); only the names' calls count against `concurrency`.
    let mut in_flight = FuturesUnordered::new();
    let mut gathered = Gathered::default();
    let (mut asked, mut calls) = (0, 0);
    progress(0, 0);
    let take = |gathered: &mut Gathered, answer: Answer<T::Error>, calls| {
        if gathered.take(answer).map_err(server)? {
            progress(gathered.done, calls);
        }
        Ok::<_, PreviewError<T::Error>>(())
    };
    loop {
        let so_far = parsing.so_far();
        if so_far.segment_ids.len() > segments_asked {
            let new = &so_far.segment_ids[segments_asked..];
            // The whole file's names, estimated from the part read so far.
            let names = so_far.usernames().len();
            let rows = so_far.rows.len().max(1) as u64;
            let names = names.max((names as u64 * lines as u64 / rows) as usize);
            let Learnt {
                whole: more_whole,
                per_user: more_per_user,
            } = learn_segments(
                transport,
                limits.batch,
                new,
                names,
                &mut whole,
                &mut looked_up,
            )
            .await
            .map_err(server)?;
            segments_asked = so_far.segment_ids.len();
            for ids in more_whole.chunks(limits.batch) {
                in_flight.push(Either::Left(
                    transport.memberships(ids.to_vec()).map(Answer::Members),
                ));
            }
            if !more_per_user.is_empty() {
                if asked > 0 {
                    late.push((asked, more_per_user.clone()));
                }
                per_user.extend(more_per_user);
            }
        }
        // Ask about the names read so far, whole batches while the parse goes on, keeping at
        // most `concurrency` names' calls out.
        let seen = so_far.usernames().len();
        while calls - gathered.answered() < limits.concurrency
            && (seen - asked >= limits.batch || (!more && seen > asked))
        {
            let n = (seen - asked).min(limits.batch);
            let text = join_lines(so_far.usernames_in(asked..asked + n));
            let call = calls;
            in_flight.push(Either::Right(
                transport
                    .users(text, per_user.clone(), details)
                    .map(move |r| Answer::Users(call, n, r)),
            ));
            (asked, calls) = (asked + n, calls + 1);
        }
        if more {
            // Polling sends the new calls' requests and takes in the answers that have come.
            while let Poll::Ready(Some(reply)) = futures::poll!(in_flight.next()) {
                take(&mut gathered, reply, calls)?;
            }
            // The answers that come while the browser runs are taken in as they come, so the
            // next stage of each call starts then, not after the next step.
            let paused = pause();
            futures::pin_mut!(paused);
            let go_on = loop {
                if in_flight.is_empty() {
                    break paused.await;
                }
                match futures::future::select(paused.as_mut(), in_flight.next()).await {
                    Either::Left((go_on, _)) => break go_on,
                    Either::Right((Some(reply), _)) => take(&mut gathered, reply, calls)?,
                    // Not empty, so `next` gives an answer or waits.
                    Either::Right((None, _)) => {}
                }
            };
            if !go_on {
                return Err(PreviewError::Superseded);
            }
            // An answer ready on the same wake as the pause's end.
            while let Poll::Ready(Some(reply)) = futures::poll!(in_flight.next()) {
                take(&mut gathered, reply, calls)?;
            }
            let stepped = step_in(
                &mut parsing,
                rows,
                &mut rest,
                &whole_file,
                encoding,
                &mut parse_ms,
            );
            more = match stepped.await? {
                Ok(more) => more,
                Err(afresh) => return Ok(Err(afresh)),
            };
            continue;
        }
        match in_flight.next().await {
            Some(reply) => take(&mut gathered, reply, calls)?,
            None => break,
        }
    }
    let parsed = parsing.finish()?;
    let Gathered {
        answers,
        whole_pairs,
        ..
    } = gathered;
    // The names asked before the first late segment need every late segment; those between the
    // first and the second, all but the first; and so on: each name is asked about once.
    let mut start = 0;
    for (i, &(before, _)) in late.iter().enumerate() {
        let segments: Vec<i32> = late[i..].iter().flat_map(|l| l.1.iter().copied()).collect();
        let known: Vec<i32> = answers.ids[start..before]
            .iter()
            .copied()
            .filter(|&id| id != 0)
            .collect();
        start = before;
        let memberships = &mut looked_up.known.memberships;
        crate::bulk::in_batches(
            &known,
            limits.batch,
            limits.concurrency,
            &progress,
            |ids| transport.user_memberships(ids.to_vec(), segments.clone()),
            |_, pairs| memberships.extend(pairs),
        )
        .await
        .map_err(server)?;
    }
    answers.add_to(&mut looked_up.known);
    looked_up.known.memberships.extend(whole_pairs);
    Ok(Ok(Previewed {
        parsed,
        looked_up,
        parse_ms,
    }))
}

/// A call of a stepped preview as it comes back: the answer of names' call number `call`
/// about `n` names, or the memberships of segments learnt whole.
enum Answer<E> {
    Users(usize, usize, Result<UserLookup, E>),
    Members(Result<Vec<(i32, i32)>, E>),
}

/// What a stepped preview's calls have answered, taken in as the answers come, in any order: a
/// names' answer that comes before an earlier call's waits in `early`, since the ids are
/// appended in the names' order. (Taken in call order, a finished answer waited behind a slower
/// one, the whole memberships' call most of all, and its place for the next call with it.)
#[derive(Default)]
struct Gathered {
    answers: UserLookup,
    /// Call number to (names asked, answer).
    early: std::collections::BTreeMap<usize, (usize, UserLookup)>,
    /// Names' calls appended: the next to append is call number `done`.
    done: usize,
    whole_pairs: Vec<(i32, i32)>,
}

impl Gathered {
    /// Names' calls answered so far, appended or waiting.
    fn answered(&self) -> usize {
        self.done + self.early.len()
    }

    /// Takes an answer in; true when names' answers were appended.
    fn take<E>(&mut self, answer: Answer<E>) -> Result<bool, E> {
        match answer {
            Answer::Users(call, n, reply) => {
                self.early.insert(call, (n, reply?));
                let before = self.done;
                while let Some((n, reply)) = self.early.remove(&self.done) {
                    self.answers.append(reply, n);
                    self.done += 1;
                }
                Ok(self.done > before)
            }
            Answer::Members(pairs) => {
                self.whole_pairs.extend(pairs?);
                Ok(false)
            }
        }
    }
}

/// Names as one text, a name per line (`upload_users`' question).
fn join_lines<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut text = String::new();
    for (i, name) in names.enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(name);
    }
    text
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
        /// Answers a whole memberships call only once a users call has been made (or after
        /// 100 polls without one), and records it when it answers.
        hold_whole: bool,
        /// Answers the first users call only once a third has been made (or after 100 polls),
        /// and records when it answers.
        slow_first_users: bool,
        /// Polls each users call waits before it answers (an answer in stages, as over a
        /// network).
        users_polls: usize,
        /// Users calls made so far, out now, and most out at once.
        users_made: std::cell::Cell<usize>,
        users_out: std::cell::Cell<usize>,
        users_out_max: std::cell::Cell<usize>,
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
            if self.hold_whole {
                until(|| self.calls.borrow().iter().any(|c| c.starts_with("users"))).await;
            }
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
            let number = self.users_made.replace(self.users_made.get() + 1);
            self.users_out.set(self.users_out.get() + 1);
            self.users_out_max
                .set(self.users_out_max.get().max(self.users_out.get()));
            let mut polls = 0;
            until(|| {
                polls += 1;
                polls > self.users_polls
            })
            .await;
            if self.slow_first_users && number == 0 {
                until(|| self.users_made.get() >= 3).await;
                self.calls.borrow_mut().push("first users answered".into());
            }
            self.users_out.set(self.users_out.get() - 1);
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

        async fn user_memberships(
            &self,
            user_ids: Vec<i32>,
            segment_ids: Vec<i32>,
        ) -> Result<Vec<(i32, i32)>, String> {
            self.calls.borrow_mut().push(format!(
                "user memberships {} segments {}",
                user_ids.len(),
                segment_ids.len()
            ));
            Ok(self
                .members
                .iter()
                .filter(|(s, u)| segment_ids.contains(s) && user_ids.contains(u))
                .copied()
                .collect())
        }
    }

    /// Ready once `done` holds, or after 100 polls without it (so a call held for something
    /// that never comes answers anyway, out of order, and the test's expected calls fail
    /// instead of hanging).
    async fn until(mut done: impl FnMut() -> bool) {
        let mut polls = 0;
        futures::future::poll_fn(|cx| {
            polls += 1;
            if done() || polls > 100 {
                return Poll::Ready(());
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        })
        .await
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
            hold_whole: false,
            slow_first_users: false,
            users_polls: 0,
            users_made: Default::default(),
            users_out: Default::default(),
            users_out_max: Default::default(),
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
            step_rows: 2,
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
    fn segments_learnt_whole_are_asked_a_batch_at_a_time() {
        // The server refuses more than a batch of segments a call: two segments, one a batch,
        // make two whole calls, in one step and in several.
        let limits = Limits {
            batch: 1,
            memberships_whole: 250_000,
            concurrency: 2,
            step_rows: 100,
        };
        let whole_calls = |calls: &[String]| {
            let whole: Vec<&String> = calls.iter().filter(|c| c.starts_with("memb")).collect();
            assert_eq!(whole, ["memberships 1", "memberships 1"], "{calls:?}");
        };
        let (_, calls, _) = run(limits, UploadOptions::default());
        whole_calls(&calls);
        let stepped = Limits {
            step_rows: 2,
            ..limits
        };
        let (_, calls, _) = run_in_steps(stepped, UploadOptions::default(), &fake());
        whole_calls(&calls);
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

    /// `parse_and_look_up` with small limits over FILE; returns what `run` returns.
    fn run_in_steps(
        limits: Limits,
        options: UploadOptions,
        server: &Fake,
    ) -> (Previewed, Vec<String>, Vec<(usize, usize)>) {
        let progress = RefCell::new(vec![]);
        let out = futures::executor::block_on(parse_and_look_up_with(
            limits,
            server,
            Source::whole(FILE.as_bytes()),
            &options,
            |done, total| progress.borrow_mut().push((done, total)),
            || async { true },
        ))
        .unwrap();
        let parsed = parse(FILE.as_bytes(), options.delimiter, options.encoding).unwrap();
        assert_eq!(out.parsed, parsed, "the steps read what one parse reads");
        let full = validate(&parsed, &options, &everything(server, &parsed));
        let got = validate(&out.parsed, &options, &out.looked_up.known);
        assert_eq!(got.summary, full.summary, "{limits:?} {options:?}");
        assert_eq!(got.outcomes, full.outcomes, "{limits:?} {options:?}");
        (out, server.calls.take(), progress.into_inner())
    }

    const STEPS: Limits = Limits {
        batch: 2,
        memberships_whole: 250_000,
        concurrency: 2,
        step_rows: 2,
    };

    /// `parse_and_look_up` over `file` when its first `cut` bytes come before the rest; the
    /// server's log says "rest" where the preview first waited for the rest.
    fn run_reading(
        file: &str,
        cut: usize,
        rest: WholeFile,
        server: &Fake,
    ) -> Result<Previewed, PreviewError<String>> {
        let reading = Source::Reading {
            head: &file.as_bytes()[..cut],
            size: file.len(),
            rest: async {
                server.calls.borrow_mut().push("rest".into());
                rest
            },
        };
        futures::executor::block_on(parse_and_look_up_with(
            STEPS,
            server,
            reading,
            &UploadOptions::default(),
            |_, _| {},
            || async { true },
        ))
    }

    #[test]
    fn a_file_still_being_read_is_previewed_as_the_whole_file_is() {
        let whole = || Ok(Arc::new(FILE.as_bytes().to_vec()));
        let want = futures::executor::block_on(parse_and_look_up_with(
            STEPS,
            &fake(),
            Source::whole(FILE.as_bytes()),
            &UploadOptions::default(),
            |_, _| {},
            || async { true },
        ))
        .unwrap();
        let options = UploadOptions::default();
        let summary = |p: &Previewed| validate(&p.parsed, &options, &p.looked_up.known).summary;
        for cut in 0..=FILE.len() {
            let server = fake();
            let got = run_reading(FILE, cut, whole(), &server).unwrap();
            assert_eq!(got.parsed, want.parsed, "cut at {cut}");
            assert_eq!(summary(&got), summary(&want), "cut at {cut}");
            // A head of the header and two rows (a step) is asked about before the rest.
            let calls = server.calls.into_inner();
            let before = calls.iter().position(|c| c == "rest").unwrap();
            let asked_ahead = calls[..before].iter().any(|c| c.starts_with("segments"));
            assert_eq!(
                asked_ahead,
                cut >= FILE.find("ghost").unwrap(),
                "cut at {cut}: {calls:?}"
            );
        }
        // Quotes in the rest: the head's parse is dropped and the whole file read afresh.
        let quoted = FILE.replace("dave", "\"dave\"");
        let cut = FILE.find("carol").unwrap();
        let got = run_reading(
            &quoted,
            cut,
            Ok(Arc::new(quoted.clone().into_bytes())),
            &fake(),
        );
        let got = got.unwrap();
        assert_eq!(
            got.parsed,
            parse(quoted.as_bytes(), options.delimiter, options.encoding).unwrap()
        );
        assert_eq!(summary(&got), summary(&want));
        // A rest that cannot be read, or that makes the whole file an error.
        let unreadable = Err("The browser could not read the file.".into());
        let unreadable = run_reading(FILE, cut, unreadable, &fake());
        assert!(
            matches!(unreadable, Err(PreviewError::Unreadable(m)) if m.contains("could not read"))
        );
        let nul = FILE.replace("dave", "da\0ve");
        let refused = run_reading(&nul, cut, Ok(Arc::new(nul.clone().into_bytes())), &fake());
        assert!(matches!(
            refused,
            Err(PreviewError::File(FileError::NulByte { line: 6 }))
        ));
    }

    #[test]
    fn a_file_of_several_steps_is_asked_about_while_it_parses() {
        let options = UploadOptions {
            upload_type: UploadType::AddAndUpdate,
            existing_details: ExistingDetails::FillMissing,
            ..Default::default()
        };
        // Three rows a step: the first step's three names outnumber its segments' three members.
        let limits = Limits {
            step_rows: 3,
            ..STEPS
        };
        let (out, calls, progress) = run_in_steps(limits, options, &fake());
        assert_eq!(out.looked_up.synced, vec![1]);
        // The first step's segments first (small, so their memberships come whole), then the
        // users in batches as the rows come; the second step brings no new segment.
        assert_eq!(
            calls,
            [
                "segments 2",
                "segments 1",
                "memberships 2",
                "users 2 segments 0 details true",
                "users 2 segments 0 details true",
                "users 1 segments 0 details true",
            ]
        );
        assert_eq!(progress.first(), Some(&(0, 0)));
        assert_eq!(progress.last(), Some(&(3, 3)));
    }

    #[test]
    fn whole_memberships_travel_beside_the_names_calls() {
        // A slow whole answer no longer holds up the names: their calls go out while it is on
        // its way (with the call awaited first, it would answer alone, before any name).
        let server = Fake {
            hold_whole: true,
            ..fake()
        };
        let (_, calls, _) = run_in_steps(STEPS, UploadOptions::default(), &server);
        assert_eq!(
            calls,
            [
                "segments 2",
                "segments 1",
                "users 2 segments 0 details false",
                "memberships 2",
                "users 2 segments 0 details false",
                "users 1 segments 0 details false",
            ]
        );
        // The same in one step (`look_up`).
        let options = UploadOptions::default();
        let parsed = parse(FILE.as_bytes(), options.delimiter, options.encoding).unwrap();
        let out =
            futures::executor::block_on(look_up(&server, &parsed, &options, |_, _| {})).unwrap();
        assert_eq!(
            server.calls.take(),
            [
                "segments 3",
                "users 5 segments 0 details false",
                "memberships 2"
            ]
        );
        let full = validate(&parsed, &options, &everything(&server, &parsed));
        assert_eq!(
            validate(&parsed, &options, &out.known).outcomes,
            full.outcomes
        );
    }

    #[test]
    fn a_slow_answer_holds_no_place_and_the_names_stay_in_order() {
        // The first of three names' calls answers last: the two after it are answered first and
        // the third goes out meanwhile (two calls out at most), and the ids still land on their
        // names (`run_in_steps` validates against the whole database).
        let server = Fake {
            slow_first_users: true,
            ..fake()
        };
        let (out, calls, progress) = run_in_steps(STEPS, UploadOptions::default(), &server);
        assert_eq!(
            calls,
            [
                "segments 2",
                "segments 1",
                "memberships 2",
                "users 2 segments 0 details false",
                "users 2 segments 0 details false",
                "users 1 segments 0 details false",
                "first users answered",
            ]
        );
        assert_eq!(server.users_out_max.get(), 2, "STEPS' concurrency");
        assert_eq!(out.looked_up.known.users.found(), 3);
        assert_eq!(progress.last(), Some(&(3, 3)));
    }

    #[test]
    fn answers_are_taken_in_while_the_browser_runs() {
        // Each users call answers a few polls after it is made, and each pause lasts until an
        // answer is taken in (or 100 polls). The answers must be taken in during the pause that
        // follows their call, not after the next parse step (each stage of a real answer then
        // waited for a step to end).
        let server = Fake {
            users_polls: 3,
            ..fake()
        };
        let events = RefCell::new(Vec::<String>::new());
        let log = &events;
        let taken = move || {
            log.borrow()
                .iter()
                .filter(|e| e.starts_with("taken"))
                .count()
        };
        let out = futures::executor::block_on(parse_and_look_up_with(
            Limits {
                concurrency: 1,
                ..STEPS
            },
            &server,
            Source::whole(FILE.as_bytes()),
            &UploadOptions::default(),
            |done, _| {
                if done > 0 {
                    log.borrow_mut().push(format!("taken {done}"));
                }
            },
            || {
                let before = taken();
                async move {
                    until(|| taken() > before).await;
                    log.borrow_mut().push("pause ended".into());
                    true
                }
            },
        ))
        .unwrap();
        assert_eq!(out.looked_up.known.users.found(), 3);
        // Two rows a step: a call for the first two names, one for the next two; the fifth
        // name goes after the parse.
        assert_eq!(
            events.into_inner(),
            [
                "taken 1",
                "pause ended",
                "taken 2",
                "pause ended",
                "taken 3"
            ]
        );
    }

    #[test]
    fn a_failed_whole_call_ends_a_stepped_preview() {
        struct NoWhole(Fake);
        impl LookupTransport for NoWhole {
            type Error = String;
            async fn segments(&self, ids: Vec<String>) -> Result<Vec<SegmentFound>, String> {
                self.0.segments(ids).await
            }
            async fn memberships(&self, _: Vec<i32>) -> Result<Vec<(i32, i32)>, String> {
                Err("whole down".into())
            }
            async fn users(&self, u: String, s: Vec<i32>, d: bool) -> Result<UserLookup, String> {
                self.0.users(u, s, d).await
            }
            async fn user_memberships(
                &self,
                u: Vec<i32>,
                s: Vec<i32>,
            ) -> Result<Vec<(i32, i32)>, String> {
                self.0.user_memberships(u, s).await
            }
        }
        let out = futures::executor::block_on(parse_and_look_up_with(
            STEPS,
            &NoWhole(fake()),
            Source::whole(FILE.as_bytes()),
            &UploadOptions::default(),
            |_, _| {},
            || async { true },
        ));
        assert!(matches!(out, Err(PreviewError::Server(e)) if e == "whole down"));
    }

    #[test]
    fn per_user_memberships_of_a_stepped_parse_come_with_the_users() {
        let limits = Limits {
            memberships_whole: 1,
            ..STEPS
        };
        let (_, calls, _) = run_in_steps(limits, UploadOptions::default(), &fake());
        assert_eq!(
            calls,
            [
                "segments 2",
                "segments 1",
                // Segments larger than the file so far: each users call carries them.
                "users 2 segments 2 details false",
                "users 2 segments 2 details false",
                "users 1 segments 2 details false",
            ]
        );
    }

    #[test]
    fn segments_first_met_in_later_steps_are_asked_by_id_for_the_names_before_them() {
        let limits = Limits {
            memberships_whole: 0,
            ..STEPS
        };
        // `ops` first appears in the second step and `hr` in the third, both after alice and
        // bob were asked about; bob's membership in ops and alice's in hr must still be known,
        // and alice and bob are asked about once, for both segments.
        let file =
            "username,cohort1\nalice,sales\nbob,sales\nghost,\nbob,ops\ncarol,ops\nalice,hr\n";
        let mut server = fake();
        server.segments.push(SegmentFound {
            id_number: "hr".into(),
            id: 3,
            members: 1,
            followed: false,
            automated: false,
        });
        server.members.extend([(2, 2), (3, 1)]);
        let options = UploadOptions::default();
        let out = futures::executor::block_on(parse_and_look_up_with(
            limits,
            &server,
            Source::whole(file.as_bytes()),
            &options,
            |_, _| {},
            || async { true },
        ))
        .unwrap();
        let full = validate(&out.parsed, &options, &everything(&server, &out.parsed));
        let got = validate(&out.parsed, &options, &out.looked_up.known);
        assert_eq!(got.outcomes, full.outcomes);
        assert_eq!(got.summary, full.summary);
        assert_eq!(got.summary.already_members, 5, "sales 2, ops 2, hr 1");
        assert_eq!(
            server.calls.into_inner(),
            [
                "segments 1",
                "users 2 segments 1 details false",
                "segments 1",
                "segments 1",
                "users 2 segments 3 details false",
                // alice and bob, asked before ops and hr were known, both found.
                "user memberships 2 segments 2",
            ]
        );
    }

    #[test]
    fn a_file_of_one_step_takes_look_ups_way() {
        let limits = Limits {
            step_rows: 100,
            ..STEPS
        };
        let (_, calls, _) = run_in_steps(limits, UploadOptions::default(), &fake());
        assert_eq!(
            calls,
            [
                "segments 2",
                "segments 1",
                "memberships 2",
                "users 2 segments 0 details false",
                "users 2 segments 0 details false",
                "users 1 segments 0 details false",
            ]
        );
    }

    #[test]
    fn a_file_error_and_a_server_error_end_a_stepped_preview() {
        let server = fake();
        let bad = futures::executor::block_on(parse_and_look_up_with(
            STEPS,
            &server,
            Source::whole(b"username,cohort1\na,s\nb,s\nc,s\n\"d,s\n"),
            &UploadOptions::default(),
            |_, _| {},
            || async { true },
        ));
        assert!(matches!(
            bad,
            Err(PreviewError::File(FileError::UnterminatedQuote { line: 5 }))
        ));
        struct Down;
        impl LookupTransport for Down {
            type Error = String;
            async fn segments(&self, _: Vec<String>) -> Result<Vec<SegmentFound>, String> {
                Ok(vec![])
            }
            async fn memberships(&self, _: Vec<i32>) -> Result<Vec<(i32, i32)>, String> {
                Ok(vec![])
            }
            async fn users(&self, _: String, _: Vec<i32>, _: bool) -> Result<UserLookup, String> {
                Err("down".into())
            }
            async fn user_memberships(
                &self,
                _: Vec<i32>,
                _: Vec<i32>,
            ) -> Result<Vec<(i32, i32)>, String> {
                Err("down".into())
            }
        }
        let down = futures::executor::block_on(parse_and_look_up_with(
            STEPS,
            &Down,
            Source::whole(FILE.as_bytes()),
            &UploadOptions::default(),
            |_, _| {},
            || async { true },
        ));
        assert!(matches!(down, Err(PreviewError::Server(e)) if e == "down"));
    }

    #[test]
    fn a_replaced_preview_stops_at_the_next_step() {
        let server = fake();
        let out = futures::executor::block_on(parse_and_look_up_with(
            STEPS,
            &server,
            Source::whole(FILE.as_bytes()),
            &UploadOptions::default(),
            |_, _| {},
            || async { false },
        ));
        assert!(matches!(out, Err(PreviewError::Superseded)));
        // Only the first step's segments and names were asked about (the file's names, guessed
        // from its lines, outnumber the segments' members: they come whole).
        assert_eq!(
            server.calls.into_inner(),
            [
                "segments 2",
                "segments 1",
                "memberships 2",
                "users 2 segments 0 details false"
            ]
        );
    }
}
