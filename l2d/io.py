"""Files: dataset folders, atomic writes, pose files, audio and video I/O.

Layout: ``data/<dataset>/`` holds a dataset and each stage's outputs (``audio/``, ``videos/``, ``openpose/``,
``poses/``, ``music/``, ...), ``out/<dataset>/`` holds checkpoints, dances and reports. Both are relative to the
repository root, so scripts work from any directory; the environment variables ``L2D_DATA`` and ``L2D_OUT`` move
them elsewhere (the tests use this to run every stage in a temporary folder).

Every write goes to a temporary file in the target's folder and is renamed into place, so a killed stage never
leaves a half-written output behind; the next write of the same output removes a killed writer's temporary file. A
write that fails (disk full, file size limit, read-only folder) ends the run with one line naming the output and
the reason (``WriteError``, a ``SystemExit``, so no script needs to catch it).
"""
import contextlib
import errno
import glob
import json
import os
import re
import tempfile
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AUDIO_EXTENSIONS = ('.wav', '.mp3', '.ogg', '.flac')
VIDEO_EXTENSIONS = ('.mp4', '.mov', '.avi', '.webm', '.mkv')


class InputError(Exception):
    """Bad input file; the message names the file and what is wrong, in one line."""


class WriteError(SystemExit):
    """An output could not be written: exits with one line naming the file and the reason (like ConfigError, a
    SystemExit so that the failure ends any script without a traceback)."""

    def __init__(self, path, reason):
        self.path, self.reason = path, reason
        super().__init__(f"error: cannot write {path}: {reason}")

    def __reduce__(self):  # rebuilt from (path, reason) when it crosses from a worker process
        return WriteError, (self.path, self.reason)


def data_dir(dataset, *parts):
    """Path of ``data/<dataset>/<parts...>`` (under $L2D_DATA if set, else the repository's data/)."""
    return os.path.join(os.environ.get('L2D_DATA') or os.path.join(ROOT, 'data'), dataset, *parts)


def out_dir(dataset, *parts):
    """Path of ``out/<dataset>/<parts...>`` (under $L2D_OUT if set, else the repository's out/)."""
    return os.path.join(os.environ.get('L2D_OUT') or os.path.join(ROOT, 'out'), dataset, *parts)


def clip_name(path):
    """Clip name of a file or folder: its base name without extension(s) like '.npz'."""
    return os.path.splitext(os.path.basename(os.path.normpath(path)))[0]


def find_media(folder, clip, extensions):
    """The first file ``folder/clip.<ext>`` for ext in `extensions`, or None."""
    for ext in extensions:
        path = os.path.join(folder, clip + ext)
        if os.path.isfile(path):
            return path
    return None


def _pid_alive(pid):
    """Whether a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # somebody else's process
        return True
    return True


def remove_stale_temporaries(path):
    """Delete the temporary files that killed writers of `path` left beside it: ``.<base>.<pid>.<random>.tmp<ext>``
    of a process that no longer runs, and ``.<base>.<random>.tmp<ext>`` of older writers that named no process."""
    folder = os.path.dirname(os.path.abspath(path))
    base, ext = os.path.splitext(os.path.basename(path))
    own = re.compile(rf'\.{re.escape(base)}\.(?:(\d+)\.)?[a-z0-9_]{{8}}\.tmp{re.escape(ext)}')
    for tmp in glob.glob(os.path.join(glob.escape(folder), glob.escape(f'.{base}.') + '*' + glob.escape('.tmp' + ext))):
        match = own.fullmatch(os.path.basename(tmp))
        if match and not (match.group(1) and _pid_alive(int(match.group(1)))):
            with contextlib.suppress(OSError):
                os.remove(tmp)


def _write_failure_reason(error, tmp, folder):
    """The OS's reason for a failed write, in words. torch.save reports only a C++ position mismatch, so when an
    error carries no errno the file size limit and the free space are checked."""
    if isinstance(error, OSError) and error.errno:
        if error.errno in (errno.ENOTDIR, errno.EEXIST):  # a file where a folder on the way should be
            blocker = folder
            while os.path.dirname(blocker) != blocker:
                if os.path.isfile(blocker):
                    return f"{blocker} is a file, not a folder"
                blocker = os.path.dirname(blocker)
        return os.strerror(error.errno)
    import resource
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    with contextlib.suppress(OSError):
        if limit != resource.RLIM_INFINITY and os.path.getsize(tmp) >= limit:
            return f"{os.strerror(errno.EFBIG)} (over the file size limit of {limit} bytes, see ulimit -f)"
    with contextlib.suppress(OSError):
        disk = os.statvfs(folder)
        if disk.f_bavail * disk.f_frsize < 1 << 20:
            return os.strerror(errno.ENOSPC)
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _is_write_failure(error, tmp):
    """Whether an error raised inside atomic_path's block failed writing `tmp` (rather than, say, reading an
    input, which must keep its own message)."""
    if isinstance(error, OSError):  # an input's error names the input; a failed write names tmp, or nothing
        return error.filename in (None, tmp)
    return isinstance(error, RuntimeError) and ('write' in str(error).lower() or 'enforce fail' in str(error))


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; on success rename it to `path`, on error delete it.

    The temporary name keeps the extension so that writers which choose a format by extension still work, and
    holds the process id so that a later write can tell a killed writer's file (removed) from a running one's.
    A write or rename that fails with an OSError, or torch.save's RuntimeError, raises WriteError naming `path`."""
    folder = os.path.dirname(os.path.abspath(path))
    base, ext = os.path.splitext(os.path.basename(path))
    try:
        os.makedirs(folder, exist_ok=True)
        remove_stale_temporaries(path)
        fd, tmp = tempfile.mkstemp(prefix=f'.{base}.{os.getpid()}.', suffix='.tmp' + ext, dir=folder)
    except OSError as e:
        raise WriteError(path, _write_failure_reason(e, path, folder)) from None
    os.close(fd)
    # mkstemp creates owner-only files; give outputs the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        try:
            os.replace(tmp, path)
        except OSError as e:
            raise WriteError(path, _write_failure_reason(e, tmp, folder)) from None
    except (OSError, RuntimeError) as e:
        reason = _write_failure_reason(e, tmp, folder) if _is_write_failure(e, tmp) else None
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        if reason is None:
            raise
        raise WriteError(path, reason) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def save_npz(path, **arrays):
    """Write arrays to an .npz file atomically (uncompressed: poses are small and load faster so)."""
    with atomic_path(path) as tmp:
        with open(tmp, 'wb') as f:
            np.savez(f, **arrays)


