"""Accuracy and speed of the pip pose extractor (extract_poses.py, MediaPipe) on real video (target: PCK >= 95%).

Runs extract_poses.py in a fresh process on three real inputs from ../shared/data and prints, per joint and overall,
the percentage of correct keypoints (PCK: within `threshold` x the reference's Neck-MidHip length in that frame):
- openpose_json/footskate_dance.mp4 (1280x720, 69 frames) against OpenPose's own BODY_25 JSON of each frame;
- person_media/pose_squats.mp4 (720x1280, 65 frames) against BlazePose's reference output (pose_squats.full.json);
- person_media/pose.jpg: how many people it finds (one man is in it).
Speed is extract_poses.py's own frames/s (decoding, the model, writing JSON) and that of the whole process including
its start-up, on however many cores this machine gives it.

    python benchmarks/extract_accuracy.py [--threshold=0.1]
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from l2d.config import configure  # noqa: E402
from l2d.extract import blazepose_to_body25, pck, read_single_person  # noqa: E402
from l2d.skeleton import JOINT_NAMES  # noqa: E402

shared = os.path.join(os.path.dirname(ROOT), 'shared', 'data')
threshold = 0.2     # PCK tolerance in torso lengths (the target is stated at 0.2)
target = 0.95       # overall PCK on footskate_dance against OpenPose
keep = False        # keep the extracted JSON (its folder is printed)
settings = configure(globals())

if not os.path.isdir(shared):
    sys.exit(f"error: {shared} is absent: this benchmark needs the project's shared real data")
work = tempfile.mkdtemp(prefix='extract_accuracy.')


def extract(media):
    """Run extract_poses.py on one file -> (its JSON folder, frames/s it reports, whole-process frames/s)."""
    folder = os.path.join(work, os.path.splitext(os.path.basename(media))[0])
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'extract_poses.py'), f'--video={media}',
                           f'--json_dir={folder}'], capture_output=True, text=True, cwd=ROOT)
    elapsed_s = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"error: extract_poses.py failed on {media}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    n_frames, rate = re.search(r': (\d+) frames, a person in \d+, ([\d.]+) frames/s', proc.stdout).groups()
    return folder, float(rate), int(n_frames) / elapsed_s


footskate, footskate_fps, footskate_process_fps = extract(os.path.join(shared, 'openpose_json', 'footskate_dance.mp4'))
squats, squats_fps, squats_process_fps = extract(os.path.join(shared, 'person_media', 'pose_squats.mp4'))
image, _, _ = extract(os.path.join(shared, 'person_media', 'pose.jpg'))

openpose = read_single_person(os.path.join(shared, 'openpose_json', 'footskate_dance'))
with open(os.path.join(shared, 'person_media', 'pose_squats.full.json')) as f:
    blazepose = np.stack([blazepose_to_body25(np.c_[np.array(frame)[:, :2], np.ones(33)])[:15]
                          for frame in json.load(f)])
results = {'footskate vs OpenPose': pck(read_single_person(footskate), openpose, threshold),
           'squats vs BlazePose': pck(read_single_person(squats), blazepose, threshold)}

print(f"\nPCK@{threshold:g} (% of the reference's joints within {threshold:g} x torso length)")
print(f"{'joint':<11}" + ''.join(f"{name:>24}" for name in results))
for j, joint in enumerate(JOINT_NAMES):
    print(f"{joint:<11}" + ''.join(f"{100 * correct[j]:23.1f}%" for correct, _ in results.values()))
overall = {name: float((correct * counted).sum() / counted.sum()) for name, (correct, counted) in results.items()}
print(f"{'overall':<11}" + ''.join(f"{100 * v:23.1f}%" for v in overall.values()))
print(f"{'joints':<11}" + ''.join(f"{int(counted.sum()):>24}" for _, counted in results.values()))

with open(os.path.join(image, 'pose_000000000000_keypoints.json')) as f:
    people = len(json.load(f)['people'])
print(f"\npose.jpg: {people} person(s) found (1 expected)")
print(f"speed: footskate 1280x720 {footskate_fps:.1f} frames/s ({footskate_process_fps:.1f} with start-up), "
      f"squats 720x1280 {squats_fps:.1f} frames/s ({squats_process_fps:.1f} with start-up), {os.cpu_count()} cores")
verdict = 'met' if overall['footskate vs OpenPose'] >= target else 'NOT met'
print(f"target PCK@{threshold:g} >= {100 * target:.0f}% on footskate vs OpenPose: {verdict} "
      f"({100 * overall['footskate vs OpenPose']:.1f}%)")

if keep:
    print(f"extracted JSON kept in {work}")
else:
    shutil.rmtree(work)
