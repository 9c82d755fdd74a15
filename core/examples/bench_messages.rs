//! Prints messages per second for a full user round trip (send -> copyin -> dispatch -> reply ->
//! receive -> copyout) and kernels booted per second, single-threaded. Run it in release:
//! `cargo run --release -p kobject --example bench_messages`.

use std::time::{Duration, Instant};

use kobject::mach::*;
use kobject::mach_msg::UserMsg;
use kobject::{Bugs, Kernel, Platform};

/// Runs `f` repeatedly for about `budget` and returns calls per second.
fn rate(budget: Duration, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for _ in 0..256 {
            f();
        }
        n += 256;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn round_trip(msgh_id: i32, label: &str) {
    let k = Kernel::new(Platform::Native, Bugs::NONE);
    let (task, space) = k.task_create(IPC_LABEL_NONE).unwrap();
    let sem = k.semaphore_create();
    k.object_reference(sem);
    let port = k.convert_lazy_object_to_port(sem);
    let sem_name = k.ipc_object_copyout(space, port, MACH_MSG_TYPE_PORT_SEND, 0);
    let reply = k.mach_port_allocate(space).unwrap();
    let msg = UserMsg {
        msgh_bits: mach_msgh_bits_set(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE, 0, 0),
        msgh_remote_port: sem_name,
        msgh_local_port: reply,
        msgh_id,
        ..UserMsg::default()
    };
    let per_sec = rate(Duration::from_secs(1), || {
        assert_eq!(k.mach_msg_send(space, &msg), MACH_MSG_SUCCESS);
        let r = k.mach_msg_receive(space, reply).expect("reply");
        assert_eq!(r.msgh_id, msgh_id + 100);
    });
    k.audit(&[]).expect("balanced after the benchmark");
    k.task_terminate(task);
    k.object_destroy(sem);
    k.audit_teardown().expect("teardown");
    println!("round trip ({label}): {:.0} messages/s", per_sec);
}

fn main() {
    round_trip(999_999, "unknown id, MIG_BAD_ID reply");
    round_trip(3200 + 400, "semaphore_signal-like routine id");
    let boots = rate(Duration::from_secs(1), || {
        let k = Kernel::new(Platform::Native, Bugs::NONE);
        std::hint::black_box(&k);
    });
    println!("kernel boot: {:.0} kernels/s", boots);
}
