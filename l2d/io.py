"""Files: dataset folders, atomic writes, pose files, audio and video I/O.

Layout: ``data/<dataset>/`` holds a dataset and each stage's outputs (``audio/``, ``videos/``, ``openpose/``,
``poses/``, ``music/``, ...), ``out/<dataset>/`` holds checkpoints, dances and reports. Both are relative to the
repository root, so scripts work from any directory; the environment variables ``L2D_DATA`` and ``L2D_OUT`` move
them elsewhere (the tests use this to run every stage in a temporary folder).

Every write goes to a temporary file in the target's folder and is renamed into place, so a killed stage never
leaves a half-written output behind.
"""
import contextlib
import glob
import json
import os
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AUDIO_EXTENSIONS = ('.wav', '.mp3', '.ogg', '.flac')
VIDEO_EXTENSIONS = ('.mp4', '.mov', '.avi', '.webm', '.mkv')


class InputError(Exception):
    """Bad input file; the message names the file and what is wrong, in one line."""


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


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; on success rename it to `path`, on error delete it.

    The temporary name keeps the extension so that writers which choose a format by extension still work."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    base, ext = os.path.splitext(os.path.basename(path))
    fd, tmp = tempfile.mkstemp(prefix=f'.{base}.', suffix='.tmp' + ext, dir=folder)
    os.close(fd)
    # mkstemp creates owner-only files; give outputs the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, path)
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


def load_poses(path):
    """Read a pose file -> dict with 'poses' (T, 15, 2) float32, 'confidences' (T, 15), 'fps' float,
    'source' str, 'settings' dict, and any extra entries. InputError naming the file if unreadable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            d = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError) as e:
        raise InputError(f"{path}: not a readable pose file ({e})")
    if 'poses' not in d or d['poses'].ndim != 3 or d['poses'].shape[1:] != (15, 2):
        raise InputError(f"{path}: no (T, 15, 2) 'poses' array")
    d['fps'] = float(d.get('fps', 0.0))
    d['source'] = str(d.get('source', ''))
    d['settings'] = json.loads(str(d['settings'])) if 'settings' in d else {}
    return d


# ---- audio -----------------------------------------------------------------------------------------------------

def load_audio(path, sr=22050, offset_s=0.0, duration_s=None):
    """Read an audio file as mono float32 at sample rate `sr` (None keeps the file's rate).

    Reads wav, flac, ogg and mp3 through libsndfile (no system ffmpeg needed). Returns (samples (N,), sr).
    InputError naming the file when it cannot be decoded."""
    import soundfile
    try:
        with soundfile.SoundFile(path) as f:
            file_sr = f.samplerate
            f.seek(int(round(offset_s * file_sr)))
            frames = -1 if duration_s is None else int(round(duration_s * file_sr))
            samples = f.read(frames, dtype='float32', always_2d=True)
    except Exception as e:  # libsndfile raises several types for undecodable input
        raise InputError(f"{path}: cannot decode audio ({str(e).strip().splitlines()[0] if str(e) else type(e).__name__})")
    samples = samples.mean(axis=1)
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
        return load_json(path)
    poses = sorted(glob.glob(os.path.join(data_dir(dataset, 'poses'), '*.npz')))
    return {'label_kind': None, 'clips': {clip_name(p): {'label': None, 'split': 'train'} for p in poses}}


def split_clips(dataset, split):
    """Sorted clip names of a dataset in `split` ('train', 'test' or 'all')."""
    clips = load_meta(dataset)['clips']
    return sorted(c for c, m in clips.items() if split == 'all' or m.get('split') == split)
