#!/usr/bin/python3
"""Writes a bank's own fit defaults into its provenance (`fit_defaults`), the
recipe measured best on validation for that bank: the server gives them to
every request field left unset (server/bank_fit_defaults.h) and checks them
when it loads the bank. With --other-classes, the key merged over them for a
request on other classes than the bank's (`fit_defaults_other_classes`). With
--training-recipes, the training schedules returned with the weights
(`training_recipes`, server/training_recipe.h).

  scripts/bank_fit_defaults.py BANK.safetensors '{"steps": 0, "head_steps": 300}'
  scripts/bank_fit_defaults.py --other-classes BANK.safetensors '{"steps": 400}'
  scripts/bank_fit_defaults.py --training-recipes BANK.safetensors '{"own_classes": {...}}'

The value is a wave.v1.FitOptions in JSON (for --training-recipes, the object
server/training_recipe.h describes); '{}' removes the key. Only the
header's provenance changes: the tensors' bytes are kept, which is checked
before the file is replaced. (The format, an 8-byte little-endian header
length, a JSON header, then the raw tensors, is simple enough to edit here;
Debian 12 packages no safetensors for Python.)
"""
import argparse
import json
import os
import struct
import sys


def split(data):
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n]), data[8 + n:]


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--other-classes", action="store_true",
                       help="write fit_defaults_other_classes instead of fit_defaults")
    which.add_argument("--training-recipes", action="store_true",
                       help="write training_recipes instead of fit_defaults")
    p.add_argument("bank")
    p.add_argument("json")
    args = p.parse_args()
    path = args.bank
    key = ("fit_defaults_other_classes" if args.other_classes else
           "training_recipes" if args.training_recipes else "fit_defaults")
    defaults = json.loads(args.json)
    if not isinstance(defaults, dict):
        sys.exit(f"{key}: a JSON object, e.g. '{{\"steps\": 0}}'")
    with open(path, "rb") as f:
        data = f.read()
    header, body = split(data)
    metadata = header["__metadata__"]
    provenance = json.loads(metadata["provenance"])
    if defaults:
        provenance[key] = json.dumps(defaults, sort_keys=True)
    else:
        provenance.pop(key, None)
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
    print(f"{path}: {key} {provenance.get(key, '(none)')}")


if __name__ == "__main__":
    main()
