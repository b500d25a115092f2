#!/usr/bin/python3
"""Generates wave_init/_proto from proto/wave/v1/wave.proto with protoc and
grpc_python_plugin (Debian's protobuf-compiler and protobuf-compiler-grpc).

The proto is staged under wave_init/_proto/ so that the generated modules
import each other inside the package (wave_init._proto.wave.v1); the
protobuf package, and so every name on the wire, stays wave.v1.

  generate_stubs.py --out DIR      write the stubs under DIR/wave_init/_proto
  generate_stubs.py --check        fail when the committed stubs are stale
"""
import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join(HERE, "..", "..", "proto", "wave", "v1", "wave.proto")
STAGED = os.path.join("wave_init", "_proto", "wave", "v1")
GENERATED = ["wave_pb2.py", "wave_pb2_grpc.py"]


def generate(out):
    with tempfile.TemporaryDirectory() as src:
        os.makedirs(os.path.join(src, STAGED))
        shutil.copy(PROTO, os.path.join(src, STAGED, "wave.proto"))
        os.makedirs(os.path.join(out, STAGED), exist_ok=True)
        subprocess.run(
            ["protoc", f"--proto_path={src}", f"--python_out={out}", f"--grpc_python_out={out}",
             "--plugin=protoc-gen-grpc_python=" + shutil.which("grpc_python_plugin"),
             os.path.join(src, STAGED, "wave.proto")],
            check=True)
    for d in ["wave_init/_proto", "wave_init/_proto/wave", STAGED]:
        open(os.path.join(out, d, "__init__.py"), "a").close()


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=HERE)
    p.add_argument("--check", action="store_true")
    args = p.parse_args()
    if not args.check:
        generate(args.out)
        return 0
    with tempfile.TemporaryDirectory() as fresh:
        generate(fresh)
        stale = [f for f in GENERATED
                 if not os.path.exists(os.path.join(HERE, STAGED, f))
                 or not filecmp.cmp(os.path.join(fresh, STAGED, f),
                                    os.path.join(HERE, STAGED, f), shallow=False)]
    if stale:
        print(f"stale stubs in client/python/{STAGED}: {', '.join(stale)}; regenerate with "
              "client/python/generate_stubs.py (or the build target python_stubs)")
        return 1
    print("stubs match proto/wave/v1/wave.proto")
    return 0


if __name__ == "__main__":
    sys.exit(main())
