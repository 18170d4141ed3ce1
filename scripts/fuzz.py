#!/usr/bin/env python3
"""The long fuzzing run: tests/security/test_fuzz.py with many more examples.

Usage: .venv/bin/python scripts/fuzz.py [EXAMPLES_PER_TEST]   (default 10000)
Each of the three fuzz tests (valid documents, malformed documents, malformed JSON bodies)
runs that many examples against a live app on SQLite; set FUZZ_SEED to any value for a
random (non-derandomized) run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def main() -> int:
    examples = sys.argv[1] if len(sys.argv) > 1 else "10000"
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "FUZZ_EXAMPLES": examples}
    command = [sys.executable, "-m", "pytest", "tests/security/test_fuzz.py", "-x", "-q"]
    return subprocess.call(command, cwd=root, env=env)


if __name__ == "__main__":
    raise SystemExit(main())
