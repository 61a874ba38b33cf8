import contextlib
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


@pytest.fixture
def roots(tmp_path, monkeypatch):
    """Run stages in a temporary data/ and out/ (via L2D_DATA / L2D_OUT); returns (data_root, out_root)."""
    data, out = tmp_path / 'data', tmp_path / 'out'
    data.mkdir()
    out.mkdir()
    monkeypatch.setenv('L2D_DATA', str(data))
    monkeypatch.setenv('L2D_OUT', str(out))
    return data, out


def run_script(script, *args, check=True, timeout=600, processes=1):
    """Run a top-level script with the venv's python (environment inherited, so L2D_DATA/L2D_OUT apply), under
    torchrun with that many processes when processes > 1. Returns the CompletedProcess; on check and failure, fails
    the test with the script's output."""
    import subprocess
    launcher = ['-m', 'torch.distributed.run', '--standalone', f'--nproc_per_node={processes}'] if processes > 1 else []
    proc = subprocess.run([sys.executable, *launcher, os.path.join(ROOT, script), *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)
    if check and proc.returncode != 0:
        pytest.fail(f"{script} {' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n"
                    f"{proc.stderr[-3000:]}")
    return proc


@contextlib.contextmanager
def module_roots(root):
    """Point L2D_DATA / L2D_OUT at `root`/data and `root`/out for a module-scoped fixture (monkeypatch is per test),
    restoring them afterwards."""
    saved = {k: os.environ.get(k) for k in ('L2D_DATA', 'L2D_OUT')}
    os.environ.update(L2D_DATA=str(root / 'data'), L2D_OUT=str(root / 'out'))
    try:
        yield root
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
