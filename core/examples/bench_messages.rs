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

/// Sends `msgh_id` to the task's own control port and receives the reply, in a loop.
fn round_trip(msgh_id: i32, label: &str) {
    let k = Kernel::new(Platform::Native, Bugs::NONE);
    let (task, space) = k.task_create(IPC_LABEL_NONE).unwrap();
    let control = k.object_port(task, kobject::kobjects::TASK_PORT_CONTROL);
    let right = k.ipc_port_make_send_any(control);
    let task_name = k.ipc_object_copyout(space, right, MACH_MSG_TYPE_PORT_SEND, 0);
    let reply = k.mach_port_allocate(space).unwrap();
    let words = kobject::ipc_kobject_mig::kernel_mig_table()
        .find_mig_hash_entry(msgh_id)
        .map(|e| {
            kobject::mig_routines::mig_well_formed_words(
                kobject::ipc_kobject_mig::kernel_mig_table().routine(e),
            )
        })
        .unwrap_or_default();
    let msg = UserMsg {
        msgh_bits: mach_msgh_bits_set(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE, 0, 0),
        msgh_remote_port: task_name,
        msgh_local_port: reply,
        msgh_id,
        inline_data: words,
        ..UserMsg::default()
    };
    let per_sec = rate(Duration::from_secs(1), || {
        assert_eq!(k.mach_msg_send(space, &msg), MACH_MSG_SUCCESS);
        let r = k.mach_msg_receive(space, reply).expect("reply");
        assert_eq!(r.msgh_id, msgh_id + 100);
        for (name, _) in r.descriptors {
            if name != MACH_PORT_NULL && name != MACH_PORT_DEAD {
                k.mach_port_deallocate(space, name);
            }
        }
    });
    k.audit(&[]).expect("balanced after the benchmark");
    k.task_terminate(task);
    k.audit_teardown().expect("teardown");
    println!("round trip ({label}): {:.0} messages/s", per_sec);
}

fn main() {
    round_trip(999_999, "unknown id, MIG_BAD_ID reply");
    round_trip(3406, "task_set_info, simple reply");
    round_trip(3404, "mach_ports_lookup, complex reply with 3 ports");
    let boots = rate(Duration::from_secs(1), || {
        let k = Kernel::new(Platform::Native, Bugs::NONE);
        std::hint::black_box(&k);
    });
    println!("kernel boot: {:.0} kernels/s", boots);
}
