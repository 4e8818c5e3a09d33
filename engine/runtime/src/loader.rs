//! The [`Runtime`]: wasmtime engines, the linker, the component cache and the epoch ticker; it
//! loads plugins (bundled or from files) into pre-instantiated [`Plugin`]s and checks that a
//! plugin fits its stage (world, granted capabilities).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use trackway_store::Store;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine};

use crate::bindings::{packed_processor, processor, sink, source};
use crate::cache::ComponentCache;
use crate::capability::{Connections, Grants};
use crate::error::LoadError;
use crate::host::{Clock, HostState};

/// How often the engines' epoch advances. A call's deadline is checked, and the guest yields to
/// the async executor, once per tick: 10 ms bounds both the deadline's overshoot and how long a
/// busy guest holds a worker thread, at a negligible cost (one atomic increment per tick).
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Which world a component exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum World {
    /// `processor` (`init`, `process`) or `packed-processor` (`init`, `process-packed`).
    Processor,
    /// `sink`: `init`, `deliver`.
    Sink,
    /// `source`: `init`, `poll`, `handle-request`.
    Source,
}

impl World {
    /// The world's name in the WIT file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processor => "processor",
            Self::Sink => "sink",
            Self::Source => "source",
        }
    }
}

/// Where a plugin's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// A plugin bundled in the binary, by id.
    Bundled(String),
    /// A `.wasm` file.
    Path(PathBuf),
}

impl std::fmt::Display for PluginSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bundled(id) => f.write_str(id),
            Self::Path(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The pre-instantiated form of a component, per world.
pub(crate) enum Pre {
    Processor(processor::ProcessorPre<HostState>),
    PackedProcessor(packed_processor::PackedProcessorPre<HostState>),
    Sink(sink::SinkPre<HostState>),
    Source(source::SourcePre<HostState>),
}

/// A compiled, linked plugin, ready to be instantiated any number of times.
pub struct Plugin {
    name: String,
    world: World,
    capabilities: BTreeSet<String>,
    pub(crate) pre: Pre,
    pub(crate) fueled: bool,
}

impl Plugin {
    /// Plugin id or path, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The world the component exports.
    pub fn world(&self) -> World {
        self.world
    }

    /// The capabilities (host interfaces that need a grant) the component imports.
    pub fn capabilities(&self) -> &BTreeSet<String> {
        &self.capabilities
    }

    /// Check that this plugin can serve as stage `stage` of kind `expected` with `grants`.
    pub fn check_stage(
        &self,
        stage: &str,
        expected: World,
        grants: &Grants,
    ) -> Result<(), LoadError> {
        if self.world != expected {
            return Err(LoadError::WrongWorld {
                plugin: self.name.clone(),
                stage: stage.to_owned(),
                expected: expected.as_str(),
                found: self.world.as_str(),
            });
        }
        if let Some(missing) = self.capabilities.iter().find(|c| !grants.contains_key(*c)) {
            return Err(LoadError::NotGranted {
                plugin: self.name.clone(),
                stage: stage.to_owned(),
                capability: missing.clone(),
            });
        }
        Ok(())
    }
}

/// Host interfaces that need no grant.
const ALWAYS_AVAILABLE: [&str; 3] = ["types", "log", "clock"];
/// Host interfaces that need a grant of the same name.
pub const CAPABILITIES: [&str; 7] = [
    "state",
    "history",
    "inventory",
    "redis",
    "statsd",
    "sql",
    "http",
];

struct Flavour {
    engine: Engine,
    linker: Linker<HostState>,
    cache: ComponentCache,
}

impl Flavour {
    fn new(fuel: bool, cache_dir: Option<&Path>) -> wasmtime::Result<Self> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.consume_fuel(fuel);
        // For profiling plugins: `perf` names the guest's functions from /tmp/perf-<pid>.map
        // (build the plugin without `strip` to get its function names).
        if std::env::var_os("TRACKWAY_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        processor::Processor::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        let cache = ComponentCache::new(cache_dir, &engine);
        Ok(Self {
            engine,
            linker,
            cache,
        })
    }
}

/// Options of [`Runtime::new`].
pub struct RuntimeOptions {
    /// Where compiled components are cached; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Plugins bundled in the binary: id -> component bytes.
    pub bundled: HashMap<String, &'static [u8]>,
    /// The store plugin state is read from (`None` for validation-only runtimes).
    pub store: Option<Store>,
    /// The clock plugins see.
    pub clock: Arc<dyn Clock>,
    /// Where SQLite files granted by relative paths (`sqlite://deployments.db`) live.
    pub data_dir: Option<PathBuf>,
}

pub(crate) struct Inner {
    plain: Flavour,
    fueled: Flavour,
    bundled: HashMap<String, &'static [u8]>,
    pub(crate) store: Option<Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) connections: Arc<Connections>,
    loaded: Mutex<HashMap<(String, bool), Arc<Plugin>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The plugin host. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<Inner>,
}

