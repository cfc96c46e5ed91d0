"""``ser-hf push-space``: put the demo on the Hub as a Gradio Space that installs."""

from __future__ import annotations

from ..hub.space import DEFAULT_SPACE_COMMIT_MESSAGE, push_space
from .parser import ArgumentParser
from .push import _quiet_http_logs


def cli(argv: list[str]) -> int:
    """``ser-hf push-space --repo-id USER/NAME [--model HUB_ID|NAME] [--wheel F | --package REQ] [--private]``."""
    parser = ArgumentParser(
        prog="ser-hf push-space",
        description="Upload the demo (demo/ of this clone: app.py, README.md with the Space configuration, "
        "packages.txt, examples/) as a Gradio Space that installs: ser-hf is not on PyPI, so a wheel of this "
        "clone goes up in wheels/ and the Space's requirements.txt names it by its URL and sha256, which "
        "the Space's build downloads and checks. Uses HF_TOKEN (or --token) and HF_ENDPOINT.",
        epilog="On an existing Space, one commit replaces the demo's files, requirements.txt and the wheel "
        "(an earlier wheels/*.whl is deleted); other files are left alone, and so are Space variables "
        "that --model does not set. exit status: 0 pushed, 2 a usage or Hub error (the message says what "
        "to change).",
    )
    parser.add_argument("--repo-id", required=True, help="Space id, e.g. user/ser-demo")
    parser.add_argument(
        "--model",
        default=None,
        help="the model the Space serves: a Hub model id (upload a folder first with ser-hf push) or a "
        "bundled model's name, set as the Space variable SER_HF_MODEL (default: the bundled default model)",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--wheel",
        default=None,
        metavar="FILE",
        help="a ser_hf wheel to upload (default: one built from this clone with pip wheel)",
    )
    source.add_argument(
        "--package",
        default=None,
        metavar="REQUIREMENT",
        help="install ser-hf from this requirement instead of an uploaded wheel, e.g. "
        "'ser-hf[demo] @ git+https://github.com/YOU/ser_hf.git' (needed for a private Space)",
    )
    parser.add_argument(
        "--demo", default=None, metavar="DIR", help="the demo folder (default: demo/ of this clone)"
    )
    parser.add_argument(
        "--private",
        action="store_true",
        help="create the Space as private (an existing public one is made private); needs --package",
    )
    parser.add_argument(
        "--token", default=None, help="Hub write token (default: HF_TOKEN or the saved login)"
    )
    parser.add_argument("--message", default=DEFAULT_SPACE_COMMIT_MESSAGE, help="commit message")
    args = parser.parse_args(argv)
    _quiet_http_logs()
    pushed = push_space(
        args.repo_id,
        demo_dir=args.demo,
        wheel=args.wheel,
        package=args.package,
        model=args.model,
        private=args.private,
        token=args.token,
        commit_message=args.message,
    )
    print(f"pushed the demo to {pushed.url} (ser-hf from: {pushed.requirement}): {pushed.commit_url}")
    return 0
