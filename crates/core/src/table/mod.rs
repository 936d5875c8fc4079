//! Tabular files (CSV, TSV, JSONL) read as columns of cells, for previews, statistics, diffs and
//! drift. Cells are typed the way pandas reads them: pandas' default missing-value markers
//! (`""`, `NA`, `NaN`, `null`, `None`, ...) are nulls; a column whose every other cell is a number
//! is numeric ("integer" when all are whole numbers written without a point, else "float"); one
//! of only `true`/`false` is "boolean"; anything else is "string".

pub(crate) mod diff;
mod nums;
pub(crate) mod parquet_pages;
pub(crate) mod scan;
pub(crate) mod stats;

use std::io::Read;

use serde_json::Value;

use crate::Error;

/// A tabular file's layout, from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Delimited(u8),
    Jsonl,
    Parquet,
}

pub(crate) fn format_of(path: &str) -> Option<Format> {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".csv") {
        Some(Format::Delimited(b','))
    } else if lower.ends_with(".tsv") || lower.ends_with(".tab") {
        Some(Format::Delimited(b'\t'))
    } else if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
        Some(Format::Jsonl)
    } else if lower.ends_with(".parquet") || lower.ends_with(".pq") {
        Some(Format::Parquet)
    } else {
        None
    }
}

/// One cell.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Cell {
    Null,
    /// A number, and whether it was written as a whole number (no point or exponent).
    Num(f64, bool),
    Bool(bool),
    Text(String),
}

/// pandas' default `na_values` (read_csv) plus the empty cell.
const NA: &[&str] = &[
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA",
    "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// A CSV cell as pandas types it.
pub(crate) fn cell(s: &str) -> Cell {
    match scan::kind_of_str(s) {
        scan::Kind::Null => Cell::Null,
        scan::Kind::Num(f, int) => Cell::Num(f, int),
        scan::Kind::Dec(d) => Cell::Num(d.value(), d.frac == 0),
        scan::Kind::Bool(b) => Cell::Bool(b),
        scan::Kind::Text(t) => Cell::Text(t.to_string()),
    }
}

fn json_cell(v: &Value) -> Cell {
    match v {
        Value::Null => Cell::Null,
        Value::Bool(b) => Cell::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Cell::Num(i as f64, true),
            (None, Some(f)) => Cell::Num(f, false),
            _ => Cell::Null,
        },
        Value::String(s) => Cell::Text(s.clone()),
        other => Cell::Text(other.to_string()),
    }
}

/// What a read delivers to.
pub(crate) trait Rows {
    /// The header, before any row.
    fn columns(&mut self, names: &[String]);
    /// One row, one cell per column (missing cells are nulls); false stops the read.
    fn row(&mut self, cells: &[Cell]) -> bool;
}

/// Reads a version's bytes (`body`, opened through `fs`) row by row into `to`; `wrap` sees the
/// byte stream of text formats (to count progress or hash it).
pub(crate) fn read_body(
    fs: &crate::files::ProjectFs,
    body: &crate::versions::Body,
    format: Format,
    to: &mut dyn Rows,
) -> Result<(), Error> {
    use crate::versions::Body;
    match (body, format) {
        (Body::File(p), Format::Parquet) => {
            let f = fs.open(p).map_err(|e| Error::Io(format!("{}: {e}", p.display())))?;
            read_parquet(f, to)
        }
        (Body::Memory(m), Format::Parquet) => read_parquet(bytes::Bytes::from(m.clone()), to),
        (Body::File(p), _) => {
            let f = fs.open(p).map_err(|e| Error::Io(format!("{}: {e}", p.display())))?;
            read(std::io::BufReader::with_capacity(1 << 20, f), format, to)
        }
        (Body::Memory(m), _) => read(std::io::Cursor::new(m), format, to),
    }
}

fn parquet_cell(f: &parquet::record::Field) -> Cell {
    use parquet::record::Field as F;
    let num = |x: f64| if x.is_nan() { Cell::Null } else { Cell::Num(x, false) };
    match f {
        F::Null => Cell::Null,
        F::Bool(b) => Cell::Bool(*b),
        F::Byte(x) => Cell::Num(*x as f64, true),
        F::Short(x) => Cell::Num(*x as f64, true),
        F::Int(x) => Cell::Num(*x as f64, true),
        F::Long(x) => Cell::Num(*x as f64, true),
        F::UByte(x) => Cell::Num(*x as f64, true),
        F::UShort(x) => Cell::Num(*x as f64, true),
        F::UInt(x) => Cell::Num(*x as f64, true),
        F::ULong(x) => Cell::Num(*x as f64, true),
        F::Float16(x) => num(f64::from(*x)),
        F::Float(x) => num(*x as f64),
        F::Double(x) => num(*x),
        F::Decimal(_) => f.to_string().parse::<f64>().map(num).unwrap_or_else(|_| Cell::Text(f.to_string())),
        F::Str(s) => Cell::Text(s.clone()),
        F::Bytes(b) => Cell::Text(String::from_utf8_lossy(b.data()).into_owned()),
        other => Cell::Text(other.to_string().trim_matches('"').to_string()),
    }
}

/// A Parquet file, row by row: flat files of plain types column by column in batches (fast),
/// anything else (nested columns, dates, decimals) through the row reader (top-level columns;
/// nested ones as text).
fn read_parquet<R: parquet::file::reader::ChunkReader + 'static>(r: R, to: &mut dyn Rows) -> Result<(), Error> {
    let bad = |e: parquet::errors::ParquetError| Error::Project(format!("not a readable Parquet file: {e}"));
    parquet_guarded(|| read_parquet_unguarded(r, to)).map_err(bad)
}

