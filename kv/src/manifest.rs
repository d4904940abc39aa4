//! The manifest: an append-only log of [`VersionEdit`]s, and the `CURRENT` pointer to it.
//!
//! ```text
//! CURRENT           "MANIFEST-000123\n", replaced atomically (write CURRENT.tmp, sync,
//!                   rename over CURRENT, sync the directory)
//! MANIFEST-000123   record*  (framing: chronos_io::record — crc32 | len | len check | payload)
//!                   first record: the snapshot of the whole version, starting with the tag
//!                   MAGIC carrying "chronos-kv" and the format version
//!                   later records: one edit per flush or compaction
//! payload = (tag varint | field)*
//!   1 MAGIC            bytes "chronos-kv", format version varint
//!   2 LOG_NUMBER       varint
//!   3 NEXT_FILE        varint
//!   4 LAST_SEQUENCE    varint
//!   5 ADD_FILE         level varint | number varint | size varint | entries varint
//!                      | smallest (len-prefixed) | largest (len-prefixed)
//!   6 DELETE_FILE      level varint | number varint
//! ```
//!
//! Every edit is synced before the engine acts on it, so at most the last record can be torn
//! by a crash, and only while its write was in flight: a record cut short (a prefix of what
//! was written, or a zero-filled tail — the shared reader's "provably torn") is dropped with a
//! warning; the engine never acted on it. A complete header or record that fails its check is
//! corruption and fails the open, naming file and offset: acting on a damaged manifest could
//! drop acknowledged data.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::coding::{Decoder, put_length_prefixed, put_varint};
use crate::error::{Error, IoContext, Result};
use crate::fs::{FileSystem, WritableFile};
use crate::record;
use crate::version::{FileMeta, Version, VersionEdit};

/// The storage format version this build writes; a newer one is refused at open.
pub const FORMAT_VERSION: u32 = 1;
const MAGIC: &[u8] = b"chronos-kv";

const TAG_MAGIC: u64 = 1;
const TAG_LOG_NUMBER: u64 = 2;
const TAG_NEXT_FILE: u64 = 3;
const TAG_LAST_SEQUENCE: u64 = 4;
const TAG_ADD_FILE: u64 = 5;
const TAG_DELETE_FILE: u64 = 6;

pub const CURRENT: &str = "CURRENT";

pub fn manifest_name(number: u64) -> String {
    format!("MANIFEST-{number:06}")
}

fn encode_edit(edit: &VersionEdit, with_magic: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if with_magic {
        put_varint(&mut out, TAG_MAGIC);
        put_length_prefixed(&mut out, MAGIC);
        put_varint(&mut out, u64::from(FORMAT_VERSION));
    }
    for (tag, value) in [
        (TAG_LOG_NUMBER, edit.log_number),
        (TAG_NEXT_FILE, edit.next_file_number),
        (TAG_LAST_SEQUENCE, edit.last_sequence),
    ] {
        if let Some(v) = value {
            put_varint(&mut out, tag);
            put_varint(&mut out, v);
        }
    }
    for (level, f) in &edit.added {
        put_varint(&mut out, TAG_ADD_FILE);
        for v in [*level as u64, f.number, f.size_bytes, f.entries] {
            put_varint(&mut out, v);
        }
        put_length_prefixed(&mut out, &f.smallest);
        put_length_prefixed(&mut out, &f.largest);
    }
    for (level, number) in &edit.deleted {
        put_varint(&mut out, TAG_DELETE_FILE);
        put_varint(&mut out, *level as u64);
        put_varint(&mut out, *number);
    }
    out
}

/// Decodes an edit; returns it and the format version if the record carries the magic tag.
pub(crate) fn decode_edit(payload: &[u8]) -> Option<(VersionEdit, Option<u32>)> {
    let mut d = Decoder::new(payload);
    let mut edit = VersionEdit::default();
    let mut format = None;
    while !d.is_empty() {
        match d.varint()? {
            TAG_MAGIC => {
                if d.length_prefixed()? != MAGIC {
                    return None;
                }
                format = Some(u32::try_from(d.varint()?).ok()?);
            }
            TAG_LOG_NUMBER => edit.log_number = Some(d.varint()?),
            TAG_NEXT_FILE => edit.next_file_number = Some(d.varint()?),
            TAG_LAST_SEQUENCE => edit.last_sequence = Some(d.varint()?),
            TAG_ADD_FILE => {
                let level = usize::try_from(d.varint()?).ok()?;
                let (number, size_bytes, entries) = (d.varint()?, d.varint()?, d.varint()?);
                let smallest = d.length_prefixed()?.to_vec();
                let largest = d.length_prefixed()?.to_vec();
                edit.added.push((
                    level,
                    FileMeta {
                        number,
                        size_bytes,
                        entries,
                        smallest,
                        largest,
                    },
                ));
            }
            TAG_DELETE_FILE => {
                let level = usize::try_from(d.varint()?).ok()?;
                edit.deleted.push((level, d.varint()?));
            }
            _ => return None,
        }
    }
    Some((edit, format))
}

