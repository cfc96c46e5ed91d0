"""What the README promises a newcomer: the first snippet works from any folder, the two commands
install what they need (the demo no browser, the tests a browser), and it says where the data come
from, how long the test command takes and how large its frame models are."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

from ser_hf.data.labels import scheme_names

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
EXAMPLE = sorted((REPO / "demo" / "examples").glob("*.flac"))[0]


def test_the_first_snippet_loads_the_default_model_from_any_folder(tmp_path):
    block = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    line = next(ln for ln in block.splitlines() if "pipeline(" in ln and "default_model_path" in ln)
    code = "import ser_hf\nfrom transformers import pipeline\n" + line.split("#")[0].strip() + "\n"
    code += f"print(clf({str(EXAMPLE)!r}, top_k=3)[0]['label'])"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] in scheme_names("harmonized7")  # the default's classes


def _plan(target: str) -> str:
    proc = subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_make_demo_installs_no_browser_and_make_test_does():
    demo, test = _plan("demo"), _plan("test")
    assert "ffmpeg" in demo and "chromium" not in demo
    assert "ffmpeg" in test and "chromium:chromium" in test


def test_the_readme_names_the_data_sources_and_the_test_duration():
    assert "zenodo.org/records/1188976" in README and "10.5683/SP2/E8H2MF" in README  # RAVDESS, TESS
    assert re.search(r"`\.ci/run` runs `make test`; on a 2-core machine it takes about \d+ minutes", README)


def test_the_preset_table_gives_each_frame_models_parameters_for_its_classes():
    """The README's preset table mixed 8-class and 7-class counts without saying which: every
    frame-family row now names its class count, and the count is what build_model gives."""
    from ser_hf import build_model

    rows = re.findall(
        r"^\| `([a-z0-9-]+)` \| (\w+) \|.*\| ([\d,]+) \((\d) classes\) \|$", README, re.MULTILINE
    )
    frame_rows = [r for r in rows if r[1] != "functionals"]
    assert len(frame_rows) == 10, frame_rows
    for preset, _, count, classes in frame_rows:
        names = scheme_names("ravdess8" if classes == "8" else "harmonized7")
        model, _ = build_model(preset, dict(enumerate(names)))
        assert sum(p.numel() for p in model.parameters()) == int(count.replace(",", "")), preset


def test_the_servers_warm_up_logs_no_warning(caplog):
    """The WebSocket snippet's warm-up classified 1 s of zeros and logged "holds no speech ... its
    emotion scores mean nothing" at every server start; run as written, its set-up now logs nothing."""
    at = README.index("# warm-up")
    setup = README[README.rindex("```", 0, at) + 3 : at].split("\n", 1)[1]  # from the fence to the warm-up
    setup += README[at : README.index("\n", at)]
    assert "clf.classify(" in setup
    with caplog.at_level(logging.WARNING):
        exec(compile(setup, "README.md", "exec"), {})
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
