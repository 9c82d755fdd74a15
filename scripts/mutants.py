#!/usr/bin/env python3
"""Mistakes an XNU developer could make in the modelled code, none of them an injected bug of
`kobject::Bug`: the harness has no check written for any of them. scripts/mutants.sh applies
each to a scratch copy of the tree and reports which engine finds it.

usage: scripts/mutants.py list
       scripts/mutants.py check [ROOT]   (every mutation still applies; CI runs it)
       scripts/mutants.py apply NAME ROOT
Exit status: 0, or 2 for an unknown name or a mutation whose source text is no longer there
(the code moved on: update the entry)."""

import sys
from pathlib import Path

# name: (what the mistake is, file, original text, mutated text)
MUTANTS = {
    "subst-once-keeps-target": (
        "the subst-once wrapper's no-senders forgets the target's send right",
        "core/src/ipc_kobject.rs",
        """        if let IpcKobject::Port(target) = ko_port {
            self.ipc_port_release_send(IpcPort::Port(target));
        }""",
        """        let _ = ko_port;""",
    ),
    "send-once-notify-no-release": (
        "a kobject send-once notification keeps the right's port reference",
        "core/src/ipc_kobject.rs",
        """            self.task_suspension_send_once(p);
        }
        self.ip_release(p);""",
        """            self.task_suspension_send_once(p);
        }""",
    ),
    "nsrequest-locked-no-right": (
        "make_send_nsrequest arms the request without making the send right",
        "core/src/ipc_kobject.rs",
        """        self.ipc_kobject_require(g, kobject, kotype);
        self.ipc_port_make_send_any_locked(g);
        let kr = self.ipc_kobject_nsrequest_locked(g, 0);""",
        """        self.ipc_kobject_require(g, kobject, kotype);
        let kr = self.ipc_kobject_nsrequest_locked(g, 0);""",
    ),
    "no-senders-keeps-ref": (
        "the no-senders dispatcher keeps the notification's port reference",
        "core/src/ipc_kobject.rs",
        """        no_senders(self, port, mscount);
        self.ip_release(port);""",
        """        no_senders(self, port, mscount);""",
    ),
    "copy-send-makes": (
        "ipc_kobject_copy_send makes a send right (bumps ip_mscount) instead of copying one",
        "core/src/ipc_kobject.rs",
        """            self.ipc_kobject_require(&g, kobject, kotype);
            self.ipc_port_copy_send_any_locked(&mut g);""",
        """            self.ipc_kobject_require(&g, kobject, kotype);
            self.ipc_port_make_send_any_locked(&mut g);""",
    ),
    "destroy-skips-op": (
        "ipc_kobject_destroy skips the type's destroy callout",
        "core/src/ipc_kobject.rs",
        """        if let Some(destroy) = ops.iko_op_destroy {
            destroy(self, port);
        }""",
        """        let _ = ops.iko_op_destroy;""",
    ),
    "server-frees-failed-request": (
        "ipc_kobject_server frees (instead of destroying) a failed one-descriptor request",
        "core/src/ipc_kobject_server.rs",
        """        if success {
            self.ipc_kmsg_free(request);
        } else {""",
        """        if success || request.body.len() == 1 {
            self.ipc_kmsg_free(request);
        } else {""",
    ),
    "server-keeps-voucher": (
        "ipc_kobject_server forgets the request's voucher send right",
        "core/src/ipc_kobject_server.rs",
        """            self.ipc_port_release_send(voucher);
            request.msgh_voucher_port = IP_NULL;""",
        """            request.msgh_voucher_port = IP_NULL;""",
    ),
    "server-sonce-destination-kept": (
        "ipc_kobject_server forgets a send-once destination right",
        "core/src/ipc_kobject_server.rs",
        """            MACH_MSG_TYPE_PORT_SEND_ONCE => self.ipc_port_release_sonce(request.msgh_remote_port),""",
        """            MACH_MSG_TYPE_PORT_SEND_ONCE => {}""",
    ),
    "substitute-keeps-alt-ref": (
        "a label substitution keeps its reference on the alternate port",
        "core/src/ipc_kobject.rs",
        """        let port = self.ipc_port_make_send_any(IpcPort::Port(alt));
        self.ip_release(alt);
        port""",
        """        self.ipc_port_make_send_any(IpcPort::Port(alt))""",
    ),
    "lazy-publish-load-then-store": (
        "the lazy allocator publishes its port with a load and a store instead of a compare-and-swap",
        "core/src/ipc_kobject.rs",
        """        match port_store.compare_exchange(0, word, MemOrder::Release, MemOrder::Acquire) {""",
        """        let seen = port_store.load(MemOrder::Acquire);
        if seen == 0 {
            port_store.store(word, MemOrder::Release);
        }
        match if seen == 0 { Ok(0) } else { Err(seen) } {""",
    ),
    "alloc-arms-without-reference": (
        "a port allocated with IPC_KOBJECT_ALLOC_NSREQUEST is armed without its reference",
        "core/src/ipc_kobject.rs",
        """            g.ip_nsrequest = NsRequest::KobjectArmed;
            self.ip_reference(g.id);
            self.ledger_nsrequest_armed(g.id, None, kobject, ty);""",
        """            g.ip_nsrequest = NsRequest::KobjectArmed;
            self.ledger_nsrequest_armed(g.id, None, kobject, ty);""",
    ),
    "label-check-passes-send-once": (
        "the label check lets a send-once right to a substituting port through unsubstituted",
        "core/src/ipc_kobject.rs",
        """            if msgt_name != MACH_MSG_TYPE_PORT_SEND {
                return LabelCheck::Refused(space, g);
            }""",
        """            if msgt_name != MACH_MSG_TYPE_PORT_SEND {
                return LabelCheck::Allowed(space, g);
            }""",
    ),
    "mig-hash-probe-one-short": (
        "find_mig_hash_entry gives up one probe before the table's largest displacement",
        "core/src/ipc_kobject_mig.rs",
        """            max_iter = max_iter.wrapping_sub(1);
            if max_iter == 0 {""",
        """            max_iter = max_iter.wrapping_sub(1);
            if max_iter <= 1 {""",
    ),
    "make-send-no-mscount": (
        "ipc_port_make_send_any_locked makes the right without counting it in ip_mscount",
        "core/src/ipc_port.rs",
        """        g.ip_mscount = g.ip_mscount.wrapping_add(1);
        self.ledger_make_send(g.id);""",
        """        self.ledger_make_send(g.id);""",
    ),
    "clear-receiver-keeps-mscount": (
        "ipc_port_clear_receiver moves the receive right without resetting ip_mscount",
        "core/src/ipc_port.rs",
        """        g.receiver = receiver;
        g.ip_mscount = 0;""",
        """        g.receiver = receiver;""",
    ),
    "nsrequest-arms-at-mscount": (
        "ipc_kobject_nsrequest_locked arms without senders when sync equals the make-send count",
        "core/src/ipc_kobject.rs",
        """        if g.ip_srights == 0 && sync <= g.ip_mscount {""",
        """        if g.ip_srights == 0 && sync < g.ip_mscount {""",
    ),
    "lazy-reports-armed-when-waiting": (
        "the lazy allocator tells its caller it armed when the request was already armed, so "
        "the caller donates a second object reference",
        "core/src/ipc_kobject.rs",
        """            "lazy make-send on {port:?} returned {kr}"
        );
        kr == KERN_SUCCESS""",
        """            "lazy make-send on {port:?} returned {kr}"
        );
        kr != KERN_FAILURE""",
    ),
    "subst-once-copyout-keeps-wrapper": (
        "copyout of a subst-once wrapper takes its target without hollowing the wrapper",
        "core/src/ipc_kobject.rs",
        """        let subst = self.ipc_kobject_disable_locked(&mut g, IKOT_PORT_SUBST_ONCE);""",
        """        let subst = self.ipc_kobject_get_locked(&g, IKOT_PORT_SUBST_ONCE);""",
    ),
    "dead-destination-releases-right": (
        "a send to a dead destination releases the destination right as well as the reference",
        "core/src/mach_msg.rs",
        """        self.ip_release(dest);
        self.ipc_kmsg_destroy(kmsg, IPC_KMSG_DESTROY_SKIP_REMOTE);""",
        """        self.ip_release(dest);
        self.ipc_kmsg_destroy(kmsg, IPC_KMSG_DESTROY_ALL);""",
    ),
    "new-reply-id-plus-200": (
        "ipc_kobject_init_new_reply derives the shrunk error reply's id from the old reply's id "
        "plus 100 again",
        "core/src/ipc_kobject_server.rs",
        """        new_reply.msgh_id = old_reply.msgh_id;""",
        """        new_reply.msgh_id = old_reply.msgh_id.wrapping_add(100);""",
    ),
    "new-reply-assumes-send-once": (
        "ipc_kobject_init_new_reply addresses the shrunk error reply as if every reply right "
        "were a send-once right",
        "core/src/ipc_kobject_server.rs",
        """        new_reply.msgh_bits = old_reply.msgh_bits & !MACH_MSGH_BITS_COMPLEX;""",
        """        new_reply.msgh_bits = mach_msgh_bits_set(MACH_MSG_TYPE_PORT_SEND_ONCE, 0, 0, 0);""",
    ),
    "success-reply-keeps-error-size": (
        "the MIG stub builds a success reply without setting its size (it keeps "
        "mig_reply_error_t's)",
        "core/src/mig_routines.rs",
        """        reply.msgh_size = desc.max_reply_msg;""",
        """        let _ = desc.max_reply_msg;""",
    ),
    "deferred-routine-also-replies": (
        "the deferred-reply routine keeps the reply right and still answers with a reply",
        "core/src/mig_routines.rs",
        """        call.target,
    );
    Ok(MigReturn::NoReply)""",
        """        call.target,
    );
    Ok(MigReturn::Reply(Vec::new()))""",
    ),
    "thread-subst-compares-thread": (
        "the thread label substitution compares the thread itself, not its task, with the "
        "space's task (so it never substitutes)",
        "core/src/ipc_kobject.rs",
        """        let task = if is_thread {
            self.get_threadtask(obj)
        } else {
            Some(obj)
        };""",
        """        let _ = is_thread;
        let task = Some(obj);""",
    ),
    "server-error-destroys-destination": (
        "ipc_kobject_server destroys a failed request without IPC_KMSG_DESTROY_SKIP_REMOTE "
        "(the destination right it already released)",
        "core/src/ipc_kobject_server.rs",
        """                IPC_KMSG_DESTROY_SKIP_LOCAL | IPC_KMSG_DESTROY_SKIP_REMOTE,""",
        """                IPC_KMSG_DESTROY_SKIP_LOCAL,""",
    ),
    "server-voucher-not-cleared": (
        "ipc_kobject_server releases the voucher right but leaves it in the request",
        "core/src/ipc_kobject_server.rs",
        """            self.ipc_port_release_send(voucher);
            request.msgh_voucher_port = IP_NULL;
        }""",
        """            self.ipc_port_release_send(voucher);
        }""",
    ),
    "semaphore-no-senders-deallocates": (
        "semaphore_no_senders deallocates the semaphore's port (as the generic pattern does) "
        "although the semaphore still owns it",
        "core/src/kobjects.rs",
        """    pub fn semaphore_no_senders(&self, port: PortId, _mscount: MachPortMscount) {
        let o = self.lazy_no_senders_object(port, IKOT_SEMAPHORE);""",
        """    pub fn semaphore_no_senders(&self, port: PortId, mscount: MachPortMscount) {
        let o = self.lazy_no_senders_object(port, IKOT_SEMAPHORE);
        self.ipc_kobject_dealloc_port(port, mscount, IKOT_SEMAPHORE);""",
    ),
    "move-send-keeps-uref": (
        "a MOVE_SEND copyin of a name with several user references copies the send right but "
        "forgets to take one of them",
        "core/src/ipc_right.rs",
        """                self.ipc_port_copy_send_any_locked(&mut g);
                entry.urefs = urefs_dec_unpegged(entry.urefs);
                sg.is_table.insert(name, entry);""",
        """                self.ipc_port_copy_send_any_locked(&mut g);
                sg.is_table.insert(name, entry);""",
    ),
    "dealloc-send-receive-keeps-uref": (
        "mach_port_deallocate of a send-and-receive name with several user references returns "
        "success without taking one",
        "core/src/ipc_right.rs",
        """                if entry.urefs > 1 {
                    e.urefs = urefs_dec_unpegged(e.urefs);
                    sg.is_table.insert(name, e);
                    return KERN_SUCCESS;
                }""",
        """                if entry.urefs > 1 {
                    sg.is_table.insert(name, e);
                    return KERN_SUCCESS;
                }""",
    ),
    "copyin-two-moves-one-uref": (
        "ipc_right_copyin_two_move_sends makes two send rights but takes one user reference",
        "core/src/ipc_right.rs",
        """            if entry.urefs < MACH_PORT_UREFS_MAX {
                entry.urefs -= 2;
            }""",
        """            if entry.urefs < MACH_PORT_UREFS_MAX {
                entry.urefs -= 1;
            }""",
    ),
    "copyout-send-unpegged": (
        "ipc_right_copyout merges a send right into an entry without XNU's check for "
        "MACH_PORT_UREFS_MAX, so a pegged count goes past the maximum",
        "core/src/ipc_right.rs",
        """            entry.urefs = (entry.urefs + 1).min(MACH_PORT_UREFS_MAX);""",
        """            entry.urefs += 1;""",
    ),
    "thread-store-in-task": (
        "a storing routine on a thread (thread_set_exception_ports, thread_set_special_port, "
        "...) stores the right in the thread's task",
        "core/src/mig_routines.rs",
        """                        self.mig_slot_replace_for(target, arg.port, call.target);""",
        """                        let owner = self.get_threadtask(target).unwrap_or(target);
                        self.mig_slot_replace_for(owner, arg.port, call.target);""",
    ),
    "no-senders-fires-early": (
        "ipc_port_release_send_and_unlock prepares the no-senders notification when the "
        "last-but-one send right goes",
        "core/src/ipc_port.rs",
        """        let token = if g.ip_active() && g.ip_srights == 0 {""",
        """        let token = if g.ip_active() && g.ip_srights <= 1 {""",
    ),
    "dealloc-drops-port-deleted": (
        "the last send right's deallocation cancels the name's request but never sends its port-deleted notification",
        "core/src/ipc_right.rs",
        """        sg.is_table.remove(&name);
        drop(sg);
        self.ipc_port_release_send_and_unlock(g);
        self.ipc_notify_port_deleted_opt(request, name);
        KERN_SUCCESS
    }""",
        """        sg.is_table.remove(&name);
        drop(sg);
        self.ipc_port_release_send_and_unlock(g);
        let _ = request;
        KERN_SUCCESS
    }""",
    ),
    "dead-name-notified-twice": (
        "a name whose port died with a request gains two user references for its dead-name notification",
        "core/src/ipc_right.rs",
        """            if entry.urefs < MACH_PORT_UREFS_MAX {
                entry.urefs += 1;
            }
            self.ledger_dead_name(space, name, DeadNameEvent::Notified);""",
        """            if entry.urefs < MACH_PORT_UREFS_MAX - 1 {
                entry.urefs += 2;
            }
            self.ledger_dead_name(space, name, DeadNameEvent::Notified);""",
    ),
    "nsrequest-ignores-sync": (
        "ipc_port_nsrequest sends the no-senders notification at once whatever sync asks for",
        "core/src/ipc_request.rs",
        """            Some(notify) if g.ip_srights == 0 && sync <= mscount => {""",
        """            Some(notify) if g.ip_srights == 0 => {""",
    ),
    "move-send-keeps-request": (
        "copyin of a name's last send right (MOVE_SEND) leaves the name's dead-name request on the port",
        "core/src/ipc_right.rs",
        """                if entry.ie_bits & IE_BITS_RECEIVE == 0 {
                    let request = self.ipc_right_request_cancel(&mut g, name, &mut entry);
                    released.deleted(request, name);
                }
                sg.ipc_entry_modified(name, entry);
            }
            _ => {""",
        """                sg.ipc_entry_modified(name, entry);
            }
            _ => {""",
    ),
    "terminate-request-released-twice": (
        "space termination sends a cancelled request's port-deleted notification and releases its send-once right too",
        "core/src/ipc_right.rs",
        """            if g.ip_active() {
                drop(g);
                self.ipc_notify_port_deleted(request, name);
            } else {""",
        """            if g.ip_active() {
                drop(g);
                self.ipc_notify_port_deleted(request, name);
                self.ipc_port_release_sonce(IpcPort::Port(request));
            } else {""",
    ),
}


