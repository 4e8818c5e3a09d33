//! Test harness: real server processes on free ports, and helpers to talk to them.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("engine/ has a parent")
        .to_path_buf()
}

/// A running `trackway serve`.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub client: reqwest::Client,
}

impl Server {
    /// Start a server on a free port; returns once it listens.
    pub fn start(pipelines_dir: &Path, data_dir: &Path) -> Server {
        Self::start_with(pipelines_dir, data_dir, &[])
    }

    /// Like [`Server::start`], with extra `serve` arguments.
    pub fn start_with(pipelines_dir: &Path, data_dir: &Path, args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_trackway"))
            .arg("serve")
            .args(args)
            .arg("--listen=127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--pipelines")
            .arg(pipelines_dir)
            .env("TRACKWAY_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting trackway");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep draining so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("trackway did not report its address")
            });
        let url = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_owned();
        Server {
            child,
            url,
            client: reqwest::Client::new(),
        }
    }

    /// `kill -9` and reap.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let status = self.child.wait().expect("waiting for trackway");
        assert!(status.success(), "trackway exited with {status}");
    }

    /// POST JSON text to `path`, returning status, headers and the JSON body.
    pub async fn post(
        &self,
        path: &str,
        body: &str,
        idempotency_key: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut request = self
            .client
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.expect("POST");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// GET `path`, returning status and JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("GET");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Every entry of a history stream, newest first (follows the pages).
    pub async fn history(&self, org: &str, stream: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut before = String::new();
        loop {
            let (status, page) = self
                .get(&format!(
                    "/v1/orgs/{org}/history/{stream}?limit=1000{before}"
                ))
                .await;
            assert_eq!(status, 200, "{page}");
            items.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["next"].as_str() {
                Some(next) => before = format!("&before={next}"),
                None => return items,
            }
        }
    }

    /// The value of a metric line (exact name with labels), 0 if absent.
    pub async fn metric(&self, series: &str) -> f64 {
        let text = self
            .client
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("body");
        text.lines()
            .find_map(|l| {
                l.strip_prefix(series)
                    .and_then(|rest| rest.strip_prefix(' '))
            })
            .map_or(0.0, |v| v.parse().expect("a number"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Poll `check` until it returns `Some`, or panic with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A scratch directory with `pipelines/<org>/<name>.toml` files.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn pipelines(&self) -> PathBuf {
        self.dir.path().join("pipelines")
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Write a pipeline file.
    pub fn pipeline(&self, org: &str, name: &str, toml: &str) -> &Self {
        let dir = self.pipelines().join(org);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join(format!("{name}.toml")), toml).expect("write pipeline");
        self
    }

    /// Mark `org` open (no API key needed), as the examples do for `default`.
    pub fn open_org(&self, org: &str) -> &Self {
        std::fs::create_dir_all(self.pipelines()).expect("mkdir");
        let path = self.pipelines().join("orgs.toml");
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text.push_str(&format!("\n[orgs.{org}]\nopen = true\n"));
        std::fs::write(path, text).expect("write orgs.toml");
        self
    }

    /// Copy the repository's example pipelines.
    pub fn examples(&self) -> &Self {
        copy_dir(&root().join("pipelines"), &self.pipelines());
        self
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// The `misbehave` test plugin (tests/plugins/misbehave), built once per test run.
pub fn misbehave_wasm() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| build_plugin("tests/plugins/misbehave", "plugin_misbehave"))
}

/// Build the plugin crate in `dir` (relative to the repository) for wasm32-wasip2, into
/// `target/plugins` next to the bundled plugins: the path of `<artifact>.wasm`.
pub fn build_plugin(dir: &str, artifact: &str) -> PathBuf {
    let target = root().join("target/plugins");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root().join(dir))
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--target-dir",
        ])
        .arg(&target)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    // As engine/build.rs does for the bundled plugins: CI builds exactly the committed lock.
    if std::env::var_os("CI").is_some() {
        command.arg("--locked");
    }
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("running cargo for {dir}: {e}"));
    assert!(status.success(), "building {dir} failed");
    target.join(format!("wasm32-wasip2/release/{artifact}.wasm"))
}

/// `trackway validate <paths>`: success, stdout, stderr.
pub fn validate(paths: &[&Path]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_trackway"))
        .arg("validate")
        .args(paths)
        .env("TRACKWAY_LOG", "error")
        .output()
        .expect("running trackway validate");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
