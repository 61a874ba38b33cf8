"""Bad input and failing disks end in one line that names the file and what is wrong, never in a traceback.

Three tables: inputs read by the library (an InputError with the right reason), writes that fail (one line on
stderr from a fresh process, no temporary file left) and whole stages run on bad data (parse.py)."""
import errno
import glob
import json
import os
import re
import resource
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from l2d.io import InputError, WriteError, atomic_path, load_audio, load_meta, load_poses, save_npz
from l2d.openpose import frame_filename, read_people, write_frame

STANDING = np.array([[0, -150], [0, -120], [-25, -120], [-35, -80], [-40, -40], [25, -120], [35, -80], [40, -40],
                     [0, -20], [-15, -20], [-18, 60], [-20, 140], [15, -20], [18, 60], [20, 140]], np.float32)


def write_clip(folder, n_frames=20):
    """A clip of OpenPose JSON: one person standing still at (300, 300), all joints seen. Returns the paths."""
    keypoints = np.column_stack([STANDING + 300, np.full(15, 0.9)])
    paths = [os.path.join(folder, frame_filename(os.path.basename(folder), t)) for t in range(n_frames)]
    for path in paths:
        write_frame(path, [keypoints])
    return paths


def poke_nonfinite(path, literals):
    """Rewrite the first numbers of the first person's pose_keypoints_2d as the given JSON literals (NaN, ...)."""
    with open(path) as f:
        text = f.read()
    head, tail = text.split('"pose_keypoints_2d":[', 1)
    numbers = tail.split(',')
    numbers[:len(literals)] = literals
    with open(path, 'w') as f:
        f.write(head + '"pose_keypoints_2d":[' + ','.join(numbers))


# ---- inputs the library reads -----------------------------------------------------------------------------------

def damaged_mp3(tmp_path):
    path = tmp_path / 'song.mp3'
    path.write_bytes(b'ID3\x03\x00\x00\x00\x00\x00\x00' + bytes(range(256)) * 40)
    return lambda: load_audio(str(path))


def folder_as_audio(tmp_path):
    (tmp_path / 'song.wav').mkdir()
    return lambda: load_audio(str(tmp_path / 'song.wav'))


def text_as_poses(tmp_path):
    (tmp_path / 'clip.npz').write_text('frame,x,y\n0,1,2\n')
    return lambda: load_poses(str(tmp_path / 'clip.npz'))


