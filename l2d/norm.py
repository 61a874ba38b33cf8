"""Pose normalisation: centre at MidHip, scale by torso length, so camera distance and position do not make moves."""
import numpy as np

from .skeleton import MIDHIP, NECK, bone_lengths, limit_bones


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


# ---- placing a generated dancer on the floor --------------------------------------------------------------------
# A generated dance is normalised poses (T, 15, 2) plus a root track (T, 2): the MidHip's path in torso lengths,
# 0 at the first frame. `placement` (from the real training dances) says where that lands in pixels and how much
# floor a dancer may use, so that every dancer travels over the same stage the real dancers used.

def root_track(poses):
    """The MidHip's path in torso lengths from its first position: poses (T, 15, 2) -> (T, 2) float32, row 0 zero."""
    normed, root, scale = normalize(poses)
    return ((root - root[0]) / scale).astype(np.float32)


def placement(pose_arrays, floor_quantile=0.5):
    """Where and how big generated dancers are drawn, from real dances' pixel poses (a list of (T, 15, 2)).

    Returns a dict of plain floats/lists (it is stored in checkpoints and JSON): origin (2,) pixels, the median
    MidHip over all frames (the middle of the floor); scale, the median torso length in pixels; floor_tl (2,) the
    `floor_quantile` over dances of the root's range in x and y in torso lengths (the floor one dancer covers; the
    median by default; a dancer folded into it covers less than all of it, see cluster.py); max_bone_tl
    (14,) the longest each bone (l2d.skeleton.BONES) is in any frame, in the frame's dance's torso lengths."""
    arrays = [np.asarray(p, dtype=np.float32) for p in pose_arrays if len(p)]
    if not arrays:
        raise ValueError("placement needs at least one non-empty dance")
    tracks = [root_track(p) for p in arrays]
    return dict(origin=np.median(np.concatenate([p[:, MIDHIP] for p in arrays]), axis=0).astype(float).tolist(),
                scale=float(np.median([torso_length(p) for p in arrays])),
                floor_tl=np.quantile([t.max(0) - t.min(0) for t in tracks], floor_quantile, axis=0).astype(float)
                .tolist(),
                max_bone_tl=np.max([bone_lengths(normalize(p)[0]).max(0) for p in arrays], axis=0).astype(float)
                .tolist())


def keep_on_floor(root_tl, floor_tl):
    """Fold a root track into a floor of floor_tl (2,) torso lengths centred on 0, as a dancer turns back at the
    edge: each coordinate is reflected at +-floor/2 (a zero-size axis is held at 0). (T, 2) -> (T, 2) float32."""
    root_tl = np.asarray(root_tl, dtype=np.float64)
    half = np.asarray(floor_tl, dtype=np.float64) / 2
    out = np.zeros_like(root_tl)
    for axis in range(root_tl.shape[1]):
        if half[axis] > 0:
            period = 4 * half[axis]
            u = np.mod(root_tl[:, axis] + half[axis], period)
            out[:, axis] = np.where(u <= 2 * half[axis], u, period - u) - half[axis]
    return out.astype(np.float32)


def place(normed, root_tl, placement):
    """Pixel poses of a generated dance: normed (T, 15, 2) and root_tl (T, 2) torso lengths (None: standing on the
    spot), kept on the floor of `placement` (see `placement`) and drawn at its origin and scale -> (T, 15, 2).
    No bone is drawn longer than the training dancers' longest (`max_bone_tl`, where the placement has it): a
    decoder between two tokens can stretch a limb (Dance with Melody: 11 % of the token dancer's frames, by up to
    16 %), and no real body does."""
    normed = np.asarray(normed, dtype=np.float32)
    if 'max_bone_tl' in placement:
        normed = limit_bones(normed, np.asarray(placement['max_bone_tl'], np.float32))
    root_tl = np.zeros((len(normed), 2), np.float32) if root_tl is None else keep_on_floor(root_tl,
                                                                                          placement['floor_tl'])
    root = np.asarray(placement['origin'], np.float32) + root_tl * float(placement['scale'])
    return denormalize(normed, root, float(placement['scale']))
