//! A large file parsed in two parts at once: the page reads up to a line start near the middle
//! while another thread (the page's Web Worker) reads the rest, since a 1M-row preview kept the
//! page's thread busy from the first parse step to the last. The other part travels as bytes
//! (`Parsed::encode`, `Parsed::decode`) and is merged as if the page had read on (`absorb`): a
//! property test holds the merged parse equal to the sequential one.
//!
//! Only a file without quotes is split (its records end at line endings, so a line start is a
//! record start); a part that fails in any way is read by the page itself (`unsplit`).
use super::*;

/// The other thread's part of a split file: the file up to its header line's end, then the rest
/// from the split, to be parsed as one file (`parse_part`).
pub struct Part<'t> {
    pub head: &'t [u8],
    pub tail: &'t [u8],
    pub delimiter: u8,
}

impl<'t> Parsing<'t> {
    /// Has this parse stop at the first line start at or after `share` of the file (for the
    /// page) and returns the rest for another thread; `None` when the file can't be split there
    /// (quotes, a header not yet read, too short). Call it once, after the first step.
    pub fn split(&mut self, share: f64) -> Option<Part<'t>> {
        let r = &mut self.0;
        let (head_end, _) = r.header_end?;
        if r.done || r.limit != usize::MAX {
            return None;
        }
        let data = r.data;
        let from = ((data.len() as f64 * share) as usize)
            .max(r.pos)
            .max(head_end);
        // A line feed that ends a line with text on it (alone, or after a CR), so the page's
        // reader stops exactly there (`Records::at_limit`), past no blank line.
        let split = memchr::memchr_iter(b'\n', data.get(from..)?)
            .map(|i| from + i)
            .find(|&i| match i.checked_sub(1).map(|j| data[j]) {
                Some(b'\r') => i >= 2 && !matches!(data[i - 2], b'\r' | b'\n'),
                Some(b'\n') | None => false,
                Some(_) => true,
            })?
            + 1;
        if split >= data.len() {
            return None;
        }
        r.limit = split;
        Some(Part {
            head: &data[..head_end],
            tail: &data[split..],
            delimiter: r.shape.delimiter,
        })
    }

    /// Takes in the other part (`parse_part`'s answer) once `step` has stopped at the split:
    /// the file is then read whole. False (nothing changed) when the answer is no such part;
    /// the caller then has the page read on (`unsplit`).
    pub fn absorb(&mut self, encoded: &[u8]) -> bool {
        let r = &mut self.0;
        let (Some((_, head_line)), Some(line)) = (r.header_end, r.plain.as_ref().map(|p| p.line))
        else {
            return false;
        };
        if r.done || r.limit == usize::MAX || r.pos < r.limit {
            return false;
        }
        let Some(part) = Parsed::decode(encoded, &r.sink.out) else {
            return false;
        };
        // The part's lines count from its head's end; the page's reader is at the split.
        r.sink.merge(part, line - head_line);
        r.pos = r.data.len();
        r.done = true;
        true
    }

    /// Reads the rest of the file here after all (no part came).
    pub fn unsplit(&mut self) {
        self.0.limit = usize::MAX;
    }
}

/// The other thread's side of a split: parses `head` and `tail` as one file (UTF-8, as the
/// page decoded it) and encodes the result; empty when that fails (the page then reads the part
/// itself and meets the error there).
pub fn parse_part(head: &[u8], tail: &[u8], delimiter: u8) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(head.len() + tail.len());
    bytes.extend_from_slice(head);
    bytes.extend_from_slice(tail);
    let Ok(file) = FileText::new(&bytes, EncodingChoice::Utf8) else {
        return Vec::new();
    };
    let mut parsing = Parsing::new(&file, DelimiterChoice::from_byte(delimiter));
    // In steps, as the page parses: a worker's module starts on baseline code, and one call
    // reading the whole part would run on it to the end (`Parsing::step`).
    let read = loop {
        match parsing.step(PART_STEP_ROWS) {
            Ok(true) => {}
            Ok(false) => break parsing.finish(),
            Err(e) => break Err(e),
        }
    };
    read.map_or_else(|_| Vec::new(), |parsed| parsed.encode())
}

/// Rows `parse_part` reads a call.
const PART_STEP_ROWS: usize = 20_000;

/// Marks an encoded part (and its layout's version).
const MAGIC: u32 = 0x5041_5254;
/// `u32`s per encoded row.
const ROW_WORDS: usize = 16;
/// `Span` of an absent optional cell.
const NONE: (u32, u32) = (u32::MAX, 0);

