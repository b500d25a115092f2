#!/usr/bin/python3
"""Writes a bank's own fit defaults into its provenance (`fit_defaults`), the
recipe measured best on validation for that bank: the server gives them to
every request field left unset (server/bank_fit_defaults.h) and checks them
when it loads the bank.

  scripts/bank_fit_defaults.py BANK.safetensors '{"steps": 0, "head_steps": 300}'

The value is a wave.v1.FitOptions in JSON; '{}' removes the key. Only the
header's provenance changes: the tensors' bytes are kept, which is checked
before the file is replaced. (The format, an 8-byte little-endian header
length, a JSON header, then the raw tensors, is simple enough to edit here;
Debian 12 packages no safetensors for Python.)
"""
import json
import os
import struct
import sys


def split(data):
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n]), data[8 + n:]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    path, value = sys.argv[1], sys.argv[2]
    defaults = json.loads(value)
    if not isinstance(defaults, dict):
        sys.exit("fit defaults: a JSON object, e.g. '{\"steps\": 0}'")
    with open(path, "rb") as f:
        data = f.read()
    header, body = split(data)
    metadata = header["__metadata__"]
    provenance = json.loads(metadata["provenance"])
    if defaults:
        provenance["fit_defaults"] = json.dumps(defaults, sort_keys=True)
    else:
        provenance.pop("fit_defaults", None)
    metadata["provenance"] = json.dumps(provenance, sort_keys=True)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # tensors stay 8-byte aligned
    out = struct.pack("<Q", len(text)) + text + body
    if split(out)[1] != body:
        sys.exit("the tensors would change: nothing written")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(out)
    os.replace(tmp, path)
    print(f"{path}: fit_defaults {provenance.get('fit_defaults', '(none)')}")


if __name__ == "__main__":
    main()
