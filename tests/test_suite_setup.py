"""How the suite runs on a few cores (tests/conftest.py): torch's threads sleep while they wait, in the
suite and in every process it starts, and `make test` hands the test files to the pytest-xdist workers
with those holding a test marked slow first, each file whole."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import pytest_collection_modifyitems

REPO = Path(__file__).resolve().parents[1]


def test_torch_threads_of_the_suites_processes_sleep_while_they_wait():
    """Unset, GNU OpenMP spins 300,000 times at each wait: two xdist workers running torch on both
    cores spun on each other's cores (a pair of `ser-hf evaluate` runs took 50-85 s instead of 7)."""
    env = {**os.environ, "OMP_DISPLAY_ENV": "VERBOSE"}  # a process a test starts, as they all do
    done = subprocess.run(
        [sys.executable, "-c", "import torch; torch.ones(8) + 1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    if "OPENMP DISPLAY ENVIRONMENT" not in done.stderr:
        pytest.skip("torch's OpenMP here is not GNU libgomp")
    assert "GOMP_SPINCOUNT = '0'" in done.stderr, done.stderr


class _Item:
    def __init__(self, name: str, slow: bool = False) -> None:
        self.path, self.slow = Path(name), slow

    def get_closest_marker(self, name: str) -> object | None:
        return object() if name == "slow" and self.slow else None


def test_files_holding_a_slow_test_go_first_each_whole_and_in_its_order():
    """xdist's own order, by number of tests, sent the minutes-long files of few tests (the bench smoke
    test, the core-only venv) near the end, one worker busy with them while the other idled."""
    items = [_Item("a.py"), _Item("a.py"), _Item("a.py"), _Item("b.py"), _Item("z.py"), _Item("z.py", True)]
    items += [_Item("y.py", True), _Item("c.py"), _Item("c.py")]
    pytest_collection_modifyitems(None, items)
    assert [(i.path.name, i.slow) for i in items] == [
        ("z.py", False), ("z.py", True), ("y.py", True),  # slow files, the one of more tests first
        ("a.py", False), ("a.py", False), ("a.py", False), ("c.py", False), ("c.py", False), ("b.py", False),
    ]  # fmt: skip
    # xdist re-sorts the files by number of tests unless told not to: the order above would be lost
    (command,) = [line for line in (REPO / "Makefile").read_text().splitlines() if "--dist loadfile" in line]
    assert "--no-loadscope-reorder" in command
