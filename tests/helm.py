"""The helm binary for the chart's tests: built from hack/helm/go.mod into ~/.cache by hack/helm/build.sh (make
test builds it first; a test that finds it missing builds it, which takes minutes once)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "hack" / "helm" / "build.sh"
CHART = ROOT / "charts" / "seldon-meta-operator"


def helm_binary() -> str:
    """The path of helm, building it if needed; a failed build fails the test with Go's output."""
    done = subprocess.run(["bash", str(BUILD)], capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        pytest.fail(f"hack/helm/build.sh failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1]
