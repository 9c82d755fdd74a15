//! A short tour of the model: a semaphore's lazily allocated port, its no-senders notification,
//! a subst-once wrapper, and the auditor checking every step.

use kobject::ikot::IKOT_SEMAPHORE;
use kobject::{Held, IpcPort, Kernel, Platform};

fn main() {
    kobject::outcome::quiet_findings();
    let k = Kernel::new(Platform::Native, kobject::Bugs::NONE);
    let sem = k.semaphore_create();
    k.object_reference(sem);
    let port = k.convert_lazy_object_to_port(sem);
    let p = port.id();
    println!(
        "convert_semaphore_to_port -> {p}: refs {}",
        k.ip_references(p)
    );
    k.audit(&[Held::Send(p)]).expect("audit after convert");
    k.object_reference(sem);
    let again = k.convert_lazy_object_to_port(sem);
    assert_eq!(again, port);
    k.audit(&[Held::Send(p), Held::Send(p)])
        .expect("audit after second convert");
    k.ipc_port_release_send(port);
    k.ipc_port_release_send(port);
    println!(
        "after releases: refs {}, semaphore refs {}",
        k.ip_references(p),
        k.object_refs(sem)
    );
    k.audit(&[]).expect("audit after no-senders");
    let sub = k.ipc_kobject_alloc_subst_once(k.ipc_port_make_send_any(port));
    k.audit(&[Held::Send(sub.id())])
        .expect("audit with subst-once");
    k.ipc_port_release_send(sub);
    k.audit(&[]).expect("audit after subst-once no-senders");
    k.object_destroy(sem);
    println!(
        "semaphore live: {}, port live: {}",
        k.object_is_live(sem),
        k.port_is_live(p)
    );
    let (task, _space) = k.task_create(0).unwrap();
    let thread = k.thread_create(task);
    k.audit(&[]).expect("audit with a task");
    k.thread_terminate(thread);
    k.task_terminate(task);
    match k.audit_teardown() {
        Ok(()) => println!("teardown clean"),
        Err(f) => println!("teardown: {f}"),
    }
    let _ = (IKOT_SEMAPHORE, IpcPort::Null);
}