/// The state a manifest describes.
#[derive(Debug, Clone)]
pub struct ManifestState {
    pub manifest_number: u64,
    pub version: Version,
    pub log_number: u64,
    pub next_file_number: u64,
    pub last_sequence: u64,
    /// Tables the edits recorded and then deleted, and no version references now: provably
    /// obsolete if they are still on disk (their unlink was interrupted).
    pub superseded_tables: BTreeSet<u64>,
}

impl ManifestState {
    /// An edit that recreates this whole state (the first record of a new manifest).
    pub fn snapshot_edit(&self) -> VersionEdit {
        VersionEdit {
            log_number: Some(self.log_number),
            next_file_number: Some(self.next_file_number),
            last_sequence: Some(self.last_sequence),
            added: self
                .version
                .all_files()
                .map(|(l, f)| (l, f.clone()))
                .collect(),
            deleted: Vec::new(),
        }
    }

    fn absorb(&mut self, edit: &VersionEdit, path: &Path) -> Result<()> {
        self.version = self.version.apply(edit, path)?;
        self.superseded_tables
            .extend(edit.deleted.iter().map(|(_, number)| *number));
        // A table moved down a level is deleted and added in one edit: still live.
        for (_, f) in self.version.all_files() {
            self.superseded_tables.remove(&f.number);
        }
        if let Some(v) = edit.log_number {
            self.log_number = v;
        }
        if let Some(v) = edit.next_file_number {
            self.next_file_number = v;
        }
        if let Some(v) = edit.last_sequence {
            self.last_sequence = v;
        }
        Ok(())
    }
}

/// Reads `CURRENT` and the manifest it names.
pub fn recover(fs: &dyn FileSystem, dir: &Path, num_levels: usize) -> Result<ManifestState> {
    let current_path = dir.join(CURRENT);
    let current = fs
        .read_all(&current_path)
        .context(|| format!("reading {}", current_path.display()))?;
    let name = std::str::from_utf8(&current)
        .ok()
        .and_then(|s| s.strip_suffix('\n'))
        .filter(|s| s.starts_with("MANIFEST-") && !s.contains(['/', '\\']))
        .ok_or_else(|| Error::NotADataDirectory {
            path: dir.to_path_buf(),
            reason: "CURRENT does not name a manifest".into(),
        })?;
    let manifest_number = name["MANIFEST-".len()..]
        .parse::<u64>()
        .map_err(|_| Error::corruption(&current_path, 0, "malformed manifest name"))?;
    let path = dir.join(name);
    let data = fs
        .read_all(&path)
        .context(|| format!("reading manifest {}", path.display()))?;
    let records = record::read_records(&data, &path, true).map_err(Error::from)?;
    let mut state = ManifestState {
        manifest_number,
        version: Version::new(num_levels),
        log_number: 0,
        next_file_number: manifest_number + 1,
        last_sequence: 0,
        superseded_tables: BTreeSet::new(),
    };
    for (i, &(offset, payload)) in records.records.iter().enumerate() {
        let (edit, format) = decode_edit(payload)
            .ok_or_else(|| Error::corruption(&path, offset, "malformed manifest record"))?;
        if i == 0 {
            match format {
                None => {
                    return Err(Error::NotADataDirectory {
                        path: dir.to_path_buf(),
                        reason: format!("{name} does not start with the Chronos magic"),
                    });
                }
                Some(found) if found > FORMAT_VERSION => {
                    return Err(Error::UnsupportedFormatVersion {
                        path: dir.to_path_buf(),
                        found,
                        supported: FORMAT_VERSION,
                    });
                }
                Some(_) => {}
            }
        }
        state.absorb(&edit, &path)?;
    }
    if records.records.is_empty() {
        return Err(Error::corruption(
            &path,
            0,
            "manifest holds no complete record",
        ));
    }
    if let record::Tail::Torn { offset, .. } = records.tail {
        tracing::warn!(file = %path.display(), offset, "manifest ends with a torn record; ignoring it");
    }
    Ok(state)
}

/// Appends edits to the live manifest.
#[derive(Debug)]
pub struct ManifestWriter {
    file: Box<dyn WritableFile>,
    path: PathBuf,
    number: u64,
    size_bytes: u64,
}

