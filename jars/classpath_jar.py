"""Write a jar that holds only a manifest: a Main-Class and a Class-Path of local jars.

Beam's Python SDK starts its job server and expansion service as `java -jar FILE`; this lets it
run them from the jars `make jars` copied, instead of downloading Beam's shaded jars.
Usage: python3 jars/classpath_jar.py OUT.jar MAIN_CLASS LIB_DIR
"""

import sys
import zipfile
from pathlib import Path


def manifest(main_class: str, jars: list[Path]) -> str:
    # Class-Path entries are URLs relative to the manifest jar's folder.
    lines = ["Manifest-Version: 1.0", f"Main-Class: {main_class}",
             "Class-Path: " + " ".join(f"lib/{j.name}" for j in jars)]
    return "".join(wrap(line) for line in lines) + "\r\n"


def wrap(line: str, width: int = 72) -> str:
    """The manifest format's 72-byte lines, continued with a leading space."""
    raw = line.encode()
    parts = [raw[:width]] + [b" " + raw[i:i + width - 1] for i in range(width, len(raw), width - 1)]
    return "".join(p.decode() + "\r\n" for p in parts)


if __name__ == "__main__":
    out, main_class, lib = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    jars = sorted(lib.glob("*.jar"))
    if not jars:
        sys.exit(f"no jars in {lib}")
    with zipfile.ZipFile(out, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", manifest(main_class, jars))
