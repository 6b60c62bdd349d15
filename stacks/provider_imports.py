"""Import only the provider submodules the app uses, not all ~1,600 of them.

Each prebuilt provider package's ``__init__`` ends with one ``from . import X``
per resource (1,470 for google, 109 for kubernetes), so ``import
cdktf_cdktf_provider_google.container_cluster`` first loads every other
resource's bindings too: ~390 MB of Python objects and ~12 s on 2 cores, for
code the app never calls. Those imports exist only so that every jsii type is
registered before the runtime might deserialize it.

``install()`` loads those package ``__init__`` files without the trailing
submodule imports, and tells the jsii runtime (>= 1.142, which supports
lazily loaded submodules) which Python module holds each jsii submodule. A
type the app did not import is then imported on first use by jsii itself
(``jsii._reference_map._try_import_type_module``), so behaviour is unchanged;
only the unused bindings are never loaded. The synthesized JSON is identical
(tests/stacks/test_provider_imports.py checks both halves).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import re
import sys
from collections.abc import Sequence
from types import CodeType, ModuleType

#: The packages whose ``__init__`` imports every submodule eagerly.
LAZY_PACKAGES = frozenset(
    {
        "cdktf_cdktf_provider_google",
        "cdktf_cdktf_provider_helm",
        "cdktf_cdktf_provider_kubernetes",
    }
)
_SUBMODULE_IMPORT = re.compile(r"^from \. import (\w+)\n", re.MULTILINE)


def jsii_submodule_name(python_name: str) -> str:
    """``container_node_pool`` -> ``containerNodePool`` (jsii-pacmak's inverse)."""
    head, *rest = python_name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class _LazyPackageLoader(importlib.machinery.SourceFileLoader):
    """Runs a provider package's ``__init__`` minus its submodule imports."""

    def get_code(self, fullname: str) -> CodeType:
        source = self.get_data(self.path).decode("utf-8")
        return compile(_SUBMODULE_IMPORT.sub("", source), self.path, "exec", dont_inherit=True)

    def exec_module(self, module: ModuleType) -> None:
        super().exec_module(module)
        source = self.get_data(self.path).decode("utf-8")
        _register_submodules(module.__name__, _SUBMODULE_IMPORT.findall(source))


def _register_submodules(package: str, submodules: Sequence[str]) -> None:
    """Map each jsii submodule FQN to its Python module, for on-demand import."""
    from jsii import _reference_map  # loaded by the package's __init__ already

    assembly = sys.modules[f"{package}._jsii"].__jsii_assembly__.name
    _reference_map._submodule_fqn_map.update(
        {f"{assembly}.{jsii_submodule_name(name)}": f"{package}.{name}" for name in submodules}
    )


class _LazyProviderFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in LAZY_PACKAGES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None:
            return None
        spec.loader = _LazyPackageLoader(fullname, spec.origin)
        return spec


def jsii_imports_types_on_demand() -> bool:
    """Whether this jsii runtime can import a type's submodule when it meets the type."""
    from jsii import _reference_map

    return hasattr(_reference_map, "_submodule_fqn_map") and hasattr(
        _reference_map, "_try_import_type_module"
    )


def install() -> None:
    """Make later provider imports lazy. Call before importing any provider.

    Idempotent. A provider package that is already imported stays as it is.
    With a jsii runtime that cannot import types on demand (older than 1.142)
    nothing changes: the packages keep importing everything, as they would
    without this module.
    """
    if any(isinstance(finder, _LazyProviderFinder) for finder in sys.meta_path):
        return
    if jsii_imports_types_on_demand():
        sys.meta_path.insert(0, _LazyProviderFinder())
