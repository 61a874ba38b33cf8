"""Speed of parse.py, in OpenPose frames per second on one CPU core (target: at least 5,000).

Writes `frames` OpenPose JSON files (BODY_25, schema 1.3, as OpenPose writes them) split over `clips` clips in a
temporary data folder: a dancer moving about, a smaller bystander, now and then an empty frame, a split detection
or a missed joint. Then runs parse.py on them in a fresh process pinned to one core and prints frames per second
of parsing (reading, tracking, filling, writing: parse.py's own summary) and of the whole process with its
start-up, each per second of wall clock and per second of CPU time (on a machine busy with other work, wall clock
understates the speed). The files are freshly written, so they are read from the page cache: a cold disk is slower.

    python benchmarks/parse_speed.py [--frames=5000]
"""
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from l2d.config import configure  # noqa: E402
from l2d.openpose import frame_filename, write_frame  # noqa: E402

frames = 5000
clips = 4
seed = 0
repeats = 3     # parse.py runs; the fastest is reported
keep = False    # keep the generated data folder (its path is printed)
settings = configure(globals())

rng = np.random.default_rng(seed)
data_root = tempfile.mkdtemp(prefix='parse_speed.')
standing = np.array([[0, -150], [0, -120], [-25, -120], [-35, -80], [-40, -40], [25, -120], [35, -80], [40, -40],
                     [0, -20], [-15, -20], [-18, 60], [-20, 140], [15, -20], [18, 60], [20, 140]], np.float32)
start_time = time.perf_counter()
for c in range(clips):
    folder = os.path.join(data_root, 'bench', 'openpose', f'clip{c}')
    n = frames // clips + (c < frames % clips)
    centre = np.cumsum(rng.normal(0, 3, (n, 2)), axis=0) + (640, 360)
    for t in range(n):
        dancer = np.column_stack([standing + centre[t] + rng.normal(0, 2, (15, 2)), rng.uniform(0.5, 1, 15)])
        dancer[rng.random(15) < 0.05] = 0  # missed joints
        bystander = np.column_stack([standing * 0.5 + (200, 300), np.full(15, 0.7)])
        people = [bystander, dancer]
        if rng.random() < 0.05:
            people = []
        elif rng.random() < 0.05:  # OpenPose splitting the dancer in two
            legs = dancer.copy()
            legs[:8] = 0
            dancer[8:] = 0
            people.append(legs)
        write_frame(os.path.join(folder, frame_filename(f'clip{c}', t)), people)
print(f"wrote {frames} JSON frames in {clips} clips to {data_root} in {time.perf_counter() - start_time:.1f} s")

env = dict(os.environ, L2D_DATA=data_root, OMP_NUM_THREADS='1', OPENBLAS_NUM_THREADS='1', MKL_NUM_THREADS='1')
one_core = {sorted(os.sched_getaffinity(0))[0]}
best = None
for _ in range(repeats):
    start_time = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'parse.py'), '--dataset=bench'], env=env, cwd=ROOT,
                          capture_output=True, text=True, preexec_fn=lambda: os.sched_setaffinity(0, one_core))
    process_s = time.perf_counter() - start_time
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        sys.exit(f"parse.py failed on {data_root} (kept):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    summary = re.search(r'\(([\d.]+) frames/s; ([\d.]+) s of CPU time\)', proc.stdout)
    parse_rate, parse_cpu_s = float(summary.group(1)), float(summary.group(2))
    if best is None or parse_cpu_s < best[3]:
        best = (parse_rate, process_s, cpu_s, parse_cpu_s)
if not keep:
    shutil.rmtree(data_root)
print(f"parse.py on one core, best of {repeats} (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs):\n"
      f"  parsing:       {best[0]:.0f} frames/s wall clock, {frames / best[3]:.0f} frames per CPU second\n"
      f"  with start-up: {frames / best[1]:.0f} frames/s wall clock ({best[1]:.2f} s), "
      f"{frames / best[2]:.0f} frames per CPU second ({best[2]:.2f} s)\n"
      f"  (on a machine busy with other work, wall clock understates the speed; CPU time is the fairer figure)")
