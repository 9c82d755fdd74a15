//! The reference model of `kobject_lifecycle`: per port its send and send-once rights, make-send
//! count, references, armed request, activity and kobject; per object its references. It is
//! written from XNU's rules, not from the model's code:
//!
//! * a port is born with one reference (its receive right); each send or send-once right and an
//!   armed no-senders request own one more;
//! * the last send right of an active armed port fires the notification: the type's callback
//!   runs, then the request's reference goes;
//! * destroying a port clears it to inactive with make-send count 0, drops an armed request's
//!   reference silently, runs the type's destroy op and drops the receive right's reference;
//! * an object's references are its creator's, the ones armed ports were donated, a thread's
//!   hold on its task and a timer port's hold on its timer.
//!
//! # Deliberately absent
//! Labels and substitution (no space ever holds these rights), message queues, and the
//! concurrent interleavings (the simulator's job).

use std::collections::BTreeMap;

use kobject::ikot::*;
use kobject::mach::*;
use kobject::{IpcKobject, ObjId, PortId};

/// Expected state of one port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefPort {
    pub ty: IpcKobjectType,
    pub kobject: IpcKobject,
    pub srights: u32,
    pub sorights: u32,
    pub mscount: u32,
    pub refs: u32,
    pub armed: bool,
    pub active: bool,
}

/// Expected state of one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefObject {
    pub refs: u32,
    /// The lazily made port (`semaphore->port`, `iv_port`, a task's `itk_resume`).
    pub lazy_port: Option<PortId>,
    /// The ports the object deallocates when it is freed (lazy kobjects only).
    pub lazy_type: IpcKobjectType,
    pub suspend_count: u32,
}

/// Ports and objects as XNU's rules say they must be. Freed ones leave the maps and are
/// remembered in `freed_*` until the next comparison checks the model freed them too.
#[derive(Default)]
pub struct Reference {
    pub ports: BTreeMap<PortId, RefPort>,
    pub objects: BTreeMap<ObjId, RefObject>,
    pub freed_ports: Vec<PortId>,
    pub freed_objects: Vec<ObjId>,
}

impl Reference {
    pub fn port(&self, p: PortId) -> &RefPort {
        self.ports
            .get(&p)
            .unwrap_or_else(|| panic!("reference: {p} is not live"))
    }

    fn port_mut(&mut self, p: PortId) -> &mut RefPort {
        self.ports
            .get_mut(&p)
            .unwrap_or_else(|| panic!("reference: {p} is not live"))
    }

    fn object_mut(&mut self, o: ObjId) -> &mut RefObject {
        self.objects
            .get_mut(&o)
            .unwrap_or_else(|| panic!("reference: {o} is not live"))
    }

    pub fn object_new(&mut self, o: ObjId, lazy_type: IpcKobjectType) {
        let fresh = RefObject {
            refs: 1,
            lazy_port: None,
            lazy_type,
            suspend_count: 0,
        };
        assert!(self.objects.insert(o, fresh).is_none(), "{o} made twice");
    }

    /// `ipc_kobject_alloc_port` with `options`.
    pub fn port_new(
        &mut self,
        p: PortId,
        ty: IpcKobjectType,
        kobject: IpcKobject,
        options: IpcKobjectAllocOptions,
    ) {
        let make_send = u32::from(options & IPC_KOBJECT_ALLOC_MAKE_SEND != 0);
        let armed = options & IPC_KOBJECT_ALLOC_NSREQUEST != 0;
        let fresh = RefPort {
            ty,
            kobject,
            srights: make_send,
            sorights: 0,
            mscount: make_send,
            refs: 1 + make_send + u32::from(armed),
            armed,
            active: true,
        };
        assert!(self.ports.insert(p, fresh).is_none(), "{p} made twice");
    }

    pub fn make_send(&mut self, p: PortId) {
        let port = self.port_mut(p);
        assert!(port.active, "reference: make-send on dead {p}");
        port.mscount += 1;
        port.srights += 1;
        port.refs += 1;
    }

    pub fn copy_send(&mut self, p: PortId) {
        let port = self.port_mut(p);
        assert!(
            port.srights > 0,
            "reference: copy-send without a send right on {p}"
        );
        port.srights += 1;
        port.refs += 1;
    }

    pub fn make_sonce(&mut self, p: PortId) {
        let port = self.port_mut(p);
        assert!(port.active, "reference: make-send-once on dead {p}");
        port.sorights += 1;
        port.refs += 1;
    }

    /// `ipc_kobject_nsrequest_locked`: the result XNU returns, arming on success.
    pub fn nsrequest(&mut self, p: PortId, sync: u32) -> KernReturn {
        let port = self.port_mut(p);
        if port.armed {
            return KERN_ALREADY_WAITING;
        }
        if port.srights == 0 && sync <= port.mscount {
            return KERN_FAILURE;
        }
        port.armed = true;
        port.refs += 1;
        KERN_SUCCESS
    }

    fn release_ref(&mut self, p: PortId) {
        let port = self.port_mut(p);
        port.refs = port
            .refs
            .checked_sub(1)
            .expect("reference: port refs underflow");
        if port.refs == 0 {
            assert!(!port.active, "reference: {p} freed while active");
            self.ports.remove(&p);
            self.freed_ports.push(p);
        }
    }