def save_json(path, obj):
    """Write `obj` as indented JSON atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, 'w') as f:
            json.dump(obj, f, indent=1)
            f.write('\n')


def load_json(path):
    """Read a JSON file; InputError naming the file when it is missing or malformed."""
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found")
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not valid JSON ({e})")


# ---- pose files: poses/<clip>.npz -------------------------------------------------------------------------------

def save_poses(path, poses, confidences, fps, source, settings=None, **extra):
    """Write a pose file in the project's schema.

    poses: (T, 15, 2) float, image coordinates (pixels, y down); confidences: (T, 15) in 0..1 (0 = filled in);
    fps: frames per second; source: where the poses came from (a path or description); settings: the dict of
    settings that made the file (stored as JSON); extra: further arrays or scalars to store.
    """
    poses = np.asarray(poses, dtype=np.float32)
    if poses.ndim != 3 or poses.shape[1:] != (15, 2):
        raise ValueError(f"poses must be (T, 15, 2), got {poses.shape}")
    save_npz(path, poses=poses, confidences=np.asarray(confidences, dtype=np.float32),
             fps=np.float32(fps), source=str(source), settings=json.dumps(settings or {}), **extra)


def _looks_like(magic):
    """What a file's first bytes suggest it is, for error messages: 'a text file', 'an empty file', ..."""
    if not magic:
        return "an empty file"
    if magic.startswith(b'\x93NUM'):
        return "a single .npy array"
    try:
        magic.decode('utf-8')
    except UnicodeDecodeError:
        return "an unknown binary file"
    return "a text file"


