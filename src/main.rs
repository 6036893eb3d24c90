/// mimalloc, with this service's settings (`logbot_gateway::allocator`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    logbot_gateway::allocator::tune();
    logbot_gateway::cli::run()
}
