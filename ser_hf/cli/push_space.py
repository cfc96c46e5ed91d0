"""``ser-hf push-space``: put the demo on the Hub as a Gradio Space that installs."""

from __future__ import annotations

from ..hub.space import CPU_TORCH_INDEX, DEFAULT_SPACE_COMMIT_MESSAGE, SPACE_MODEL_DIR, push_space
from .parser import ArgumentParser
from .push import _quiet_http_logs


def cli(argv: list[str]) -> int:
    """``ser-hf push-space --repo-id USER/NAME [--model DIR|HUB_ID|NAME] [--wheel F | --package REQ]
    [--torch-index URL|cpu|none] [--private]``."""
    parser = ArgumentParser(
        prog="ser-hf push-space",
        description="Upload the demo (demo/ of this clone: app.py, README.md with the Space configuration, "
        "packages.txt, examples/) as a Gradio Space that installs: ser-hf is not on PyPI, so a wheel of this "
        "clone goes up in wheels/ and the Space's requirements.txt names it by its URL and sha256, which "
        "the Space's build downloads and checks; its requirements.txt starts with PyTorch's CPU index "
        "(--torch-index). Uses HF_TOKEN (or --token) and HF_ENDPOINT.",
        epilog="On an existing Space, one commit replaces the demo's files, requirements.txt and the wheel "
        f"(an earlier wheels/*.whl is deleted; with --model, an earlier {SPACE_MODEL_DIR}/ too); other files "
        "are left alone, and so are Space variables that --model does not set. exit status: 0 pushed, 2 a "
        "usage or Hub error, or a --model folder that does not load (nothing is uploaded; the message says "
        "what to change).",
    )
    parser.add_argument("--repo-id", required=True, help="Space id, e.g. user/ser-demo")
    parser.add_argument(
        "--model",
        default=None,
        metavar="DIR|HUB_ID|NAME",
        help="the model the Space serves: a model folder (what ser-hf train wrote; loaded here first, "
        f"then its config, weights and card go up in {SPACE_MODEL_DIR}/ of the Space), a Hub model id (looked "
        "up there first) or a bundled model's name; set as the Space variable SER_HF_MODEL "
        f"({SPACE_MODEL_DIR} for a folder) and named in the Space's card. "
        "Default: the Space's variable is left as it is (a new Space serves the bundled default model)",
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
        "--torch-index",
        default=CPU_TORCH_INDEX,
        metavar="URL|cpu|cuXXX|none",
        help="the index the Space's build takes torch from, written first in its requirements.txt as "
        f"--extra-index-url (default {CPU_TORCH_INDEX}: a Space runs on a CPU, and PyPI's torch is the "
        "CUDA build, gigabytes more to install); cu124 and the like name PyTorch's CUDA index; none writes "
        "no index line (PyPI's torch, for a GPU Space). A download.pytorch.org line in "
        "demo/requirements.txt is kept instead",
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
        torch_index=args.torch_index,
        private=args.private,
        token=args.token,
        commit_message=args.message,
    )
    print(f"pushed the demo to {pushed.url} (ser-hf from: {pushed.requirement}): {pushed.commit_url}")
    if pushed.model_files:
        print(
            f"model: {args.model} uploaded in {SPACE_MODEL_DIR}/ ({', '.join(pushed.model_files)}); "
            f"SER_HF_MODEL={pushed.model}"
        )
    elif pushed.model is not None:
        print(f"model: SER_HF_MODEL={pushed.model}")
    print(f"torch from: {pushed.torch_index or 'PyPI, or an index line of demo/requirements.txt'}")
    return 0
