fn main() -> std::process::ExitCode {
    logbot_gateway::cli::run()
}
