"""Peak memory of the current process; standard library only, so the cold-start probes can
import it without adding to what they measure."""

from __future__ import annotations


def peak_rss_kb() -> int:
    """This process's RSS high-water mark (VmHWM), in KiB.

    Not ru_maxrss: on Linux a child's ru_maxrss starts from its parent's high-water mark (the
    parent's memory map is the one exec replaces), so a probe spawned from a 1 GB benchmark process
    would report 1 GB whatever it loads. VmHWM belongs to the current memory map only.
    """
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1
