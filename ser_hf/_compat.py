"""Old module paths of ser_hf 0.1 (one flat folder), kept for one release.

``import ser_hf.corpora`` (and the other flat modules) still works: it returns a module whose
attributes are looked up, on first use, in the modules that now hold that code, with a
``DeprecationWarning`` naming the new place. The four packages that kept an old module's name
(``ser_hf.training``, ``ser_hf.inference``, ``ser_hf.hub``, ``ser_hf.bench``) resolve that module's
old names the same way through :func:`package_getattr`. CHANGELOG.md lists the moves. This file
holds module NAMES only, so it adds no import edges to the package.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import Any

# old flat module -> the modules that hold its names now, searched in order
MOVED: dict[str, tuple[str, ...]] = {
    "ser_hf.configuration_ser": ("ser_hf.models.configuration_ser",),
    "ser_hf.modeling_ser": ("ser_hf.models.modeling_ser", "ser_hf.models.modeling_fusion"),
    "ser_hf.feature_extraction_ser": (
        "ser_hf.models.feature_extraction_ser",
        "ser_hf.models.feature_extraction_functionals",
        "ser_hf.models.feature_functions",
    ),
    "ser_hf.audio": ("ser_hf.data.audio", "ser_hf.data.samples", "ser_hf.data.ffmpeg_decode"),
    "ser_hf.labels": ("ser_hf.data.labels",),
    "ser_hf.corpora": (
        "ser_hf.data.corpora",
        "ser_hf.data.rows",
        "ser_hf.data.layouts",
        "ser_hf.data.sources",
        "ser_hf.cli.corpus",
    ),
    "ser_hf.splits": ("ser_hf.data.splits", "ser_hf.data.folds"),
    "ser_hf.augment": ("ser_hf.data.augment", "ser_hf.data.transforms", "ser_hf.data.expand"),
    "ser_hf.metrics": ("ser_hf.training.metrics",),
    "ser_hf.presets": ("ser_hf.training.presets",),
    "ser_hf.evaluation": ("ser_hf.training.evaluation", "ser_hf.training.eval_inputs", "ser_hf.cli.evaluate"),
    "ser_hf.cross_validation": (
        "ser_hf.training.cross_validation",
        "ser_hf.training.fold_processes",
        "ser_hf.cli.cv",
    ),
    "ser_hf.functionals": ("ser_hf.training.functionals",),
    "ser_hf.fusion": ("ser_hf.inference.fusion",),
    "ser_hf.onnx_export": (
        "ser_hf.inference.onnx_export",
        "ser_hf.inference.onnx_runtime",
        "ser_hf.inference.onnx_classifier",
        "ser_hf.cli.export",
    ),
    "ser_hf.demo_launcher": ("ser_hf.cli.demo",),
}

# packages that replaced a flat module of the same name -> where that module's names live now
PACKAGES: dict[str, tuple[str, ...]] = {
    "ser_hf.training": (
        "ser_hf.training.run",
        "ser_hf.training.run_functionals",
        "ser_hf.training.arguments",
        "ser_hf.training.clips",
        "ser_hf.training.trainer",
        "ser_hf.training.saving",
        "ser_hf.cli.train",
    ),
    "ser_hf.inference": (
        "ser_hf.inference.classifier",
        "ser_hf.inference.bundled",
        "ser_hf.inference.timeline",
        "ser_hf.inference.streaming",
        "ser_hf.inference.media",
        "ser_hf.inference.onnx_classifier",
        "ser_hf.training.saving",
    ),
    "ser_hf.hub": (
        "ser_hf.hub.push",
        "ser_hf.hub.dataset_push",
        "ser_hf.hub.repos",
        "ser_hf.hub.cards",
        "ser_hf.hub.card_facts",
        "ser_hf.hub.card_body",
    ),
    "ser_hf.bench": ("ser_hf.bench.run", "ser_hf.bench.parts", "ser_hf.bench.measure"),
}

# old command functions -> (module, function) now
RENAMED: dict[str, tuple[str, str]] = {
    "predict_cli": ("ser_hf.cli.predict", "cli"),
    "extract_audio_cli": ("ser_hf.cli.extract_audio", "cli"),
    "push_cli": ("ser_hf.cli.push", "cli"),
    "push_dataset_cli": ("ser_hf.cli.push_dataset", "cli"),
}
_OLD_CLI = {
    "ser_hf.training": "ser_hf.cli.train",
    "ser_hf.evaluation": "ser_hf.cli.evaluate",
    "ser_hf.cross_validation": "ser_hf.cli.cv",
    "ser_hf.corpora": "ser_hf.cli.corpus",
    "ser_hf.onnx_export": "ser_hf.cli.export",
    "ser_hf.demo_launcher": "ser_hf.cli.demo",
    "ser_hf.bench": "ser_hf.cli.bench",
    "ser_hf.fusion": "ser_hf.cli.fuse",
}


def _find(old: str, modules: tuple[str, ...], name: str) -> Any:
    if name in RENAMED:
        module, attr = RENAMED[name]
    elif name == "cli" and old in _OLD_CLI:
        module, attr = _OLD_CLI[old], "cli"
    else:
        for module in modules:
            mod = importlib.import_module(module)
            if hasattr(mod, name):
                attr = name
                break
        else:
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), attr)
    home = getattr(value, "__module__", None) if attr == name else None  # where it is defined
    warnings.warn(f"{old}.{name} moved to {home or module}.{attr}", DeprecationWarning, stacklevel=3)
    return value


def package_getattr(package: str):
    """A module ``__getattr__`` for ``package`` that finds its old flat module's names."""

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _find(package, PACKAGES[package], name)

    return __getattr__


class _OldModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None):
        if fullname in MOVED:
            return importlib.machinery.ModuleSpec(fullname, self)
        return None

    def create_module(self, spec):
        module = types.ModuleType(spec.name, f"Moved: see {', '.join(MOVED[spec.name])}")
        module.__getattr__ = lambda name: _find(spec.name, MOVED[spec.name], name)  # type: ignore[attr-defined]
        return module

    def exec_module(self, module) -> None:
        return None


def install() -> None:
    if not any(isinstance(f, _OldModuleFinder) for f in sys.meta_path):
        sys.meta_path.append(_OldModuleFinder())
