//! The MIG-generated kernel stubs and the routines they call, as the model gives them behaviour.
//! (Being filled in; see issue "messages".)

use crate::ipc_kmsg::Kmsg;
use crate::ipc_kobject_mig::MigRoutineDesc;
use crate::kernel::Kernel;
use crate::mach::*;

/// Models the generated kernel stub for `desc`: type-checks the request, runs the routine and
/// writes the reply. On an error status the request's body is left untouched.
pub fn mig_stub(_k: &Kernel, desc: &MigRoutineDesc, request: &mut Kmsg, reply: &mut Kmsg) {
    if request.body.len() as u32 != desc.req_descs {
        reply.ret_code = MIG_BAD_ARGUMENTS;
        return;
    }
    reply.ret_code = KERN_NOT_SUPPORTED;
}
