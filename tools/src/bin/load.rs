//! `load`: drives a running console over loopback with many concurrent sign-ins, upload previews
//! and upload commits for a bounded time, then prints throughput, latency percentiles and error
//! counts per operation and per server call, and checks the server's state.
//!
//! ```sh
//! LOAD_PASSWORD=… cargo run --release -p server --bin load -- --url http://127.0.0.1:3000 \
//!     --username admin --duration 30s --concurrency 16
//! ```
//!
//! Setup (per run, under a random tag): `--segments` segments `load-<tag>-N` made through
//! `create_segment`, and a course `load-<tag>` whose "User segment sync" method (with a group
//! named after the segment) follows segment 0, so previews ask `upload_effects` and commits do
//! sync work. Each worker has its own cookie jar and, until the time is up, picks by `--mix`:
//! - a sign-in (`login` with the right password; the session id changes);
//! - a preview, as the upload page does it: the file parsed and validated here by the shared
//!   core, the server asked `upload_segments`, `upload_memberships` or `upload_users` by the
//!   page's own look-up protocol (`app::upload::lookup_client`, here over HTTP), and
//!   `upload_effects` for the followed segment (a file of the worker's users and new names);
//! - a commit: `upload_begin`, `upload_chunk` (multipart `stage`/`seq`/`data`), `upload_commit`
//!   (JSON) of a generated file: new users into 1-3 segments (`add-new`), or the worker's
//!   existing users into more segments (`update-existing`). The server's summary must equal the
//!   core's validation against the worker's own model of what it committed.
//!
//! `--bad-sign-ins` adds wrong passwords for an account that does not exist; 401/422/429 answers
//! are counted as expected refusals, as is a 429 to a right password (the server throttles failed
//! sign-ins per address too, and they all come from here). Exit status: 0 when nothing unexpected happened and the
//! segments' member counts and the course's participants match the commits; 1 otherwise; 2 when
//! setup fails.
use app::upload::api::{UploadUserMemberships, UploadUsers, CHUNK_BYTES, EFFECTS_BATCH};
use app::upload::lookup_client::{look_up, LookedUp, LookupTransport};
use app::upload::types::{CommitResult, Pairs, SegmentFound, UserLookup};
use app::upload::validate::{KnownUsers, UserRef};
use app::upload::{
    parse, validate, DelimiterChoice, EncodingChoice, ExistingDetails, Knowledge, KnownUser,
    Parsed, Report, Summary, UploadOptions, UploadType,
};
use clap::Parser;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::de::DeserializeOwned;
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser, Debug, Clone)]
#[command(about = "Load the running console with sign-ins, upload previews and commits")]
struct Args {
    /// Base URL of the running console.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// A site admin's username.
    #[arg(long, env = "LOAD_USERNAME", default_value = "admin")]
    username: String,
    /// That admin's password.
    #[arg(long, env = "LOAD_PASSWORD", hide_env_values = true)]
    password: String,
    /// How long to apply load (e.g. 30s, 2m, 500ms; a bare number is seconds).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// Concurrent workers, each with its own session.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Data rows per generated file (previews and commits).
    #[arg(long, default_value_t = 200)]
    rows: usize,
    /// Segments created for the run.
    #[arg(long, default_value_t = 8)]
    segments: usize,
    /// Relative weights of sign-ins, previews and commits.
    #[arg(long, default_value = "1,4,4")]
    mix: String,
    /// Also send wrong passwords for a non-existent account (refusals are expected, and counted).
    #[arg(long)]
    bad_sign_ins: bool,
    /// Seconds before one request counts as failed.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Seconds to wait for the server to start answering.
    #[arg(long, default_value_t = 60)]
    wait: u64,
}

