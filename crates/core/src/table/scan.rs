//! The fast path of `data show` on CSV and TSV: a byte-level scanner that types each field as
//! [`super::cell`] does and adds it straight to its column's statistics ([`stats::Column`]), with no
//! per-cell enum, `String` or per-row `Vec`.
//!
//! It reads records exactly as the `csv` crate does with `flexible(true)` (CR, LF and CRLF each end
//! a record, empty lines are skipped, a field starting with a quote is quoted, `""` inside is a
//! quote, a quote elsewhere is a plain byte, a short record's missing cells are nulls, extra cells
//! are ignored). What it does not handle as the `csv` crate does (text after a closing quote, a
//! quote left open at the end, invalid UTF-8, an I/O error) makes it give up ([`Stop::Slow`]): the
//! caller then reads the file again through [`super::read`], which gives the same answer or error.
//!
//! A buffer's records up to its last line end, when no quote is among them, are typed as they are
//! split (each is whole in the buffer); others are split into a list of fields first, so that a
//! record the buffer cuts is read again whole with the next.

use std::io::Read;

use super::stats;

/// Why a scan stopped before the end.
#[derive(Debug)]
pub(crate) enum Stop {
    /// Something only the row-by-row reader handles exactly: read again that way.
    Slow,
    /// Cancelled, or told to stop by the other thread.
    Cancelled,
}

/// What a field is, as [`super::cell`] types it (a text borrowed from the field).
pub(crate) enum Kind<'a> {
    Null,
    Num(f64, bool),
    /// A number in its decimal digits (the common case, typed quickly).
    Dec(Dec),
    Bool(bool),
    Text(&'a str),
}

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// The common numbers, quickly: `-?\d{1,18}` (an integer) and `-?\d+\.\d+` with at most 19 digits
/// whose digits make at most 2^53 (a float: digits / 10^k is exact over exact, one correctly
/// rounded division, so the same double a correctly rounded parser gives), as a [`Dec`]. None for
/// anything else, which [`kind_of_str`] then types.
#[inline(always)]
fn fast_num(b: &[u8]) -> Option<Dec> {
    let (neg, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    let mut m: u64 = 0;
    let mut i = 0;
    while i < digits.len() {
        let c = digits[i].wrapping_sub(b'0');
        if c > 9 {
            break;
        }
        if i == 18 {
            return None;
        }
        m = m * 10 + c as u64;
        i += 1;
    }
    if i == 0 {
        return None;
    }
    if i == digits.len() {
        return Some(Dec { m, frac: 0, neg });
    }
    if digits[i] != b'.' {
        return None;
    }
    let mut j = i + 1;
    while j < digits.len() {
        let c = digits[j].wrapping_sub(b'0');
        if c > 9 || j > 19 {
            return None;
        }
        m = m * 10 + c as u64;
        j += 1;
    }
    let frac = j - i - 1;
    if frac == 0 || m > 1 << 53 {
        return None;
    }
    Some(Dec { m, frac: frac as u32, neg })
}

/// A number as its text wrote it: `m` (< 2^63; < 2^53 with a point) over 10^`frac`, negated
/// when `neg`. `frac` is 0 for an integer (no point) and at most 19.
#[derive(Clone, Copy)]
pub(crate) struct Dec {
    pub(crate) m: u64,
    pub(crate) frac: u32,
    pub(crate) neg: bool,
}

impl Dec {
    /// The double it is (correctly rounded; "-0" is 0.0, "-0.0" is -0.0, as pandas reads them).
    #[inline(always)]
    pub(crate) fn value(self) -> f64 {
        if self.frac == 0 {
            let v = self.m as i64;
            return (if self.neg { -v } else { v }) as f64;
        }
        let f = self.m as f64 / POW10[self.frac as usize];
        if self.neg {
            -f
        } else {
            f
        }
    }

    /// Whether it is -0.0.
    #[inline(always)]
    pub(crate) fn is_neg_zero(self) -> bool {
        self.neg & (self.m == 0) & (self.frac > 0)
    }
}

/// A field's bytes typed as [`super::cell`] types them; Err when they are not UTF-8.
#[inline(always)]
pub(crate) fn kind_of(b: &[u8]) -> Result<Kind<'_>, std::str::Utf8Error> {
    if let Some(d) = fast_num(b) {
        return Ok(Kind::Dec(d));
    }
    Ok(kind_of_str(std::str::from_utf8(b)?))
}

