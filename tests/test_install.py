"""The install the README promises: torch's pip options from TORCH_PIP_ARGS, every install held to
constraints.txt, user and developer requirements apart, and no requirement that nothing uses."""
import glob
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT

CPU_INDEX = '--index-url https://download.pytorch.org/whl/cpu'
# Import name of each requirement whose import name differs from its package name.
IMPORT_NAMES = {'scikit-learn': 'sklearn', 'pillow': 'PIL', 'imageio-ffmpeg': 'imageio_ffmpeg'}


def make_dry_run(*args):
    """The commands `make -n -B <args>` would run (nothing is run or installed), one per line."""
    if shutil.which('make') is None:
        pytest.skip("make is not installed")
    proc = subprocess.run(['make', '-n', '-B', *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return proc.stdout.splitlines()


def pins(path):
    """{normalized package name: version} of a requirements-style file's name==version lines."""
    with open(path) as f:
        lines = [line.split('#')[0].strip() for line in f]
    found = {}
    for line in filter(None, lines):
        name, version = re.fullmatch(r'([A-Za-z0-9_.\-]+)==(\S+)', line).groups()
        found[re.sub(r'[-_.]+', '-', name).lower()] = version
    return found


def test_torch_pip_args_reach_the_torch_install_only():
    lines = [line for line in make_dry_run('install', f'TORCH_PIP_ARGS={CPU_INDEX}') if 'pip install' in line]
    torch_lines = [line for line in lines if "'^torch=='" in line]
    assert len(torch_lines) == 1 and CPU_INDEX in torch_lines[0] and '--no-deps' in torch_lines[0]
    assert all(CPU_INDEX not in line for line in lines if line not in torch_lines)
    assert all('--index-url' not in line for line in make_dry_run('install'))


def test_every_install_is_held_to_the_constraints_and_test_installs_the_dev_requirements():
    lines = [line for line in make_dry_run('test') if 'pip install' in line]
    assert lines and all('-c constraints.txt' in line for line in lines)
    assert any('-r requirements-dev.txt' in line for line in lines)
    assert 'pytest' not in pins(os.path.join(ROOT, 'requirements.txt'))
    assert 'pytest' in pins(os.path.join(ROOT, 'requirements-dev.txt'))


def test_constraints_pin_every_requirement_at_its_version():
    constraints = pins(os.path.join(ROOT, 'constraints.txt'))
    assert all('+' not in version for version in constraints.values()), "a +cpu/+cu tag would fit only one machine"
    for name in ('requirements.txt', 'requirements-dev.txt', 'requirements-extract.txt'):
        for package, version in pins(os.path.join(ROOT, name)).items():
            assert constraints.get(package) == version, f"{name}: {package}=={version}, constraints.txt: " \
                                                        f"{constraints.get(package)}"
    assert 'soxr' in constraints  # its resampler decides the music features


def test_every_user_requirement_is_imported_somewhere():
    sources = ''
    for path in glob.glob(os.path.join(ROOT, '**', '*.py'), recursive=True):
        if os.sep + '.venv' not in path:
            with open(path) as f:
                sources += f.read()
    for package in pins(os.path.join(ROOT, 'requirements.txt')):
        module = IMPORT_NAMES.get(package, package)
        assert re.search(rf'^\s*(import|from) {module}\b', sources, re.M), f"nothing imports {module} ({package})"