/// Waits until the server answers HTTP at all (it may still be starting).
async fn wait_for(url: &str, seconds: u64) -> bool {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .expect("HTTP client");
    let until = Instant::now() + Duration::from_secs(seconds);
    loop {
        if http.get(format!("{url}/login")).send().await.is_ok() {
            return true;
        }
        if Instant::now() > until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("not a duration: {s:?}"))?;
    let seconds = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("unknown unit in {s:?} (use ms, s, m or h)")),
    };
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err(format!("the duration must be positive: {s:?}"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

// ---------------------------------------------------------------------------------------------
// Measurements

#[derive(Default)]
struct OpStats {
    latencies_us: Vec<u64>,
    /// Unexpected failures by kind, with the first message seen.
    errors: BTreeMap<String, (u64, String)>,
    /// Expected refusals (bad sign-ins) by status.
    refused: BTreeMap<String, u64>,
}

#[derive(Default)]
struct Stats {
    ops: BTreeMap<&'static str, OpStats>,
}

impl Stats {
    fn ok(&mut self, op: &'static str, took: Duration) {
        self.ops
            .entry(op)
            .or_default()
            .latencies_us
            .push(took.as_micros() as u64);
    }

    fn error(&mut self, op: &'static str, took: Duration, failure: &Failure) {
        self.ops
            .entry(op)
            .or_default()
            .latencies_us
            .push(took.as_micros() as u64);
        self.failure(op, failure);
    }

    /// An unexpected failure of an operation already timed.
    fn failure(&mut self, op: &'static str, failure: &Failure) {
        let e = self
            .ops
            .entry(op)
            .or_default()
            .errors
            .entry(failure.kind.clone())
            .or_insert_with(|| (0, failure.message.clone()));
        e.0 += 1;
    }

    fn refused(&mut self, op: &'static str, took: Duration, kind: String) {
        let s = self.ops.entry(op).or_default();
        s.latencies_us.push(took.as_micros() as u64);
        *s.refused.entry(kind).or_default() += 1;
    }

    fn merge(&mut self, other: Stats) {
        for (op, o) in other.ops {
            let s = self.ops.entry(op).or_default();
            s.latencies_us.extend(o.latencies_us);
            for (k, (n, m)) in o.errors {
                s.errors.entry(k).or_insert((0, m)).0 += n;
            }
            for (k, n) in o.refused {
                *s.refused.entry(k).or_default() += n;
            }
        }
    }

    fn unexpected(&self) -> u64 {
        self.ops
            .values()
            .flat_map(|s| s.errors.values())
            .map(|(n, _)| n)
            .sum()
    }
}

fn percentile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1000.0
}

fn print_table(title: &str, names: &[&'static str], stats: &Stats, wall: Duration) {
    println!("\n{title}");
    println!(
        "{:<20} {:>8} {:>7} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "", "count", "errors", "refused", "ops/s", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    let (mut count, mut errors, mut refused) = (0usize, 0u64, 0u64);
    let mut all = Vec::new();
    for name in names {
        let Some(s) = stats.ops.get(name) else {
            continue;
        };
        let mut v = s.latencies_us.clone();
        v.sort_unstable();
        let e: u64 = s.errors.values().map(|(n, _)| n).sum();
        let r: u64 = s.refused.values().sum();
        println!(
            "{:<20} {:>8} {:>7} {:>8} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            name,
            v.len(),
            e,
            r,
            v.len() as f64 / wall.as_secs_f64(),
            percentile(&v, 0.50),
            percentile(&v, 0.90),
            percentile(&v, 0.99),
            percentile(&v, 1.0),
        );
        count += v.len();
        errors += e;
        refused += r;
        all.extend(v);
    }
    all.sort_unstable();
    println!(
        "{:<20} {:>8} {:>7} {:>8} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
        "total",
        count,
        errors,
        refused,
        count as f64 / wall.as_secs_f64(),
        percentile(&all, 0.50),
        percentile(&all, 0.90),
        percentile(&all, 0.99),
        percentile(&all, 1.0),
    );
}

// ---------------------------------------------------------------------------------------------
// Calling server functions as the page does

#[derive(Debug, Clone)]
struct Failure {
    kind: String,
    message: String,
}

impl Failure {
    fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            message: message.into(),
        }
    }

    fn status(&self) -> Option<u16> {
        self.kind.strip_prefix("HTTP ")?.parse().ok()
    }
}

fn from_reqwest(e: reqwest::Error) -> Failure {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "transport"
    };
    Failure::new(kind, e.to_string())
}

struct Client {
    http: reqwest::Client,
    base: String,
}

