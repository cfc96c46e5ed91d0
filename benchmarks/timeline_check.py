"""The package's timeline check on any model: does a timeline follow the speech it is cut from?

Usage:
    python benchmarks/timeline_check.py MODEL [MODEL ...]      (a folder, or a bundled name)

The same check as ``tests/test_inference.py::test_bundled_model_timeline_follows_concatenated_examples``
(which runs it on the default): the 8 example clips of ``demo/examples``, each tiled to fill 7.5 s
of a 60-s recording, go through ``ser-hf predict --hop 1``; a 4-s window lying wholly inside one
clip's stretch should get the label the model gives that clip alone. A candidate for the default
must reach 75 %. Prints one line per model; exit status 1 when one of them falls short.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]  # run from a checkout without installing

from test_inference import timeline_agreement  # noqa: E402

from ser_hf.inference.bundled import resolve_model_name  # noqa: E402

NEEDED = 0.75


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    failed = False
    for model in argv:
        with (
            tempfile.TemporaryDirectory() as tmp,
            contextlib.redirect_stdout(io.StringIO()),
        ):  # ser-hf predict's
            agree, checked, _ = timeline_agreement(str(resolve_model_name(model)), Path(tmp))
        passed = agree / checked >= NEEDED
        failed |= not passed
        print(
            f"{model}: {agree} of {checked} windows ({agree / checked:.0%}): {'passes' if passed else 'FAILS'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
