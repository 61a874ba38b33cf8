"""Speed of parse.py against a bare JSON loop over the same OpenPose files, both as whole processes, in one run.

parse.py reads every frame, follows the dancer, fills the gaps and writes the pose files, with its clips spread over
worker processes (one per core). The bare loop is the least any reader does: ``json.load`` of each file and its
``people[0]``, in one process. Both are timed from process start to exit (Python start-up included), alternating,
best of `repeats` each, after one untimed pass that brings the files into the page cache. Target: parse.py at
least 1.5x the bare loop's frames per second.

The files are `openpose_root`'s clip folders (``<root>/<clip>/*_keypoints.json``); by default the demo's
data/demo/openpose (24 clips, 21,600 frames, made by data/demo/prepare.py), else `frames` synthetic BODY_25
frames in `clips` clips (a dancer moving about, a smaller bystander, now and then an empty frame, a split
detection or a missed joint). parse.py writes its pose files into a temporary folder.

    python benchmarks/parse_speed.py [--openpose_root=path|synthetic] [--repeats=3]
"""
import glob
import os
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

openpose_root = ''  # folder of clip folders of OpenPose JSON; '' = data/demo/openpose if made; 'synthetic'
frames = 5000       # synthetic frames (openpose_root='synthetic', or '' without the demo)
clips = 4           # synthetic clips
seed = 0
repeats = 3         # timed runs of each; the fastest is reported
keep = False        # keep the temporary folder (its path is printed)
settings = configure(globals())

BARE_LOOP = '''
import glob, json, os, sys
for path in sorted(glob.glob(os.path.join(glob.escape(sys.argv[1]), '*', '*_keypoints.json'))):
    with open(path) as f:
        people = json.load(f)['people']
    keypoints = people[0]['pose_keypoints_2d'] if people else None
'''


def write_synthetic(folder_root):
    """Write `frames` synthetic OpenPose frames in `clips` clip folders under folder_root."""
    rng = np.random.default_rng(seed)
    standing = np.array([[0, -150], [0, -120], [-25, -120], [-35, -80], [-40, -40], [25, -120], [35, -80],
                         [40, -40], [0, -20], [-15, -20], [-18, 60], [-20, 140], [15, -20], [18, 60], [20, 140]],
                        np.float32)
    for c in range(clips):
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
            write_frame(os.path.join(folder_root, f'clip{c}', frame_filename(f'clip{c}', t)), people)


def timed(command, env):
    """Run a command to its end -> (wall-clock seconds, CPU seconds of it and its children); exits on failure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    wall_s = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(command[:2])} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return wall_s, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


temp_root = tempfile.mkdtemp(prefix='parse_speed.')
demo_openpose = os.path.join(ROOT, 'data', 'demo', 'openpose')
source = openpose_root or (demo_openpose if glob.glob(os.path.join(demo_openpose, '*', '*_keypoints.json')) else '')
if source in ('', 'synthetic'):
    source = os.path.join(temp_root, 'synthetic')
    write_synthetic(source)
source = os.path.abspath(source)
paths = glob.glob(os.path.join(glob.escape(source), '*', '*_keypoints.json'))
if not paths:
    sys.exit(f"error: {source}: no <clip>/*_keypoints.json files")
n_frames, n_clips = len(paths), len({os.path.dirname(p) for p in paths})
os.makedirs(os.path.join(temp_root, 'data', 'bench'))
os.symlink(source, os.path.join(temp_root, 'data', 'bench', 'openpose'))
for path in paths:  # into the page cache, so that neither side pays for the disk
    with open(path, 'rb') as f:
        f.read()

env = dict(os.environ, L2D_DATA=os.path.join(temp_root, 'data'))
runs = {'parse.py': [], 'bare loop': []}
for _ in range(repeats):
    runs['parse.py'].append(timed([sys.executable, os.path.join(ROOT, 'parse.py'), '--dataset=bench'], env))
    runs['bare loop'].append(timed([sys.executable, '-c', BARE_LOOP, source], env))
if keep:
    print(f"kept {temp_root}")
else:
    shutil.rmtree(temp_root)

print(f"{n_frames} OpenPose frames in {n_clips} clips of {source}; whole processes, best of {repeats}, "
      f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} CPU cores, "
      f"load average {os.getloadavg()[0]:.1f}:")
best = {}
for name, times in runs.items():
    wall_s, cpu_s = min(times)
    best[name] = wall_s
    print(f"  {name:10s} {n_frames / wall_s:8.0f} frames/s ({wall_s:.2f} s wall clock, {cpu_s:.2f} s CPU)")
print(f"  parse.py / bare loop: {best['bare loop'] / best['parse.py']:.2f}x (target: at least 1.5x)")