enum Body {
    Form(Vec<(&'static str, String)>),
    Json(serde_json::Value),
    /// A server function's arguments in postcard, the look-ups' wire form (`upload::api`).
    Postcard(Vec<u8>),
    Multipart(reqwest::multipart::Form),
}

impl Client {
    fn new(base: &str, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()
            .expect("HTTP client");
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// One server-function call, timed into `stats` under its endpoint name; 2xx and 3xx
    /// (a server function's redirect) are success and the body is returned.
    async fn call(
        &self,
        stats: &mut Stats,
        endpoint: &'static str,
        body: Body,
    ) -> Result<Vec<u8>, Failure> {
        let started = Instant::now();
        let result = self.send(endpoint, body).await;
        match &result {
            Ok(_) => stats.ok(endpoint, started.elapsed()),
            Err(f) => stats.error(endpoint, started.elapsed(), f),
        }
        result
    }

    async fn send(&self, endpoint: &str, body: Body) -> Result<Vec<u8>, Failure> {
        let request = self
            .http
            .post(format!("{}/api/{endpoint}", self.base))
            .header(reqwest::header::ACCEPT, "application/json");
        let request = match body {
            Body::Form(form) => request.form(&form),
            Body::Json(value) => request.json(&value),
            Body::Postcard(bytes) => request
                .header(reqwest::header::CONTENT_TYPE, "application/x-postcard")
                .body(bytes),
            Body::Multipart(form) => request.multipart(form),
        };
        let response = request.send().await.map_err(from_reqwest)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(from_reqwest)?;
        if status.is_success() || status.is_redirection() {
            Ok(bytes.to_vec())
        } else {
            Err(Failure::new(
                format!("HTTP {}", status.as_u16()),
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned(),
            ))
        }
    }

    async fn json<T: DeserializeOwned>(
        &self,
        stats: &mut Stats,
        endpoint: &'static str,
        body: Body,
    ) -> Result<T, Failure> {
        self.answer(stats, endpoint, body, Wire::Json).await
    }

    /// A call whose answer is encoded as `wire` says (postcard for the look-ups of
    /// `upload::api`).
    async fn answer<T: DeserializeOwned>(
        &self,
        stats: &mut Stats,
        endpoint: &'static str,
        body: Body,
        wire: Wire,
    ) -> Result<T, Failure> {
        let bytes = self.call(stats, endpoint, body).await?;
        let decoded = match wire {
            Wire::Json => serde_json::from_slice(&bytes).map_err(|e| e.to_string()),
            Wire::Postcard => postcard::from_bytes(&bytes).map_err(|e| e.to_string()),
        };
        decoded.map_err(|e| {
            let f = Failure::new("bad reply", format!("{endpoint}: {e}"));
            stats.failure(endpoint, &f);
            f
        })
    }

    async fn sign_in(
        &self,
        stats: &mut Stats,
        username: &str,
        password: &str,
    ) -> Result<(), Failure> {
        let form = vec![
            ("username", username.to_string()),
            ("password", password.to_string()),
            ("next", String::new()),
        ];
        self.call(stats, "login", Body::Form(form))
            .await
            .map(|_| ())
    }
}

/// How an endpoint encodes its answer (`upload::api`).
#[derive(Clone, Copy)]
enum Wire {
    Json,
    Postcard,
}

/// A server function's arguments as a postcard body.
fn postcard_body<T: serde::Serialize>(args: &T) -> Result<Body, Failure> {
    postcard::to_allocvec(args)
        .map(Body::Postcard)
        .map_err(|e| Failure::new("bad question", e.to_string()))
}

/// The look-up calls of `app::upload::lookup_client`, posted in their wire forms (JSON, or
/// postcard where `upload::api` says so). Each call is timed into `stats` under its endpoint
/// name; the lock is held only to merge, never across a request, so concurrent user batches
/// each time their own call.
struct HttpLookup<'a> {
    client: &'a Client,
    stats: Mutex<Stats>,
}

impl HttpLookup<'_> {
    /// `answer`: how the endpoint encodes its answer.
    async fn call<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        body: Body,
        answer: Wire,
    ) -> Result<T, Failure> {
        let mut stats = Stats::default();
        let reply = self.client.answer(&mut stats, endpoint, body, answer).await;
        self.stats.lock().expect("stats lock").merge(stats);
        reply
    }
}

