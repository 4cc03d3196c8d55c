"""Mutation fuzzing of every structured-file loader.

Each case mutates a valid file (seeded, so ``(format, seed)`` reproduces it) and loads it in a
child process with an address-space limit and a watchdog. The loader must return a valid
object or raise a MotionwrightError: no other exception, no hang, no memory blow-up; what
loads must save and load back equal. ``MOTIONWRIGHT_FUZZ_CASES`` sets the cases per format
(default 80) and ``MOTIONWRIGHT_FUZZ_SEED`` the first seed; failing inputs are kept in
pytest's temporary folder.
"""

from __future__ import annotations

import collections
import os

import pytest
from fuzz_formats import FORMATS, Format, loaded_equal
from fuzz_harness import run_in_child
from fuzz_mutations import mutate

from motionwright import limits

CASES = int(os.environ.get("MOTIONWRIGHT_FUZZ_CASES", "80"))
FIRST_SEED = int(os.environ.get("MOTIONWRIGHT_FUZZ_SEED", "0"))
# Small limits keep every accepted file far below the child's address-space headroom.
FUZZ_LIMITS = {"max_text_bytes": 32 * 2**20, "max_array_bytes": 64 * 2**20,
               "max_pixels": 2**22, "max_frames": 100_000, "max_points": 100_000}

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the harness forks")


@pytest.fixture(autouse=True)
def fuzz_limits():
    limits.set_limits(**FUZZ_LIMITS)
    yield
    limits.set_limits()


@pytest.mark.parametrize("fmt", FORMATS, ids=[f.name for f in FORMATS])
def test_seed_file_loads_and_round_trips(fmt: Format, tmp_path):
    seed = tmp_path / f"seed{fmt.suffix}"
    fmt.write(seed)
    loaded = fmt.load(seed)
    if fmt.save is not None:
        fmt.save(loaded, tmp_path / f"again{fmt.suffix}")
        assert loaded_equal(loaded, fmt.load(tmp_path / f"again{fmt.suffix}"))


@pytest.mark.parametrize("fmt", FORMATS, ids=[f.name for f in FORMATS])
def test_loader_survives_mutations(fmt: Format, tmp_path):
    seed_file = tmp_path / f"seed{fmt.suffix}"
    fmt.write(seed_file)
    valid = seed_file.read_bytes()
    work = tmp_path / "work"
    work.mkdir()
    kinds: collections.Counter[str] = collections.Counter()
    failures = []
    for seed in range(FIRST_SEED, FIRST_SEED + CASES):
        case = work / f"case{fmt.suffix}"
        case.write_bytes(mutate(valid, fmt.mutators, seed))
        outcome = run_in_child(fmt, case, work)
        kinds[outcome.kind] += 1
        if outcome.failed:
            kept = tmp_path / f"failing-{seed}{fmt.suffix}"
            case.rename(kept)
            failures.append(f"seed {seed} ({kept}): {outcome.kind}: {outcome.detail[-800:]}")
    assert not failures, f"{len(failures)} of {CASES} cases failed {dict(kinds)}:\n" + \
        "\n\n".join(failures[:5])
    assert kinds["typed"] > 0  # the mutations do reach the loaders' checks
