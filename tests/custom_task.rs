//! `examples/custom_task.rs` runs: a task defined outside the library, with its public API, is
//! trained (800 sequences of a tiny NTM, well under a second) and evaluated, and its loss falls
//! (the example returns an error if not).

#[path = "../examples/custom_task.rs"]
mod custom_task;

#[test]
fn the_custom_task_example_trains_and_its_loss_falls() {
    custom_task::main().unwrap();
}
