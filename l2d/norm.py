"""Pose normalisation: centre at MidHip, scale by torso length, so camera distance and position do not make moves."""
import numpy as np

from .skeleton import MIDHIP, NECK


def torso_length(poses):
    """Median Neck-MidHip distance over a clip, in the poses' units. poses: (T, 15, 2) -> float."""
    poses = np.asarray(poses, dtype=np.float64)
    return float(np.median(np.linalg.norm(poses[:, NECK] - poses[:, MIDHIP], axis=-1)))


def normalize(poses):
    """Centre each frame at its MidHip and divide by the clip's torso length.

    poses: (T, 15, 2) -> (normed (T, 15, 2) float32 in torso lengths, root (T, 2) MidHip track, scale float).
    The inverse is ``denormalize(normed, root, scale)``."""
    poses = np.asarray(poses, dtype=np.float32)
    scale = torso_length(poses)
    if not scale > 0:
        raise ValueError("torso length is zero: poses have Neck and MidHip at the same place")
    root = poses[:, MIDHIP].copy()
    return ((poses - root[:, None]) / scale).astype(np.float32), root, scale


def denormalize(normed, root, scale):
    """Inverse of ``normalize``: normed (T, 15, 2), root (T, 2) or (2,), scale -> poses (T, 15, 2)."""
    root = np.asarray(root, dtype=np.float32)
    if root.ndim == 1:
        root = np.broadcast_to(root, (len(normed), 2))
    return (np.asarray(normed, dtype=np.float32) * scale + root[:, None]).astype(np.float32)
