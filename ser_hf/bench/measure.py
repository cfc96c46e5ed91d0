"""Running one benchmark part in its own process and measuring its peak memory (RSS of the process tree)."""

from __future__ import annotations

import logging
import os
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import SERError

logger = logging.getLogger(__name__)


REPO = Path(__file__).resolve().parents[2]
BENCH_DIR = REPO / "benchmarks"
PARTS = (
    "default",
    "avx2",
    "onnx",
    "presets",
    "cv",
    "memory",
    "features",
    "augment",
    "latency",
    "timeline",
    "training",
    "demo",
)
SR = 16000
LABELS8 = ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]
# a tiny network for --quick: the test measures that the machinery works, not the real model's speed
TINY_MODEL = {"conv_channels": [4, 8], "lstm_hidden_size": 8, "attention_hidden_size": 8}
TINY_FEATURES = {"n_mels": 32, "max_frames": None}


# ----------------------------------------------------------------------------------------------
# running one part in its own process, with its peak memory
# ----------------------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1", GRADIO_ANALYTICS_ENABLED="False")
    # the children import ser_hf from this checkout even when it is not installed
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


def _tree_rss(proc: Any) -> int:
    """Resident bytes of a psutil process and all its descendants (0 once it is gone)."""
    import psutil

    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


class RSSPoller:
    """Samples the resident memory of a process tree every ``interval`` s in a thread; ``peak`` in bytes."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss(self.proc))
            self._stop.wait(self.interval)

    def __enter__(self) -> RSSPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_measured(
    cmd: list[str], timeout: float, cwd: Path | None = None, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run ``cmd`` (``env``: extra environment variables); return its exit code, output, wall
    seconds and the peak RSS of its process tree."""
    logger.info("running %s", shlex.join(cmd))
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd or REPO,
            env={**_env(), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        with RSSPoller(proc.pid) as poller:
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
                log.write(f"\n[bench] killed after {timeout:.0f} s\n")
        wall = time.perf_counter() - start
        log.seek(0)
        output = log.read()
    return {"rc": rc, "output": output, "wall_s": wall, "peak_rss_mb": poller.peak / 2**20}


def _python_script(script: str, *args: str) -> list[str]:
    return [sys.executable, str(BENCH_DIR / script), *args]


class PartFailed(SERError):
    """A benchmark part's process exited non-zero; the message is one line (its last line, the error
    it died of), ``output`` all it printed (``ser-hf bench`` writes it to ``<out>/<part>.log``)."""

    def __init__(self, part: str, rc: int, output: str) -> None:
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        last = re.sub(r"^(?:[A-Za-z_]\w*\.)+(\w+:)", r"\1", lines[-1]) if lines else "no output"
        super().__init__(f"{part} benchmark failed (exit {rc}): {last}")
        self.output = output


def _check(part: str, res: dict[str, Any]) -> None:
    if res["rc"] != 0:
        raise PartFailed(part, res["rc"], res["output"])


# ----------------------------------------------------------------------------------------------
# the parts
# ----------------------------------------------------------------------------------------------