    /// `ipc_port_release_send`: the last right of an active armed port fires no-senders.
    pub fn release_send(&mut self, p: PortId) {
        let port = self.port_mut(p);
        port.srights = port
            .srights
            .checked_sub(1)
            .expect("reference: srights underflow");
        let fire = port.active && port.srights == 0 && port.armed;
        if fire {
            port.armed = false;
        }
        let mscount = port.mscount;
        self.release_ref(p);
        if fire {
            self.no_senders(p, mscount);
            self.release_ref(p);
        }
    }

    pub fn release_sonce(&mut self, p: PortId) {
        let port = self.port_mut(p);
        port.sorights = port
            .sorights
            .checked_sub(1)
            .expect("reference: sorights underflow");
        self.release_ref(p);
    }

    /// `ipc_notify_send_once_and_unlock` on a kernel-received port: a resume port's right
    /// releases the hold it stood for.
    pub fn destroy_sonce(&mut self, p: PortId) {
        let port = *self.port(p);
        if port.active && port.ty == IKOT_TASK_RESUME {
            if let IpcKobject::Object(task) = port.kobject {
                let t = self.object_mut(task);
                t.suspend_count = t.suspend_count.saturating_sub(1);
            }
        }
        self.release_sonce(p);
    }

    /// The registered no-senders callbacks of the types these calls arm.
    fn no_senders(&mut self, p: PortId, mscount: u32) {
        let port = *self.port(p);
        match port.ty {
            IKOT_SEMAPHORE | IKOT_VOUCHER => {
                if let IpcKobject::Object(o) = port.kobject {
                    self.object_release(o);
                }
            }
            IKOT_PORT_SUBST_ONCE => {
                if let IpcKobject::Port(target) = self.dealloc(p) {
                    self.release_send(target);
                }
            }
            _ => {
                // generic_no_senders: deallocate with the notified count, give back the object.
                assert_eq!(port.mscount, mscount);
                if !port.active {
                    return;
                }
                if let IpcKobject::Object(o) = self.dealloc(p) {
                    self.object_release(o);
                }
            }
        }
    }

    /// `ipc_kobject_dealloc_port`: returns the kobject it had (nil for types with a destroy op).
    pub fn dealloc(&mut self, p: PortId) -> IpcKobject {
        let port = self.port_mut(p);
        let kobject = if port.ty == IKOT_TIMER {
            IpcKobject::Null
        } else {
            std::mem::replace(&mut port.kobject, IpcKobject::Null)
        };
        self.destroy(p);
        kobject
    }

    /// `ipc_port_destroy` of a port whose receive right the caller held.
    pub fn destroy(&mut self, p: PortId) {
        let port = self.port_mut(p);
        assert!(port.active, "reference: destroy of dead {p}");
        port.active = false;
        port.mscount = 0;
        let was_armed = std::mem::replace(&mut port.armed, false);
        let (ty, kobject) = (port.ty, port.kobject);
        if was_armed {
            self.release_ref(p);
        }
        if ty == IKOT_TIMER {
            // mk_timer_port_destroy: the port lets go of its timer.
            self.port_mut(p).kobject = IpcKobject::Null;
            if let IpcKobject::Object(timer) = kobject {
                self.object_release(timer);
            }
        }
        self.release_ref(p);
    }

    pub fn object_reference(&mut self, o: ObjId) {
        self.object_mut(o).refs += 1;
    }

    /// The last reference frees the object; a lazy kobject's port dies with it.
    pub fn object_release(&mut self, o: ObjId) {
        let obj = self.object_mut(o);
        obj.refs = obj
            .refs
            .checked_sub(1)
            .expect("reference: object refs underflow");
        if obj.refs > 0 {
            return;
        }
        let (lazy, ty) = (obj.lazy_port, obj.lazy_type);
        self.objects.remove(&o);
        self.freed_objects.push(o);
        if let Some(p) = lazy.filter(|_| ty != IKOT_NONE) {
            if self.ports.get(&p).is_some_and(|port| port.active) {
                self.dealloc(p);
            }
        }
    }

    /// `convert_*_to_port` after the caller took a reference: the port is made and armed on
    /// first use; otherwise a send right is made and the reference kept only if this armed.
    pub fn convert_lazy(&mut self, o: ObjId, made: Option<PortId>, ty: IpcKobjectType) {
        match self.object_mut(o).lazy_port {
            None => {
                let p = made.expect("the first convert makes a port");
                self.port_new(
                    p,
                    ty,
                    IpcKobject::Object(o),
                    IPC_KOBJECT_ALLOC_MAKE_SEND | IPC_KOBJECT_ALLOC_NSREQUEST,
                );
                self.object_mut(o).lazy_port = Some(p);
            }
            Some(p) => {
                self.make_send(p);
                if self.nsrequest(p, 0) != KERN_SUCCESS {
                    self.object_release(o);
                }
            }
        }
    }

    /// `task_suspend2`: a hold, the resume port made on first use, a send-once right.
    pub fn suspend(&mut self, task: ObjId, made: PortId) {
        let t = self.object_mut(task);
        t.suspend_count += 1;
        if t.lazy_port.is_none() {
            t.lazy_port = Some(made);
            self.port_new(made, IKOT_TASK_RESUME, IpcKobject::Object(task), 0);
        }
        self.make_sonce(made);
    }
}