/// Runs a read by the `parquet` crate, whose decoders can panic on damaged data (a dictionary
/// index past the dictionary's end, found by fuzzing): such a panic becomes an error.
pub(crate) fn parquet_guarded<T>(read: impl FnOnce() -> parquet::errors::Result<T>) -> parquet::errors::Result<T> {
    crate::panics::catch_quietly(read)
        .unwrap_or_else(|why| Err(parquet::errors::ParquetError::General(format!("damaged data ({why})"))))
}

/// [`read_parquet`], a panic of the `parquet` crate not caught.
fn read_parquet_unguarded<R: parquet::file::reader::ChunkReader + 'static>(
    r: R,
    to: &mut dyn Rows,
) -> parquet::errors::Result<()> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(r)?;
    let names: Vec<String> = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .root_schema()
        .get_fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    to.columns(&names);
    if flat_plain(&reader) {
        return read_parquet_columns(&reader, names.len(), to);
    }
    let mut cells = vec![Cell::Null; names.len()];
    for row in reader.get_row_iter(None)? {
        let row = row?;
        for (i, (_, field)) in row.get_column_iter().enumerate().take(cells.len()) {
            cells[i] = parquet_cell(field);
        }
        if !to.row(&cells) {
            break;
        }
    }
    Ok(())
}

/// Whether every column is a top-level one of a plain type (booleans, integers, floats, strings).
pub(crate) fn flat_plain<R: parquet::file::reader::ChunkReader + 'static>(
    reader: &parquet::file::reader::SerializedFileReader<R>,
) -> bool {
    use parquet::basic::{LogicalType, Type as P};
    use parquet::file::reader::FileReader;
    let schema = reader.metadata().file_metadata().schema_descr();
    schema.num_columns() == schema.root_schema().get_fields().len()
        && schema.columns().iter().all(|c| {
            c.max_rep_level() == 0
                && matches!(
                    (c.physical_type(), c.logical_type_ref()),
                    (P::BOOLEAN | P::FLOAT | P::DOUBLE, None)
                        | (P::INT32 | P::INT64, None | Some(LogicalType::Integer { .. }))
                        | (P::BYTE_ARRAY, None | Some(LogicalType::String))
                )
        })
}

/// A flat Parquet file of plain types, column by column, 8,192 records at a time.
fn read_parquet_columns<R: parquet::file::reader::ChunkReader + 'static>(
    reader: &parquet::file::reader::SerializedFileReader<R>,
    ncols: usize,
    to: &mut dyn Rows,
) -> parquet::errors::Result<()> {
    use parquet::file::reader::FileReader;
    read_parquet_groups(reader, ncols, 0..reader.num_row_groups(), to)
}

