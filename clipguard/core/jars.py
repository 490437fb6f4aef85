"""Where the JVM parts live: jar folders that `make jars` fetched from Maven, never the network.

`CLIPGUARD_JARS` names the folder; the default is `.jars/` in the checkout clipguard runs from.
Each set is a subfolder (jars/README.md): `kafka/lib` for the broker, `beam/lib` for Beam's
Flink job server and KafkaIO expansion service, `flink/` for a Flink distribution.
"""

from __future__ import annotations

import os
from pathlib import Path

CHECKOUT_JARS = Path(__file__).resolve().parents[2] / ".jars"


def jars_home() -> Path:
    return Path(os.environ.get("CLIPGUARD_JARS", CHECKOUT_JARS)).absolute()


def jar_set(name: str) -> Path:
    """The folder of one set, or an error that says how to get it."""
    folder = jars_home() / name
    if not (folder / ".complete").is_file():
        raise FileNotFoundError(f"no {name} jars in {folder}: run `make jars` in the clipguard checkout, "
                                "or set CLIPGUARD_JARS to a folder that has them")
    return folder


def classpath(name: str) -> str:
    """A JVM classpath of every jar in a set's lib/ folder."""
    return str(jar_set(name) / "lib" / "*")
