fn main() {
    let p = std::env::args().nth(1).unwrap();
    let h = trial_histories::read_history(std::path::Path::new(&p)).unwrap();
    for c in trial_checkers::linear::log_calls(&h.ops) {
        println!("{:?}", c);
    }
}
