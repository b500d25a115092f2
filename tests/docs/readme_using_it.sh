#!/usr/bin/env bash
# Runs the shell commands of the README's "Using it" section verbatim, in
# order, as a user would from the repository root: every indented command
# block between "## Using it" and "### From Python" (continuation lines
# joined). A command ending in "&" (the server) runs in the background, and
# the next command waits until the server answers health checks. Each command
# must exit 0 and every file it names with --out/--scalers_out/--out_dir must
# exist afterwards. Runs in a scratch folder that links the repository's
# build/ and models/, so the README's outputs do not land in the tree.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
WORK=$(mktemp -d)
SERVER=""
cleanup() {
  if [[ -n "$SERVER" ]]; then kill -TERM "$SERVER" 2>/dev/null || true; wait "$SERVER" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
ln -s "$BUILD" "$WORK/build"
ln -s "$ROOT/models" "$WORK/models"

mapfile -t COMMANDS < <(python3 - "$ROOT/README.md" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
section = text[text.index("## Using it"):text.index("### From Python")]
for block in re.findall(r"(?:^    .*\n)+", section, re.M):
    joined = re.sub(r"\\\n\s*", "", "\n".join(l[4:] for l in block.splitlines()))
    for line in joined.splitlines():
        line = re.sub(r"\s+#.*$", "", line).strip()
        if line:
            print(line)
PY
)
((${#COMMANDS[@]} >= 4)) || { echo "found only ${#COMMANDS[@]} commands in Using it"; exit 1; }

# The README's server takes the default port: wait for another test's to go.
for _ in $(seq 1 60); do
  (exec 3<>/dev/tcp/127.0.0.1/50051) 2>/dev/null || break
  sleep 1
done

cd "$WORK"
for command in "${COMMANDS[@]}"; do
  echo "+ $command"
  if [[ "$command" == *"&" ]]; then
    bash -c "exec ${command%&}" > server.log 2>&1 &
    SERVER=$!
    for _ in $(seq 1 150); do
      ./build/client/wave-client health > /dev/null 2>&1 && break
      kill -0 "$SERVER" 2>/dev/null || { cat server.log; exit 1; }
      sleep 0.2
    done
    continue
  fi
  bash -c "$command"
  for flag in out scalers_out out_dir; do
    path=$(grep -o -- "--$flag=[^ ]*" <<<"$command" | cut -d= -f2- || true)
    [[ -z "$path" || -e "$path" ]] || { echo "'$command' left no $path"; exit 1; }
  done
done
ls -R vits
echo "README Using it: ${#COMMANDS[@]} commands ran as written"
