//! `misbehave`: a processor that misbehaves on request, so the host's sandbox tests can check
//! that a runaway plugin is stopped and the host keeps working.
//!
//! By event kind:
//! - `test.loop`: spins forever (until the host's deadline interrupts it).
//! - `test.oom`: allocates and touches memory until the allocation fails (the memory limit).
//! - `test.panic`: panics with `misbehave: asked to panic` (a trap).
//! - `test.slow`: busy-waits, on the host clock, for the payload's `ms` milliseconds, then keeps
//!   the event; a payload without a whole `ms` fails permanently.
//! - anything else: kept.
//!
//! Config: `{}`; `{"fail_init": true}` makes `init` fail with a problem at `fail_init`.

use std::hint::black_box;

use serde::Deserialize;
use trackway_plugin_sdk::{Error, Event, Processed, Processor, clock, config};

/// The configuration.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Make `init` fail, to test how the host reports invalid configs.
    #[serde(default)]
    fail_init: bool,
}

/// The `test.slow` payload.
#[derive(Deserialize)]
struct Slow {
    /// How long to busy-wait, in milliseconds.
    ms: u64,
}

/// The `misbehave` processor.
pub struct Misbehave;

impl Processor for Misbehave {
    fn init(json: &str) -> Result<Self, Error> {
        let config: Config = config::parse(json)?;
        if config.fail_init {
            return Err(Error::invalid_config(
                "fail_init",
                "asked to fail `init` (`fail_init = true`)",
            ));
        }
        Ok(Misbehave)
    }

    fn process(&mut self, event: Event) -> Processed {
        match event.kind.as_str() {
            "test.loop" => spin_forever(),
            "test.oom" => exhaust_memory(),
            "test.panic" => panic!("misbehave: asked to panic"),
            "test.slow" => match event.payload_as::<Slow>() {
                Ok(Slow { ms }) => {
                    busy_wait_ms(ms);
                    Processed::Keep
                }
                Err(error) => Processed::Fail(error),
            },
            _ => Processed::Keep,
        }
    }
}

/// Loop forever without yielding; `black_box` keeps the optimizer from proving the loop has no
/// effect and removing it.
fn spin_forever() -> ! {
    let mut turns: u64 = 0;
    loop {
        turns = black_box(turns.wrapping_add(1));
    }
}

/// Allocate 1 MiB blocks, writing to every page so the memory is really used, until the
/// allocator fails (which aborts: a trap).
fn exhaust_memory() -> ! {
    const BLOCK: usize = 1 << 20;
    const PAGE: usize = 4096;
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; BLOCK];
        for offset in (0..BLOCK).step_by(PAGE) {
            block[offset] = 1;
        }
        blocks.push(black_box(block));
    }
}

/// Burn CPU until `ms` milliseconds have passed on the host clock (not sleeping, so the host's
/// deadline is what stops an overlong one).
fn busy_wait_ms(ms: u64) {
    let deadline = clock::now_ms().saturating_add(ms);
    while clock::now_ms() < deadline {
        black_box(());
    }
}

trackway_plugin_sdk::export_processor!(Misbehave, typed);
