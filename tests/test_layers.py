"""The library's layers import downward only (every import, including those inside functions)."""

import ast
import pathlib

import pytest

import ganzoo

PACKAGE = pathlib.Path(ganzoo.__file__).parent

# Bottom to top. A module may import from its own unit and from lower layers.
LAYERS = (
    ("paths", "checksums", "validation", "image_scale", "_startup", "_version", "options", "distribute"),
    ("data", "losses", "networks", "optimizers", "augment", "images", "export_checks"),
    ("regularizers", "sampling"),  # sampling compiles generator calls with networks.inference
    ("models", "metrics"),
    ("export", "pretrained"),
    ("registry",),
    ("runs",),
    ("callbacks",),
    ("train",),
    ("cli",),
)
LAYER = {unit: i for i, units in enumerate(LAYERS) for unit in units}


def _unit(module):
    """'ganzoo.metrics.fid' -> 'metrics'; the package itself -> 'ganzoo'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "ganzoo"


def _imports(path):
    """(line, imported unit) for every ganzoo import in the file."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "ganzoo":
            if node.module == "ganzoo":
                yield from ((node.lineno, alias.name) for alias in node.names)
            else:
                yield node.lineno, _unit(node.module)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "ganzoo":
                    yield node.lineno, _unit(alias.name)


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")


def test_every_unit_has_a_layer():
    units = {_unit("ganzoo." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts)) for p in MODULES}
    assert units - {"__main__"} <= set(LAYER), sorted(units - set(LAYER))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_downward_only(path):
    unit = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    if unit == "__main__":
        return
    upward = [
        f"line {line}: {unit} (layer {LAYER[unit]}) imports {target} "
        f"(layer {LAYER.get(target, 'top')})"
        for line, target in _imports(path)
        if target != unit and LAYER.get(target, len(LAYERS)) >= LAYER[unit]
    ]
    assert not upward, upward


def test_metrics_modules_and_functions_are_reachable_under_distinct_names():
    import importlib

    from ganzoo import metrics

    for name in ("fid", "kid", "inception_score", "precision_recall", "mode_coverage", "data_copying"):
        assert callable(getattr(metrics, name)), name  # the public function
    # Each metric's module is importable and is a module, not the function.
    for module in ("frechet", "kernel_distance", "inception", "improved_precision_recall", "modes",
                   "copying", "reconstruction"):
        loaded = importlib.import_module(f"ganzoo.metrics.{module}")
        assert isinstance(loaded, type(importlib)), module