def truncated_npz(tmp_path):
    save_npz(str(tmp_path / 'clip.npz'), poses=np.zeros((10, 15, 2), np.float32))
    data = (tmp_path / 'clip.npz').read_bytes()
    (tmp_path / 'clip.npz').write_bytes(data[:len(data) // 2])
    return lambda: load_poses(str(tmp_path / 'clip.npz'))


def json_list_as_openpose(tmp_path):
    (tmp_path / 'a_000000000000_keypoints.json').write_text('[{"people": []}]')
    return lambda: read_people(str(tmp_path / 'a_000000000000_keypoints.json'))


def json_list_as_meta(tmp_path, monkeypatch):
    monkeypatch.setenv('L2D_DATA', str(tmp_path))
    (tmp_path / 'ds').mkdir()
    (tmp_path / 'ds' / 'meta.json').write_text('["clip0", "clip1"]')
    return lambda: load_meta('ds')


def out_dataset_is_a_file(tmp_path, monkeypatch):
    from models import dancers
    monkeypatch.setenv('L2D_OUT', str(tmp_path))
    (tmp_path / 'ds').write_text('not a folder')
    return lambda: dancers.load('ds', 'dancer', device='cpu')


READ_CASES = {
    'missing audio': (lambda tmp_path: lambda: load_audio(str(tmp_path / 'nope.mp3')), r'nope\.mp3: file not found'),
    'folder as audio': (folder_as_audio, r'song\.wav: is a folder'),
    'damaged mp3': (damaged_mp3, r'song\.mp3: cannot decode audio \(damaged, or not an audio file\)'),
    'text file as poses': (text_as_poses, r'clip\.npz: not a readable pose file \(a text file, not an \.npz archive\)'),
    'truncated npz': (truncated_npz, r'clip\.npz: not a readable pose file \(damaged \.npz'),
    'JSON list as OpenPose frame': (json_list_as_openpose, r'keypoints\.json: not OpenPose keypoints \(a JSON list'),
    'JSON list as meta.json': (json_list_as_meta, r'meta\.json: a JSON list, expected an object'),
    'out/<dataset> is a file': (out_dataset_is_a_file, r'ckpt\.pt: .*ds is a file, not a folder'),
}


@pytest.mark.parametrize('case', READ_CASES)
def test_bad_input_names_the_file_and_the_reason(case, tmp_path, monkeypatch, capfd):
    make, expected = READ_CASES[case]
    read = make(tmp_path, monkeypatch) if make.__code__.co_argcount == 2 else make(tmp_path)
    with pytest.raises(InputError, match=expected) as raised:
        read()
    assert '\n' not in str(raised.value)
    # libmpg123 prints resync notes on a damaged mp3; the one-line error replaces them.
    assert capfd.readouterr().err == ''


def test_nan_and_infinity_are_undetected_joints(tmp_path):
    path = write_clip(str(tmp_path / 'clip'), n_frames=1)[0]
    poke_nonfinite(path, ['NaN', '12.5', 'Infinity', '-Infinity'])  # joint 0: x NaN; joint 1: y inf, c -inf
    (people,), n_nonfinite = read_people(path)
    assert n_nonfinite == 2
    assert np.isfinite(people).all() and (people[:2] == 0).all() and (people[2:, 2] == np.float32(0.9)).all()


# ---- writes that fail -------------------------------------------------------------------------------------------

WRITE_SCRIPTS = {
    'npz over the file size limit': ("save_npz(target, a=np.zeros(100000))", 'p.npz', 20000,
                                     r'p\.npz: File too large'),
    'torch.save over the file size limit': (
        "import torch\nwith atomic_path(target) as tmp:\n    torch.save({'w': torch.zeros(100000)}, tmp)",
        'ckpt.pt', 20000, r'ckpt\.pt: File too large \(over the file size limit of 20000 bytes'),
    'out/<dataset> is a file': ("open(os.path.dirname(os.path.dirname(target)), 'w').close()\n"
                                "save_npz(target, a=np.zeros(3))", 'ds/model/p.npz', None,
                                r'p\.npz: \S+ds is a file, not a folder'),
}


@pytest.mark.parametrize('case', WRITE_SCRIPTS)
def test_a_failed_write_is_one_line_and_leaves_no_temporary_file(case, tmp_path):
    code, target, file_size_limit, expected = WRITE_SCRIPTS[case]
    target = str(tmp_path / target)

    def limit():
        if file_size_limit:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))
    program = f"import os, sys\nimport numpy as np\nsys.path.insert(0, {ROOT!r})\n" \
              f"from l2d.io import atomic_path, save_npz\ntarget = {target!r}\n{code}\n"
    proc = subprocess.run([sys.executable, '-c', program], capture_output=True, text=True, preexec_fn=limit)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count('\n') == 1 and proc.stderr.startswith(f'error: cannot write {target}: '), proc.stderr
    assert re.search(expected, proc.stderr)
    assert not glob.glob(str(tmp_path / '**' / '.*.tmp*'), recursive=True)


def test_a_failed_rename_is_a_write_error(tmp_path, monkeypatch):
    def no_space(source, destination):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, 'replace', no_space)
    with pytest.raises(WriteError, match=r'cannot write \S+out\.json: No space left on device'):
        with atomic_path(str(tmp_path / 'out.json')) as tmp:
            with open(tmp, 'w') as f:
                f.write('{}')
    assert os.listdir(tmp_path) == []