/// The row groups `groups` of a flat Parquet file of plain types, column by column.
fn read_parquet_groups<R: parquet::file::reader::ChunkReader + 'static>(
    reader: &parquet::file::reader::SerializedFileReader<R>,
    ncols: usize,
    groups: std::ops::Range<usize>,
    to: &mut dyn Rows,
) -> parquet::errors::Result<()> {
    use parquet::column::reader::ColumnReader as C;
    use parquet::file::reader::FileReader;
    const BATCH: usize = 8192;
    let max_def: Vec<i16> =
        reader.metadata().file_metadata().schema_descr().columns().iter().map(|c| c.max_def_level()).collect();
    let mut row = vec![Cell::Null; ncols];
    for g in groups {
        let group = reader.get_row_group(g)?;
        let mut readers: Vec<C> = (0..ncols).map(|i| group.get_column_reader(i)).collect::<Result<_, _>>()?;
        loop {
            let mut cols: Vec<Vec<Cell>> = Vec::with_capacity(ncols);
            for (i, rd) in readers.iter_mut().enumerate() {
                let mut defs: Vec<i16> = Vec::new();
                let def = (max_def[i] > 0).then_some(&mut defs);
                // The non-null values, then spread over the records by their definition levels.
                let (n, vals): (usize, Vec<Cell>) = match rd {
                    C::BoolColumnReader(r) => {
                        let mut v = Vec::new();
                        let (n, _, _) = r.read_records(BATCH, def, None, &mut v)?;
                        (n, v.into_iter().map(Cell::Bool).collect())
                    }
                    C::Int32ColumnReader(r) => {
                        let mut v = Vec::new();
                        let (n, _, _) = r.read_records(BATCH, def, None, &mut v)?;
                        (n, v.into_iter().map(|x| Cell::Num(x as f64, true)).collect())
                    }
                    C::Int64ColumnReader(r) => {
                        let mut v = Vec::new();
                        let (n, _, _) = r.read_records(BATCH, def, None, &mut v)?;
                        (n, v.into_iter().map(|x| Cell::Num(x as f64, true)).collect())
                    }
                    C::FloatColumnReader(r) => {
                        let mut v = Vec::new();
                        let (n, _, _) = r.read_records(BATCH, def, None, &mut v)?;
                        (
                            n,
                            v.into_iter()
                                .map(|x| if x.is_nan() { Cell::Null } else { Cell::Num(x as f64, false) })
                                .collect(),
                        )
                    }
                    C::DoubleColumnReader(r) => {
                        let mut v = Vec::new();
                        let (n, _, _) = r.read_records(BATCH, def, None, &mut v)?;
                        (n, v.into_iter().map(|x| if x.is_nan() { Cell::Null } else { Cell::Num(x, false) }).collect())
                    }
                    C::ByteArrayColumnReader(r) => {
                        let mut v = Vec::new();
                        let (n, _, _) = r.read_records(BATCH, def, None, &mut v)?;
                        (n, v.into_iter().map(|b| Cell::Text(String::from_utf8_lossy(b.data()).into_owned())).collect())
                    }
                    _ => return Err(parquet::errors::ParquetError::General("an unexpected column type".into())),
                };
                let cells = if max_def[i] > 0 {
                    let mut it = vals.into_iter();
                    defs.iter()
                        .map(|&d| if d == max_def[i] { it.next().unwrap_or(Cell::Null) } else { Cell::Null })
                        .collect()
                } else {
                    vals
                };
                debug_assert_eq!(cells.len(), n);
                cols.push(cells);
            }
            let n = cols.first().map_or(0, Vec::len);
            if n == 0 {
                break;
            }
            let mut iters: Vec<std::vec::IntoIter<Cell>> = cols.into_iter().map(Vec::into_iter).collect();
            for _ in 0..n {
                for (c, it) in row.iter_mut().zip(iters.iter_mut()) {
                    *c = it.next().unwrap_or(Cell::Null);
                }
                if !to.row(&row) {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

/// Reads `r` row by row into `to` (a text format).
pub(crate) fn read(r: impl Read, format: Format, to: &mut dyn Rows) -> Result<(), Error> {
    match format {
        Format::Parquet => return Err(Error::Project("a Parquet file is read from a file, not a stream".into())),
        Format::Delimited(d) => read_delimited(r, d, None, to)?,
        Format::Jsonl => {
            use std::io::BufRead;
            let mut names: Vec<String> = Vec::new();
            let mut rows: Vec<serde_json::Map<String, Value>> = Vec::new();
            // The columns are the keys in order of first appearance: the first 1,000 records set
            // them (a later new key is not shown).
            let mut lines = std::io::BufReader::new(r).lines();
            let mut n = 0usize;
            let parse =
                |line: std::io::Result<String>, n: usize| -> Result<Option<serde_json::Map<String, Value>>, Error> {
                    let line = line.map_err(|e| Error::Io(format!("line {n}: {e}")))?;
                    if line.trim().is_empty() {
                        return Ok(None);
                    }
                    match serde_json::from_str::<Value>(&line) {
                        Ok(Value::Object(m)) => Ok(Some(m)),
                        Ok(_) => Err(Error::Project(format!("line {n}: not a JSON object"))),
                        Err(e) => Err(Error::Project(format!("line {n}: {e}"))),
                    }
                };
            for line in lines.by_ref() {
                n += 1;
                if let Some(m) = parse(line, n)? {
                    for k in m.keys() {
                        if !names.contains(k) {
                            names.push(k.clone());
                        }
                    }
                    rows.push(m);
                    if rows.len() == 1000 {
                        break;
                    }
                }
            }
            to.columns(&names);
            let mut cells = vec![Cell::Null; names.len()];
            let mut emit = |m: &serde_json::Map<String, Value>, cells: &mut Vec<Cell>| {
                for (i, name) in names.iter().enumerate() {
                    cells[i] = m.get(name).map(json_cell).unwrap_or(Cell::Null);
                }
                to.row(cells)
            };
            for m in &rows {
                if !emit(m, &mut cells) {
                    return Ok(());
                }
            }
            for line in lines {
                n += 1;
                if let Some(m) = parse(line, n)? {
                    if !emit(&m, &mut cells) {
                        break;
                    }
                }
            }
        }
    }
    Ok(())
}

/// A CSV or TSV, row by row; with `names`, `r` starts after the header (a later part of a file).
fn read_delimited(r: impl Read, d: u8, names: Option<&[String]>, to: &mut dyn Rows) -> Result<(), Error> {
    let mut rdr = csv::ReaderBuilder::new().delimiter(d).flexible(true).has_headers(names.is_none()).from_reader(r);
    let header: Vec<String> = match names {
        Some(n) => n.to_vec(),
        None => rdr
            .headers()
            .map_err(|e| Error::Project(format!("the header: {e}")))?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').to_string())
            .collect(),
    };
    to.columns(&header);
    let mut cells = vec![Cell::Null; header.len()];
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                return Err(Error::Project(format!("line {line}: {e}")));
            }
        }
        for (i, c) in cells.iter_mut().enumerate() {
            *c = rec.get(i).map(cell).unwrap_or(Cell::Null);
        }
        if !to.row(&cells) {
            break;
        }
    }
    Ok(())
}

/// A cell as JSON for a preview: non-finite numbers as "NaN", "Infinity", "-Infinity".
pub(crate) fn cell_json(c: &Cell) -> Value {
    match c {
        Cell::Null => Value::Null,
        Cell::Bool(b) => Value::Bool(*b),
        Cell::Num(f, int) if *int && f.abs() < 9.0e15 => Value::from(*f as i64),
        Cell::Num(f, _) => crate::json_num(*f),
        Cell::Text(s) => Value::String(s.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two threads, each on half of a file, give exactly what one thread gives over the whole,
    /// with quoted fields holding line ends and quotes around the cut.
    #[test]
    fn a_table_read_in_two_halves_profiles_as_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        let mut text = String::from("id,x,note,k\r\n");
        let mut i = 0u64;
        while text.len() < 12 << 20 {
            let x = (i.wrapping_mul(2654435761) % 100_000) as f64 / 7.0;
            // Mostly inside quotes, a line end within: a cut at any line end after the middle
            // would most likely split a field.
            let note = if i.is_multiple_of(7) {
                format!("n{}", i % 11)
            } else {
                format!("\"{}\nbreak, \"\"q\"\" {i}\"", "w".repeat(200 + (i % 13) as usize))
            };
            let k = if i.is_multiple_of(5) { String::new() } else { (i % 4).to_string() };
            text.push_str(&format!("{i},{x},{note},{k}\r\n"));
            i += 1;
        }
        std::fs::write(&path, &text).unwrap();
        let fs = crate::files::ProjectFs::new(dir.path());
        let cut = split_point(&fs.open(&path).unwrap(), text.len() as u64).expect("a cut");
        assert_eq!(text.as_bytes()[cut as usize - 1], b'\n');
        assert_eq!(in_two_as_in_one(&fs, &path, &text), i);
    }

    /// Scans `text`, written at `path`, with two threads; asserts it gives what one row reader
    /// gives (names, rows, every column's statistics) and that progress reached the end; the rows.
    fn in_two_as_in_one(fs: &crate::files::ProjectFs, path: &std::path::Path, text: &str) -> u64 {
        let never = std::sync::atomic::AtomicBool::new(false);
        let mut reported = 0;
        let two = match scan::scan_file_in_two(fs, path, b',', &mut |done, _| reported = done, &never) {
            Some(Ok(two)) => two,
            _ => panic!("not scanned"),
        };
        assert_eq!(reported, text.len() as u64);
        let mut one = Profiler { head: 3, ..Profiler::default() };
        read(std::io::Cursor::new(text.as_bytes()), Format::Delimited(b','), &mut one).unwrap();
        assert_eq!((&two.names, two.rows), (&one.names, one.rows));
        assert_eq!(stats::finish_all(two.cols, &two.names), stats::finish_all(one.cols, &one.names));
        two.rows
    }

    /// A file with no quote in its first MiB is cut at the first line end past the middle without
    /// counting quotes; where that cut falls inside a quoted field, the first reader reads on and
    /// the answer is still one reader's.
    #[test]
    fn a_quick_cut_inside_a_quoted_field_is_read_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("late.csv");
        let mut text = String::from("id,x,note\n");
        let mut i = 0u64;
        while text.len() < 2 << 20 {
            text.push_str(&format!("{i},{},plain {}\n", i % 97, i % 5));
            i += 1;
        }
        while text.len() < 12 << 20 {
            // Line ends inside quotes: most line ends are not where a record starts.
            text.push_str(&format!("{i},{},\"{}\n{}\n{}\"\n", i % 97, "a".repeat(30), "b".repeat(40), i % 3));
            i += 1;
        }
        std::fs::write(&path, &text).unwrap();
        let fs = crate::files::ProjectFs::new(dir.path());
        let cut = split_point(&fs.open(&path).unwrap(), text.len() as u64).expect("a cut");
        let mid = text.len() / 2;
        assert_eq!(cut as usize, mid + text[mid..].find('\n').unwrap() + 1, "the first line end past the middle");
        assert_eq!(text[..cut as usize].matches('"').count() % 2, 1, "a cut inside a quoted field");
        assert_eq!(in_two_as_in_one(&fs, &path, &text), i);
    }

    /// Parquet read page by page gives what the record reader gives, on every chunk of the
    /// fixtures; the page reader takes every chunk but the booleans and the one in an encoding it
    /// does not decode.
    #[test]
    fn parquet_pages_read_as_the_record_reader_reads() {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let never = std::sync::atomic::AtomicBool::new(false);
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tables");
        for file in ["tricky.parquet", "pages.parquet"] {
            let r = SerializedFileReader::new(std::fs::File::open(dir.join(file)).unwrap()).unwrap();
            assert!(flat_plain(&r), "{file}");
            let names: Vec<String> =
                r.metadata().file_metadata().schema_descr().columns().iter().map(|c| c.name().to_string()).collect();
            let groups = r.num_row_groups();
            let mut fast: Vec<stats::Column> = names.iter().map(|_| stats::Column::new()).collect();
            let mut slow = fast.clone();
            assert_eq!(
                scan_parquet_groups(&r, 0..groups, &mut fast, &never, true).unwrap(),
                scan_parquet_groups(&r, 0..groups, &mut slow, &never, false).unwrap()
            );
            // As text: a column with an infinity has a NaN std, equal to itself only so.
            assert_eq!(
                format!("{:?}", stats::finish_all(fast, &names)),
                format!("{:?}", stats::finish_all(slow, &names)),
                "{file}"
            );
            let types: Vec<_> =
                r.metadata().file_metadata().schema_descr().columns().iter().map(|c| c.physical_type()).collect();
            for g in 0..groups {
                let group = r.get_row_group(g).unwrap();
                for (i, name) in names.iter().enumerate() {
                    let max = r.metadata().file_metadata().schema_descr().column(i).max_def_level();
                    let taken = parquet_pages::takes(group.metadata().column(i), max);
                    assert_eq!(taken, !["delta", "ok", "flag"].contains(&name.as_str()), "{file} group {g} {name}");
                    let mut col = stats::Column::new();
                    let read = taken
                        && parquet_pages::read_chunk(
                            &mut group.get_column_page_reader(i).unwrap(),
                            types[i],
                            max,
                            &mut col,
                        );
                    assert_eq!(read, taken, "{file} group {g} {name}");
                }
            }
        }
    }

    /// A page whose bytes are damaged (its metadata intact) is an error naming the row group and
    /// column, not statistics of what could be read.
    #[test]
    fn a_damaged_parquet_page_is_an_error() {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tables/pages.parquet");
        let mut bytes = std::fs::read(&src).unwrap();
        let (start, len) = {
            let r = SerializedFileReader::new(std::fs::File::open(&src).unwrap()).unwrap();
            let plan = r.metadata().row_group(1).column(4);
            assert_eq!(plan.column_path().string(), "plan");
            plan.byte_range()
        };
        // The chunk's last bytes: inside its last data page, past the page's header.
        for b in &mut bytes[(start + len - 24) as usize..(start + len) as usize] {
            *b ^= 0x5a;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.parquet"), &bytes).unwrap();
        let fs = crate::files::ProjectFs::new(dir.path());
        let never = std::sync::atomic::AtomicBool::new(false);
        match profile_parquet_columns(&fs, &dir.path().join("bad.parquet"), &never) {
            Some(Err(e)) => assert!(e.to_string().contains("row group 1, column 5"), "{e}"),
            Some(Ok(_)) => panic!("damaged data read as if whole"),
            None => panic!("not read"),
        }
    }

    #[test]
    fn cells_are_typed_as_pandas_reads_them() {
        assert_eq!(cell(""), Cell::Null);
        assert_eq!(cell("NA"), Cell::Null);
        assert_eq!(cell("nan"), Cell::Null);
        assert_eq!(cell("12"), Cell::Num(12.0, true));
        assert_eq!(cell("1.5e3"), Cell::Num(1500.0, false));
        assert_eq!(cell("inf"), Cell::Num(f64::INFINITY, false));
        assert_eq!(cell("True"), Cell::Bool(true));
        assert_eq!(cell("basic"), Cell::Text("basic".into()));
    }
}

/// What `data show` reports: every column's statistics and the first rows.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DataProfile {
    pub path: String,
    /// "workspace" or the commit id.
    pub rev: String,
    pub rows: u64,
    pub columns: Vec<stats::ColumnStats>,
    pub head: Vec<serde_json::Map<String, Value>>,
    /// A recomputed hash that differs from what DVC recorded, and the like.
    pub warnings: Vec<String>,
}

/// Builds a [`DataProfile`]'s columns and head.
#[derive(Default)]
struct Profiler {
    names: Vec<String>,
    cols: Vec<stats::Column>,
    rows: u64,
    head: usize,
    first: Vec<serde_json::Map<String, Value>>,
}

/// Where a CSV or TSV of `total` bytes can be cut in two for two readers: a line end past the
/// middle where a record starts. When the file's first MiB holds no quote, the first line end
/// past the middle (most likely right, and checked by the first reader, which reads on where it
/// is wrong); else the first line end past the middle with an even number of quotes before it
/// (counted from the start, so no quoted field spans the cut). None when the file is small or no
/// such line end is near the middle.
fn split_point(f: &std::fs::File, total: u64) -> Option<u64> {
    use std::io::{Seek, SeekFrom};
    if total < 8 << 20 {
        return None;
    }
    let mut r = std::io::BufReader::with_capacity(1 << 20, f);
    let mut buf = vec![0u8; 1 << 20];
    r.seek(SeekFrom::Start(0)).ok()?;
    let k = read_full(&mut r, &mut buf).ok()?;
    let quoted = buf[..k].contains(&b'"');
    // Counting the quotes takes time: the second reader's part is then a little smaller.
    let mid = if quoted { total / 2 + total / 50 } else { total / 2 };
    let mut quotes = 0u64;
    let mut pos = 0u64;
    if quoted {
        // Quotes before the middle.
        r.seek(SeekFrom::Start(0)).ok()?;
        while pos < mid {
            let want = ((mid - pos) as usize).min(buf.len());
            let k = r.read(&mut buf[..want]).ok()?;
            if k == 0 {
                return None;
            }
            quotes += buf[..k].iter().filter(|&&b| b == b'"').count() as u64;
            pos += k as u64;
        }
    } else {
        r.seek(SeekFrom::Start(mid)).ok()?;
        pos = mid;
    }
    // Then the first line end at even parity, within 4 MiB.
    while pos < (mid + (4 << 20)).min(total) {
        let k = r.read(&mut buf).ok()?;
        if k == 0 {
            return None;
        }
        for (i, &b) in buf[..k].iter().enumerate() {
            if b == b'"' {
                quotes += 1;
            } else if b == b'\n' && quotes.is_multiple_of(2) {
                return Some(pos + i as u64 + 1);
            }
        }
        pos += k as u64;
    }
    None
}

/// Reads until `buf` is full or the end; how many bytes were read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The row groups `groups` of a flat Parquet file of plain types, column by column, each value
/// added straight to its column's statistics: page by page where [`parquet_pages`] reads the
/// chunk (with `pages`), else record by record. Returns the number of rows.
pub(crate) fn scan_parquet_groups<R: parquet::file::reader::ChunkReader + 'static>(
    reader: &parquet::file::reader::SerializedFileReader<R>,
    groups: std::ops::Range<usize>,
    cols: &mut [stats::Column],
    cancel: &std::sync::atomic::AtomicBool,
    pages: bool,
) -> parquet::errors::Result<u64> {
    parquet_guarded(|| scan_parquet_groups_unguarded(reader, groups, cols, cancel, pages))
}

/// [`scan_parquet_groups`], a panic of the `parquet` crate not caught.
fn scan_parquet_groups_unguarded<R: parquet::file::reader::ChunkReader + 'static>(
    reader: &parquet::file::reader::SerializedFileReader<R>,
    groups: std::ops::Range<usize>,
    cols: &mut [stats::Column],
    cancel: &std::sync::atomic::AtomicBool,
    pages: bool,
) -> parquet::errors::Result<u64> {
    use parquet::column::reader::ColumnReader as C;
    use parquet::file::reader::FileReader;
    const BATCH: usize = 8192;
    let max_def: Vec<i16> =
        reader.metadata().file_metadata().schema_descr().columns().iter().map(|c| c.max_def_level()).collect();
    let types: Vec<parquet::basic::Type> =
        reader.metadata().file_metadata().schema_descr().columns().iter().map(|c| c.physical_type()).collect();
    let mut rows = 0u64;
    let mut defs: Vec<i16> = Vec::new();
    for g in groups {
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        let group = reader.get_row_group(g)?;
        rows += group.metadata().num_rows().max(0) as u64;
        for (i, col) in cols.iter_mut().enumerate() {
            let max = max_def[i];
            // Page by page where it can, else by records.
            if pages && parquet_pages::takes(group.metadata().column(i), max) {
                if !parquet_pages::read_chunk(&mut group.get_column_page_reader(i)?, types[i], max, col) {
                    return Err(parquet::errors::ParquetError::General(format!(
                        "row group {g}, column {}: a page is not as the file's metadata says",
                        i + 1
                    )));
                }
                continue;
            }
            // Each batch's non-null values, spread over its records by their definition levels.
            macro_rules! batches {
                ($r:expr, $vals:expr, $push:expr) => {{
                    let mut vals = $vals;
                    loop {
                        vals.clear();
                        defs.clear();
                        let def = (max > 0).then_some(&mut defs);
                        let (n, _, _) = $r.read_records(BATCH, def, None, &mut vals)?;
                        if n == 0 {
                            break;
                        }
                        if max > 0 {
                            let mut it = vals.iter();
                            for &d in &defs {
                                match if d == max { it.next() } else { None } {
                                    Some(v) => $push(col, v),
                                    None => col.push_null(),
                                }
                            }
                        } else {
                            for v in &vals {
                                $push(col, v);
                            }
                        }
                    }
                }};
            }
            match group.get_column_reader(i)? {
                C::BoolColumnReader(mut r) => {
                    batches!(r, Vec::<bool>::new(), |c: &mut stats::Column, v: &bool| c.push_bool(*v))
                }
                C::Int32ColumnReader(mut r) => {
                    batches!(r, Vec::<i32>::new(), |c: &mut stats::Column, v: &i32| c.push_num(*v as f64, true))
                }
                C::Int64ColumnReader(mut r) => {
                    batches!(r, Vec::<i64>::new(), |c: &mut stats::Column, v: &i64| c.push_num(*v as f64, true))
                }
                C::FloatColumnReader(mut r) => {
                    batches!(r, Vec::<f32>::new(), |c: &mut stats::Column, v: &f32| if v.is_nan() {
                        c.push_null()
                    } else {
                        c.push_num(*v as f64, false)
                    })
                }
                C::DoubleColumnReader(mut r) => {
                    batches!(r, Vec::<f64>::new(), |c: &mut stats::Column, v: &f64| if v.is_nan() {
                        c.push_null()
                    } else {
                        c.push_num(*v, false)
                    })
                }
                C::ByteArrayColumnReader(mut r) => batches!(
                    r,
                    Vec::<parquet::data_type::ByteArray>::new(),
                    |c: &mut stats::Column, v: &parquet::data_type::ByteArray| c.push_text_lossy(v.data())
                ),
                _ => return Err(parquet::errors::ParquetError::General("an unexpected column type".into())),
            }
        }
    }
    Ok(rows)
}

