//! A processor's `state` across calls, through the runtime with the bundled `semver` (no
//! server): the SDK remembers what it read and wrote while the host says the state is kept, its
//! writes come back with the answer, and it starts over when the host forgets an uncommitted
//! call's writes, and on every call of a dry run.

use std::sync::Arc;

use trackway_runtime::{
    Instance, Output, Pending, PluginSource, Runtime, RuntimeOptions, StageContext, SystemClock,
};
use trackway_store::{Event, Store, Ulid, WriteBatch};

struct Stage {
    _dir: tempfile::TempDir,
    store: Store,
    runtime: Runtime,
}

impl Stage {
    fn new() -> Stage {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("state.redb"), Box::new(|_| {})).expect("store");
        let runtime = Runtime::new(RuntimeOptions {
            cache_dir: Some(dir.path().join("cache")),
            bundled: trackway::bundled::plugins(),
            store: Some(store.clone()),
            clock: Arc::new(SystemClock),
            data_dir: None,
        })
        .expect("runtime");
        Stage {
            _dir: dir,
            store,
            runtime,
        }
    }

    fn instance(&self) -> Instance {
        let plugin = self
            .runtime
            .load(&PluginSource::Bundled("semver".into()), false)
            .expect("semver");
        let context = StageContext {
            org: "acme".into(),
            pipeline: "versions".into(),
            stage: "semver".into(),
            plugin: "semver".into(),
        };
        let limits = trackway::pipelines::limits(&trackway_config::Limits::default());
        let grants = [("state".to_owned(), Vec::new())].into();
        self.runtime.instance(
            plugin,
            context,
            grants,
            r#"{"field":"version"}"#.into(),
            limits,
        )
    }

    /// Commit the writes of a call of `instance`, as the executor does.
    fn commit(&self, instance: &Instance, pending: Pending) {
        let mut batch = WriteBatch::new();
        trackway::executor::apply_pending(pending, instance.context(), &mut batch);
        self.store.commit_blocking(batch).expect("commit");
    }
}

/// `semver.bump` and `semver.previous` of the answer to one `version` of `prod/web`, and the
/// state writes of the call.
async fn bump(instance: &mut Instance, version: &str) -> (String, Option<String>, Pending) {
    let event = Event {
        id: Ulid::new(),
        org: "acme".into(),
        kind: "version.reported".into(),
        source: "api".into(),
        time_ms: 1,
        subject: "prod/web".into(),
        attributes: Vec::new(),
        payload: format!(r#"{{"version":"{version}"}}"#),
        parent: None,
    };
    let (mut outputs, pending) = instance.process(&[event]).await.expect("process");
    let Some(Output::Replace(events)) = outputs.pop() else {
        panic!("expected the annotated event, got {outputs:?}");
    };
    let attribute = |name| events[0].attribute(name).map(str::to_owned);
    let bump = attribute("semver.bump").expect("semver.bump");
    (bump, attribute("semver.previous"), pending)
}

fn written(pending: &Pending) -> Vec<(&str, Option<&[u8]>)> {
    pending
        .state
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_deref()))
        .collect()
}

#[tokio::test]
async fn a_processor_remembers_its_state_only_while_the_host_keeps_it() {
    let stage = Stage::new();
    let mut instance = stage.instance();

    // The write comes back with the answer, and the next call is judged against it.
    let (first, _, pending) = bump(&mut instance, "1.0.0").await;
    assert_eq!(first, "initial");
    assert_eq!(written(&pending), [("prod/web", Some(&b"1.0.0"[..]))]);
    stage.commit(&instance, pending);
    let (second, previous, pending) = bump(&mut instance, "1.1.0").await;
    assert_eq!(
        (second.as_str(), previous.as_deref()),
        ("minor", Some("1.0.0"))
    );
    assert_eq!(written(&pending), [("prod/web", Some(&b"1.1.0"[..]))]);

    // That write was never committed: once the host forgets it, so does the plugin, and the
    // next version is judged against the committed 1.0.0 again (not the 1.1.0 it remembered).
    instance.forget_cached_state();
    let (third, previous, _) = bump(&mut instance, "1.2.0").await;
    assert_eq!(
        (third.as_str(), previous.as_deref()),
        ("minor", Some("1.0.0"))
    );
}

#[tokio::test]
async fn a_dry_run_never_remembers_its_own_writes() {
    let stage = Stage::new();
    let mut committed = stage.instance();
    let (_, _, pending) = bump(&mut committed, "1.0.0").await;
    stage.commit(&committed, pending);

    // The dry run's 2.0.0 is thrown away after each call: asked again, it is still a major bump
    // from the committed 1.0.0, not a redeploy of 2.0.0.
    let mut dry = stage.instance().dry_run();
    for _ in 0..2 {
        let (bump, previous, pending) = bump(&mut dry, "2.0.0").await;
        assert_eq!(
            (bump.as_str(), previous.as_deref()),
            ("major", Some("1.0.0"))
        );
        assert!(pending.is_empty());
    }
}
