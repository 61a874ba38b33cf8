"""OpenPose JSON I/O: one ``<video>_<12-digit frame>_keypoints.json`` per frame.

Schema 1.2/1.3: ``{"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": [x, y, c, ...], ...}]}``,
pixel coordinates with y down; an undetected joint is ``0, 0, 0``. BODY_25 gives 75 numbers, COCO-18 gives 54.
"""
import json
import os
import re

import numpy as np
import orjson

from .io import InputError, atomic_path
from .skeleton import COCO18_HIPS, COCO18_INDEX, NUM_JOINTS

_FRAME_RE = re.compile(r'_(\d+)_keypoints\.json$')


def frame_number(path):
    """Frame number in an OpenPose file name ``<video>_<frame>_keypoints.json``, or None if it has none."""
    m = _FRAME_RE.search(path)
    return int(m.group(1)) if m else None


def frame_paths(folder):
    """Sorted paths of the ``*_keypoints.json`` files of one clip, by frame number (files without one first, by
    name). InputError naming the folder when it has none."""
    try:
        names = [n for n in os.listdir(folder) if n.endswith('_keypoints.json') and not n.startswith('.')]
    except OSError:
        names = []
    if not names:
        raise InputError(f"{folder}: no *_keypoints.json files")
    numbered = sorted((-1 if number is None else number, name)
                      for name, number in zip(names, map(frame_number, names)))
    return [os.path.join(folder, name) for _, name in numbered]


def _to_body15(kp):
    """(P, 75) BODY_25 or (P, 54) COCO-18 flat keypoints of P people -> (P, 15, 3) (COCO-18's MidHip is the mean
    of the hips when both are seen); ValueError for other lengths."""
    if kp.ndim != 2:
        raise ValueError("pose_keypoints_2d is not a flat list of numbers")
    if kp.shape[1] == 75:
        return kp.reshape(-1, 25, 3)[:, :NUM_JOINTS]
    if kp.shape[1] == 54:
        coco = kp.reshape(-1, 18, 3)
        out = np.zeros((len(kp), NUM_JOINTS, 3), np.float32)
        for j, c in enumerate(COCO18_INDEX):
            if c >= 0:
                out[:, j] = coco[:, c]
        r, l = coco[:, COCO18_HIPS[0]], coco[:, COCO18_HIPS[1]]
        both = (r[:, 2] > 0) & (l[:, 2] > 0)
        out[both, 8, :2] = (r[both, :2] + l[both, :2]) / 2
        out[both, 8, 2] = np.minimum(r[both, 2], l[both, 2])
        return out
    raise ValueError(f"pose_keypoints_2d has {kp.shape[1]} numbers (expected 75 for BODY_25 or 54 for COCO-18)")


def _read_bytes(path):
    """A file's bytes. os.read on a descriptor costs half of open().read() per small file (parse.py's speed)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, 1 << 16)
        if len(data) < 1 << 16:
            return data
        chunks = [data]
        while chunks[-1]:
            chunks.append(os.read(fd, 1 << 16))
        return b''.join(chunks)
    finally:
        os.close(fd)


def read_people(path):
    """People in one OpenPose JSON file -> (list of (15, 3) float32 arrays (x, y, confidence), number of joints
    whose x, y or confidence was NaN or infinite). Such joints are returned as undetected (0, 0, 0).
    [] for an empty frame. InputError naming the file when it is unreadable, truncated or not OpenPose output."""
    try:
        data = _read_bytes(path)
    except OSError as e:
        raise InputError(f"{path}: unreadable ({os.strerror(e.errno) if e.errno else e})")
    # orjson is several times faster than the json module, and refuses the NaN and Infinity literals that some
    # OpenPose builds write: only what the json module then reads can hold non-finite numbers.
    try:
        doc, may_be_nonfinite = orjson.loads(data), False
    except orjson.JSONDecodeError:
        try:
            doc, may_be_nonfinite = json.loads(data), True
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise InputError(f"{path}: unreadable JSON ({e})")
    if not isinstance(doc, dict) or not isinstance(doc.get('people'), list):
        what = f"a JSON {type(doc).__name__}" if not isinstance(doc, dict) else 'an object without a "people" list'
        raise InputError(f"{path}: not OpenPose keypoints ({what}; expected {{\"people\": [...]}})")
    try:
        flat = [p['pose_keypoints_2d'] for p in doc['people'] if len(p.get('pose_keypoints_2d', [])) > 0]
        if not flat:
            return [], 0
        kp = _to_body15(np.array(flat, dtype=np.float32))
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        raise InputError(f"{path}: not OpenPose keypoints ({type(e).__name__}: {e})")
    n_nonfinite = 0
    if may_be_nonfinite:
        bad = ~np.isfinite(kp).all(axis=-1)
        n_nonfinite = int(bad.sum())
        kp[bad] = 0
    return list(kp), n_nonfinite


def read_frame(path):
    """People in one OpenPose JSON file -> list of (15, 3) float32 arrays (x, y, confidence); [] for an empty frame.
    Joints with a NaN or infinite number count as undetected (0, 0, 0). InputError naming the file when it is
    unreadable, truncated or not OpenPose output."""
    return read_people(path)[0]


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
