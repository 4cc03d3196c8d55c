"""Deterministic mutations of valid files: byte flips, truncation, splices, deep nesting, huge
numbers, and (for ``.npz``) huge declared shapes and zip bombs.

Every mutator takes the valid bytes and a seeded ``random.Random`` and returns new bytes, so a
case is reproduced exactly from ``(format, seed)``.
"""

from __future__ import annotations

import io
import json
import random
import re
import zipfile
from collections.abc import Callable

import numpy as np

Mutator = Callable[[bytes, random.Random], bytes]

HUGE_NUMBERS = [b"-1", b"0", b"2147483648", b"9223372036854775808", b"18446744073709551617",
                b"1e308", b"1e999", b"-1e999", b"NaN", b"Infinity", b"1" * 80, b"4" * 5000,
                b"0.5", b"1e-320", b"65536", b"100000000"]


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def splice(data: bytes, rng: random.Random) -> bytes:
    """Copy a random slice of the file to a random place (duplicated keys, repeated rows)."""
    a = rng.randrange(len(data) + 1)
    b = rng.randrange(a, len(data) + 1)
    at = rng.randrange(len(data) + 1)
    return data[:at] + data[a:b] * rng.choice([1, 2, 50]) + data[at:]


def deep_nesting(data: bytes, rng: random.Random) -> bytes:
    """Wrap a value in thousands of arrays or objects (or leave the brackets unclosed)."""
    depth = rng.choice([100, 1000, 20000, 200000])
    opener, closer = rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
    at = _value_start(data, rng)
    closing = closer * depth if rng.random() < 0.7 else b""
    end = _value_end(data, at)
    return data[:at] + opener * depth + data[at:end] + closing + data[end:]


def huge_number(data: bytes, rng: random.Random) -> bytes:
    """Replace a number with an extreme one (overflowing, negative, non-finite, very long)."""
    numbers = list(re.finditer(rb"-?\d+(\.\d+)?([eE][-+]?\d+)?", data))
    if not numbers:
        return flip_bytes(data, rng)
    m = rng.choice(numbers)
    return data[: m.start()] + rng.choice(HUGE_NUMBERS) + data[m.end():]


