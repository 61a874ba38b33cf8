"""OpenPose JSON I/O: one ``<video>_<12-digit frame>_keypoints.json`` per frame.

Schema 1.2/1.3: ``{"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": [x, y, c, ...], ...}]}``,
pixel coordinates with y down; an undetected joint is ``0, 0, 0``. BODY_25 gives 75 numbers, COCO-18 gives 54.
"""
import glob
import json
import os
import re

import numpy as np

from .io import InputError, atomic_path
from .skeleton import COCO18_HIPS, COCO18_INDEX, NUM_JOINTS

_FRAME_RE = re.compile(r'_(\d+)_keypoints\.json$')


def frame_number(path):
    """Frame number in an OpenPose file name ``<video>_<frame>_keypoints.json``, or None if it has none."""
    m = _FRAME_RE.search(path)
    return int(m.group(1)) if m else None


def frame_paths(folder):
    """Sorted paths of the ``*_keypoints.json`` files of one clip, by frame number.
    InputError naming the folder when it has none."""
    paths = glob.glob(os.path.join(glob.escape(folder), '*_keypoints.json'))
    if not paths:
        raise InputError(f"{folder}: no *_keypoints.json files")
    return sorted(paths, key=lambda p: (frame_number(p) if frame_number(p) is not None else -1, p))


def keypoints_to_body15(flat):
    """One person's flat ``pose_keypoints_2d`` list -> (15, 3) array of (x, y, confidence).

    75 numbers are BODY_25 (first 15 joints kept); 54 are COCO-18 (MidHip = mean of the hips when both are seen).
    Raises ValueError for any other length."""
    kp = np.asarray(flat, dtype=np.float32)
    if kp.size == 75:
        return kp.reshape(25, 3)[:NUM_JOINTS].copy()
    if kp.size == 54:
        coco = kp.reshape(18, 3)
        out = np.zeros((NUM_JOINTS, 3), np.float32)
        for j, c in enumerate(COCO18_INDEX):
            if c >= 0:
                out[j] = coco[c]
        r, l = coco[COCO18_HIPS[0]], coco[COCO18_HIPS[1]]
        if r[2] > 0 and l[2] > 0:
            out[8] = [(r[0] + l[0]) / 2, (r[1] + l[1]) / 2, min(r[2], l[2])]
        return out
    raise ValueError(f"pose_keypoints_2d has {kp.size} numbers (expected 75 for BODY_25 or 54 for COCO-18)")


def read_frame(path):
    """People in one OpenPose JSON file -> list of (15, 3) arrays (x, y, confidence); [] for an empty frame.
    InputError naming the file when it is unreadable, truncated or not OpenPose output."""
    try:
        # Bytes straight to the JSON decoder: text-mode decoding first made reading 15% slower (parse.py's speed).
        with open(path, 'rb') as f:
            doc = json.loads(f.read())
        people = doc['people']
        return [keypoints_to_body15(p['pose_keypoints_2d']) for p in people
                if len(p.get('pose_keypoints_2d', [])) > 0]
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: unreadable JSON ({e})")
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"{path}: not OpenPose keypoints ({type(e).__name__}: {e})")


def body15_to_body25(kp15):
    """(15, 3) -> (25, 3) with the 10 foot joints undetected (0, 0, 0)."""
    out = np.zeros((25, 3), np.float32)
    out[:NUM_JOINTS] = kp15
    return out


def frame_filename(video, frame):
    """OpenPose's file name for frame `frame` of video `video`."""
    return f"{video}_{frame:012d}_keypoints.json"


def write_frame(path, people):
    """Write one OpenPose schema-1.3 JSON file atomically. people: list of (25, 3) or (15, 3) arrays."""
    doc = {'version': 1.3, 'people': []}
    for kp in people:
        kp = np.asarray(kp, dtype=np.float64)
        if kp.shape == (NUM_JOINTS, 3):
            kp = body15_to_body25(kp)
        doc['people'].append({
            'person_id': [-1],
            'pose_keypoints_2d': [round(float(v), 3) for v in kp.reshape(-1)],
            'face_keypoints_2d': [], 'hand_left_keypoints_2d': [], 'hand_right_keypoints_2d': [],
            'pose_keypoints_3d': [], 'face_keypoints_3d': [], 'hand_left_keypoints_3d': [],
            'hand_right_keypoints_3d': []})
    with atomic_path(path) as tmp:
        with open(tmp, 'w') as f:
            # json.dumps encodes in C; json.dump streams through Python and is 3x slower per frame.
            f.write(json.dumps(doc, separators=(',', ':')))
