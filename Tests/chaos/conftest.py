"""The chaos harness's modules import the deploy tests' helpers (release_system, netns)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
