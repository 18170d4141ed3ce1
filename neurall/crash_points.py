"""Named points where a test can make the process die at once, as a power cut would.

``NEURALL_TEST_CRASH_AT=<name>`` (read once, at import) makes ``reach(name)`` end the
process with ``os._exit``: no cleanup, no finally blocks, no flushing of anything, which is
what a crash between two steps looks like to the rest of the system. Unset (always, outside
the tests) a point costs one comparison. Only tests set it; it is not a setting.
"""

from __future__ import annotations

import os
import sys

CRASH_AT = os.environ.get("NEURALL_TEST_CRASH_AT", "")
EXIT_CODE = 70


def reach(name: str) -> None:
    if name == CRASH_AT:
        sys.stderr.write(f"crash point {name} reached: exiting\n")
        sys.stderr.flush()
        os._exit(EXIT_CODE)
