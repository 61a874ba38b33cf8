"""What a new song costs before the dancer runs: decoding each audio format, and l2d.audio.music_features, on one
thread, as the minimum over `repeats` runs (the least disturbed by other jobs on a shared machine).

The song (default: 60 s of synthetic clicks in noise, so that a fresh clone can run it) is written in each format
the dancers accept -- wav, flac, ogg (Vorbis) and mp3, mono at its own rate and stereo at 44.1 kHz -- then each
file is decoded with l2d.io.load_audio and analysed with music_features. Prints milliseconds per minute of audio
and times real time; the first music_features call (imports, FFT plans) is timed apart.

    python benchmarks/feature_speed.py --song=data/dance_with_melody/audio/DANCE_C_2.wav --fps=25
"""
import os

for _name in ('OMP_NUM_THREADS', 'NUMBA_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
    os.environ[_name] = '1'  # before numpy/numba load: one core

import sys
import tempfile
import time
import warnings

import numpy as np
import soundfile
import soxr

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from l2d.audio import music_features  # noqa: E402
from l2d.config import configure  # noqa: E402
from l2d.io import load_audio  # noqa: E402

song = ''  # an audio file; empty: 60 s of synthetic clicks in noise
fps = 25.0
repeats = 7
seed = 0
settings = configure(globals())


def fastest_s(function):
    """Minimum wall time of `repeats` calls of function(), in seconds, and its last result."""
    best_s = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best_s = min(best_s, time.perf_counter() - start)
    return best_s, result


if song:
    samples, sr = load_audio(song, sr=None)
else:
    sr = 22050
    rng = np.random.default_rng(seed)
    samples = 0.05 * rng.standard_normal(60 * sr).astype(np.float32)
    click_s = np.arange(int(0.1 * sr)) / sr
    click = (np.sin(2 * np.pi * 1000 * click_s) * np.exp(-click_s / 0.02)).astype(np.float32)  # 1 kHz, decaying
    for beat_s in np.arange(0.25, 59.8, 0.5):
        samples[int(beat_s * sr): int(beat_s * sr) + len(click)] += click
samples = samples / max(1.0, float(np.abs(samples).max()))
audio_min = len(samples) / sr / 60
stereo_44k = soxr.resample(np.repeat(samples[:, None], 2, axis=1), sr, 44100).astype(np.float32)

folder = tempfile.mkdtemp()
files = []
for label, audio, rate in ((f'mono {sr} Hz', samples, sr), ('stereo 44100 Hz', stereo_44k, 44100)):
    for extension, fmt, subtype in (('wav', 'WAV', 'PCM_16'), ('flac', 'FLAC', 'PCM_16'), ('ogg', 'OGG', 'VORBIS'),
                                    ('mp3', 'MP3', 'MPEG_LAYER_III')):
        path = os.path.join(folder, f"{label.split()[0]}_{rate}.{extension}")
        with soundfile.SoundFile(path, 'w', rate, audio.shape[1] if audio.ndim == 2 else 1, subtype, format=fmt) as f:
            for start in range(0, len(audio), rate):  # a second at a time: libsndfile's Vorbis encoder crashes on
                f.write(audio[start:start + rate])    # long writes
        files.append((f"{extension:4s} {label}", path))

with warnings.catch_warnings():
    warnings.simplefilter('ignore')
    start = time.perf_counter()
    music_features(samples[: 5 * sr], sr, fps)
    print(f"first music_features call in this process (imports, FFT plans): {time.perf_counter() - start:.2f} s")
    print(f"{audio_min * 60:.1f} s of audio at {fps:g} fps, min of {repeats} runs, one thread")
    for label, path in files:
        decode_s, (decoded, decoded_sr) = fastest_s(lambda: load_audio(path, sr=None))
        features_s, _ = fastest_s(lambda: music_features(decoded, decoded_sr, fps))
        total_s = decode_s + features_s
        print(f"{label:22s} decode {decode_s / audio_min * 1000:5.0f} ms/min  features "
              f"{features_s / audio_min * 1000:5.0f} ms/min  together {total_s / audio_min * 1000:5.0f} ms/min "
              f"= {audio_min * 60 / total_s:4.0f}x real time")