impl ManifestWriter {
    /// Writes a new manifest holding `state` and points `CURRENT` at it.
    pub fn create(fs: &dyn FileSystem, dir: &Path, state: &ManifestState) -> Result<Self> {
        let path = dir.join(manifest_name(state.manifest_number));
        let mut file = fs
            .create(&path)
            .context(|| format!("creating manifest {}", path.display()))?;
        let mut buf = Vec::new();
        record::encode(&mut buf, &encode_edit(&state.snapshot_edit(), true))?;
        file.write_all(&buf)
            .and_then(|()| file.sync())
            .context(|| format!("writing manifest {}", path.display()))?;
        let tmp = dir.join("CURRENT.tmp");
        let mut current = fs
            .create(&tmp)
            .context(|| format!("creating {}", tmp.display()))?;
        current
            .write_all(format!("{}\n", manifest_name(state.manifest_number)).as_bytes())
            .and_then(|()| current.sync())
            .and_then(|()| fs.rename(&tmp, &dir.join(CURRENT)))
            .and_then(|()| fs.sync_dir(dir))
            .context(|| format!("installing {}", dir.join(CURRENT).display()))?;
        Ok(ManifestWriter {
            file,
            path,
            number: state.manifest_number,
            size_bytes: buf.len() as u64,
        })
    }

    pub fn number(&self) -> u64 {
        self.number
    }

    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// Appends and syncs one edit.
    pub fn append(&mut self, edit: &VersionEdit) -> Result<()> {
        let mut buf = Vec::new();
        record::encode(&mut buf, &encode_edit(edit, false))?;
        self.file
            .write_all(&buf)
            .and_then(|()| self.file.sync())
            .context(|| format!("appending to manifest {}", self.path.display()))?;
        self.size_bytes += buf.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::{CrashMode, MemFs};
    use crate::version::tests::meta;

    fn state() -> ManifestState {
        ManifestState {
            manifest_number: 3,
            version: Version::new(4),
            log_number: 2,
            next_file_number: 4,
            last_sequence: 0,
            superseded_tables: BTreeSet::new(),
        }
    }

    fn setup() -> (MemFs, ManifestWriter) {
        let fs = MemFs::new();
        fs.create_dir_all(Path::new("/db")).expect("mkdir");
        let mut w = ManifestWriter::create(&fs, Path::new("/db"), &state()).expect("create");
        w.append(&VersionEdit {
            added: vec![(0, meta(5, "a", "k", 100))],
            next_file_number: Some(6),
            last_sequence: Some(9),
            ..Default::default()
        })
        .expect("append");
        w.append(&VersionEdit {
            added: vec![(1, meta(6, "a", "k", 100))],
            deleted: vec![(0, 5)],
            ..Default::default()
        })
        .expect("append");
        (fs, w)
    }

    #[test]
    fn recovers_the_edits_after_a_crash() {
        let (fs, _w) = setup();
        fs.crash(CrashMode::DropUnsynced);
        let s = recover(&fs, Path::new("/db"), 4).expect("recover");
        assert_eq!(
            (
                s.manifest_number,
                s.next_file_number,
                s.last_sequence,
                s.log_number
            ),
            (3, 6, 9, 2)
        );
        assert_eq!(s.version.levels[1][0].number, 6);
        assert!(s.version.levels[0].is_empty());
    }

    #[test]
    fn a_flipped_bit_in_a_record_is_corruption() {
        let (fs, _w) = setup();
        let path = Path::new("/db").join(manifest_name(3));
        let len = fs.file_len(&path).expect("len");
        for offset in [10, len - 3] {
            let fs2 = fs.clone();
            fs2.corrupt_byte(&path, offset, 0x04).expect("flip");
            let err = recover(&fs2, Path::new("/db"), 4).expect_err("must not recover");
            assert!(err.is_corruption(), "offset {offset}: {err}");
            fs2.corrupt_byte(&path, offset, 0x04).expect("flip back");
        }
    }

    #[test]
    fn newer_format_and_foreign_files_are_refused() {
        let fs = MemFs::new();
        fs.create_dir_all(Path::new("/db")).expect("mkdir");
        let mut f = fs.create(Path::new("/db/CURRENT")).expect("create");
        f.write_all(b"something else\n").expect("write");
        assert!(matches!(
            recover(&fs, Path::new("/db"), 4),
            Err(Error::NotADataDirectory { .. })
        ));

        let mut payload = Vec::new();
        put_varint(&mut payload, TAG_MAGIC);
        put_length_prefixed(&mut payload, MAGIC);
        put_varint(&mut payload, u64::from(FORMAT_VERSION + 1));
        let mut buf = Vec::new();
        record::encode(&mut buf, &payload).expect("small payload");
        fs.create(Path::new("/db/MANIFEST-000009"))
            .expect("create")
            .write_all(&buf)
            .expect("write");
        fs.create(Path::new("/db/CURRENT"))
            .expect("create")
            .write_all(b"MANIFEST-000009\n")
            .expect("write");
        assert!(matches!(
            recover(&fs, Path::new("/db"), 4),
            Err(Error::UnsupportedFormatVersion { found: 2, .. })
        ));
    }
}
