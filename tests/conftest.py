import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), 'shared', 'data')
sys.path.insert(0, ROOT)


def shared_path(*parts):
    """Path under ../shared/data, skipping the test (with the reason) when it is absent, as in a user's clone."""
    path = os.path.join(SHARED, *parts)
    if not os.path.exists(path):
        pytest.skip(f"{path} is absent (../shared is only on the project's machines)")
    return path
