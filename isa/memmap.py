"""The J1 physical address map. Bases are architectural; sizes come from the machine
description. One flat 64-bit address space lets scalar loads, tile descriptors, ELF
sections and the debugger all name any byte the same way."""

from __future__ import annotations

DRAM_BASE = 0x0000_0000_0000  #: DRAM / HBM, up to 4 GiB
SRAM_BASE = 0x0001_0000_0000  #: on-chip scratchpad (`lui t0, 1` gives its base)
ACC_BASE = 0x0002_0000_0000  #: accumulator memory (fp32 / int32 partial sums)
REGION_SPAN = 0x0001_0000_0000  #: each region owns a 4 GiB window

#: region name -> base address, in address order
REGIONS: dict[str, int] = {"dram": DRAM_BASE, "sram": SRAM_BASE, "acc": ACC_BASE}


def region_of(address: int) -> str | None:
    """Name of the window that `address` falls in, or None outside every window."""
    for name, base in REGIONS.items():
        if base <= address < base + REGION_SPAN:
            return name
    return None
