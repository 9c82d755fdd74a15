//! kobject: an executable model of XNU's osfmk/kern/ipc_kobject.c (xnu-11215.1.10) and the
//! port-right layer beneath it, with an independent invariant ledger.
//!
//! Start at [`Kernel`]; ARCHITECTURE.md maps each module to the XNU file it models.

#[macro_use]
pub mod outcome;
pub mod arena;
pub mod bugs;
pub mod ikot;
pub mod ipc_kmsg;
pub mod ipc_kobject;
pub mod ipc_kobject_mig;
pub mod ipc_kobject_server;
pub mod ipc_notify;
pub mod ipc_port;
pub mod ipc_pset;
pub mod ipc_request;
pub mod ipc_right;
pub mod ipc_space;
pub mod kernel;
pub mod kobjects;
pub mod ledger;
pub mod ledger_names;
pub mod mach;
pub mod mach_msg;
pub mod mach_port;
pub mod mig_routines;
pub mod reference_model;
pub mod sync;

pub use bugs::{Bug, Bugs};
pub use ipc_port::{IpcKobject, IpcPort, PortId, IP_DEAD, IP_NULL, IP_VALID};
pub use kernel::{Kernel, ObjId, ObjKind, SpaceId};
pub use ledger::{Auditor, Held};
pub use outcome::{catch, Finding, FindingKind};
pub use sync::Platform;