impl LookupTransport for HttpLookup<'_> {
    type Error = Failure;

    async fn segments(&self, id_numbers: Vec<String>) -> Result<Vec<SegmentFound>, Failure> {
        let body = Body::Json(json!({ "id_numbers": id_numbers }));
        self.call("upload_segments", body, Wire::Json).await
    }

    async fn memberships(&self, segment_ids: Vec<i32>) -> Result<Vec<(i32, i32)>, Failure> {
        // A JSON question, a postcard answer.
        let body = Body::Json(json!({ "segment_ids": segment_ids }));
        let pairs: Pairs = self
            .call("upload_memberships", body, Wire::Postcard)
            .await?;
        Ok(pairs.0)
    }

    async fn users(
        &self,
        usernames: String,
        segment_ids: Vec<i32>,
        details: bool,
    ) -> Result<UserLookup, Failure> {
        let args = UploadUsers {
            usernames,
            segment_ids,
            details,
        };
        let body = postcard_body(&args)?;
        self.call("upload_users", body, Wire::Postcard).await
    }

    async fn user_memberships(
        &self,
        user_ids: Vec<i32>,
        segment_ids: Vec<i32>,
    ) -> Result<Vec<(i32, i32)>, Failure> {
        let args = UploadUserMemberships {
            user_ids,
            segment_ids,
        };
        let pairs: Pairs = self
            .call(
                "upload_user_memberships",
                postcard_body(&args)?,
                Wire::Postcard,
            )
            .await?;
        Ok(pairs.0)
    }
}

/// Under `--bad-sign-ins` the server may throttle every sign-in from this address (HTTP 429):
/// a refusal the run itself provoked, so it is counted apart, not as an error.
fn throttled(args: &Args, result: &Result<(), Failure>) -> bool {
    args.bad_sign_ins && matches!(result, Err(f) if f.status() == Some(429))
}

impl Client {
    /// A sign-in with the right password, recorded under `sign-in` (and `login`).
    async fn good_sign_in(&self, stats: &mut Stats, args: &Args) -> Result<(), Failure> {
        let started = Instant::now();
        let mut calls = Stats::default();
        let result = self
            .sign_in(&mut calls, &args.username, &args.password)
            .await;
        let took = started.elapsed();
        match &result {
            Ok(()) => stats.ok("sign-in", took),
            Err(f) if throttled(args, &result) => {
                stats.refused("sign-in", took, f.kind.clone());
                calls = Stats::default();
                calls.refused("login", took, f.kind.clone());
            }
            Err(f) => stats.error("sign-in", took, f),
        }
        stats.merge(calls);
        result
    }
}

// ---------------------------------------------------------------------------------------------
// The run

struct Setup {
    tag: String,
    /// (ID number, internal id) per load segment; segment 0 is followed by the course's method.
    segments: Vec<(String, i32)>,
    course_id: i32,
}

