"""A deterministic safetensors writer shared by the training scripts.

safetensors' own `save_file` stores the metadata through a hash map, so its key order (and
the file's sha256) changes from run to run. This writer sorts every JSON key, lays the
tensors out in name order, pads the header with spaces to a multiple of 8 bytes as the
format asks, and checks the result by reading it back with safetensors itself.
"""

import hashlib
import json
import pathlib
import struct

import numpy as np
from safetensors.numpy import load_file

DTYPES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64", np.dtype("uint8"): "U8"}


def write(path: pathlib.Path, tensors: dict, metadata: dict | None = None) -> None:
    header = {}
    if metadata:
        header["__metadata__"] = dict(sorted(metadata.items()))
    blobs, offset = [], 0
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {
            "dtype": DTYPES[array.dtype],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    back = load_file(path)
    assert sorted(back) == sorted(tensors), path
    for name, array in tensors.items():
        assert np.array_equal(back[name], array), (path, name)


def write_sums(directory: pathlib.Path, names: tuple[str, ...]) -> None:
    """Writes `directory/SHA256SUMS` for the files `names` (as `sha256sum -c` reads it)."""
    sums = []
    for name in names:
        digest = hashlib.sha256((directory / name).read_bytes()).hexdigest()
        sums.append(f"{digest}  {name}\n")
    (directory / "SHA256SUMS").write_text("".join(sums))
