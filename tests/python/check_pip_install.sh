#!/usr/bin/env bash
# `pip install ./client/python` into a fresh virtual environment (offline:
# --no-index, Debian's grpcio/protobuf/numpy from the system site), then the
# package imported from outside the source tree.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../../client/python" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cp -r "$SRC" "$TMP/package"  # setuptools builds in the tree it is given
/usr/bin/python3 -m venv --system-site-packages "$TMP/venv"
"$TMP/venv/bin/pip" install --quiet --no-index --no-build-isolation --no-deps "$TMP/package"
cd "$TMP"
"$TMP/venv/bin/python" - <<'PY'
import wave_init, wave_init.torchvision
from wave_init._proto.wave.v1 import wave_pb2
assert "site-packages" in wave_init.__file__, wave_init.__file__
print("installed", wave_init.__version__, "at", wave_init.__file__)
PY