def json_node(data: bytes, rng: random.Random) -> bytes:
    """Parse the JSON, replace one to three nodes with hostile values and write it back."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return flip_bytes(data, rng)
    nodes: list[tuple[object, object]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key in node:
                nodes.append((node, key))
                walk(node[key])
        elif isinstance(node, list):
            for i in range(len(node)):
                nodes.append((node, i))
                walk(node[i])

    walk(doc)
    if not nodes:
        return flip_bytes(data, rng)
    for parent, key in rng.sample(nodes, min(len(nodes), rng.choice([1, 1, 2, 3]))):
        original = parent[key]  # type: ignore[index]
        other = rng.choice(nodes)
        choices = [None, True, -1, 0, 1, 3, 2**31, 2**63, 2**64, 10**30, 1e308, -0.0, 0.5,
                   "x", "", "\x00", "1/0", "-5/2", [], {}, [original] * rng.choice([2, 1000]),
                   {"a": original}, [[[[original]]]], "/" * 5000, "a" * 100000,
                   [2**40, 2**40], [0] * 100000, [1] * 10000, other[0][other[1]]]
        parent[key] = rng.choice(choices)  # type: ignore[index]
        if isinstance(parent, dict) and rng.random() < 0.2:
            del parent[key]
    return json.dumps(doc).encode()


def _value_start(data: bytes, rng: random.Random) -> int:
    starts = [m.start() for m in re.finditer(rb"[\[{\"\d-]", data)]
    return rng.choice(starts) if starts else rng.randrange(len(data) + 1)


def _value_end(data: bytes, start: int) -> int:
    m = re.compile(rb"[,\]}]").search(data, start + 1)
    return m.start() if m else len(data)


# -- .npz ----------------------------------------------------------------------------------

def _rezip(members: dict[str, bytes], compress: bool) -> bytes:
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", method) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return buf.getvalue()


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def npz_header(data: bytes, rng: random.Random) -> bytes:
    """Rewrite one member's .npy header: a huge or negative shape, a bad dtype, garbage."""
    members = _members(data)
    name = rng.choice(sorted(members))
    payload = members[name]
    header_end = payload.index(b"\n") + 1
    header = payload[10:header_end]
    new = rng.choice([
        re.sub(rb"'shape': \([^)]*\)", b"'shape': (100000, 100000, 2)", header),
        re.sub(rb"'shape': \([^)]*\)", b"'shape': (-5, 2)", header),
        re.sub(rb"'shape': \([^)]*\)", b"'shape': (4611686018427387904, 4)", header),
        re.sub(rb"'descr': '[^']*'", b"'descr': '|O'", header),
        re.sub(rb"'descr': '[^']*'", b"'descr': '<U1000000000'", header),
        re.sub(rb"'descr': '[^']*'", b"'descr': [('a', '<f4', (1000, 1000))]", header),
        header.replace(b"{", b"{" * 3000),
        header.replace(b"}", b""),
        header[: len(header) // 2],
        b"{'descr': '<f4', 'fortran_order': False, 'shape': (" + b"(" * 500 + b"}",
    ])
    length = len(new).to_bytes(2, "little")
    members[name] = payload[:8] + length + new + payload[header_end:]
    return _rezip(members, rng.random() < 0.5)


def npz_bomb(data: bytes, rng: random.Random) -> bytes:
    """Add a member that inflates to far more than its compressed size, or lie about sizes."""
    members = _members(data)
    name = rng.choice(sorted(members))
    if rng.random() < 0.5:
        size = rng.choice([8, 65]) * 2**20
        members[name] = members[name][:128] + bytes(size)
        return _rezip(members, compress=True)
    out = bytearray(_rezip(members, compress=rng.random() < 0.5))
    # Patch a declared uncompressed size (local header offset 22, central directory 24).
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        for m in re.finditer(re.escape(sig), bytes(out)):
            if rng.random() < 0.7:
                out[m.start() + offset: m.start() + offset + 4] = rng.choice(
                    [0xFFFFFFF0, 2**31, 0, 17]).to_bytes(4, "little")
    return bytes(out)


def npz_arrays(data: bytes, rng: random.Random) -> bytes:
    """Rewrite the archive with one array changed in a way numpy itself accepts: another dtype,
    shape or memory order, extreme values, renamed or missing."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    key = rng.choice(sorted(arrays))
    a = arrays[key]
    change = rng.randrange(8)
    if change == 0:
        dtype = rng.choice([np.float64, np.int64, np.uint8, np.bool_, ">f4", np.float16,
                            np.complex64, "U3", "S2"])
        with np.errstate(all="ignore"):
            arrays[key] = a.astype(dtype)
    elif change == 1:
        arrays[key] = rng.choice([a.reshape(-1), a[None], a[..., None], a.T,
                                  np.asfortranarray(a), a[:0], a[:1]])
    elif change == 2 and a.dtype.kind in "fiub":
        arrays[key] = np.full(a.shape, rng.choice([np.nan, np.inf, -1, 1e38, 2**40]))
    elif change == 3:
        del arrays[key]
    elif change == 4:
        arrays[rng.choice(["pred_tracks", "pred_visibility", "points", "occluded", "x"])] = (
            arrays.pop(key))
    elif change == 5:
        arrays[key] = np.concatenate([a, a]) if a.ndim else np.array([a, a])
    else:
        arrays[rng.choice(["ids", "start_frame", "schema"])] = rng.choice([
            np.array(-3), np.array("Trajectory.9"), np.array([1, 1, 1]), np.array(2**62),
            np.array(b"x"), np.zeros((2, 2)), np.array(["Trajectory.1"])])
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


TEXT_MUTATORS: list[Mutator] = [flip_bytes, truncate, splice, deep_nesting, huge_number]
JSON_MUTATORS: list[Mutator] = [*TEXT_MUTATORS, json_node, json_node, json_node, json_node]
NPZ_MUTATORS: list[Mutator] = [flip_bytes, truncate, splice, npz_header, npz_header, npz_bomb,
                               npz_arrays, npz_arrays, npz_arrays]
BINARY_MUTATORS: list[Mutator] = [flip_bytes, truncate, splice, huge_number, deep_nesting]


def mutate(data: bytes, mutators: list[Mutator], seed: int) -> bytes:
    """Apply one to three mutators chosen by ``seed`` to ``data``."""
    rng = random.Random(seed)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        mutator = rng.choice(mutators)
        try:
            data = mutator(data, rng)
        except Exception:  # an earlier mutation left nothing this one can parse or unzip
            data = flip_bytes(data, rng)
        if not data:
            break
    return data