/// A CSV cell as pandas types it: [`super::cell`] is this.
pub(crate) fn kind_of_str(s: &str) -> Kind<'_> {
    if super::NA.contains(&s) {
        return Kind::Null;
    }
    // Only a string that starts (after white space) as a number can start can be one.
    let maybe_num = match s.as_bytes().first() {
        None => true,
        Some(&c) => c <= b' ' || c >= 0x80 || c.is_ascii_digit() || b"+-.iInN".contains(&c),
    };
    if maybe_num {
        let t = s.trim();
        if let Ok(i) = t.parse::<i64>() {
            return Kind::Num(i as f64, true);
        }
        if let Ok(f) = fast_float2::parse::<f64, _>(t) {
            // "inf" and "infinity" are numbers to pandas too; "nan" was a null above.
            return Kind::Num(f, false);
        }
    }
    match s {
        "True" | "true" | "TRUE" => Kind::Bool(true),
        "False" | "false" | "FALSE" => Kind::Bool(false),
        _ => Kind::Text(s),
    }
}

/// The positions of the delimiter, `\n` and `\r` in the 64 bytes from `at` (fewer at the end of
/// `buf`), as bits.
#[inline(always)]
fn block_mask(buf: &[u8], at: usize, d: u8) -> u64 {
    if at + 64 <= buf.len() {
        let b: &[u8; 64] = buf[at..at + 64].try_into().unwrap();
        mask64(b, d)
    } else {
        let mut b = [0u8; 64];
        let n = buf.len() - at;
        b[..n].copy_from_slice(&buf[at..]);
        let m = mask64(&b, d);
        if n == 0 {
            0
        } else {
            m & (u64::MAX >> (64 - n))
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn mask64(b: &[u8; 64], d: u8) -> u64 {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of x86-64, so these instructions exist on every x86-64 CPU; each load
    // reads 16 bytes inside `b` (64 bytes).
    unsafe {
        let vd = _mm_set1_epi8(d as i8);
        let vn = _mm_set1_epi8(b'\n' as i8);
        let vr = _mm_set1_epi8(b'\r' as i8);
        let mut m = 0u64;
        for i in 0..4 {
            let x = _mm_loadu_si128(b.as_ptr().add(16 * i).cast());
            let e = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vd), _mm_cmpeq_epi8(x, vn)), _mm_cmpeq_epi8(x, vr));
            m |= (_mm_movemask_epi8(e) as u32 as u64 & 0xffff) << (16 * i);
        }
        m
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn mask64(b: &[u8; 64], d: u8) -> u64 {
    let mut m = 0u64;
    for (i, &c) in b.iter().enumerate() {
        m |= ((c == d || c == b'\n' || c == b'\r') as u64) << i;
    }
    m
}

/// The next delimiter or line end at or after a position, 64 bytes at a time.
struct Structural {
    /// The start of the block `mask` covers.
    at: usize,
    /// Its delimiters and line ends not yet passed.
    mask: u64,
}

impl Structural {
    #[inline(always)]
    fn next_from(&mut self, buf: &[u8], from: usize, d: u8) -> Option<usize> {
        if from >= self.at + 64 || from < self.at {
            self.at = from;
            self.mask = block_mask(buf, from, d);
        } else {
            self.mask &= u64::MAX << (from - self.at);
        }
        while self.mask == 0 {
            self.at += 64;
            if self.at >= buf.len() {
                self.at = buf.len();
                return None;
            }
            self.mask = block_mask(buf, self.at, d);
        }
        let p = self.at + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(p)
    }
}

/// A field of the record being read: its bytes in the buffer, and whether they hold doubled
/// quotes to undo.
#[derive(Clone, Copy)]
struct Field {
    start: usize,
    end: usize,
    quotes: bool,
}

/// One thread's scan of a CSV or TSV into columns.
pub(crate) struct Scanner {
    d: u8,
    /// The header, when this scan reads it (a scan from the start of the file).
    pub(crate) names: Vec<String>,
    want_header: bool,
    pub(crate) cols: Vec<stats::Column>,
    pub(crate) rows: u64,
    fields: Vec<Field>,
    scratch: Vec<u8>,
    /// Stop at the first record that starts at this offset (of the stream); a record that starts
    /// past it without one starting at it sets `missed` and the scan goes on to the end.
    pub(crate) limit: u64,
    pub(crate) missed: bool,
}

/// The buffer: records are read from whole buffers, a record cut by the end read again with the
/// next (the buffer grows when one record is bigger).
const BUF: usize = 1 << 20;

impl Scanner {
    /// A scan from the start (header first), or of a later part of a file with the header known.
    pub(crate) fn new(d: u8, names: Option<&[String]>) -> Scanner {
        let names = names.map(<[String]>::to_vec);
        let cols = names.as_ref().map(|n| n.iter().map(|_| stats::Column::new()).collect()).unwrap_or_default();
        Scanner {
            d,
            want_header: names.is_none(),
            names: names.unwrap_or_default(),
            cols,
            rows: 0,
            fields: Vec::new(),
            scratch: Vec::new(),
            limit: u64::MAX,
            missed: false,
        }
    }

    /// Reads `r` to its end (or to `limit`); `tick` sees the offset reached after each buffer
    /// and may lower the limit (the other thread's cut, once known) or stop the scan (false).
    /// Returns the offset where it stopped: the end, or the limit.
    pub(crate) fn run(
        &mut self,
        mut r: impl Read,
        tick: &mut dyn FnMut(&mut Scanner, u64) -> bool,
    ) -> Result<u64, Stop> {
        let mut buf = vec![0u8; BUF];
        let mut len = 0usize;
        let mut base = 0u64;
        let mut eof = false;
        loop {
            while !eof && len < buf.len() {
                match r.read(&mut buf[len..]) {
                    Ok(0) => eof = true,
                    Ok(k) => len += k,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => return Err(Stop::Slow),
                }
            }
            if !tick(self, base + len as u64) {
                return Err(Stop::Cancelled);
            }
            let (pos, at_limit) = self.records(&buf[..len], eof, base)?;
            if at_limit || (eof && pos == len) {
                return Ok(base + pos as u64);
            }
            if pos == 0 && len == buf.len() {
                buf.resize(buf.len() * 2, 0);
            } else {
                buf.copy_within(pos..len, 0);
                len -= pos;
                base += pos as u64;
            }
        }
    }

    /// Reads the whole records of `buf` (with `eof`, the last one too); returns where the
    /// unread part starts and whether the scan reached its limit.
    fn records(&mut self, buf: &[u8], eof: bool, base: u64) -> Result<(usize, bool), Stop> {
        let d = self.d;
        let n = buf.len();
        let mut pos = 0usize;
        let mut it = Structural { at: 0, mask: block_mask(buf, 0, d) };
        // Records that start before `plain` end in this buffer and hold no quote: typed as they
        // are split, with no list of their fields.
        let plain = {
            let end = if eof { n } else { buf.iter().rposition(|&b| b == b'\n' || b == b'\r').map_or(0, |i| i + 1) };
            if memchr::memchr(b'"', &buf[..end]).is_some() {
                0
            } else {
                end
            }
        };
        'record: loop {
            // Between records: line ends are skipped; the limit is checked at each record start.
            loop {
                let at = base + pos as u64;
                if at >= self.limit {
                    if at == self.limit {
                        return Ok((pos, true));
                    }
                    self.missed = true;
                    self.limit = u64::MAX;
                }
                if pos >= n {
                    return Ok((pos, false));
                }
                match buf[pos] {
                    b'\n' | b'\r' => pos += 1,
                    _ => break,
                }
            }
            if pos < plain && !self.want_header {
                pos = self.plain_record(buf, pos, &mut it)?;
                continue 'record;
            }
            self.fields.clear();
            let mut fs = pos;
            loop {
                if fs < n && buf[fs] == b'"' {
                    // A quoted field: to its closing quote ("" is a quote within).
                    let mut i = fs + 1;
                    let mut quotes = false;
                    let close = loop {
                        match buf[i..].iter().position(|&b| b == b'"') {
                            None if eof => return Err(Stop::Slow),
                            None => return Ok((pos, false)),
                            Some(k) => {
                                let q = i + k;
                                if q + 1 < n && buf[q + 1] == b'"' {
                                    quotes = true;
                                    i = q + 2;
                                } else if q + 1 == n && !eof {
                                    return Ok((pos, false));
                                } else {
                                    break q;
                                }
                            }
                        }
                    };
                    self.fields.push(Field { start: fs + 1, end: close, quotes });
                    let after = close + 1;
                    if after == n {
                        // The end of the file.
                        self.record(buf)?;
                        pos = n;
                        continue 'record;
                    }
                    match buf[after] {
                        b if b == d => fs = after + 1,
                        b'\n' | b'\r' => {
                            self.record(buf)?;
                            pos = after + 1;
                            continue 'record;
                        }
                        _ => return Err(Stop::Slow),
                    }
                    continue;
                }
                match it.next_from(buf, fs, d) {
                    None if eof => {
                        self.fields.push(Field { start: fs, end: n, quotes: false });
                        self.record(buf)?;
                        pos = n;
                        continue 'record;
                    }
                    None => return Ok((pos, false)),
                    Some(p) => {
                        self.fields.push(Field { start: fs, end: p, quotes: false });
                        if buf[p] == d {
                            fs = p + 1;
                        } else {
                            self.record(buf)?;
                            pos = p + 1;
                            continue 'record;
                        }
                    }
                }
            }
        }
    }

    /// The record from `fs`, which ends in `buf` (or at its end, the file's) and holds no quote,
    /// into the columns; returns where the next starts.
    #[inline(always)]
    fn plain_record(&mut self, buf: &[u8], mut fs: usize, it: &mut Structural) -> Result<usize, Stop> {
        let (d, n) = (self.d, buf.len());
        self.rows += 1;
        let ncols = self.cols.len();
        let mut ci = 0;
        let next = loop {
            let end = it.next_from(buf, fs, d).unwrap_or(n);
            let b = &buf[fs..end];
            match self.cols.get_mut(ci) {
                Some(col) => type_into(col, b)?,
                None => {
                    std::str::from_utf8(b).map_err(|_| Stop::Slow)?;
                }
            }
            ci += 1;
            if end < n && buf[end] == d {
                fs = end + 1;
            } else {
                break (end + 1).min(n);
            }
        };
        for col in self.cols.iter_mut().skip(ci.min(ncols)) {
            col.push_null();
        }
        Ok(next)
    }

    /// The record whose fields are in `self.fields`: the header, or a row into the columns.
    fn record(&mut self, buf: &[u8]) -> Result<(), Stop> {
        let Scanner { fields, scratch, cols, want_header, names, rows, .. } = self;
        if *want_header {
            let mut read = Vec::with_capacity(fields.len());
            for f in fields.iter() {
                let s = std::str::from_utf8(field(buf, scratch, f)).map_err(|_| Stop::Slow)?;
                read.push(s.trim_start_matches('\u{feff}').to_string());
            }
            *cols = read.iter().map(|_| stats::Column::new()).collect();
            *names = read;
            *want_header = false;
            return Ok(());
        }
        *rows += 1;
        let ncols = cols.len();
        for (f, col) in fields.iter().zip(cols.iter_mut()) {
            type_into(col, field(buf, scratch, f))?;
        }
        for col in cols.iter_mut().skip(fields.len()) {
            col.push_null();
        }
        // Cells past the header's are not read, but the `csv` crate checks they are UTF-8.
        for f in fields.iter().skip(ncols) {
            std::str::from_utf8(field(buf, scratch, f)).map_err(|_| Stop::Slow)?;
        }
        Ok(())
    }
}

/// A field's bytes typed into its column.
#[inline(always)]
fn type_into(col: &mut stats::Column, b: &[u8]) -> Result<(), Stop> {
    if col.hit_text(b) {
        return Ok(());
    }
    match kind_of(b).map_err(|_| Stop::Slow)? {
        Kind::Dec(d) => col.push_dec(d),
        Kind::Num(x, int) => col.push_num(x, int),
        Kind::Null => col.push_null(),
        Kind::Bool(b) => col.push_bool(b),
        Kind::Text(t) => col.push_text(t),
    }
    Ok(())
}

/// A field's bytes, its doubled quotes undone (in `scratch`).
#[inline(always)]
fn field<'a>(buf: &'a [u8], scratch: &'a mut Vec<u8>, f: &Field) -> &'a [u8] {
    if !f.quotes {
        return &buf[f.start..f.end];
    }
    scratch.clear();
    let mut s = &buf[f.start..f.end];
    while let Some(k) = s.iter().position(|&b| b == b'"') {
        scratch.extend_from_slice(&s[..=k]);
        s = &s[k + 2..];
    }
    scratch.extend_from_slice(s);
    scratch
}

/// What a scan of a whole table gives: the header, each column, the number of rows.
pub(crate) struct Scanned {
    pub(crate) names: Vec<String>,
    pub(crate) cols: Vec<stats::Column>,
    pub(crate) rows: u64,
}

/// Scans `r` (a whole CSV or TSV, header first) on this thread.
pub(crate) fn scan_stream(r: impl Read, d: u8) -> Result<Scanned, Stop> {
    let mut s = Scanner::new(d, None);
    s.run(r, &mut |_, _| true)?;
    Ok(Scanned { names: s.names, cols: s.cols, rows: s.rows })
}

/// Counts what a reader reads into a shared total.
struct Counted<'a, R> {
    inner: R,
    done: &'a AtomicU64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.done.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }
}

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A CSV or TSV file of at least 8 MiB scanned by two threads: this one from the start, the other
/// from the cut [`super::split_point`] finds past the middle (it looks for it while this one
/// starts). This one stops at the cut, which must be where one of its records starts: else (a
/// quote that is not a field's, so the quotes' parity lied) the other thread is stopped and this
/// one reads on to the end. None for a smaller file. Progress is reported from this thread.
pub(crate) fn scan_file_in_two(
    fs: &crate::files::ProjectFs,
    path: &std::path::Path,
    d: u8,
    progress: &mut dyn FnMut(u64, u64),
    cancel: &AtomicBool,
) -> Option<Result<Scanned, Stop>> {
    use std::io::{Seek, SeekFrom};
    const PENDING: u64 = u64::MAX;
    const NO_CUT: u64 = u64::MAX - 1;
    let first = fs.open(path).ok()?;
    let total = first.metadata().ok()?.len();
    if total < 8 << 20 {
        return None;
    }
    let for_cut = fs.open(path).ok()?;
    let mut second = fs.open(path).ok()?;
    // The header, for the second part (the first reads it itself).
    let names: Vec<String> = {
        let g = fs.open(path).ok()?;
        let mut rdr = csv::ReaderBuilder::new().delimiter(d).flexible(true).from_reader(std::io::BufReader::new(g));
        rdr.headers().ok()?.iter().map(|h| h.trim_start_matches('\u{feff}').to_string()).collect()
    };
    // Where the cut may be, at the earliest.
    let mid = total / 2;
    let cut = AtomicU64::new(PENDING);
    let abort = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    let (mine, theirs) = std::thread::scope(|sc| {
        let later = sc.spawn(|| -> Option<Result<Scanner, Stop>> {
            let at = super::split_point(&for_cut, total);
            cut.store(at.unwrap_or(NO_CUT), Ordering::Release);
            let at = at?;
            if second.seek(SeekFrom::Start(at)).is_err() {
                return Some(Err(Stop::Slow));
            }
            let mut s = Scanner::new(d, Some(&names));
            let r = s.run(Counted { inner: second, done: &done }, &mut |_, _| {
                !abort.load(Ordering::Relaxed) && !cancel.load(Ordering::Relaxed)
            });
            Some(r.map(|_| s))
        });
        let mut s = Scanner::new(d, None);
        let mut limited = false;
        let mine = s.run(Counted { inner: first, done: &done }, &mut |s, reached| {
            if cancel.load(Ordering::Relaxed) {
                return false;
            }
            progress(done.load(Ordering::Relaxed), total);
            if s.missed {
                abort.store(true, Ordering::Relaxed);
            } else if !limited {
                let mut c = cut.load(Ordering::Acquire);
                // Wait for the cut before reading past where it can be.
                while c == PENDING && reached + BUF as u64 >= mid {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    c = cut.load(Ordering::Acquire);
                }
                if c != PENDING {
                    limited = true;
                    if c != NO_CUT {
                        s.limit = c;
                    }
                }
            }
            true
        });
        if mine.is_err() || s.missed {
            abort.store(true, Ordering::Relaxed);
        }
        let theirs = later.join().unwrap_or(Some(Err(Stop::Slow)));
        (mine.map(|end| (end, s)), theirs)
    });
    progress(total, total);
    let (end, mut s) = match mine {
        Ok(m) => m,
        Err(e) => return Some(Err(e)),
    };
    let at = cut.load(Ordering::Acquire);
    if !s.missed && at != NO_CUT && at != PENDING && end == at {
        let t = match theirs {
            Some(Ok(t)) => t,
            Some(Err(e)) => return Some(Err(e)),
            None => return Some(Err(Stop::Slow)),
        };
        if s.names != names {
            return Some(Err(Stop::Slow));
        }
        s.rows += t.rows;
        for (c, l) in s.cols.iter_mut().zip(t.cols) {
            c.merge(l);
        }
    }
    Some(Ok(Scanned { names: s.names, cols: s.cols, rows: s.rows }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the scan gives equals what the row reader gives, on a file of several buffers whose
    /// records are typed as they are split (no quote): CRLF and CR line ends, empty lines, short
    /// records, extra cells, empty and text cells among numbers, and a last line without an end.
    #[test]
    fn records_typed_as_split_equal_the_row_readers() {
        use super::super::{stats::Column, Cell, Format, Rows};
        struct Cols(Vec<Column>, u64);
        impl Rows for Cols {
            fn columns(&mut self, names: &[String]) {
                self.0 = names.iter().map(|_| Column::new()).collect();
            }
            fn row(&mut self, cells: &[Cell]) -> bool {
                self.1 += 1;
                for (c, cell) in self.0.iter_mut().zip(cells) {
                    c.push(cell);
                }
                true
            }
        }
        let mut csv = String::from("a,b,c\r\n");
        let mut i = 0u64;
        while csv.len() < 3 * BUF + 1000 {
            let end = ["\n", "\r\n", "\r"][(i % 3) as usize];
            match i % 97 {
                0 => csv.push_str(end),
                1 => csv.push_str(&format!("{i}{end}")),
                2 => csv.push_str(&format!("{i},{}.5,x,extra,cells{end}", i % 7)),
                3 => csv.push_str(&format!(",,{end}")),
                4 => csv.push_str(&format!("{i},-0.0,NA{end}")),
                _ => csv.push_str(&format!(
                    "{i},{}.{},{}{end}",
                    i % 1000,
                    i % 100,
                    ["p", "q", "7", ""][(i % 4) as usize]
                )),
            }
            i += 1;
        }
        csv.push_str("1,2,3");
        let fast = scan_stream(csv.as_bytes(), b',').unwrap_or_else(|_| panic!("the scan gave up"));
        let mut slow = Cols(Vec::new(), 0);
        super::super::read(csv.as_bytes(), Format::Delimited(b','), &mut slow).unwrap();
        assert_eq!(fast.rows, slow.1);
        let names = ["a", "b", "c"].map(String::from);
        let a = stats::finish_all(fast.cols, &names);
        let b = stats::finish_all(slow.0, &names);
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }

    #[test]
    fn the_fast_numbers_are_what_the_cell_typing_gives() {
        let mut seed = 11u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            seed >> 11
        };
        let mut cases: Vec<String> = [
            "0",
            "-0",
            "00",
            "007",
            "-007",
            "0.0",
            "-0.0",
            "1.",
            ".5",
            "-.5",
            "+5",
            "+0.5",
            "1e5",
            "1.5e3",
            "12 ",
            " 12",
            "9007199254740992.0",
            "9007199254740993.0",
            "900719925474099.3",
            "123456789012345678",
            "1234567890123456789",
            "-123456789012345678",
            "0.1234567890123456789",
            "0.12345678901234567890",
            "1.0000000000000000001",
            "-",
            "--1",
            "1.2.3",
            "1,5",
            "inf",
            "NaN",
            "",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for _ in 0..20_000 {
            let int = next() % 10_u64.pow((next() % 19) as u32 + 1);
            let frac_digits = (next() % 12) as usize;
            let frac = next() % 10_u64.pow(frac_digits as u32);
            let sign = if next() % 3 == 0 { "-" } else { "" };
            cases.push(format!("{sign}{int}"));
            cases.push(format!("{sign}{int}.{frac:0frac_digits$}"));
        }
        for c in &cases {
            let want = super::super::cell(c);
            let got = match kind_of(c.as_bytes()).unwrap() {
                Kind::Null => super::super::Cell::Null,
                Kind::Num(f, i) => super::super::Cell::Num(f, i),
                Kind::Dec(d) => super::super::Cell::Num(d.value(), d.frac == 0),
                Kind::Bool(b) => super::super::Cell::Bool(b),
                Kind::Text(t) => super::super::Cell::Text(t.into()),
            };
            match (&got, &want) {
                (super::super::Cell::Num(a, ai), super::super::Cell::Num(b, bi)) => {
                    assert!(a.to_bits() == b.to_bits() && ai == bi, "{c:?}: {got:?} vs {want:?}")
                }
                _ => assert_eq!(got, want, "{c:?}"),
            }
        }
    }
}

#[cfg(test)]
mod differential {
    use super::super::{read, stats, Format, Profiler};
    use super::*;

    /// The statistics of `text` by the scan and by the row-by-row reader, the same (mean and std
    /// within 1e-12: the two may hold the values in different orders).
    fn same_as_rows(text: &[u8], d: u8) {
        let mut rows = Profiler::default();
        if read(std::io::Cursor::new(text), Format::Delimited(d), &mut rows).is_err() {
            // An error row by row: the scan must give up, for the reader to report it.
            assert!(matches!(scan_stream(std::io::Cursor::new(text), d), Err(Stop::Slow)));
            return;
        }
        let scanned = match scan_stream(std::io::Cursor::new(text), d) {
            Ok(s) => s,
            // Given up: the caller reads row by row, which is the answer.
            Err(Stop::Slow) => return,
            Err(Stop::Cancelled) => panic!("cancelled"),
        };
        assert_eq!(scanned.names, rows.names, "{}", String::from_utf8_lossy(text));
        assert_eq!(scanned.rows, rows.rows);
        let a = stats::finish_all(scanned.cols, &scanned.names);
        let b = stats::finish_all(rows.cols, &rows.names);
        for (x, y) in a.iter().zip(&b) {
            let close = |p: Option<f64>, q: Option<f64>| match (p, q) {
                (Some(p), Some(q)) => p == q || (p - q).abs() <= 1e-12 * q.abs() || (p.is_nan() && q.is_nan()),
                (p, q) => p == q,
            };
            assert!(close(x.mean, y.mean) && close(x.std, y.std), "{x:?} vs {y:?}");
            let strip =
                |c: &stats::ColumnStats| format!("{:?}", stats::ColumnStats { mean: None, std: None, ..c.clone() });
            assert_eq!(strip(x), strip(y), "{}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn the_scan_reads_every_table_as_the_csv_crate_does() {
        let mut seed = 5u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            seed >> 33
        };
        let pieces: &[&str] = &[
            "1",
            "-2",
            "3.25",
            "-0.0",
            "0",
            "007",
            "1e3",
            "inf",
            "-inf",
            "NaN",
            "nan",
            "NA",
            "",
            "n/a",
            "null",
            "True",
            "false",
            "TRUE",
            "x",
            "café",
            " 5",
            "5 ",
            "\"q\"",
            "\"a,b\"",
            "\"l1\nl2\"",
            "\"\"\"x\"\"\"",
            "\"\"",
            "\"12\"",
            "a\"b",
            "12345678901234567890",
            "0.1234567890123456789",
            "+4",
            ".5",
            "9007199254740993.5",
        ];
        let ends: &[&str] = &["\n", "\r\n", "\r", "\n\n", "\r\n\r\n"];
        for case in 0..400 {
            let d = if case % 5 == 4 { b'\t' } else { b',' };
            let mut text = String::new();
            let ncols = 1 + next() as usize % 4;
            let sep = (d as char).to_string();
            text.push_str(&(0..ncols).map(|i| format!("c{i}")).collect::<Vec<_>>().join(&sep));
            text.push_str(ends[next() as usize % ends.len()]);
            let nrows = next() as usize % 30;
            // A column of one kind mostly, a few others mixed in.
            let kinds: Vec<usize> = (0..ncols).map(|_| next() as usize % pieces.len()).collect();
            for r in 0..nrows {
                let n = if next() % 8 == 0 { 1 + next() as usize % (ncols + 2) } else { ncols };
                let cells: Vec<&str> = (0..n)
                    .map(|c| {
                        if next() % 4 == 0 {
                            pieces[next() as usize % pieces.len()]
                        } else {
                            pieces[kinds.get(c).copied().unwrap_or(0)]
                        }
                    })
                    .collect();
                text.push_str(&cells.join(&sep));
                if r + 1 < nrows || next() % 2 == 0 {
                    text.push_str(ends[next() as usize % ends.len()]);
                }
            }
            same_as_rows(text.as_bytes(), d);
        }
        // Records longer than the buffer, and text after a closing quote (given up).
        let long = format!("a,b\n1,\"{}\"\n2,x\n", "y".repeat(3 << 20));
        same_as_rows(long.as_bytes(), b',');
        same_as_rows(b"a,b\n\"x\"y,1\n", b',');
        same_as_rows(b"a,b\n1,\"open", b',');
        same_as_rows(b"a,b\n1,\xff\xfe\n", b',');
    }

    /// Columns that go from counts to values (past the limit of distinct values) in either part of
    /// a two-thread read, and a column with exactly the limit.
    #[test]
    fn a_column_past_the_count_limit_gives_the_same_statistics() {
        let n = super::super::nums::MAP_LIMIT + 1;
        let mut text = String::from("exact,over,late,early\n");
        for i in 0..2 * n {
            let exact = i % super::super::nums::MAP_LIMIT;
            let over = i % n;
            let late = if i < n { i % 7 } else { i };
            let early = if i < n { i } else { i % 7 };
            text.push_str(&format!("{exact},{}.5,{late},{early}\n", over as f64 / 4.0));
        }
        same_as_rows(text.as_bytes(), b',');
        let half = text.len() / 2;
        let cut = half + text[half..].find('\n').unwrap() + 1;
        let (first, second) = text.split_at(cut);
        let mut a = Scanner::new(b',', None);
        a.run(std::io::Cursor::new(first.as_bytes()), &mut |_, _| true).unwrap();
        let mut b = Scanner::new(b',', Some(&a.names));
        b.run(std::io::Cursor::new(second.as_bytes()), &mut |_, _| true).unwrap();
        for (x, y) in a.cols.iter_mut().zip(b.cols) {
            x.merge(y);
        }
        let mut rows = Profiler::default();
        read(std::io::Cursor::new(text.as_bytes()), Format::Delimited(b','), &mut rows).unwrap();
        let two = stats::finish_all(a.cols, &a.names);
        let one = stats::finish_all(rows.cols, &rows.names);
        for (x, y) in two.iter().zip(&one) {
            assert_eq!(x.distinct, y.distinct);
            assert_eq!((x.q25, x.q50, x.q75, x.min, x.max), (y.q25, y.q50, y.q75, y.min, y.max));
            assert_eq!((&x.top, &x.histogram), (&y.top, &y.histogram));
            assert!((x.mean.unwrap() - y.mean.unwrap()).abs() <= 1e-12 * y.mean.unwrap().abs());
        }
        assert_eq!(one[0].distinct, super::super::nums::MAP_LIMIT as u64);
        assert_eq!(one[1].distinct, n as u64);
    }
}
