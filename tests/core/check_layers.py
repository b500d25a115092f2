#!/usr/bin/env python3
"""Fails when an #include crosses the layers the wrong way (docs/DESIGN.md,
"Layers"): core/base < model < bank < {init, learn}; init never includes
learn; base has no LibTorch; the server never reaches learn and the client
nothing but base. Run with the repository root as argument; --self-test also
checks that a planted upward include is caught."""
import os
import re
import sys
import tempfile

ALLOWED = {
    "core/base": {"core/base"},
    "core/data": {"core/base", "core/data"},
    "core/model": {"core/base", "core/model"},
    "core/bank": {"core/base", "core/model", "core/bank"},
    "core/init": {"core/base", "core/model", "core/bank", "core/init"},
    "core/learn": {"core/base", "core/model", "core/bank", "core/learn"},
    "server": {"core/base", "core/model", "core/bank", "core/init", "server"},
    "client": {"core/base", "core/data", "client"},
}
INCLUDE = re.compile(r'^#include [<"]([^">]+)[">]', re.M)
TORCH = ("ATen/", "torch/", "c10/")


def violations(root):
    found = []
    for folder, allowed in ALLOWED.items():
        for dirpath, _, files in os.walk(os.path.join(root, folder)):
            for name in files:
                if not name.endswith((".h", ".cc")):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                with open(path, encoding="utf-8") as f:
                    for header in INCLUDE.findall(f.read()):
                        if folder in ("core/base", "core/data") and header.startswith(TORCH):
                            found.append(f"{rel}: {header} (core/base has no LibTorch)")
                        if header.startswith(("core/", "server/", "client/")):
                            layer = "/".join(header.split("/")[:2]) if header.startswith(
                                "core/") else header.split("/")[0]
                            if layer not in allowed:
                                found.append(f"{rel}: includes {header} ({folder} may not)")
    return found


def self_test():
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "core/init"))
        os.makedirs(os.path.join(root, "core/base"))
        with open(os.path.join(root, "core/init/a.cc"), "w") as f:
            f.write('#include "core/learn/learn.h"\n')
        with open(os.path.join(root, "core/base/b.cc"), "w") as f:
            f.write("#include <ATen/ATen.h>\n")
        found = violations(root)
        assert len(found) == 2, found


def main():
    args = [a for a in sys.argv[1:] if a != "--self-test"]
    if "--self-test" in sys.argv:
        self_test()
    root = args[0] if args else os.path.join(os.path.dirname(__file__), "../..")
    found = violations(root)
    for line in found:
        print(line)
    print(f"check_layers: {len(found)} upward includes")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
