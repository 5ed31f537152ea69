// The compatibility package is embedded with include_dir!, which cargo cannot
// track by itself: rebuild when any file under it changes.
fn main() {
    println!("cargo:rerun-if-changed=airflow_compat");
}