/// A flat Parquet file of plain types, its row groups scanned column by column into the columns'
/// statistics: by two threads (the first and the second half of its row groups, merged in file
/// order) when it has two row groups or more. None when it is not flat and plain.
/// Every column of a whole table read the fast way (the scanner for CSV and TSV, two threads for
/// a big file; Parquet column by column), or None where only the row reader (`read_body`) reads it
/// exactly: JSONL, a CSV the scanner gives up on, nested Parquet.
pub(crate) fn scan_columns(
    fs: &crate::files::ProjectFs,
    body: &crate::versions::Body,
    format: Format,
) -> Option<Result<scan::Scanned, Error>> {
    let never = std::sync::atomic::AtomicBool::new(false);
    match (body, format) {
        (crate::versions::Body::File(p), Format::Delimited(d)) => {
            match scan::scan_file_in_two(fs, p, d, &mut |_, _| {}, &never) {
                Some(Ok(sc)) => Some(Ok(sc)),
                Some(Err(_)) => None,
                None => {
                    let f = fs.open(p).ok()?;
                    scan::scan_stream(std::io::BufReader::with_capacity(1 << 20, f), d).ok().map(Ok)
                }
            }
        }
        (crate::versions::Body::Memory(b), Format::Delimited(d)) => scan::scan_stream(&b[..], d).ok().map(Ok),
        (crate::versions::Body::File(p), Format::Parquet) => profile_parquet_columns(fs, p, &never),
        _ => None,
    }
}

