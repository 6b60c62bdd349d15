"""Where the repository's data lives: the one definition of each directory.

Read these as ``paths.HELM_VALUES_DIR`` at call time (never ``from ... import``
a copy): the config's values-file check and the Helm values loader then always
agree, and a test points both elsewhere with one monkeypatch.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
#: One YAML file of static values per chart; app entries name files inside it.
HELM_VALUES_DIR = REPO_ROOT / "helm-values"