def test_an_input_that_fails_inside_a_write_keeps_its_own_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic_path(str(tmp_path / 'copy.npz')) as tmp:
            with open(tmp_path / 'missing.npz', 'rb') as f, open(tmp, 'wb') as out:
                out.write(f.read())
    assert os.listdir(tmp_path) == []


def test_a_killed_writers_temporary_file_is_removed_by_the_next_write(tmp_path):
    target = str(tmp_path / 'ckpt.pt')
    killed = subprocess.run([sys.executable, '-c', f"import os, sys\nsys.path.insert(0, {ROOT!r})\n"
                             f"from l2d.io import atomic_path\nwith atomic_path({target!r}) as tmp:\n"
                             f"    open(tmp, 'w').write('half')\n    os.kill(os.getpid(), 9)\n"])
    assert killed.returncode == -9
    (stale,) = glob.glob(str(tmp_path / '.ckpt.*.tmp.pt'))
    running = tmp_path / f'.ckpt.{os.getpid()}.abcdefgh.tmp.pt'  # a writer still at work: kept
    other = tmp_path / '.ckpt.best.1.abcdefgh.tmp.pt'  # another output's: kept
    older = tmp_path / '.ckpt.x1y2z3w4.tmp.pt'  # an older writer that named no process: stale
    for path in (running, other, older):
        path.write_text('')
    with atomic_path(target) as tmp:
        with open(tmp, 'w') as f:
            f.write('whole')
    assert sorted(os.listdir(tmp_path)) == sorted(['ckpt.pt', running.name, other.name])
    assert not os.path.exists(stale)


# ---- whole stages on bad data -----------------------------------------------------------------------------------

def nan_clip(data):
    paths = write_clip(str(data / 'bad' / 'openpose' / 'clip0'))
    poke_nonfinite(paths[3], ['NaN'])
    poke_nonfinite(paths[4], ['1.0', 'Infinity', '-Infinity'])
    return ['--dataset=bad']


def json_list_frame(data):
    paths = write_clip(str(data / 'bad' / 'openpose' / 'clip0'))
    with open(paths[5], 'w') as f:
        json.dump([1, 2], f)
    return ['--dataset=bad']


def two_clips(data):
    for clip in ('clip0', 'clip1'):
        write_clip(str(data / 'bad' / 'openpose' / clip))
    return ['--dataset=bad']


PARSE_CASES = {  # setup(data root) -> arguments, file size limit, exit status, expected output
    'NaN and Infinity coordinates': (nan_clip, None, 0, r'2 joints had NaN or infinite coordinates'),
    'an OpenPose file that is a JSON list': (json_list_frame, None, 0,
                                             r'000000000005_keypoints\.json: not OpenPose keypoints \(a JSON list'),
    'a dataset named by digits': (lambda data: ['--dataset=2024'], None, 1, r'2024/openpose: no clip folders'),
    'a full disk, clips in worker processes': (two_clips, 2000, 1,
                                               r'error: cannot write \S+/poses/clip[01]\.npz: File too large'),
}


@pytest.mark.parametrize('case', PARSE_CASES)
def test_parse_on_bad_data(case, roots):
    data, _ = roots
    setup, file_size_limit, status, expected = PARSE_CASES[case]
    args = setup(data)

    def limit():
        if file_size_limit:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'parse.py'), *args], capture_output=True, text=True,
                          cwd=ROOT, preexec_fn=limit, timeout=120)
    output = proc.stdout + proc.stderr
    assert proc.returncode == status, output
    assert 'Traceback' not in output and re.search(expected, output), output
    assert not glob.glob(str(data / '**' / '.*.tmp*'), recursive=True)
    if status == 0:
        (pose_path,) = glob.glob(str(data / 'bad' / 'poses' / '*.npz'))
        dance = load_poses(pose_path)
        assert np.isfinite(dance['poses']).all() and np.isfinite(dance['confidences']).all()
