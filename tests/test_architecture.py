"""The tree reads as the data flow: data -> models -> training -> inference -> hub / bench -> cli.

An import-graph check over every module of ``ser_hf`` (imports at module level AND inside
functions): no cycle, no module reaching back up the flow, the model folder importing only torch,
numpy, transformers and its siblings, no library module that prints, parses argv or exits, and no
module much over 600 lines. Plus: old module paths keep working for one release, with a warning.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ser_hf"
# stage -> rank: a module may import its own stage and stages of a LOWER rank only
RANKS = {"models": 0, "data": 1, "training": 2, "inference": 3, "hub": 4, "bench": 4, "cli": 5}
# importable from anywhere: the error type, the old-path shims, and the root (__version__; it is
# imported before any submodule anyway)
BASE = {"ser_hf", "ser_hf.errors", "ser_hf._compat"}
MAX_LINES = 650  # "no module over ~600 lines"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(p): p
        for p in PACKAGE.rglob("*.py")
        if "bundled" not in p.parts and p.name != "__main__.py"  # __main__ files are entry points
    }


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every ser_hf module ``name`` imports, anywhere in the file, resolved to a module."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # `from pkg import module` imports the module; `from module import name` the module
            targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in known else module for a in node.names]
        else:
            continue
        out |= {t for t in targets if t in known and t != name}
    return out


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANKS else None


def test_the_graph_sees_every_stage_and_real_edges(graph):
    assert {_stage(m) for m in graph} >= set(RANKS)
    assert "ser_hf.data.rows" in graph["ser_hf.data.corpora"]
    assert "ser_hf.inference.classifier" in graph["ser_hf.inference.streaming"]


def test_no_import_cycles_inside_ser_hf(graph):
    # Tarjan's strongly connected components: any component of 2+ modules is a cycle
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_no_module_reaches_back_up_the_flow(graph):
    bad = []
    for module, targets in graph.items():
        stage = _stage(module)
        if stage is None:
            continue
        for target in targets - BASE:
            target_stage = _stage(target)
            if (
                target_stage is None
                or RANKS[target_stage] > RANKS[stage]
                or (RANKS[target_stage] == RANKS[stage] and target_stage != stage)
            ):
                bad.append(f"{module} -> {target}")
    assert not bad, "imports against the data flow:\n" + "\n".join(sorted(bad))


def test_model_folder_imports_only_torch_numpy_transformers_and_siblings():
    allowed = {"torch", "numpy", "transformers", "__future__"} | set(sys.stdlib_module_names)
    # optional front ends of the functionals extractor, imported inside the function that needs them;
    # safetensors (the voice encoder's weights) comes with transformers wherever transformers is;
    # onnx + onnxruntime run the voice encoder's float32 LSTMs where installed (torch otherwise)
    lazy_optional = {"librosa", "opensmile", "safetensors", "onnx", "onnxruntime"}
    for path in (PACKAGE / "models").glob("*.py"):
        if path.name == "__init__.py":  # registration only; never copied next to a model
            continue
        tree = ast.parse(path.read_text())
        top_level = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                assert node.level == 1 and node.module and "." not in node.module, (
                    f"{path.name}: only single-dot sibling imports are copied as remote code"
                )
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
                ok = allowed if id(node) in top_level else allowed | lazy_optional
                for name in names:
                    assert name.split(".")[0] in ok, f"{path.name} imports {name}"


def test_library_modules_never_print_parse_argv_or_exit():
    offenders = []
    for name, path in _modules().items():
        if _stage(name) in (None, "cli"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                owner = getattr(getattr(func, "value", None), "id", "")
                if called == "print" or (owner == "sys" and called == "exit") or called == "ArgumentParser":
                    offenders.append(f"{name}:{node.lineno} {owner + '.' if owner else ''}{called}")
    assert not offenders, "library code must log and raise SERError:\n" + "\n".join(offenders)


def test_no_module_is_much_over_600_lines():
    long = {
        name: n for name, path in _modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split these modules: {long}"


@pytest.mark.parametrize(
    "old, name, new",
    [
        ("ser_hf.corpora", "load_corpus", "ser_hf.data.corpora"),
        ("ser_hf.augment", "expand_offline", "ser_hf.data.expand"),
        ("ser_hf.splits", "ravdess_protocol_folds", "ser_hf.data.folds"),
        ("ser_hf.onnx_export", "export_onnx", "ser_hf.inference.onnx_export"),
        ("ser_hf.modeling_ser", "SERFusionForAudioClassification", "ser_hf.models.modeling_fusion"),
        ("ser_hf.training", "make_split", "ser_hf.training.clips"),
        ("ser_hf.inference", "default_model_path", "ser_hf.inference.bundled"),
        ("ser_hf.hub", "make_model_card", "ser_hf.hub.cards"),
    ],
)
def test_old_module_paths_still_resolve_with_a_deprecation_warning(old, name, new):
    import importlib

    module = importlib.import_module(old)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = getattr(module, name)
    assert value is getattr(importlib.import_module(new), name)
    assert any(issubclass(w.category, DeprecationWarning) and new in str(w.message) for w in caught)


def test_messages_and_docs_name_no_deprecated_path():
    """The 8-kHz error said ``resample first (ser_hf.audio.load_audio does)`` and ``help(classify)``,
    the evaluation, scoring and push docs named ``ser_hf.corpora.*`` / ``ser_hf.labels.*``: paths that
    _compat keeps for one release with a DeprecationWarning. No text of the package (code, messages,
    docstrings, help files) nor the README names an old flat module or an old name of a package."""
    from ser_hf import _compat

    flat = re.compile(r"\b(" + "|".join(re.escape(m) for m in _compat.MOVED) + r")\b")
    in_package = re.compile(r"\b(" + "|".join(re.escape(m) for m in _compat.PACKAGES) + r")\.(\w+)")

    def is_module(package: str, name: str) -> bool:
        folder = PACKAGE.parent.joinpath(*package.split("."))
        return (folder / name).is_dir() or (folder / f"{name}.py").is_file()

    texts = [PACKAGE.parent / "README.md"] + [
        p
        for p in PACKAGE.rglob("*")
        if p.suffix in (".py", ".md", ".txt") and "bundled" not in p.parts and p.name != "_compat.py"
    ]
    # the scripts users run (benchmarks/exploration records past runs as they were)
    texts += [p for d in ("benchmarks", "scripts", "demo") for p in (PACKAGE.parent / d).glob("*.py")]
    found = []
    for path in texts:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            old = flat.findall(line) + [
                f"{p}.{n}" for p, n in in_package.findall(line) if not is_module(p, n)
            ]
            found += [f"{path.relative_to(PACKAGE.parent)}:{number}: {o}" for o in old]
    assert not found, "deprecated paths (see ser_hf/_compat.py):\n" + "\n".join(found)


def test_every_public_name_resolves():
    import ser_hf

    for name in ser_hf.__all__:
        assert getattr(ser_hf, name) is not None, name


def test_the_package_is_typed_and_its_lazy_names_are_visible():
    """``py.typed`` was listed in pyproject's package-data but never committed (mypy read the package
    as untyped), and the names ``ser_hf.__getattr__`` loads lazily were missing from ``dir(ser_hf)``
    (no tab completion) and invisible to type checkers and IDEs."""
    import importlib.resources

    import ser_hf

    assert importlib.resources.files("ser_hf").joinpath("py.typed").is_file()
    pyproject = (PACKAGE.parent / "pyproject.toml").read_text()  # what a wheel takes (no tomllib on 3.10)
    assert '"py.typed"' in re.search(r"\[tool\.setuptools\.package-data\]\s*ser_hf = \[(.*)\]", pyproject)[1]
    assert set(ser_hf.__all__) <= set(dir(ser_hf))
    # every lazy name is imported, from the module _LAZY names, under `if TYPE_CHECKING:`
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    seen = {
        a.asname: f"ser_hf.{node.module}"
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for a in node.names
        if a.asname == a.name  # `import X as X`: a re-export to type checkers
    }
    assert seen == ser_hf._LAZY


def test_every_command_answers_help():
    from ser_hf.cli import COMMANDS

    for command in COMMANDS:
        proc = subprocess.run(
            [sys.executable, "-m", "ser_hf.cli", command, "--help"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0 and "usage" in (proc.stdout + proc.stderr).lower(), (
            command,
            proc.stderr[-2000:],
        )


def test_import_ser_hf_stays_lean():
    """`import ser_hf` registers the model types once transformers loads; until then neither torch
    nor the heavy stacks of other stages (the demo, corpora, plots, openSMILE, scikit-learn) load."""
    code = (
        "import sys, ser_hf\n"
        "heavy = ['torch', 'transformers', 'gradio', 'datasets', 'librosa', 'matplotlib', 'opensmile', 'sklearn']\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "", f"import ser_hf loaded {proc.stdout.strip()}"


def test_registration_happens_whenever_transformers_loads(tmp_path):
    """Whatever comes first (ser_hf, transformers, or a model module imported directly), the
    Auto classes know the ser_hf model types by the time they are used."""
    for first in ("import ser_hf", "import transformers, ser_hf", "import ser_hf.models.modeling_ser"):
        code = (
            f"{first}\n"
            "from transformers.models.auto.configuration_auto import CONFIG_MAPPING\n"
            "print(all(t in CONFIG_MAPPING for t in ('ser_cnn_transformer', 'ser_compact', 'ser_fusion')))"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and proc.stdout.strip() == "True", (first, proc.stderr[-2000:])


def test_command_help_loads_no_model_stack():
    """`ser-hf --help`, `ser-hf COMMAND --help` and an unknown `train` flag answer without importing
    torch or transformers."""
    from ser_hf.cli import COMMANDS

    for argv in [
        ["--help"],
        *([c, "--help"] for c in COMMANDS),
        ["train", "--output_dir", "x", "--epochs", "3"],
    ]:
        code = (
            "import sys\nfrom ser_hf.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            "print('LOADED', [m for m in ('torch', 'transformers') if m in sys.modules])"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, (argv, proc.stderr[-2000:])
        assert proc.stdout.strip().splitlines()[-1] == "LOADED []", (argv, proc.stdout[-500:])


def test_train_help_file_matches_the_live_parser():
    """`ser-hf train --help` prints train_help.txt without loading torch; it must be what the real
    HfArgumentParser says (rewrite it with `python -m ser_hf.cli.train --write-help`)."""
    from ser_hf.cli import train as train_cli

    assert train_cli.HELP_FILE.read_text() == train_cli.live_help(), (
        "ser_hf/cli/train_help.txt is stale: run python -m ser_hf.cli.train --write-help"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "ser_hf.cli", "train", "--output_dir", "x", "--epochs", "3"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and "unknown arguments ['--epochs']" in proc.stderr, proc.stderr[-2000:]