fn profile_parquet_columns(
    fs: &crate::files::ProjectFs,
    path: &std::path::Path,
    cancel: &std::sync::atomic::AtomicBool,
) -> Option<Result<scan::Scanned, Error>> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let bad = |e: parquet::errors::ParquetError| Error::Project(format!("not a readable Parquet file: {e}"));
    let a = parquet_guarded(|| SerializedFileReader::new(fs.open(path)?)).ok()?;
    let groups = a.num_row_groups();
    if !flat_plain(&a) {
        return None;
    }
    let b = if groups >= 2 { Some(parquet_guarded(|| SerializedFileReader::new(fs.open(path)?)).ok()?) } else { None };
    let names: Vec<String> = a
        .metadata()
        .file_metadata()
        .schema_descr()
        .root_schema()
        .get_fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    let mid = groups / 2;
    let new = || names.iter().map(|_| stats::Column::new()).collect::<Vec<_>>();
    let (first, second) = std::thread::scope(|sc| {
        let later = b.as_ref().map(|b| {
            sc.spawn(|| {
                let mut cols = new();
                scan_parquet_groups(b, mid..groups, &mut cols, cancel, true).map(|rows| (cols, rows))
            })
        });
        let mut cols = new();
        let mine = scan_parquet_groups(&a, 0..if b.is_some() { mid } else { groups }, &mut cols, cancel, true)
            .map(|rows| (cols, rows));
        let theirs = later.map(|l| {
            l.join().unwrap_or_else(|_| Err(parquet::errors::ParquetError::General("a reading thread panicked".into())))
        });
        (mine, theirs)
    });
    Some(first.map_err(bad).and_then(|(mut cols, mut rows)| {
        if let Some(second) = second {
            let (later, n) = second.map_err(bad)?;
            rows += n;
            for (c, l) in cols.iter_mut().zip(later) {
                c.merge(l);
            }
        }
        Ok(scan::Scanned { names, cols, rows })
    }))
}

