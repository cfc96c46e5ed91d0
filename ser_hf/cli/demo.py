"""``ser-hf demo``: run the Gradio demo of ``demo/app.py`` locally.

The demo is a Hugging Face Space folder (``demo/``) rather than part of the package, so that the
same ``app.py`` runs on a Space (with ``ser-hf`` pip-installed) and from a clone. This command
finds that file next to the package (a clone or an editable install), or at ``--app PATH``, and
calls its ``main(argv)`` with the options below.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from pathlib import Path
from types import ModuleType

from ..errors import SERError, require_extra
from .parser import ArgumentParser

# demo/app.py of the checkout this package was imported from (clone, editable install)
REPO_APP = Path(__file__).resolve().parents[2] / "demo" / "app.py"


def find_app(app: str | os.PathLike | None = None) -> Path:
    """The demo's ``app.py``: ``app`` if given, else ``demo/app.py`` of the checkout.

    Raises:
        SERError: when there is no such file (a non-editable install does not ship ``demo/``).
    """
    path = Path(app) if app is not None else REPO_APP
    if not path.is_file():
        raise SERError(
            "demo app not found; the demo lives in the repository's demo/ folder: run 'ser-hf demo' "
            "from a clone (pip install -e .), pass --app path/to/demo/app.py, or run python demo/app.py",
            source=str(path),
        )
    return path


def load_app(app: str | os.PathLike | None = None) -> ModuleType:
    """Import the demo's ``app.py`` as a module (``build_demo``, ``main``, the handlers)."""
    path = find_app(app)
    spec = importlib.util.spec_from_file_location("ser_hf_demo_app", path)
    if spec is None or spec.loader is None:
        raise SERError("cannot import the demo app", source=str(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="ser-hf demo",
        description="Run the speech emotion recognition demo (Gradio) in your browser. "
        "Offline: set HF_HUB_OFFLINE=1 and use a local model folder.",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 = all)"
    )
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument(
        "--model",
        default=None,
        help="model folder or Hub id (default: $SER_HF_MODEL, else the bundled model)",
    )
    p.add_argument(
        "--share",
        choices=["true", "false"],
        default="false",
        help="create a public gradio.live link (default false: the demo stays on this machine)",
    )
    p.add_argument("--app", default=None, metavar="PATH", help="the demo's app.py (default: demo/app.py)")
    return p


def cli(argv: list[str]) -> int:
    """``ser-hf demo [--host H] [--port P] [--model DIR|HUB_ID] [--share true|false]``; blocks until Ctrl-C."""
    args = _parser().parse_args(argv)
    if not 0 <= args.port <= 65535:  # before "starting ... on" is printed
        raise SERError("give a port from 0 to 65535", source=f"--port {args.port}")
    require_extra("demo", "ser-hf demo")
    app = load_app(args.app)
    forwarded = ["--host", args.host, "--port", str(args.port)]
    if args.model:
        forwarded += ["--model", args.model]
    if args.share == "true":
        forwarded.append("--share")
    print(f"ser-hf demo: starting {find_app(args.app)} on http://{args.host}:{args.port} (Ctrl-C stops it)")
    return int(app.main(forwarded) or 0)
