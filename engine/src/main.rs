//! The `trackway` binary; everything lives in the library (see `lib.rs`).

/// mimalloc instead of glibc's allocator: the hot path (HTTP, event decoding, redb pages, the
/// plugin boundary) allocates many small buffers across threads, where glibc's arenas spent a
/// fifth of the CPU time in `malloc`/`free` under load (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    trackway::cli::main()
}
