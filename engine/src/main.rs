//! The `trackway` binary; everything lives in the library (see `lib.rs`).

fn main() -> std::process::ExitCode {
    trackway::cli::main()
}