def fail(message):
    print(f"mutants: {message}", file=sys.stderr)
    sys.exit(2)


def main(argv):
    if argv == ["list"]:
        for name, (what, *_rest) in MUTANTS.items():
            print(f"{name}\t{what}")
        return
    if argv[:1] == ["check"] and len(argv) <= 2:
        root = Path(argv[1] if len(argv) == 2 else Path(__file__).resolve().parent.parent)
        for name in MUTANTS:
            original(name, root)
        print(f"mutants: all {len(MUTANTS)} mutations apply")
        return
    if len(argv) != 3 or argv[0] != "apply":
        fail(__doc__.split("\n\n")[1].replace("usage: ", "usage: ", 1))
    name, root = argv[1], Path(argv[2])
    if name not in MUTANTS:
        fail(f"unknown mutant {name}; known: {', '.join(MUTANTS)}")
    path, text = original(name, root)
    _what, _file, old, new = MUTANTS[name]
    path.write_text(text.replace(old, new))


def original(name, root):
    """The file a mutation applies to and its text, checking the original text is there once."""
    _what, file, old, _new = MUTANTS[name]
    path = root / file
    text = path.read_text()
    if text.count(old) != 1:
        fail(f"{name}: its original text is no longer in {file} exactly once; update the entry")
    return path, text


if __name__ == "__main__":
    main(sys.argv[1:])
