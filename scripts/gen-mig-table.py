#!/usr/bin/env python3
"""Regenerates core/data/mig-subsystems.tsv, the MIG routine table the kobject crate embeds.

A developer tool: the crate never runs it and never reads the shared reference at build or run
time. It keeps only the columns the model uses, repeats each subsystem's start, end and maxsize on
every row (so the file stands alone under any TSV reader), writes fixed placeholders for skip
slots, and refuses to write anything if the reference disagrees with the counts the model expects.

Usage (from the workspace root):
    scripts/gen-mig-table.py [REFERENCE_TSV] [OUTPUT_TSV]
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REFERENCE = ROOT.parent / "shared" / "reference" / "mig-subsystems.tsv"
DEFAULT_OUTPUT = ROOT / "core" / "data" / "mig-subsystems.tsv"

# The order of mig_e[] in the seed, macOS configuration (VM32_SUPPORT, CONFIG_USER_NOTIFICATION
# and CONFIG_ARCADE all set).
MIG_E_ORDER = [
    "mach_vm", "mach_port", "mach_host", "host_priv", "clock", "processor", "processor_set",
    "is_iokit", "task", "thread_act", "vm32_map", "UNDReply", "mach_voucher", "memory_entry",
    "task_restartable", "catch_exc", "catch_mach_exc", "arcade_register", "mach_eventlink",
]
ROUTINES_EXPECTED = 345
SKIPS_EXPECTED = 52

OUT_COLUMNS = [
    "subsystem", "start", "end", "maxsize", "msgh_id", "routine_name", "kind",
    "req_port_detail", "req_ool_mem", "req_descs", "reply_port_detail", "reply_descr_count",
    "max_reply_msg", "reply_complex", "target_intran", "stub_releases_on_success",
]
# What a skip slot holds in every per-routine column: MIG leaves the slot's descriptor zeroed.
SKIP_FILL = {
    "routine_name": "-", "req_port_detail": "-", "req_ool_mem": "0", "req_descs": "0",
    "reply_port_detail": "-", "reply_descr_count": "0", "max_reply_msg": "0",
    "reply_complex": "no", "target_intran": "-", "stub_releases_on_success": "-",
}

HEADER = """\
# mig-subsystems.tsv: the kernel MIG routine table that kobjsim's mig_init consumes.
#
# One row per routine slot of the 19 subsystems the macOS build lists in mig_e[]
# (osfmk/kern/ipc_kobject.c, xnu-11215.1.10), in mig_e[] order, then by ascending msgh_id.
# That configuration includes vm32_map, UNDReply and arcade_register. Totals: 397 slots,
# 345 real routines, 52 skip slots.
#
# Where the facts come from: Apple's MIG compiler (bootstrap_cmds migcom) was run over each
# subsystem's .defs with the kernel-server flags xnu's build uses, and the numbers below were read
# off the generated kernel server tables and reply structures (LP64 kernel layout). This file is
# produced from that survey by scripts/gen-mig-table.py; do not edit it by hand.
#
# Layout: tab-separated, one header row naming the columns, lines starting with '#' are comments.
# The subsystem-level values (start, end, maxsize) are repeated on every row of that subsystem,
# so each row is self-contained; the parser checks that they agree.
#
# Columns:
#   subsystem          short name; the kernel symbol is <name>_subsystem
#   start, end         first msgh_id and one past the last; end - start == number of slots
#   maxsize            size of the largest reply of the subsystem (bytes)
#   msgh_id            request id of this slot (its reply id is msgh_id + 100)
#   routine_name       kernel-side routine name; '-' for a skip
#   kind               routine | simpleroutine | skip (a skip has no kernel stub: never hashed)
#   req_port_detail    port arguments in the request body, comma separated, each
#                      field:kind(disposition), where kind is port or ool_ports and disposition
#                      is what the stub accepts after copyin: NAME(value), NAME(value)|NAME(value)
#                      when two are accepted, or poly (not checked, passed to the routine);
#                      '-' for none. The target port and the reply port are not listed.
#   req_ool_mem        out-of-line memory descriptors in the request
#   req_descs          descriptors the request must carry, exactly
#   reply_port_detail  port arguments in a successful reply, same format; field[N] is a fixed
#                      inline array of N port descriptors; dispositions are what the kernel writes
#   reply_descr_count  descriptors in a successful reply (ports and out-of-line memory)
#   max_reply_msg      exact size of the successful reply (bytes); 44 is a bare error reply
#   reply_complex      yes if a successful reply carries descriptors (and then has no RetCode)
#   target_intran      conversion the stub applies to the destination port; raw = none; '-' skip
#   stub_releases_on_success
#                      request port arguments whose send right the stub itself releases after a
#                      KERN_SUCCESS return, comma separated; '-' for none
#
# A skip row has '-' in every name/detail column, 0 in every number column and reply_complex no,
# as MIG leaves a skip slot's descriptor zeroed.
"""

SUBSYSTEM_LINE = re.compile(
    r"^# (\w+): source \S+; mig_kern_subsystem (\w+)_subsystem start=(\d+) end=(\d+) "
    r"\((\d+) slots, (\d+) kernel routines\); maxsize=.*=(\d+)$"
)


def fail(msg):
    sys.exit(f"gen-mig-table: {msg}")


def read_reference(path):
    subsystems = {}
    header = None
    rows = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("#"):
            m = SUBSYSTEM_LINE.match(line)
            if m:
                name, sym, start, end, slots, routines, maxsize = m.groups()
                if name != sym:
                    fail(f"line {lineno}: subsystem {name} names symbol {sym}_subsystem")
                subsystems[name] = dict(start=int(start), end=int(end), slots=int(slots),
                                        routines=int(routines), maxsize=int(maxsize))
            continue
        cells = line.split("\t")
        if header is None:
            header = cells
            continue
        if len(cells) != len(header):
            fail(f"line {lineno}: {len(cells)} cells, header has {len(header)}")
        rows.append((lineno, dict(zip(header, cells))))
    return subsystems, rows


def out_row(sub, row):
    out = dict(subsystem=row["subsystem"], start=str(sub["start"]), end=str(sub["end"]),
               maxsize=str(sub["maxsize"]), msgh_id=row["msgh_id"], kind=row["kind"])
    if row["kind"] == "skip":
        out.update(SKIP_FILL)
    else:
        for col in OUT_COLUMNS:
            if col not in out:
                out[col] = row[col]
    return [out[col] for col in OUT_COLUMNS]


def convert(subsystems, rows):
    order = list(dict.fromkeys(row["subsystem"] for _, row in rows))
    if order != MIG_E_ORDER or list(subsystems) != MIG_E_ORDER:
        fail(f"subsystem order {order} is not mig_e[] order")
    out, next_id = [], {}
    for lineno, row in rows:
        sub = subsystems[row["subsystem"]]
        want = next_id.get(row["subsystem"], sub["start"])
        if int(row["subsystem_base_id"]) != sub["start"] or int(row["msgh_id"]) != want:
            fail(f"line {lineno}: msgh_id {row['msgh_id']} out of sequence (want {want})")
        next_id[row["subsystem"]] = want + 1
        if row["kind"] not in ("routine", "simpleroutine", "skip"):
            fail(f"line {lineno}: unknown kind {row['kind']}")
        if (row["kind"] == "skip") != (row["kernel_present"] == "no"):
            fail(f"line {lineno}: kind {row['kind']} vs kernel_present {row['kernel_present']}")
        out.append(out_row(sub, row))
    for name, sub in subsystems.items():
        if next_id[name] != sub["end"] or sub["end"] - sub["start"] != sub["slots"]:
            fail(f"{name}: slots do not cover [{sub['start']}, {sub['end']})")
    kinds = [r[OUT_COLUMNS.index("kind")] for r in out]
    skips = kinds.count("skip")
    if len(out) - skips != ROUTINES_EXPECTED or skips != SKIPS_EXPECTED:
        fail(f"{len(out) - skips} routines and {skips} skips, want 345 and 52")
    return out


def main():
    reference = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_REFERENCE
    output = Path(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_OUTPUT
    subsystems, rows = read_reference(reference)
    out = convert(subsystems, rows)
    lines = [HEADER.rstrip("\n"), "\t".join(OUT_COLUMNS)] + ["\t".join(r) for r in out]
    output.write_text("\n".join(lines) + "\n")
    print(f"wrote {output} ({len(out)} slots)")


if __name__ == "__main__":
    main()