async fn setup(args: &Args, client: &Client, stats: &mut Stats) -> Result<Setup, Failure> {
    client
        .sign_in(stats, &args.username, &args.password)
        .await?;
    client
        .json::<serde_json::Value>(stats, "who_am_i", Body::Form(vec![]))
        .await
        .map_err(|f| {
            Failure::new(
                f.kind,
                format!("not signed in as a site admin: {}", f.message),
            )
        })?;
    let tag = format!("{:08x}", rand::random::<u32>());
    let ids: Vec<String> = (0..args.segments.max(1))
        .map(|n| format!("load-{tag}-{n}"))
        .collect();
    for (n, id) in ids.iter().enumerate() {
        let form = vec![
            ("id_number", id.clone()),
            ("name", format!("Load test {tag} segment {n}")),
            ("description", "Made by the load command.".to_string()),
        ];
        client
            .call(stats, "create_segment", Body::Form(form))
            .await?;
    }
    let found: Vec<SegmentFound> = client
        .json(
            stats,
            "upload_segments",
            Body::Json(json!({ "id_numbers": ids })),
        )
        .await?;
    let by_id: HashMap<String, i32> = found.into_iter().map(|s| (s.id_number, s.id)).collect();
    let segments = ids
        .iter()
        .map(|s| {
            by_id
                .get(s)
                .map(|&id| (s.clone(), id))
                .ok_or_else(|| Failure::new("setup", format!("segment {s} was not created")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let shortname = format!("load-{tag}");
    let form = vec![
        ("shortname", shortname.clone()),
        ("fullname", format!("Load test {tag}")),
    ];
    client
        .call(stats, "create_course", Body::Form(form))
        .await?;
    let page: app::domain::Page<app::courses::CourseRow> = client
        .json(
            stats,
            "list_courses",
            Body::Form(vec![("search", shortname.clone()), ("page", "0".into())]),
        )
        .await?;
    let course_id = page
        .items
        .iter()
        .find(|c| c.shortname == shortname)
        .map(|c| c.id)
        .ok_or_else(|| Failure::new("setup", "the course was not created"))?;
    let form = vec![
        ("course_id", course_id.to_string()),
        ("method", "segment_sync".to_string()),
        ("segment_id", segments[0].1.to_string()),
        ("group", "new".to_string()),
        ("removal", "unenrol".to_string()),
    ];
    client
        .call(stats, "add_enrol_method", Body::Form(form))
        .await?;
    Ok(Setup {
        tag,
        segments,
        course_id,
    })
}

/// What one worker has committed: its users (in creation order) and their memberships, by
/// index into `Setup::segments`. No other worker touches these users.
#[derive(Default)]
struct Model {
    users: Vec<String>,
    index: HashMap<String, usize>,
    members: HashSet<(usize, usize)>,
    /// A commit failed without an answer, so the model may lag the database.
    uncertain: bool,
}

impl Model {
    /// The core's view of the database for `parsed`, a file naming these users and segments.
    fn knowledge(&self, setup: &Setup, parsed: &Parsed) -> Knowledge {
        let mut k = Knowledge {
            users: KnownUsers::by_name(parsed, |name| {
                let i = *self.index.get(name)?;
                Some(KnownUser {
                    id: i as i32 + 1,
                    firstname: "Load".into(),
                    lastname: format!("User {i}"),
                    email: format!("{name}@load.example"),
                })
            }),
            ..Default::default()
        };
        for (id_number, id) in &setup.segments {
            k.segments.insert(id_number.clone(), *id);
        }
        for &(u, s) in &self.members {
            k.memberships.push((setup.segments[s].1, u as i32 + 1));
        }
        k
    }
}

struct Worker {
    id: usize,
    args: Arc<Args>,
    setup: Arc<Setup>,
    client: Client,
    rng: StdRng,
    stats: Stats,
    model: Model,
    seq: usize,
}

#[derive(Clone, Copy)]
enum Op {
    SignIn,
    BadSignIn,
    Preview,
    Commit,
}

impl Worker {
    fn pick(&mut self, weights: &[(Op, u32)]) -> Op {
        let total: u32 = weights.iter().map(|(_, w)| w).sum();
        let mut r = self.rng.gen_range(0..total.max(1));
        for &(op, w) in weights {
            if r < w {
                return op;
            }
            r -= w;
        }
        Op::Preview
    }

    fn timed<T>(&mut self, op: &'static str, started: Instant, result: &Result<T, Failure>) {
        match result {
            Ok(_) => self.stats.ok(op, started.elapsed()),
            Err(f) => self.stats.error(op, started.elapsed(), f),
        }
    }

    async fn run(mut self, deadline: Instant, weights: Vec<(Op, u32)>) -> (Stats, Model) {
        let first = self.client.good_sign_in(&mut self.stats, &self.args).await;
        if first.is_err() {
            return (self.stats, self.model);
        }
        while Instant::now() < deadline {
            let op = self.pick(&weights);
            let started = Instant::now();
            match op {
                Op::SignIn => {
                    let _ = self.client.good_sign_in(&mut self.stats, &self.args).await;
                }
                Op::BadSignIn => self.bad_sign_in().await,
                Op::Preview => {
                    let r = self.preview().await;
                    self.timed("preview", started, &r);
                }
                Op::Commit => {
                    let r = self.commit().await;
                    self.timed("commit", started, &r);
                }
            }
        }
        (self.stats, self.model)
    }

    /// A wrong password for an account that does not exist, from a cookie-less client.
    async fn bad_sign_in(&mut self) {
        let started = Instant::now();
        let name = format!("nobody-{}-{}", self.setup.tag, self.rng.gen::<u32>());
        let form = vec![
            ("username", name),
            ("password", "not the password".to_string()),
            ("next", String::new()),
        ];
        let r = self.client.send("login", Body::Form(form)).await;
        let took = started.elapsed();
        match r {
            Err(f) if matches!(f.status(), Some(401 | 422 | 429)) => {
                self.stats.refused("bad sign-in", took, f.kind)
            }
            Err(f) => self.stats.error("bad sign-in", took, &f),
            Ok(_) => self.stats.error(
                "bad sign-in",
                took,
                &Failure::new("accepted", "a wrong password was accepted"),
            ),
        }
    }

    fn segment_cells(&mut self) -> Vec<String> {
        let n = self.rng.gen_range(1..=3.min(self.setup.segments.len()));
        let mut picks: Vec<usize> = (0..self.setup.segments.len()).collect();
        picks.shuffle(&mut self.rng);
        let mut cells: Vec<String> = picks[..n]
            .iter()
            .map(|&i| self.setup.segments[i].0.clone())
            .collect();
        cells.resize(3, String::new());
        cells
    }

    /// A generated file: `new` rows of new users (details included) and `existing` rows of this
    /// worker's users, each with one to three segments.
    fn file(&mut self, prefix: &str, new: usize, existing: usize) -> Vec<u8> {
        self.seq += 1;
        let mut out = String::from("username,firstname,lastname,email,cohort1,cohort2,cohort3\n");
        let mut rows: Vec<String> = Vec::with_capacity(new + existing);
        for i in 0..new {
            let name = format!(
                "ld-{}-w{}-{prefix}{}-{i}",
                self.setup.tag, self.id, self.seq
            );
            let cells = self.segment_cells().join(",");
            rows.push(format!("{name},Load,User {i},{name}@load.example,{cells}"));
        }
        let existing = if self.model.users.is_empty() {
            0
        } else {
            existing
        };
        for _ in 0..existing {
            let name = self.model.users[self.rng.gen_range(0..self.model.users.len())].clone();
            let cells = self.segment_cells().join(",");
            rows.push(format!("{name},,,,{cells}"));
        }
        rows.shuffle(&mut self.rng);
        for r in rows {
            out.push_str(&r);
            out.push('\n');
        }
        out.into_bytes()
    }

    /// The upload page's preview: parse and validate here, ask the server what it cannot know.
    async fn preview(&mut self) -> Result<(), Failure> {
        let rows = self.args.rows.max(1);
        let existing = if self.model.users.is_empty() {
            0
        } else {
            rows / 2
        };
        let bytes = self.file("p", rows - existing, existing);
        let options = UploadOptions {
            upload_type: UploadType::AddAndUpdate,
            existing_details: if self.rng.gen_bool(0.5) {
                ExistingDetails::FillMissing
            } else {
                ExistingDetails::NoChanges
            },
            ..UploadOptions::default()
        };
        let parsed = parse(&bytes, options.delimiter, options.encoding)
            .map_err(|e| Failure::new("bad file", e.to_string()))?;
        // The page's own look-up protocol, over HTTP.
        let transport = HttpLookup {
            client: &self.client,
            stats: Mutex::default(),
        };
        let result = look_up(&transport, &parsed, &options, |_, _| {}).await;
        self.stats
            .merge(transport.stats.into_inner().expect("stats lock"));
        let LookedUp { known, synced } = result?;
        if !self.model.uncertain {
            let found = known.users.found();
            let expected = parsed
                .usernames()
                .filter(|n| self.model.index.contains_key(*n))
                .count();
            if found != expected {
                return Err(Failure::new(
                    "wrong result",
                    format!("upload_users found {found} users, this worker made {expected}"),
                ));
            }
        }
        let report = validate(&parsed, &options, &known);
        let (enrolments, groups) = self.effects(&report, &synced).await?;
        let followed = self.setup.segments[0].1;
        let expected = report
            .additions
            .iter()
            .filter(|(s, _)| *s == followed)
            .count() as u64;
        if !self.model.uncertain && (enrolments, groups) != (expected, expected) {
            return Err(Failure::new(
                "wrong result",
                format!(
                    "upload_effects: {enrolments} enrolments and {groups} group memberships for {expected} new members of the synced segment"
                ),
            ));
        }
        Ok(())
    }

    /// `preview_effects` in upload/state.rs: the followed segments' new memberships, sorted by user, in
    /// batches cut between users.
    async fn effects(&mut self, report: &Report, synced: &[i32]) -> Result<(u64, u64), Failure> {
        let (mut enrolments, mut groups) = (0, 0);
        for (existing, new) in app::upload::report::effect_batches(report, synced, EFFECTS_BATCH) {
            let (e, g): (u64, u64) = self
                .client
                .json(
                    &mut self.stats,
                    "upload_effects",
                    Body::Json(json!({ "existing": existing, "new": new })),
                )
                .await?;
            enrolments += e;
            groups += g;
        }
        Ok((enrolments, groups))
    }

    /// A commit as the page sends it; the server's summary must match the core's validation of
    /// the same file against this worker's model.
    async fn commit(&mut self) -> Result<(), Failure> {
        let rows = self.args.rows.max(1);
        let update = self.model.users.len() >= rows && self.rng.gen_bool(1.0 / 3.0);
        let (bytes, options) = if update {
            let options = UploadOptions {
                upload_type: UploadType::UpdateExisting,
                ..UploadOptions::default()
            };
            (self.file("u", 0, rows), options)
        } else {
            let options = UploadOptions {
                upload_type: UploadType::AddNew,
                ..UploadOptions::default()
            };
            (self.file("c", rows, 0), options)
        };
        let parsed = parse(&bytes, DelimiterChoice::Auto, EncodingChoice::Auto)
            .map_err(|e| Failure::new("bad file", e.to_string()))?;
        let expected = validate(
            &parsed,
            &options,
            &self.model.knowledge(&self.setup, &parsed),
        );

        let form = vec![
            ("file_name", format!("load-w{}-{}.csv", self.id, self.seq)),
            ("size", bytes.len().to_string()),
        ];
        let stage: String = self
            .client
            .json(&mut self.stats, "upload_begin", Body::Form(form))
            .await?;
        for (seq, chunk) in bytes.chunks(CHUNK_BYTES).enumerate() {
            let part = reqwest::multipart::Part::bytes(chunk.to_vec())
                .file_name("chunk")
                .mime_str("application/octet-stream")
                .expect("mime type");
            let form = reqwest::multipart::Form::new()
                .text("stage", stage.clone())
                .text("seq", seq.to_string())
                .part("data", part);
            self.client
                .call(&mut self.stats, "upload_chunk", Body::Multipart(form))
                .await?;
        }
        let result: Result<CommitResult, Failure> = self
            .client
            .json(
                &mut self.stats,
                "upload_commit",
                Body::Json(json!({ "stage": stage, "options": options })),
            )
            .await;
        let result = match result {
            Ok(r) => r,
            Err(f) => {
                // Without an answer the commit may or may not have happened.
                if f.status().is_none() || f.status() == Some(500) {
                    self.model.uncertain = true;
                }
                return Err(f);
            }
        };
        // Apply to the model what the core says this file adds.
        let seg_index: HashMap<i32, usize> = self
            .setup
            .segments
            .iter()
            .enumerate()
            .map(|(i, (_, id))| (*id, i))
            .collect();
        for user in &expected.new_users {
            self.model
                .index
                .insert(user.username.clone(), self.model.users.len());
            self.model.users.push(user.username.clone());
        }
        let existing_count = self.model.users.len() - expected.new_users.len();
        for &(segment, user) in &expected.additions {
            let u = match user {
                UserRef::Existing(id) => id as usize - 1,
                UserRef::New(slot) => existing_count + slot as usize,
            };
            self.model.members.insert((u, seg_index[&segment]));
        }
        if !self.model.uncertain && !same_counts(&result.summary, &expected.summary) {
            return Err(Failure::new(
                "wrong result",
                format!(
                    "the server committed {:?}, the core expected {:?}",
                    result.summary, expected.summary
                ),
            ));
        }
        Ok(())
    }
}

/// The SPEC 3 counts a commit must agree on (effects are the server's alone).
fn same_counts(a: &Summary, b: &Summary) -> bool {
    (
        a.rows,
        a.rows_ok,
        a.rows_with_errors,
        a.users_created,
        a.users_updated,
        a.memberships_added,
        a.already_members,
        a.duplicate_pairs,
    ) == (
        b.rows,
        b.rows_ok,
        b.rows_with_errors,
        b.users_created,
        b.users_updated,
        b.memberships_added,
        b.already_members,
        b.duplicate_pairs,
    )
}

#[tokio::main]
async fn main() {
    let args = Arc::new(Args::parse());
    let weights: Vec<u32> = args
        .mix
        .split(',')
        .map(|w| w.trim().parse::<u32>())
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    if weights.len() != 3 || weights.iter().sum::<u32>() == 0 {
        eprintln!("--mix takes three weights: sign-ins,previews,commits (e.g. 1,4,4)");
        std::process::exit(2);
    }
    let mut ops = vec![
        (Op::SignIn, weights[0]),
        (Op::Preview, weights[1]),
        (Op::Commit, weights[2]),
    ];
    if args.bad_sign_ins {
        ops.push((Op::BadSignIn, weights[0].max(1)));
    }
    if !wait_for(args.url.trim_end_matches('/'), args.wait).await {
        eprintln!(
            "load: nothing answers at {} after {} s",
            args.url, args.wait
        );
        std::process::exit(2);
    }
    let timeout = Duration::from_secs(args.timeout);
    let admin = Client::new(&args.url, timeout);
    let mut setup_stats = Stats::default();
    let setup = match setup(&args, &admin, &mut setup_stats).await {
        Ok(s) => Arc::new(s),
        Err(f) => {
            eprintln!("load: setup failed: {}: {}", f.kind, f.message);
            std::process::exit(2);
        }
    };
    println!(
        "load: {} for {:.0?} with {} workers, {} rows per file, segments load-{}-0..{} (course load-{} follows segment 0)",
        args.url,
        args.duration,
        args.concurrency,
        args.rows,
        setup.tag,
        setup.segments.len() - 1,
        setup.tag
    );

    let started = Instant::now();
    let deadline = started + args.duration;
    let mut tasks = Vec::new();
    for id in 0..args.concurrency.max(1) {
        let worker = Worker {
            id,
            args: args.clone(),
            setup: setup.clone(),
            client: Client::new(&args.url, timeout),
            rng: StdRng::seed_from_u64(rand::random()),
            stats: Stats::default(),
            model: Model::default(),
            seq: 0,
        };
        tasks.push(tokio::spawn(worker.run(deadline, ops.clone())));
    }
    let mut stats = Stats::default();
    let mut models = Vec::new();
    for t in tasks {
        match t.await {
            Ok((s, m)) => {
                stats.merge(s);
                models.push(m);
            }
            Err(e) => {
                eprintln!("load: a worker failed: {e}");
                stats.failure("worker", &Failure::new("panic", e.to_string()));
            }
        }
    }
    let wall = started.elapsed();

    print_table(
        &format!("operations ({:.1} s)", wall.as_secs_f64()),
        &["sign-in", "bad sign-in", "preview", "commit"],
        &stats,
        wall,
    );
    print_table(
        "server calls",
        &[
            "login",
            "upload_segments",
            "upload_memberships",
            "upload_users",
            "upload_effects",
            "upload_begin",
            "upload_chunk",
            "upload_commit",
        ],
        &stats,
        wall,
    );
    let users: usize = models.iter().map(|m| m.users.len()).sum();
    let memberships: usize = models.iter().map(|m| m.members.len()).sum();
    println!("\ncommitted: {users} users, {memberships} memberships");
    let mut failed = stats.unexpected();
    for (op, s) in &stats.ops {
        for (kind, (n, message)) in &s.errors {
            println!("  {op}: {kind} x{n} (first: {message})");
        }
        for (kind, n) in &s.refused {
            println!("  {op}: {kind} x{n} (expected refusal)");
        }
    }

    // The server's state against what the workers committed.
    let mut check = Stats::default();
    let uncertain = models.iter().any(|m| m.uncertain);
    let ids: Vec<String> = setup.segments.iter().map(|(s, _)| s.clone()).collect();
    let counts: Result<Vec<SegmentFound>, Failure> = admin
        .json(
            &mut check,
            "upload_segments",
            Body::Json(json!({ "id_numbers": ids })),
        )
        .await;
    let course: Result<app::courses::CourseRow, Failure> = admin
        .json(
            &mut check,
            "get_course",
            Body::Form(vec![("id", setup.course_id.to_string())]),
        )
        .await;
    match (counts, course) {
        (Ok(counts), Ok(course)) => {
            let mut expected = vec![0i64; setup.segments.len()];
            for m in &models {
                for &(_, s) in &m.members {
                    expected[s] += 1;
                }
            }
            let got: HashMap<String, i64> = counts
                .into_iter()
                .map(|s| (s.id_number, s.members))
                .collect();
            let mut mismatches = Vec::new();
            for (i, (id_number, _)) in setup.segments.iter().enumerate() {
                let n = got.get(id_number).copied().unwrap_or(-1);
                if n != expected[i] {
                    mismatches.push(format!(
                        "{id_number}: {n} members, {} committed",
                        expected[i]
                    ));
                }
            }
            if course.participants != expected[0] {
                mismatches.push(format!(
                    "course load-{}: {} participants, segment 0 has {} members",
                    setup.tag, course.participants, expected[0]
                ));
            }
            if mismatches.is_empty() {
                println!(
                    "state: every segment's member count and the synced course's {} participants match the commits",
                    course.participants
                );
            } else if uncertain {
                println!(
                    "state: not comparable (a commit went unanswered): {}",
                    mismatches.join("; ")
                );
            } else {
                println!("state: MISMATCH: {}", mismatches.join("; "));
                failed += mismatches.len() as u64;
            }
        }
        (a, b) => {
            let f = a.err().or(b.err()).expect("one failed");
            println!("state: could not be read: {}: {}", f.kind, f.message);
            failed += 1;
        }
    }
    if failed > 0 {
        println!("load: {failed} unexpected failure(s)");
        std::process::exit(1);
    }
    println!("load: no unexpected failures");
}