impl Rows for Profiler {
    fn columns(&mut self, names: &[String]) {
        self.names = names.to_vec();
        self.cols = names.iter().map(|_| stats::Column::new()).collect();
    }

    fn row(&mut self, cells: &[Cell]) -> bool {
        self.rows += 1;
        if self.first.len() < self.head {
            self.first.push(self.names.iter().cloned().zip(cells.iter().map(cell_json)).collect());
        }
        for (c, cell) in self.cols.iter_mut().zip(cells) {
            c.push(cell);
        }
        true
    }
}

/// Counts what is read, reports every 8 MiB, hashes it (when asked) and stops on a cancel.
struct Progress<'a, R> {
    inner: R,
    done: u64,
    total: u64,
    next: u64,
    md5: Option<md5::Md5>,
    report: &'a mut dyn FnMut(u64, u64),
    cancel: &'a std::sync::atomic::AtomicBool,
}

impl<R: Read> Read for Progress<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use md5::Digest;
        if self.cancel.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(std::io::Error::other("cancelled"));
        }
        let k = self.inner.read(buf)?;
        if let Some(h) = self.md5.as_mut() {
            h.update(&buf[..k]);
        }
        self.done += k as u64;
        if self.done >= self.next || k == 0 {
            self.next = self.done + (8 << 20);
            (self.report)(self.done, self.total);
        }
        Ok(k)
    }
}

