fn main() {
    std::process::exit(kt_lazyfs::cli::main());
}
