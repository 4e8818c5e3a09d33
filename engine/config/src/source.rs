//! Finding and reading pipeline files: [`SourceFile`], [`discover`] and [`read_file`].
//!
//! Pipelines live in `pipelines/<org>/<name>.toml`, one directory per org. This module only
//! finds and reads files and checks their org and name; what is inside is `parse`'s business.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, IdError};
use crate::id::{OrgId, PipelineName};

/// The text of one pipeline file and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// The path as found or given; diagnostics print it as is, and `path = "..."` plugin
    /// references are resolved against its directory.
    pub path: PathBuf,
    /// The whole file.
    pub text: String,
}

impl SourceFile {
    /// Reads `path`.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let text = fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(SourceFile {
            path: path.to_owned(),
            text,
        })
    }

    /// The pipeline name: the file stem.
    pub(crate) fn pipeline_name(&self) -> Result<PipelineName, IdError> {
        let stem = self.path.file_stem().unwrap_or_default();
        stem.to_string_lossy().parse()
    }

    /// [`pipeline_name`](Self::pipeline_name) for callers reporting an [`Error`].
    fn checked_pipeline_name(&self) -> Result<PipelineName, Error> {
        self.pipeline_name()
            .map_err(|source| Error::InvalidPipelineName {
                path: self.path.clone(),
                source,
            })
    }
}

/// Finds every pipeline under `dir`: the files `dir/<org>/*.toml`, sorted by org then name.
///
/// Hidden entries (starting with `.`), files without the `.toml` extension, files directly in
/// `dir` and deeper directories are ignored. An org directory or pipeline file with an invalid
/// name is an error rather than silently skipped, so that a typo cannot hide a pipeline.
pub fn discover(dir: &Path) -> Result<Vec<(OrgId, SourceFile)>, Error> {
    let mut found = Vec::new();
    for org_dir in sorted_entries(dir)? {
        if !org_dir.is_dir() {
            continue;
        }
        let org = org_of_dir(&org_dir)?;
        for path in sorted_entries(&org_dir)? {
            if path.extension().is_none_or(|ext| ext != "toml") || !path.is_file() {
                continue;
            }
            let file = SourceFile::read(&path)?;
            file.checked_pipeline_name()?;
            found.push((org.clone(), file));
        }
    }
    Ok(found)
}

/// Reads one pipeline file given on its own (`trackway validate FILE...`); its org is the name of
/// the directory it is in.
pub fn read_file(path: &Path) -> Result<(OrgId, SourceFile), Error> {
    let file = SourceFile::read(path)?;
    file.checked_pipeline_name()?;
    // A relative path such as `versions.toml` has no parent component: ask the file system.
    let absolute = fs::canonicalize(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let dir = absolute.parent().ok_or_else(|| Error::NoOrg {
        path: path.to_owned(),
    })?;
    Ok((org_of_dir(dir)?, file))
}

/// The org named by directory `dir`.
fn org_of_dir(dir: &Path) -> Result<OrgId, Error> {
    let name = dir
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| Error::NoOrg {
            path: dir.to_owned(),
        })?;
    name.parse().map_err(|source| Error::InvalidOrg {
        path: dir.to_owned(),
        source,
    })
}

/// The non-hidden entries of `dir`, sorted by name.
fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let io_error = |source| Error::Io {
        path: dir.to_owned(),
        source,
    };
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error)? {
        let entry = entry.map_err(io_error)?;
        if !entry.file_name().to_string_lossy().starts_with('.') {
            paths.push(entry.path());
        }
    }
    paths.sort();
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("trackway-config-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn write(&self, relative: &str, text: &str) {
            let path = self.0.join(relative);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn discovers_org_directories_in_order() {
        let dir = TempDir::new("discover");
        dir.write("zeta/b.toml", "# b");
        dir.write("zeta/a.toml", "# a");
        dir.write("alpha/x.toml", "# x");
        dir.write("alpha/README.md", "not a pipeline");
        dir.write("alpha/.hidden.toml", "# ignored");
        dir.write("alpha/nested/deep.toml", "# ignored");
        dir.write("top.toml", "# ignored: not in an org directory");
        dir.write(".git/config.toml", "# ignored");
        let found: Vec<(String, String, String)> = discover(&dir.0)
            .unwrap()
            .into_iter()
            .map(|(org, file)| {
                let name = file
                    .path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                (org.to_string(), name, file.text)
            })
            .collect();
        assert_eq!(
            found,
            [
                ("alpha".into(), "x.toml".into(), "# x".into()),
                ("zeta".into(), "a.toml".into(), "# a".into()),
                ("zeta".into(), "b.toml".into(), "# b".into()),
            ]
        );
    }

    #[test]
    fn invalid_names_are_errors() {
        let dir = TempDir::new("invalid-org");
        dir.write("Big Org/a.toml", "");
        let err = discover(&dir.0).unwrap_err();
        assert!(matches!(err, Error::InvalidOrg { .. }), "{err:?}");

        let dir = TempDir::new("invalid-name");
        dir.write("org/Bad.toml", "");
        let err = discover(&dir.0).unwrap_err();
        assert!(matches!(err, Error::InvalidPipelineName { .. }), "{err:?}");
    }

    #[test]
    fn single_files_take_their_org_from_the_directory() {
        let dir = TempDir::new("single");
        dir.write("team-a/p.toml", "# p");
        let (org, file) = read_file(&dir.0.join("team-a/p.toml")).unwrap();
        assert_eq!(org.as_str(), "team-a");
        assert_eq!(file.text, "# p");
        let err = read_file(&dir.0.join("team-a/missing.toml")).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
    }
}