impl ParsedSink {
    /// Appends `part` (a parse of the file's header and the rest from the split) as if the rows
    /// had been read here: its text after this one's, its names and segments interned with these
    /// (a name both parts hold points at its first copy, as a sequential parse's does).
    fn merge(&mut self, part: Parsed, line_offset: u32) {
        let out = &mut self.out;
        let base = out.text.len() as u32;
        let shift = |s: Span| Span {
            start: s.start + base,
            len: s.len,
        };
        out.text.push_str(&part.text);
        let segments: Vec<u32> = part
            .segment_ids
            .into_iter()
            .map(|id| match self.interned.get(id.as_bytes()) {
                Some(&s) => s,
                None => {
                    let s = out.segment_ids.len() as u32;
                    self.interned.insert(id.as_bytes().into(), s);
                    out.segment_ids.push(id);
                    s
                }
            })
            .collect();
        let users: Vec<u32> = part
            .users
            .iter()
            .map(|&span| self.users.find_or_insert(out, shift(span)).1)
            .collect();
        let (seg_base, pf_base) = (out.seg_cells.len() as u32, out.pf_cells.len() as u32);
        out.seg_cells
            .extend(part.seg_cells.iter().map(|c| SegmentCell {
                column: c.column,
                segment: segments[c.segment as usize],
            }));
        out.pf_cells
            .extend(part.pf_cells.iter().map(|c| ProfileCell {
                value: shift(c.value),
                ..*c
            }));
        out.rows.reserve(part.rows.len());
        for row in part.rows {
            let (username, user) = match row.username_cell {
                UsernameCell::Valid => {
                    let user = users[row.user as usize];
                    (out.users[user as usize], user)
                }
                UsernameCell::Invalid => (shift(row.username), row.user),
                UsernameCell::Missing => (row.username, row.user),
            };
            out.rows.push(Row {
                line: row.line.saturating_add(line_offset),
                username,
                user,
                firstname: row.firstname.map(shift),
                lastname: row.lastname.map(shift),
                email: row.email.map(shift),
                seg_start: row.seg_start + seg_base,
                pf_start: row.pf_start + pf_base,
                ..row
            });
        }
    }
}