/// A row as JSON: column name to cell.
pub type Row = serde_json::Map<String, Value>;

/// Keeps the header and the first rows, then stops the read.
struct Head {
    names: Vec<String>,
    rows: Vec<serde_json::Map<String, Value>>,
    n: usize,
}

impl Rows for Head {
    fn columns(&mut self, names: &[String]) {
        self.names = names.to_vec();
    }

    fn row(&mut self, cells: &[Cell]) -> bool {
        if self.rows.len() < self.n {
            self.rows.push(self.names.iter().cloned().zip(cells.iter().map(cell_json)).collect());
        }
        self.rows.len() < self.n
    }
}

impl crate::index::Index {
    /// The column names and the first `n` rows of `spec` (`PATH` or `PATH@REV`), reading no more
    /// of the file than that: for a preview to show at once, before [`data_show`](Self::data_show)
    /// has read every row.
    pub fn data_head(&self, spec: &str, n: usize) -> Result<(Vec<String>, Vec<Row>), Error> {
        let bytes = self.data_open(spec)?;
        let format = format_of(&bytes.path).ok_or_else(|| {
            Error::Refused(format!("{}: not a table Runlens reads (CSV, TSV, JSONL, Parquet)", bytes.path))
        })?;
        let fs = crate::files::ProjectFs::new(&self.root);
        let mut h = Head { names: Vec::new(), rows: Vec::new(), n };
        if n > 0 || format != Format::Parquet {
            read_body(&fs, &bytes.body, format, &mut h)?;
        }
        Ok((h.names, h.rows))
    }

