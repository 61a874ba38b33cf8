"""Is a generated dancer a plausible body? Bone-length and joint-angle statistics against real poses.

All functions take poses in torso lengths as numpy arrays ``(..., 15, 2)``: ``l2d.norm.normalize``'s MidHip-centred
ones or ``l2d.metrics.in_torso_lengths``' with the root kept (bone lengths and angles do not see where the body is),
and return plain floats, so scripts can print them and store them in JSON.
"""
import itertools

import numpy as np

from .skeleton import ANGLES, bone_lengths, joint_angles


def bone_length_error(generated, real):
    """Mean and worst relative difference of per-bone mean lengths, generated vs real.

    generated: (N, 15, 2), real: (M, 15, 2) -> (mean over the 14 bones, max over bones) of
    ``|mean_len_generated - mean_len_real| / mean_len_real``; 0 is a perfect match, pure noise gives about 1+."""
    gen = bone_lengths(np.asarray(generated).reshape(-1, 15, 2)).mean(0)
    ref = bone_lengths(np.asarray(real).reshape(-1, 15, 2)).mean(0)
    rel = np.abs(gen - ref) / np.maximum(ref, 1e-9)
    return float(rel.mean()), float(rel.max())


def angle_distance(generated, real):
    """Mean over the joint angles of ``l2d.skeleton.ANGLES`` of the 1-D Wasserstein distance (radians) between the
    generated and the real distribution of that angle. generated: (N, 15, 2), real: (M, 15, 2) -> float."""
    from scipy.stats import wasserstein_distance
    gen = joint_angles(np.asarray(generated).reshape(-1, 15, 2))
    ref = joint_angles(np.asarray(real).reshape(-1, 15, 2))
    return float(np.mean([wasserstein_distance(gen[:, k], ref[:, k]) for k in range(len(ANGLES))]))


def body_check(generated, real):
    """The figures that tell a learned body from noise, as a dict of floats:
    ``bone_length_error`` (mean relative error of per-bone mean lengths), ``bone_length_error_worst`` (worst bone),
    ``bone_length_spread`` and ``bone_length_spread_real`` (mean over bones of std / mean of the length: how much
    a bone stretches from pose to pose, generated and real), ``angle_wasserstein_rad`` (mean Wasserstein distance
    of the joint-angle distributions, radians)."""
    mean_err, worst_err = bone_length_error(generated, real)
    gen = bone_lengths(np.asarray(generated).reshape(-1, 15, 2))
    ref = bone_lengths(np.asarray(real).reshape(-1, 15, 2))
    return {'bone_length_error': mean_err, 'bone_length_error_worst': worst_err,
            'bone_length_spread': float(np.mean(gen.std(0) / np.maximum(gen.mean(0), 1e-9))),
            'bone_length_spread_real': float(np.mean(ref.std(0) / np.maximum(ref.mean(0), 1e-9))),
            'angle_wasserstein_rad': angle_distance(generated, real)}


def bone_drift(poses, reference_lengths, segment_frames):
    """How far a long dance's body drifts from a reference size, segment by segment.

    poses: (T, 15, 2); reference_lengths: (14,) mean bone lengths (e.g. of the training poses); segment_frames:
    length of the segments whose mean bone lengths are compared (a few seconds: single 2-D frames foreshorten).
    Returns a dict: ``body`` = worst over segments of the relative change of the summed mean bone lengths (the
    size of the whole stick figure), ``bone`` = worst over segments and bones of the relative change of one bone's
    mean length."""
    lengths = bone_lengths(np.asarray(poses, dtype=np.float64))
    ref = np.asarray(reference_lengths, dtype=np.float64)
    starts = range(0, max(len(lengths) - segment_frames, 0) + 1, segment_frames)
    seg_means = np.stack([lengths[s:s + segment_frames].mean(0) for s in starts])
    body = np.abs(seg_means.sum(1) - ref.sum()) / ref.sum()
    bone = np.abs(seg_means - ref) / np.maximum(ref, 1e-9)
    return {'body': float(body.max()), 'bone': float(bone.max())}


def diversity(samples):
    """Mean distance between dances generated for the same song: the mean over pairs of samples of the mean
    joint distance (pose units) between their frames. samples: list of (T, 15, 2) arrays of equal T -> float."""
    pairs = list(itertools.combinations(range(len(samples)), 2))
    if not pairs:
        raise ValueError("diversity needs at least two samples")
    return float(np.mean([np.linalg.norm(np.asarray(samples[i]) - np.asarray(samples[j]), axis=-1).mean()
                          for i, j in pairs]))