impl Runtime {
    /// Build the engines and start the epoch ticker.
    pub fn new(options: RuntimeOptions) -> wasmtime::Result<Self> {
        let plain = Flavour::new(false, options.cache_dir.as_deref())?;
        let fueled = Flavour::new(true, options.cache_dir.as_deref())?;
        let stop = Arc::new(AtomicBool::new(false));
        let engines = [plain.engine.clone(), fueled.engine.clone()];
        let ticker_stop = stop.clone();
        std::thread::Builder::new()
            .name("trackway-epoch".into())
            .spawn(move || {
                while !ticker_stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engines.iter().for_each(Engine::increment_epoch);
                }
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                plain,
                fueled,
                bundled: options.bundled,
                store: options.store,
                clock: options.clock,
                connections: Arc::new(Connections::new(options.data_dir)),
                loaded: Mutex::default(),
                stop,
            }),
        })
    }

    /// The connection pools of the capabilities (for health probes).
    pub fn connections(&self) -> &Connections {
        &self.inner.connections
    }

    /// Ids of the bundled plugins, sorted.
    pub fn bundled_ids(&self) -> Vec<&str> {
        let mut ids: Vec<_> = self.inner.bundled.keys().map(String::as_str).collect();
        ids.sort_unstable();
        ids
    }

    /// Load a plugin for an engine with (`fuel`) or without fuel metering. Loading the same bytes
    /// again returns the same [`Plugin`].
    pub fn load(&self, source: &PluginSource, fuel: bool) -> Result<Arc<Plugin>, LoadError> {
        let owned;
        let wasm: &[u8] = match source {
            PluginSource::Bundled(id) => self
                .inner
                .bundled
                .get(id)
                .ok_or_else(|| LoadError::UnknownBundled(id.clone()))?,
            PluginSource::Path(path) => {
                owned = std::fs::read(path).map_err(|source| LoadError::Read {
                    path: path.clone(),
                    source,
                })?;
                &owned
            }
        };
        let key = (ComponentCache::digest(wasm), fuel);
        if let Some(plugin) = self.loaded().get(&key) {
            return Ok(plugin.clone());
        }
        let plugin = Arc::new(self.compile(source.to_string(), wasm, fuel)?);
        self.loaded().insert(key, plugin.clone());
        Ok(plugin)
    }

    fn loaded(&self) -> std::sync::MutexGuard<'_, HashMap<(String, bool), Arc<Plugin>>> {
        self.inner
            .loaded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn flavour(&self, fueled: bool) -> &Engine {
        if fueled {
            &self.inner.fueled.engine
        } else {
            &self.inner.plain.engine
        }
    }

    fn compile(&self, name: String, wasm: &[u8], fuel: bool) -> Result<Plugin, LoadError> {
        let flavour = if fuel {
            &self.inner.fueled
        } else {
            &self.inner.plain
        };
        let compile_error = |e: wasmtime::Error| LoadError::Compile {
            plugin: name.clone(),
            message: format!("{e:#}"),
        };
        let component = flavour
            .cache
            .load(&flavour.engine, wasm)
            .map_err(compile_error)?;
        let ty = component.component_type();
        let exports: BTreeSet<&str> = ty.exports(&flavour.engine).map(|(n, _)| n).collect();
        let packed = exports.contains("process-packed");
        let world = if packed || exports.contains("process") {
            World::Processor
        } else if exports.contains("deliver") {
            World::Sink
        } else if exports.contains("poll") {
            World::Source
        } else {
            return Err(LoadError::Compile {
                plugin: name,
                message: "the component exports none of the trackway worlds \
                          (processor, packed-processor, sink, source)"
                    .into(),
            });
        };
        let mut capabilities = BTreeSet::new();
        for (import, _) in ty.imports(&flavour.engine) {
            if import.starts_with("wasi:") {
                continue;
            }
            let interface = import
                .strip_prefix("trackway:plugin/")
                .and_then(|rest| rest.split('@').next())
                .filter(|i| ALWAYS_AVAILABLE.contains(i) || CAPABILITIES.contains(i));
            match interface {
                Some(i) if CAPABILITIES.contains(&i) => {
                    capabilities.insert(i.to_owned());
                }
                Some(_) => {}
                None => {
                    return Err(LoadError::UnknownImport {
                        plugin: name,
                        import: import.to_owned(),
                    });
                }
            }
        }
        let link_error = |e: wasmtime::Error| LoadError::Link {
            plugin: name.clone(),
            message: format!("{e:#}"),
        };
        let instance_pre = flavour
            .linker
            .instantiate_pre(&component)
            .map_err(link_error)?;
        let pre = match world {
            World::Processor if packed => Pre::PackedProcessor(
                packed_processor::PackedProcessorPre::new(instance_pre).map_err(link_error)?,
            ),
            World::Processor => {
                Pre::Processor(processor::ProcessorPre::new(instance_pre).map_err(link_error)?)
            }
            World::Sink => Pre::Sink(sink::SinkPre::new(instance_pre).map_err(link_error)?),
            World::Source => Pre::Source(source::SourcePre::new(instance_pre).map_err(link_error)?),
        };
        Ok(Plugin {
            name,
            world,
            capabilities,
            pre,
            fueled: fuel,
        })
    }
}
