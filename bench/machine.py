"""The state of the machine a benchmark ran on, recorded before and after each suite: a figure
is only comparable with one taken on the same CPU, under a similar load, with the same BLAS kernel.

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are set on some of these machines (older OpenBLAS builds
crash on their processors) and pick a slower kernel for numpy; threadpoolctl says which one ran.
"""

from __future__ import annotations

import os
import platform

OPENBLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS")


def machine_state() -> dict:
    import numpy  # noqa: F401  threadpoolctl sees only the BLAS of libraries already loaded
    from threadpoolctl import threadpool_info

    return {"cpu": _cpu_model(), "arch": platform.machine(), "cores": os.cpu_count(),
            "load_average": [round(load, 2) for load in os.getloadavg()],
            "openblas_env": {name: os.environ[name] for name in OPENBLAS_VARIABLES if name in os.environ},
            "blas": [{k: pool.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                     for pool in threadpool_info() if pool.get("user_api") == "blas"]}


def describe(state: dict) -> str:
    """One line: `AMD EPYC, 2 cores, load 0.52 0.40 0.31, openblas 0.3.29 Haswell kernel
    (OPENBLAS_CORETYPE=Haswell)`."""
    kernels = [f"{p['internal_api']} {p['version']} {p['architecture']} kernel" for p in state["blas"]]
    blas = ", ".join(kernels) or "no BLAS"
    env = " ".join(f"{k}={v}" for k, v in state["openblas_env"].items())
    load = " ".join(f"{x:.2f}" for x in state["load_average"])
    return f"{state['cpu']}, {state['cores']} cores, load {load}, {blas}" + (f" ({env})" if env else "")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")),
                        platform.processor() or "unknown CPU")
    except OSError:
        return platform.processor() or "unknown CPU"
