#!/usr/bin/env bash
# The README's install command, verbatim, in a copy of the repository's
# client/python (so that nothing it could leave behind lands in the tree):
#   python3 -m venv --system-site-packages venv && venv/bin/pip install ./client/python
# Offline: the package's build backend needs nothing from an index, and its
# dependencies (grpcio, protobuf, numpy) are Debian's, from the system site.
# Then the package is imported from outside the source tree, and the copy of
# the source tree must be exactly as it was (no build/, no egg-info).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/repo/client"
cp -r "$ROOT/client/python" "$TMP/repo/client/python"
find "$TMP/repo/client/python" -name __pycache__ -prune -exec rm -rf {} +
before=$(cd "$TMP/repo" && find client -print | sort)
COMMAND=$(grep -m1 -o 'python3 -m venv --system-site-packages venv && venv/bin/pip install ./client/python' \
  "$ROOT/README.md") || { echo "the README no longer shows the install command"; exit 1; }
cd "$TMP/repo"
PATH=/usr/bin:$PATH PIP_NO_INDEX=1 bash -c "$COMMAND"
after=$(find client -print | sort)
if [[ "$before" != "$after" ]]; then
  echo "pip left files in the source tree:"
  diff <(echo "$before") <(echo "$after") || true
  exit 1
fi
cd "$TMP"
"$TMP/repo/venv/bin/python" - <<'PY'
import wave_init, wave_init.torchvision
from wave_init._proto.wave.v1 import wave_pb2
assert "site-packages" in wave_init.__file__, wave_init.__file__
print("installed", wave_init.__version__, "at", wave_init.__file__)
PY
