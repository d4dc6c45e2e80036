//! The `flashpick` binary: everything lives in the library; see `flashpick::cli`.

fn main() -> std::process::ExitCode {
    flashpick::cli::main()
}
