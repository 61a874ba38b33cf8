"""Speed of process_waves' per-clip work (decode + l2d.audio.music_features), in x real time on one thread.

Decodes and analyses each real recording of ../shared/data/music (22 kHz mono .ogg and 44.1 kHz stereo .hq.ogg;
without ../shared, 60 s of synthetic clicks in noise) after one warm-up call that pays librosa's numba
compilation. Prints, per file, audio seconds per wall second and per CPU second: CPU time is what one core
delivers even when other jobs share the machine.

    python benchmarks/music_speed.py --fps=25
"""
import os

for _name in ('OMP_NUM_THREADS', 'NUMBA_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
    os.environ[_name] = '1'  # before numpy/numba load: one core

import glob
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from l2d.audio import music_features  # noqa: E402
from l2d.config import configure  # noqa: E402
from l2d.io import ROOT, load_audio, save_wav  # noqa: E402

fps = 30.0
music_folder = os.path.join(os.path.dirname(ROOT), 'shared', 'data', 'music')
seed = 0
settings = configure(globals())

rng = np.random.default_rng(seed)
warm_up = rng.standard_normal(5 * 22050).astype(np.float32) * 0.1
start = time.perf_counter()
music_features(warm_up, 22050, fps)
print(f"first call (numba compilation or cache load): {time.perf_counter() - start:.1f} s")

paths = sorted(glob.glob(os.path.join(music_folder, '*.ogg')))
if not paths:
    import librosa
    import tempfile
    sr = 22050
    samples = 0.05 * rng.standard_normal(60 * sr) + librosa.clicks(times=np.arange(0.25, 60, 0.5), sr=sr,
                                                                   length=60 * sr)
    paths = [os.path.join(tempfile.mkdtemp(), 'clicks_in_noise.wav')]
    save_wav(paths[0], samples, sr)
    print(f"{music_folder} is absent: timing 60 s of synthetic clicks in noise")

total_audio_s = total_wall_s = total_cpu_s = 0.0
for path in paths:
    wall, cpu = time.perf_counter(), time.process_time()
    samples, sr = load_audio(path, sr=None)
    features = music_features(samples, sr, fps)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    audio_s = len(samples) / sr
    total_audio_s, total_wall_s, total_cpu_s = total_audio_s + audio_s, total_wall_s + wall, total_cpu_s + cpu
    print(f"{os.path.basename(path)[:60]:60s} {sr:6d} Hz {audio_s:6.1f} s  {audio_s / wall:5.0f}x real time (wall)  "
          f"{audio_s / cpu:5.0f}x (CPU)  tempo {features['tempo_bpm']:.1f} BPM")
print(f"all: {total_audio_s:.0f} s of audio at {fps:g} fps, {total_audio_s / total_wall_s:.0f}x real time (wall), "
      f"{total_audio_s / total_cpu_s:.0f}x (CPU, one thread)")