impl Parsed {
    /// The rows, names, segments and text as bytes for another thread (`decode` reads them
    /// back); the header's fields stay out, as the receiver read the same header.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(
            4 * (7 + self.rows.len() * ROW_WORDS + self.seg_cells.len() * 2) + self.text.len() + 64,
        );
        let put = |w: &mut Vec<u8>, x: u32| w.extend_from_slice(&x.to_le_bytes());
        for n in [
            MAGIC,
            self.rows.len() as u32,
            self.seg_cells.len() as u32,
            self.users.len() as u32,
            self.pf_cells.len() as u32,
            self.segment_ids.len() as u32,
            self.text.len() as u32,
        ] {
            put(&mut w, n);
        }
        for id in &self.segment_ids {
            put(&mut w, id.len() as u32);
        }
        for u in &self.users {
            put(&mut w, u.start);
            put(&mut w, u.len);
        }
        for c in &self.seg_cells {
            put(&mut w, c.column);
            put(&mut w, c.segment);
        }
        for c in &self.pf_cells {
            for x in [c.column, c.field, c.value.start, c.value.len] {
                put(&mut w, x);
            }
        }
        let opt = |s: Option<Span>| s.map_or(NONE, |s| (s.start, s.len));
        for r in &self.rows {
            let kind = match r.username_cell {
                UsernameCell::Missing => 0,
                UsernameCell::Invalid => 1,
                UsernameCell::Valid => 2,
            };
            let (f, l, e) = (opt(r.firstname), opt(r.lastname), opt(r.email));
            let words: [u32; ROW_WORDS] = [
                r.line,
                kind,
                r.username.start,
                r.username.len,
                r.user,
                f.0,
                f.1,
                l.0,
                l.1,
                e.0,
                e.1,
                r.seg_start,
                r.seg_len,
                r.pf_start,
                r.pf_len,
                r.extra_cells,
            ];
            for x in words {
                put(&mut w, x);
            }
        }
        w.extend_from_slice(self.text.as_bytes());
        for id in &self.segment_ids {
            w.extend_from_slice(id.as_bytes());
        }
        w
    }

    /// Reads `encode`'s bytes back, the header's fields taken from `like` (the receiver's own
    /// parse); `None` unless every count, span and index holds within what was read.
    pub fn decode(bytes: &[u8], like: &Parsed) -> Option<Parsed> {
        let mut r = Reader(bytes);
        if r.word()? != MAGIC {
            return None;
        }
        let [rows, seg_cells, users, pf_cells, segment_ids, text] =
            [(); 6].map(|_| r.word().map(|n| n as usize));
        let (rows, seg_cells, users) = (rows?, seg_cells?, users?);
        let (pf_cells, segment_ids, text) = (pf_cells?, segment_ids?, text?);
        // Counts that the bytes can't hold are refused before anything is reserved for them.
        let words = segment_ids + 2 * users + 2 * seg_cells + 4 * pf_cells + ROW_WORDS * rows;
        if words.checked_mul(4)?.checked_add(text)? > r.0.len() {
            return None;
        }
        let id_lens: Vec<usize> = (0..segment_ids)
            .map(|_| r.word().map(|n| n as usize))
            .collect::<Option<_>>()?;
        let users: Vec<Span> = (0..users).map(|_| r.span()).collect::<Option<_>>()?;
        let seg_cells: Vec<SegmentCell> = (0..seg_cells)
            .map(|_| {
                Some(SegmentCell {
                    column: r.word()?,
                    segment: r.word()?,
                })
            })
            .collect::<Option<_>>()?;
        let pf_cells: Vec<ProfileCell> = (0..pf_cells)
            .map(|_| {
                Some(ProfileCell {
                    column: r.word()?,
                    field: r.word()?,
                    value: r.span()?,
                })
            })
            .collect::<Option<_>>()?;
        let mut out_rows = Vec::with_capacity(rows);
        for _ in 0..rows {
            let w: [u32; ROW_WORDS] = std::array::from_fn(|_| r.word().unwrap_or(u32::MAX));
            let opt = |start: u32, len: u32| (start != NONE.0).then_some(Span { start, len });
            out_rows.push(Row {
                line: w[0],
                username_cell: match w[1] {
                    0 => UsernameCell::Missing,
                    1 => UsernameCell::Invalid,
                    2 => UsernameCell::Valid,
                    _ => return None,
                },
                username: Span {
                    start: w[2],
                    len: w[3],
                },
                user: w[4],
                firstname: opt(w[5], w[6]),
                lastname: opt(w[7], w[8]),
                email: opt(w[9], w[10]),
                seg_start: w[11],
                seg_len: w[12],
                pf_start: w[13],
                pf_len: w[14],
                extra_cells: w[15],
            });
        }
        let text = String::from_utf8(r.take(text)?.to_vec()).ok()?;
        let segment_ids: Vec<String> = id_lens
            .iter()
            .map(|&n| String::from_utf8(r.take(n)?.to_vec()).ok())
            .collect::<Option<_>>()?;
        if !r.0.is_empty() {
            return None;
        }
        // In 64 bits: a 32-bit target's `usize` could overflow on a bad span.
        let end = |start: u32, len: u32| start as u64 + len as u64;
        let in_text = |s: Span| {
            end(s.start, s.len) <= text.len() as u64
                && text.is_char_boundary(s.start as usize)
                && text.is_char_boundary((s.start + s.len) as usize)
        };
        let columns = like.columns.len() as u32;
        let fits = |start: u32, len: u32, n: usize| end(start, len) <= n as u64;
        let valid = users.iter().all(|&s| in_text(s))
            && seg_cells
                .iter()
                .all(|c| c.column < columns && (c.segment as usize) < segment_ids.len())
            && pf_cells.iter().all(|c| {
                c.column < columns
                    && (c.field as usize) < like.profile_fields.len()
                    && in_text(c.value)
            })
            && out_rows.iter().all(|row| {
                let name = match row.username_cell {
                    UsernameCell::Valid => users.get(row.user as usize) == Some(&row.username),
                    _ => row.user == NO_USER && in_text(row.username),
                };
                name && [row.firstname, row.lastname, row.email]
                    .iter()
                    .flatten()
                    .all(|&s| in_text(s))
                    && fits(row.seg_start, row.seg_len, seg_cells.len())
                    && fits(row.pf_start, row.pf_len, pf_cells.len())
            });
        valid.then(|| Parsed {
            delimiter: like.delimiter,
            encoding: like.encoding,
            columns: like.columns.clone(),
            rows: out_rows,
            segment_ids,
            seg_cells,
            users,
            profile_fields: like.profile_fields.clone(),
            pf_cells,
            text,
        })
    }
}

/// Little-endian words and byte runs from the front of a slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (taken, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(taken)
    }

    fn word(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn span(&mut self) -> Option<Span> {
        Some(Span {
            start: self.word()?,
            len: self.word()?,
        })
    }
}

#[cfg(test)]
mod tests;