    /// The statistics of every column of `spec` (`PATH` or `PATH@REV`) over all its rows, and its
    /// first `head` rows. Reports progress (bytes read of the total) and stops when `cancel` is set.
    pub fn data_show(
        &self,
        spec: &str,
        head: usize,
        progress: &mut dyn FnMut(u64, u64),
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<DataProfile, Error> {
        self.data_show_with(spec, head, progress, &mut |_, _, _| {}, cancel)
    }

    /// [`crate::Index::data_show`], handing over each column's statistics as soon as they are finished
    /// (the table's row count, the column's index, its statistics), in the order they finish.
    pub fn data_show_with(
        &self,
        spec: &str,
        head: usize,
        progress: &mut dyn FnMut(u64, u64),
        on_column: &mut dyn FnMut(u64, usize, &stats::ColumnStats),
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<DataProfile, Error> {
        let bytes = self.data_open(spec)?;
        let format = format_of(&bytes.path)
            .ok_or_else(|| Error::Refused(format!("{}: not a table Runlens reads (CSV, TSV, JSONL)", bytes.path)))?;
        let fs = crate::files::ProjectFs::new(&self.root);
        let open = || -> Result<(Box<dyn Read>, u64), Error> {
            Ok(match &bytes.body {
                crate::versions::Body::File(p) => {
                    let f = fs.open(p).map_err(|e| Error::Io(format!("{}: {e}", p.display())))?;
                    let total = f.metadata().map(|m| m.len()).unwrap_or(0);
                    (Box::new(std::io::BufReader::with_capacity(1 << 20, f)), total)
                }
                crate::versions::Body::Memory(b) => (Box::new(std::io::Cursor::new(b.clone())), b.len() as u64),
            })
        };
        let (reader, total) = open()?;
        use md5::Digest;
        let check = bytes.md5.as_ref().filter(|m| !m.ends_with(".dir") && !m.starts_with("sha256:") && !bytes.legacy);
        let mut r = Progress {
            inner: reader,
            done: 0,
            total,
            next: 8 << 20,
            md5: check.map(|_| md5::Md5::new()),
            report: progress,
            cancel,
        };
        let at = format!("{}@{}", bytes.path, crate::versions::short_rev(&bytes.rev));
        let mut sink = Profiler { names: Vec::new(), cols: Vec::new(), rows: 0, head, first: Vec::new() };
        // The first rows of a table whose statistics came from a scan.
        let first_rows = |names: &[String]| -> Option<Vec<Row>> {
            let mut h = Head { names: Vec::new(), rows: Vec::new(), n: head };
            read_body(&fs, &bytes.body, format, &mut h).ok()?;
            (h.names == names).then_some(h.rows)
        };
        let scanned = |sc: scan::Scanned, first: Vec<Row>| Profiler {
            names: sc.names,
            cols: sc.cols,
            rows: sc.rows,
            head,
            first,
        };
        // A big CSV or TSV is scanned by two threads, and then its md5 is not checked as it is
        // read (`data ls --check` does that).
        let in_two = match (&bytes.body, format) {
            (crate::versions::Body::File(p), Format::Delimited(d)) => {
                match scan::scan_file_in_two(&fs, p, d, r.report, cancel) {
                    Some(Ok(sc)) => first_rows(&sc.names).map(|first| Ok(scanned(sc, first))),
                    Some(Err(scan::Stop::Cancelled)) => Some(Ok(Profiler { head, ..Profiler::default() })),
                    Some(Err(scan::Stop::Slow)) | None => None,
                }
            }
            (crate::versions::Body::File(p), Format::Parquet) => {
                let done = profile_parquet_columns(&fs, p, cancel);
                (r.report)(total, total);
                match done {
                    Some(Ok(sc)) => first_rows(&sc.names).map(|first| Ok(scanned(sc, first))),
                    Some(Err(e)) => Some(Err(e)),
                    None => None,
                }
            }
            _ => None,
        };
        let read_result = if let Some(done) = in_two {
            r.md5 = None;
            done.map(|p| sink = p)
        } else if format == Format::Parquet {
            let done = read_body(&fs, &bytes.body, format, &mut sink);
            (r.report)(total, total);
            done
        } else if let Format::Delimited(d) = format {
            // One thread: scanned, or read row by row where the scan gives up (from the start
            // again, the hash too).
            match scan::scan_stream(&mut r, d).ok().and_then(|sc| first_rows(&sc.names).map(|first| scanned(sc, first)))
            {
                Some(p) => {
                    sink = p;
                    Ok(())
                }
                None => {
                    r.inner = open()?.0;
                    r.done = 0;
                    r.next = 8 << 20;
                    r.md5 = check.map(|_| md5::Md5::new());
                    read(&mut r, format, &mut sink)
                }
            }
        } else {
            read(&mut r, format, &mut sink)
        };
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(Error::Cancelled(format!("{at}: the statistics were cancelled")));
        }
        read_result.map_err(|e| match e {
            Error::Project(m) => Error::Project(format!("{at}: {m}")),
            other => other,
        })?;
        let mut warnings = Vec::new();
        if let (Some(want), Some(h)) = (check, r.md5.take()) {
            // The rest of the file, if the reader stopped early.
            let mut rest = Vec::new();
            let _ = r.inner.read_to_end(&mut rest);
            let mut h = h;
            h.update(&rest);
            let got: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
            if &got != want {
                warnings.push(format!("{at}: its bytes hash to {got}, not the {want} DVC recorded"));
            }
        }
        let rows = sink.rows;
        let columns = stats::finish_all_with(sink.cols, &sink.names, &mut |i, c| on_column(rows, i, c));
        Ok(DataProfile { path: bytes.path, rev: bytes.rev, rows: sink.rows, columns, head: sink.first, warnings })
    }
}