def load_poses(path):
    """Read a pose file -> dict with 'poses' (T, 15, 2) float32, 'confidences' (T, 15), 'fps' float,
    'source' str, 'settings' dict, and any extra entries. InputError naming the file if unreadable."""
    if not os.path.isfile(path):
        raise InputError(f"{path}: {'is a folder, not a pose file' if os.path.isdir(path) else 'file not found'}")
    try:
        with open(path, 'rb') as f:
            magic = f.read(4)
    except OSError as e:
        raise InputError(f"{path}: unreadable ({os.strerror(e.errno) if e.errno else e})")
    if magic != b'PK\x03\x04':  # np.load would take anything else for pickled data and say so
        raise InputError(f"{path}: not a readable pose file ({_looks_like(magic)}, not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as z:
            d = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(f"{path}: not a readable pose file (damaged .npz: {reason})")
    if 'poses' not in d or d['poses'].ndim != 3 or d['poses'].shape[1:] != (15, 2):
        raise InputError(f"{path}: no (T, 15, 2) 'poses' array")
    d['fps'] = float(d.get('fps', 0.0))
    d['source'] = str(d.get('source', ''))
    d['settings'] = json.loads(str(d['settings'])) if 'settings' in d else {}
    return d


# ---- audio -----------------------------------------------------------------------------------------------------

def _audio_problem(path):
    """Why `path` cannot be an audio file before decoding it (missing, a folder, empty), or None."""
    if not os.path.exists(path):
        return "file not found"
    if os.path.isdir(path):
        return "is a folder, not an audio file"
    if not os.access(path, os.R_OK):
        return "not readable (permission denied)"
    if os.path.getsize(path) == 0:
        return "empty file, not audio"
    return None


@contextlib.contextmanager
def _quiet_stderr():
    """Send the C libraries' writes to stderr to /dev/null: libmpg123 prints resync notes for a damaged mp3 that the
    InputError then explains in one line."""
    import sys
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, 'w') as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def load_audio(path, sr=22050, offset_s=0.0, duration_s=None):
    """Read an audio file as mono float32 at sample rate `sr` (None keeps the file's rate).

    Reads wav, flac, ogg and mp3 through libsndfile (no system ffmpeg needed). Returns (samples (N,), sr).
    InputError naming the file and what is wrong: not found, a folder, or cannot be decoded (damaged or not
    audio)."""
    import soundfile
    problem = _audio_problem(path)
    if problem:
        raise InputError(f"{path}: {problem}")
    try:
        with _quiet_stderr(), soundfile.SoundFile(path) as f:
            file_sr = f.samplerate
            f.seek(int(round(offset_s * file_sr)))
            frames = -1 if duration_s is None else int(round(duration_s * file_sr))
            samples = f.read(frames, dtype='float32', always_2d=True)
    except Exception:  # libsndfile raises several types, with misleading texts ("System error.") for bad data
        raise InputError(f"{path}: cannot decode audio (damaged, or not an audio file)") from None
    # A sum of channel columns: numpy's mean over a short last axis costs ten times as much (140 ms for 75 s of
    # 44.1 kHz stereo), for the same numbers.
    channels = samples.shape[1]
    samples = samples[:, 0] if channels == 1 else sum(samples[:, c] for c in range(channels)) / np.float32(channels)
    if sr is not None and sr != file_sr:
        import soxr
        samples = soxr.resample(samples, file_sr, sr).astype(np.float32)
    else:
        sr = file_sr
    return samples, sr


def save_wav(path, samples, sr):
    """Write mono or (N, channels) float audio as 16-bit WAV, atomically."""
    import soundfile
    with atomic_path(path) as tmp:
        soundfile.write(tmp, np.asarray(samples), int(sr), subtype='PCM_16', format='WAV')


# ---- video -----------------------------------------------------------------------------------------------------

def ffmpeg_exe():
    """Path of the ffmpeg binary shipped by imageio-ffmpeg (no system ffmpeg needed)."""
    import imageio_ffmpeg
    return imageio_ffmpeg.get_ffmpeg_exe()


def video_info(path):
    """(fps, (width, height), n_frames estimate, has_audio) of a video; InputError naming the file if unreadable."""
    import subprocess
    try:
        probe = subprocess.run([ffmpeg_exe(), '-hide_banner', '-i', path], capture_output=True, text=True).stderr
    except OSError as e:
        raise InputError(f"{path}: cannot run ffmpeg ({e})")
    import imageio_ffmpeg
    try:
        reader = imageio_ffmpeg.read_frames(path)
        meta = next(reader)
        reader.close()
    except Exception as e:
        raise InputError(f"{path}: not a readable video ({str(e).splitlines()[0] if str(e) else type(e).__name__})")
    fps = float(meta['fps'])
    # ffmpeg prints NTSC rates rounded (23.98 for 24000/1001); snap them back so long videos do not drift.
    ntsc = round(fps * 1.001) / 1.001
    if abs(fps - ntsc) < 0.006:
        fps = ntsc
    n_frames = int(round(meta.get('duration', 0.0) * fps))
    return fps, tuple(meta['size']), n_frames, 'Audio:' in probe


# ---- dataset metadata: data/<dataset>/meta.json ---------------------------------------------------------------

def load_meta(dataset):
    """A dataset's ``meta.json``: ``{"label_kind": "style", "fps": 30, "clips": {clip: {"label": str,
    "split": "train" | "test"}}}``, written by the dataset's prepare.py. Without one, every clip with a pose file
    is a training clip with no label."""
    path = data_dir(dataset, 'meta.json')
    if os.path.isfile(path):
        meta = load_json(path)
        if not isinstance(meta, dict):
            raise InputError(f"{path}: a JSON {type(meta).__name__}, expected an object with a \"clips\" object")
        if not isinstance(meta.get('clips'), dict):
            raise InputError(f"{path}: no \"clips\" object (clip name -> label and split)")
        return meta
    poses = sorted(glob.glob(os.path.join(data_dir(dataset, 'poses'), '*.npz')))
    return {'label_kind': None, 'clips': {clip_name(p): {'label': None, 'split': 'train'} for p in poses}}


def split_clips(dataset, split):
    """Sorted clip names of a dataset in `split` ('train', 'test' or 'all')."""
    clips = load_meta(dataset)['clips']
    return sorted(c for c, m in clips.items() if split == 'all' or m.get('split') == split)
