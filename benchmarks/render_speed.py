"""Speed of l2d.render.write_animation (what animate.py runs), in × real time and frames/s (target: 10× real time
for 30 fps 640×480 on 2 CPU cores).

Renders `seconds` of a synthetic dancer as an MP4 with music (a chord and a drum), then two dancers side by side,
each `repeats` times, in a process pinned to `cores` CPU cores (ffmpeg inherits the pinning). Prints for each case
the best wall-clock speed and the least CPU time per frame of Python (drawing) and of ffmpeg (colour conversion,
H.264 and AAC encoding, muxing), and from those the speed on idle cores ("2 cores idle": Python on one core, the
rest shared). On a shared machine the wall-clock figure drops when others use the cores; CPU times suffer less.

    python benchmarks/render_speed.py [--seconds=20] [--cores=2]
"""
import os
import resource
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from l2d.config import configure  # noqa: E402
from l2d.io import save_wav  # noqa: E402
from l2d.render import write_animation  # noqa: E402

seconds = 20.0
fps = 30.0
width = 640
height = 480
cores = 2       # pin to this many cores (0 = no pinning)
repeats = 3     # renders per case; the least time of each kind is reported
seed = 0
settings = configure(globals())

if cores and hasattr(os, 'sched_setaffinity'):
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:cores])
rng = np.random.default_rng(seed)
n_frames = int(seconds * fps)
standing = np.array([[0, -150], [0, -120], [-25, -120], [-35, -80], [-40, -40], [25, -120], [35, -80], [40, -40],
                     [0, -20], [-15, -20], [-18, 60], [-20, 140], [15, -20], [18, 60], [20, 140]], np.float32)


def dancer():
    """A dancer swaying, stepping and swinging its limbs at random rates: (n_frames, 15, 2) pixels."""
    t = np.arange(n_frames)[:, None, None] / fps
    rate_hz = rng.uniform(0.3, 2.0, (1, 15, 2))
    phase = rng.uniform(0, 2 * np.pi, (1, 15, 2))
    wobble = 15 * np.sin(2 * np.pi * rate_hz * t + phase)
    sway = 60 * np.sin(2 * np.pi * 0.2 * t) * np.array([1, 0])
    return (standing + wobble + sway + [320, 240]).astype(np.float32)


with tempfile.TemporaryDirectory(prefix='render_speed.') as tmp:
    music = os.path.join(tmp, 'music.wav')
    sr = 44100
    t = np.arange(int((seconds + 1) * sr)) / sr
    # Something like music for the AAC encoder: a chord and a noise drum hit on every beat at 120 bpm.
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220, 277, 330)) / 6
    drum = rng.normal(0, 0.3, len(t)) * np.exp(-20 * (t % 0.5))
    save_wav(music, np.clip(chord + drum, -1, 1), sr)
    cases = {'single + music': dict(poses_list=[dancer()], music_path=music),
             'side by side': dict(poses_list=[dancer(), dancer()], titles=['real', 'generated'])}
    print(f"{n_frames} frames ({seconds:g} s at {fps:g} fps), {width}x{height}, "
          f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} cores")
    for name, kwargs in cases.items():
        walls, python_cpus, ffmpeg_cpus = [], [], []
        for _ in range(repeats):
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            start_cpu, start = time.process_time(), time.perf_counter()
            write_animation(os.path.join(tmp, 'bench.mp4'), fps=fps, size=(width, height), caption='bench',
                            progress=False, **kwargs)
            walls.append(time.perf_counter() - start)
            python_cpus.append(time.process_time() - start_cpu)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            ffmpeg_cpus.append((after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime))
        # The least of each: other processes on the cores only ever add time.
        wall, python_cpu, ffmpeg_cpu = min(walls), min(python_cpus), min(ffmpeg_cpus)
        idle_fps = n_frames / max(python_cpu, (python_cpu + ffmpeg_cpu) / 2)
        print(f"{name:>15}: {seconds / wall:5.1f}x real time, {n_frames / wall:5.0f} frames/s wall | CPU per frame: "
              f"python {1e3 * python_cpu / n_frames:.2f} ms, ffmpeg {1e3 * ffmpeg_cpu / n_frames:.2f} ms | "
              f"2 cores idle: {idle_fps / fps:5.1f}x real time, {idle_fps:4.0f} frames/s", flush=True)
