"""Where a benchmark row was measured: trained weights and timings depend on the CPU."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

import torch


def cpu() -> str:
    """The CPU's model name, its widest vector unit (float kernels differ by it) and cores."""
    info = Path("/proc/cpuinfo")
    text = info.read_text() if info.exists() else ""
    name = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    flags = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
    flags = set(flags[1].split()) if flags else set()
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else ""
    parts = [name[1].strip() if name else platform.processor() or platform.machine(), vector]
    return ", ".join(p for p in parts if p) + f", {os.cpu_count()} cores"


def describe() -> str:
    """CPU, platform and torch version, in one line."""
    return f"{cpu()}; {platform.system()} {platform.machine()}; torch {torch.__version__}"
