"""Sanity controls: real dances altered in known ways, so that each metric can be seen to move the right way.

Every control takes a real dance's pixel poses (T, 15, 2) (y down) and returns pixel poses, to be scored exactly as
a generated dancer is (l2d.metrics.in_torso_lengths divides by the result's own torso length). What each should do
to a metric that measures dancing:
  split_half      the first half of each test dance against the second halves: the floor of FID (no worse than real)
  jittered        2 px of Gaussian noise per joint and frame, as a detector trembles: must NOT look like better or
                  worse dancing (FID_k near its floor) while jerk rises a lot
  slowed          played at half speed (the first half of the dance, stretched): worse FID_k, lower BAS
  amplitude       every joint's motion around its mean position halved (root travel too): worse FID_k and Div_k
  frozen          one pose held for the whole dance: the worst FID_k and Div_k, no beats, no travel
  reversed        played backwards: kinetic energies unchanged, so FID_k close to real
  mirrored        left and right swapped (l2d.skeleton.mirror about the dance's mean MidHip x): close to real
  paired_clips    each dance scored against ANOTHER test song's beats (the one of the nearest tempo): lower BAS
"""
import numpy as np

from .skeleton import MIDHIP, mirror

JITTER_PX = 2.0
SLOW_FACTOR = 2.0
AMPLITUDE_FACTOR = 0.5


def split_half(poses):
    """(first half (T // 2, 15, 2), second half (T - T // 2, 15, 2)) of a dance, in time."""
    poses = np.asarray(poses)
    return poses[:len(poses) // 2], poses[len(poses) // 2:]


def jittered(poses, sigma_px=JITTER_PX, seed=0):
    """poses (T, 15, 2) pixels plus independent Gaussian noise of sigma_px pixels on every coordinate -> float32."""
    poses = np.asarray(poses, dtype=np.float32)
    return poses + np.random.default_rng(seed).normal(0, sigma_px, poses.shape).astype(np.float32)


def slowed(poses, factor=SLOW_FACTOR):
    """The dance played `factor` times slower, linearly interpolated between frames and cut to its own length T:
    (T, 15, 2) -> (T, 15, 2) float32, frame t showing the original's time t / factor."""
    poses = np.asarray(poses, dtype=np.float32)
    source_t = np.arange(len(poses)) / factor
    lower = np.floor(source_t).astype(int)
    upper = np.minimum(lower + 1, len(poses) - 1)
    weight = (source_t - lower)[:, None, None].astype(np.float32)
    return (1 - weight) * poses[lower] + weight * poses[upper]


def amplitude_scaled(poses, factor=AMPLITUDE_FACTOR):
    """Each joint's motion around its own mean position over the dance scaled by `factor` (root travel included):
    (T, 15, 2) -> (T, 15, 2) float32. The mean pose stays; bones that swing shorten a little with the motion."""
    poses = np.asarray(poses, dtype=np.float32)
    mean = poses.mean(0, keepdims=True)
    return mean + factor * (poses - mean)


def frozen(poses, frame=None):
    """One pose (`frame`, default the middle one) held for the dance's T frames -> (T, 15, 2) float32."""
    poses = np.asarray(poses, dtype=np.float32)
    frame = len(poses) // 2 if frame is None else frame
    return np.repeat(poses[frame:frame + 1], len(poses), axis=0)


def reversed_in_time(poses):
    """The dance played backwards: (T, 15, 2) -> (T, 15, 2)."""
    return np.asarray(poses)[::-1].copy()


def mirrored(poses):
    """Left and right swapped and the image flipped about the dance's mean MidHip x: (T, 15, 2) -> (T, 15, 2)."""
    poses = np.asarray(poses, dtype=np.float32)
    return mirror(poses, float(poses[:, MIDHIP, 0].mean()))


def paired_clips(beat_periods_s):
    """For each song, the other song whose beat period is nearest (ties: the first in order): the song whose beats
    a dance is scored against in the "another song's beats" control. beat_periods_s: {clip: median beat period
    (s)} with at least 2 clips -> {clip: other clip}. Songs without a period (nan) pair with the next clip in order."""
    clips = list(beat_periods_s)
    if len(clips) < 2:
        raise ValueError("pairing songs needs at least two")
    pairs = {}
    for k, clip in enumerate(clips):
        others = [c for c in clips if c != clip]
        gaps = [abs(beat_periods_s[c] - beat_periods_s[clip]) for c in others]
        pairs[clip] = others[int(np.nanargmin(gaps))] if np.isfinite(gaps).any() else clips[(k + 1) % len(clips)]
    return pairs


CONTROLS = {'jittered': jittered, 'slowed': slowed, 'amplitude_halved': amplitude_scaled, 'frozen': frozen,
            'reversed': reversed_in_time, 'mirrored': mirrored}
