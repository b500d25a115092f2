"""Reads a safetensors file's bytes into arrays.

Written here (about forty lines) because Debian 12 packages no safetensors
for Python; the format is an 8-byte little-endian header length, a JSON
header, then the raw tensors.
"""
import json
import struct

import numpy as np

_NUMPY = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
          "U8": np.uint8, "F64": np.float64}


def _bf16_to_f32(raw: bytes) -> np.ndarray:
    # bfloat16 is the upper half of a float32.
    return (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)


def parse(data: bytes, as_torch: bool):
    """Returns ({name: tensor}, {metadata key: str}); torch tensors when
    as_torch (bfloat16 kept), NumPy arrays otherwise (bfloat16 widened to
    float32, which NumPy lacks)."""
    if len(data) < 8:
        raise ValueError("safetensors: shorter than its header length")
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        raw = bytes(body[begin:end])
        dtype, shape = entry["dtype"], entry["shape"]
        if as_torch:
            import torch
            torch_dtype = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
                           "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8,
                           "F64": torch.float64}[dtype]
            t = torch.frombuffer(bytearray(raw), dtype=torch_dtype) if raw else \
                torch.empty(0, dtype=torch_dtype)
            tensors[name] = t.reshape(shape)
        elif dtype == "BF16":
            tensors[name] = _bf16_to_f32(raw).reshape(shape)
        else:
            tensors[name] = np.frombuffer(raw, dtype=np.dtype(_NUMPY[dtype]).newbyteorder("<")
                                          ).reshape(shape).copy()
    return tensors, metadata


_DTYPE_NAMES = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16",
                np.dtype(np.int64): "I64", np.dtype(np.int32): "I32", np.dtype(np.uint8): "U8",
                np.dtype(np.float64): "F64"}


def serialize(tensors, metadata=None) -> bytes:
    """The safetensors bytes of {name: array-like} (NumPy arrays, or torch
    tensors, which are moved to the CPU), with string metadata."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        if hasattr(t, "detach"):
            t = t.detach().cpu().contiguous().numpy()
        a = np.ascontiguousarray(t)
        if a.dtype not in _DTYPE_NAMES:
            raise ValueError(f"safetensors: {name} has unsupported dtype {a.dtype}")
        raw = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _DTYPE_NAMES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)
