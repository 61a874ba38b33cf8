"""Dance metrics: what a viewer sees of a dance, scored against real dances, with bootstrap intervals.

Units. A dance is scored as a viewer sees it: its pixel poses divided by the dance's own torso length
(`in_torso_lengths`, l2d.norm.torso_length), NOT centred on the MidHip, so the root's travel across the floor is
part of the motion. Only the geometric features describe the body alone (they are differences of joints, so
translation does not enter them).

Beats. Kinematic (motion) beats are the local minima of the smoothed mean joint speed, where a dancer pauses or turns
(Li et al., "Bailando", CVPR 2022); the speed is that of the whole motion (root included). Two beat align scores,
both a Gaussian exp(-d^2 / (2 sigma^2)) of a distance d in seconds, sigma BAS_SIGMA_S = 0.05 s (Bailando's 3 frames
at 60 fps), so a 25-fps and a 60-fps dance get the same score for the same timing:
- Bailando's `beat_align_score`: mean over the MUSIC beats of d to the nearest motion beat (does every beat get a
  move?);
- FACT's `beat_align_score_fact` (Li et al., "AI Choreographer", ICCV 2021): mean over the MOTION beats of d to the
  nearest music beat (is every move on a beat?).
Two nulls for each (`beat_metrics`): the half-beat shift (`shifted_beats`: each beat moved by half its local period,
the off-beats), and "does it follow THIS song" (`circular_shifted_beats`): the song's own beats circularly shifted by
a seeded random offset (uniform in 10-90 % of the dance), averaged over N_CIRCULAR_SHIFTS offsets. The circular null
keeps the song's tempo, its tempo changes and its number of beats, so a dance that merely moves at the right tempo
scores as well against it; only one that follows the song's phase scores above it. (Another song of similar tempo
would mix in a different beat count and tempo drift; l2d.controls.paired_clips makes that pairing for the sanity
table instead.) BAS rewards a dance with many motion beats, so read it beside beat coverage (#motion beats / #music
beats) and the hit rate (share of motion beats within HIT_TOLERANCE_S of a music beat).

Kinetic features (`kinetic_features`, 45, named groups in KINETIC_GROUPS): per joint, the mean horizontal kinetic
energy mean(vx^2) / 2, the mean vertical one mean(vy^2) / 2 (v in torso lengths / s) and the mean acceleration
magnitude mean(|a|) (torso lengths / s^2), over a segment of the whole motion (root included). Velocities and
accelerations are central differences of the positions after a Gaussian smoothing in time of KINETIC_SMOOTH_S = 0.2 s
full width at half maximum (sigma 0.085 s: 2.1 frames at 25 fps): Bailando averages over a few frames; without it
the energies and above all the accelerations of real (detector-made) poses are dominated by frame-to-frame
jitter, and FID_k ranks trembling, not dancing. The jitter gets its own figure instead: `mean_jerk`, the mean
|third difference| of the UNsmoothed poses (torso lengths / s^3), which is what sees trembling.

Travel (`root_travel`): the mean speed of the smoothed root (MidHip) track in torso lengths / s and the width of
floor covered, the range of the root's x over the dance in torso lengths.

Geometric features (`geometric_features`, 48, groups GEOMETRIC_GROUPS = mean and std over the segment's frames of 24
per-frame relations, MidHip-relative: they describe the body): the 7 joint-pair distances of `GEOMETRIC_DISTANCES`
(hands apart, feet apart, each wrist to the nose, each wrist to its own hip, knees apart); the 6 signed heights of
`GEOMETRIC_HEIGHTS`, positive up (each wrist above its shoulder, each knee above its hip, right ankle above left
ankle, nose above neck); 3 signed horizontal offsets from the MidHip-Neck line (`GEOMETRIC_OFFSETS`: the neck's lean
over the MidHip, each wrist's reach from the neck); the 8 joint angles of ``l2d.skeleton.ANGLES`` (radians).
Distances, heights and offsets are in torso lengths (the median Neck-MidHip distance of the segment).

Segments. Features are computed over consecutive whole segments of a dance (`segments`, 5 s in bench.py); with a
handful of test dances FID rests on a few dozen segments, so reports give the segment count of every FID.

FID_k / FID_g (`fid`): both sets of features z-normalised with the mean and std of the real TRAINING segments (one
fixed yardstick for every row), then the Frechet distance between Gaussians fitted to them. Its floor is what real
dances score: real test vs real train, and split-half (the first halves of the real test dances vs their second
halves); bench.py's report says which one a target uses. Diversity (`diversity`): mean Euclidean distance between the
z-normalised features of segments of different dances; multimodality (`multimodality`): the same between segments
at the same time of several dances for one song. Style (`style_classifier`): a logistic regression on the real
training segments' kinetic and geometric features, predicting the dance's style / type label.

Intervals (`bootstrap_distribution`, `bootstrap_interval`): a 95 % percentile bootstrap over TEST DANCES: the
dances are resampled with replacement (seeded, 1000 resamples by default) and the figure recomputed on each
resample; for FID the resampled dances' segments form the generated side (the real side stays fixed), and as a
resample biases FID upwards (a dance drawn twice repeats its segments) its interval is the bootstrap's spread
re-centred on the value (`percentile_interval(..., centre=value)`). Resampling
with one seed draws the same dances for every row, so differences and ratios between rows are paired by song. A
difference that falls inside the interval is reported as no difference.

Body plausibility: `mean_jerk`, `limb_excess_rate` and ``l2d.plausibility.bone_drift``.
"""
import itertools

import numpy as np

from .norm import torso_length
from .skeleton import ANGLES, J, MIDHIP, NECK, NOSE, bone_lengths, joint_angles

BAS_SIGMA_S = 0.05  # Bailando: 3 frames at 60 fps
MOTION_BEAT_SIGMA_S = 5 / 60  # Bailando: 5 frames at 60 fps
HIT_TOLERANCE_S = 0.1  # a motion beat within 100 ms of a music beat is on it (2.5 to 3 pose frames)
N_CIRCULAR_SHIFTS = 8  # seeded offsets of the circular-shift null, averaged
KINETIC_SMOOTH_S = 0.2  # full width at half maximum of the Gaussian smoothing before velocities (Bailando-like)
FWHM_PER_SIGMA = 2 * np.sqrt(2 * np.log(2))


def in_torso_lengths(poses):
    """What a viewer sees, in body units: pixel poses (T, 15, 2) divided by the dance's torso length
    (l2d.norm.torso_length), NOT centred, so the root's travel stays in -> (T, 15, 2) float64."""
    poses = np.asarray(poses, dtype=np.float64)
    scale = torso_length(poses)
    if not scale > 0:
        raise ValueError("torso length is zero: poses have Neck and MidHip at the same place")
    return poses / scale


def smooth_in_time(x, fps, fwhm_s=KINETIC_SMOOTH_S):
    """Gaussian smoothing along axis 0 with a kernel of fwhm_s seconds full width at half maximum.
    x: (T, ...) -> (T, ...) float64; fwhm_s 0 returns x unchanged. The ends are extended by point reflection
    (2 x[0] - x[k]), which keeps a steady drift steady: holding the end value instead would slow a travelling
    dancer down at both ends of every segment."""
    import scipy.ndimage
    x = np.asarray(x, dtype=np.float64)
    sigma = fwhm_s * fps / FWHM_PER_SIGMA
    if not sigma > 0 or len(x) < 2:
        return x
    pad = min(len(x) - 1, int(np.ceil(4 * sigma)))
    padded = np.concatenate([2 * x[:1] - x[pad:0:-1], x, 2 * x[-1:] - x[-2:-pad - 2:-1]])
    return scipy.ndimage.gaussian_filter1d(padded, sigma, axis=0, mode='nearest')[pad:pad + len(x)]


def motion_speed(poses, fps):
    """Mean joint speed per frame.

    poses: (T, J, D) joint positions (any unit, e.g. pixels or normalised torso lengths); fps: frames per second.
    Returns (T,) float64, units per second: central differences inside, one-sided at the two ends, so that the
    speed at frame t is centred on frame t. T < 2 gives zeros.
    """
    poses = np.asarray(poses, dtype=np.float64)
    if len(poses) < 2:
        return np.zeros(len(poses))
    velocity = np.gradient(poses, axis=0) * fps
    return np.linalg.norm(velocity, axis=-1).mean(axis=-1)


def motion_beats(poses, fps, sigma_frames=None):
    """Kinematic beats: frame indices of the strict local minima of the Gaussian-smoothed mean joint speed.

    poses: (T, J, D) joint positions; fps: frames per second; sigma_frames: the smoothing's standard deviation in
    frames (None: MOTION_BEAT_SIGMA_S * fps, Bailando's 5 frames at 60 fps). Returns (K,) int frame indices,
    never the first or last frame. Divide by fps for times in seconds.
    """
    import scipy.ndimage
    import scipy.signal
    speed = motion_speed(poses, fps)
    if len(speed) < 3:
        return np.zeros(0, dtype=int)
    sigma = MOTION_BEAT_SIGMA_S * fps if sigma_frames is None else sigma_frames
    smooth = scipy.ndimage.gaussian_filter1d(speed, sigma, mode='nearest') if sigma > 0 else speed
    return scipy.signal.argrelextrema(smooth, np.less)[0]


def nearest_distance_s(times_s, reference_times_s):
    """(N,) distance in seconds from each of `times_s` (N,) to the nearest of `reference_times_s` (M,);
    inf everywhere when there is no reference."""
    times_s = np.asarray(times_s, dtype=np.float64).reshape(-1)
    reference = np.sort(np.asarray(reference_times_s, dtype=np.float64).reshape(-1))
    if len(reference) == 0:
        return np.full(len(times_s), np.inf)
    right = np.clip(np.searchsorted(reference, times_s), 0, len(reference) - 1)
    left = np.clip(right - 1, 0, len(reference) - 1)
    return np.minimum(np.abs(times_s - reference[left]), np.abs(times_s - reference[right]))


def beat_align_score(motion_beat_times_s, music_beat_times_s, sigma_s=BAS_SIGMA_S):
    """Bailando's beat align score: mean over music beats of exp(-d^2 / (2 sigma_s^2)), d the distance (s) to the
    nearest motion beat. motion_beat_times_s (K,), music_beat_times_s (B,) in seconds. Returns a float in 0..1:
    0 without motion beats, nan without music beats."""
    music = np.asarray(music_beat_times_s, dtype=np.float64).reshape(-1)
    if len(music) == 0:
        return float('nan')
    d = nearest_distance_s(music, motion_beat_times_s)
    return float(np.mean(np.exp(-d ** 2 / (2 * sigma_s ** 2))))


def beat_align_score_fact(motion_beat_times_s, music_beat_times_s, sigma_s=BAS_SIGMA_S):
    """FACT's direction of the beat align score: mean over MOTION beats of exp(-d^2 / (2 sigma_s^2)), d the
    distance (s) to the nearest music beat. motion_beat_times_s (K,), music_beat_times_s (B,) in seconds.
    Returns a float in 0..1: nan without motion beats, 0 without music beats."""
    motion = np.asarray(motion_beat_times_s, dtype=np.float64).reshape(-1)
    if len(motion) == 0:
        return float('nan')
    d = nearest_distance_s(motion, music_beat_times_s)
    return float(np.mean(np.exp(-d ** 2 / (2 * sigma_s ** 2))))


def circular_shifted_beats(beat_times_s, duration_s, offset_s):
    """The null "does it follow THIS song": the beats (B,) s moved later by offset_s and wrapped around the
    dance's span [0, duration_s) -> (B,) sorted. Tempo and beat count stay; the phase is lost."""
    beats = np.asarray(beat_times_s, dtype=np.float64).reshape(-1)
    return np.sort((beats + offset_s) % duration_s)


def circular_offsets_s(duration_s, n=N_CIRCULAR_SHIFTS, seed=0):
    """n seeded offsets (s) for `circular_shifted_beats`, uniform in 10-90 % of duration_s (an offset near 0 or the
    whole span would give the song back) -> (n,)."""
    return np.random.default_rng(seed).uniform(0.1, 0.9, n) * duration_s


def shifted_beats(beat_times_s):
    """The off-beats, the null for beat alignment: each beat (B,) s moved later by half its local beat period
    (the interval to the next beat; the last beat uses the interval before it). Fewer than 2 beats have no
    period: returns an empty array."""
    beats = np.sort(np.asarray(beat_times_s, dtype=np.float64).reshape(-1))
    if len(beats) < 2:
        return np.zeros(0)
    period_s = np.diff(beats)
    return beats + np.append(period_s, period_s[-1]) / 2


def beat_coverage(motion_beat_times_s, music_beat_times_s):
    """Number of motion beats per music beat (K / B); nan without music beats."""
    n_music = np.size(music_beat_times_s)
    return float(np.size(motion_beat_times_s) / n_music) if n_music else float('nan')


def beat_hit_rate(motion_beat_times_s, music_beat_times_s, tolerance_s=HIT_TOLERANCE_S):
    """Share of motion beats within tolerance_s seconds (inclusive) of a music beat; nan without motion beats."""
    d = nearest_distance_s(motion_beat_times_s, music_beat_times_s)
    return float(np.mean(d <= tolerance_s + 1e-9)) if len(d) else float('nan')


def beat_metrics(poses, fps, music_beat_times_s, sigma_frames=None, seed=0):
    """All beat metrics of one dance: poses (T, J, D) at fps, music_beat_times_s (B,) in seconds, limited to the
    dance's span. Returns a dict of floats: bas (Bailando's direction), bas_fact (FACT's), each also against the
    off-beats (bas_shifted, bas_fact_shifted) and against the song's beats circularly shifted (bas_circular,
    bas_fact_circular: mean over N_CIRCULAR_SHIFTS offsets drawn with `seed`); coverage, hit_rate, hit_rate_shifted
    (against the off-beats), n_motion_beats, n_music_beats. Coverage has no off-beat null: it counts beats, and
    there are as many off-beats as beats."""
    duration_s = len(poses) / fps
    music = np.asarray(music_beat_times_s, dtype=np.float64).reshape(-1)
    music = music[(music >= 0) & (music < duration_s)]
    off_beats = shifted_beats(music)
    off_beats = off_beats[off_beats < duration_s]
    circular = [circular_shifted_beats(music, duration_s, o) for o in circular_offsets_s(duration_s, seed=seed)]
    motion = motion_beats(poses, fps, sigma_frames) / fps
    return {
        'bas': beat_align_score(motion, music),
        'bas_shifted': beat_align_score(motion, off_beats),
        'bas_circular': float(np.mean([beat_align_score(motion, c) for c in circular])),
        'bas_fact': beat_align_score_fact(motion, music),
        'bas_fact_shifted': beat_align_score_fact(motion, off_beats),
        'bas_fact_circular': float(np.mean([beat_align_score_fact(motion, c) for c in circular])),
        'coverage': beat_coverage(motion, music),
        'hit_rate': beat_hit_rate(motion, music),
        'hit_rate_shifted': beat_hit_rate(motion, off_beats),
        'n_motion_beats': float(len(motion)),
        'n_music_beats': float(len(music)),
    }


def beat_period_s(beat_times_s):
    """Median interval between consecutive beats (s); nan with fewer than 2 beats."""
    beats = np.sort(np.asarray(beat_times_s, dtype=np.float64).reshape(-1))
    return float(np.median(np.diff(beats))) if len(beats) > 1 else float('nan')


def dominant_period_s(poses, fps, min_s=0.25, max_s=4.0):
    """The motion's dominant period: the lag (s) of the highest peak of the autocorrelation of the mean joint
    speed (`motion_speed`, mean removed) between min_s and max_s seconds. poses: (T, J, D) at fps.
    Returns nan when the speed is constant or its autocorrelation has no peak between min_s and max_s."""
    speed = motion_speed(poses, fps)
    speed = speed - speed.mean()
    lo, hi = max(1, int(np.floor(min_s * fps))), min(len(speed) - 2, int(np.ceil(max_s * fps)))
    if hi <= lo or not np.any(speed):
        return float('nan')
    n = len(speed)
    spectrum = np.fft.rfft(speed, 2 * n)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
    acf = acf / np.arange(n, 0, -1)  # unbiased: long lags average fewer products
    lags = np.arange(lo, hi + 1)
    inner = lags[(acf[lags] > acf[lags - 1]) & (acf[lags] >= acf[lags + 1])]
    if len(inner) == 0:
        return float('nan')
    best = inner[np.argmax(acf[inner])]
    # Parabolic interpolation of the peak: periods between whole frames.
    a, b, c = acf[best - 1], acf[best], acf[best + 1]
    shift = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c != 0 else 0.0
    return float((best + shift) / fps)


PERIOD_TOLERANCE = 0.1  # a motion period within 10 % of n beats repeats every n beats


def period_match(motion_period_s, music_beat_period_s, tolerance=PERIOD_TOLERANCE):
    """Which music period the motion's period matches: 'half beat', 'beat', '2 beats', '3 beats' or '4 beats'
    (a bar of 2/4, 3/4 or 4/4) when within `tolerance` (relative) of it, else 'none' (also for nan input)."""
    ratio = motion_period_s / music_beat_period_s
    for beats, name in ((0.5, 'half beat'), (1, 'beat'), (2, '2 beats'), (3, '3 beats'), (4, '4 beats')):
        if abs(ratio - beats) <= tolerance * beats:
            return name
    return 'none'


# ---- motion features, FID, diversity ----------------------------------------------------------------------------

GEOMETRIC_DISTANCES = ((J['RWrist'], J['LWrist']), (J['RAnkle'], J['LAnkle']), (J['RWrist'], NOSE),
                       (J['LWrist'], NOSE), (J['RWrist'], J['RHip']), (J['LWrist'], J['LHip']),
                       (J['RKnee'], J['LKnee']))
# (joint, reference): how far the joint is above the reference (y is down in images, so reference y - joint y).
GEOMETRIC_HEIGHTS = ((J['RWrist'], J['RShoulder']), (J['LWrist'], J['LShoulder']), (J['RKnee'], J['RHip']),
                     (J['LKnee'], J['LHip']), (J['RAnkle'], J['LAnkle']), (NOSE, NECK))
# (joint, reference): joint x - reference x.
GEOMETRIC_OFFSETS = ((NECK, MIDHIP), (J['RWrist'], NECK), (J['LWrist'], NECK))
N_KINETIC = 3 * 15
N_RELATIONS = len(GEOMETRIC_DISTANCES) + len(GEOMETRIC_HEIGHTS) + len(GEOMETRIC_OFFSETS) + len(ANGLES)
N_GEOMETRIC = 2 * N_RELATIONS
# Named column groups of the feature vectors, so that no caller indexes a fixed layout.
KINETIC_GROUPS = {'horizontal_energy': slice(0, 15), 'vertical_energy': slice(15, 30),
                  'acceleration': slice(30, 45)}
GEOMETRIC_GROUPS = {'mean': slice(0, N_RELATIONS), 'std': slice(N_RELATIONS, N_GEOMETRIC)}


def feature_group(features, groups, name):
    """The columns of one named group: features (..., F), groups (KINETIC_GROUPS or GEOMETRIC_GROUPS), name ->
    (..., F_group)."""
    return np.asarray(features)[..., groups[name]]


def kinetic_features(poses, fps, smooth_s=KINETIC_SMOOTH_S):
    """Kinetic features of one segment: poses (T, 15, 2) in torso lengths at fps (T >= 3), root included
    (`in_torso_lengths`) -> (45,) float64 in KINETIC_GROUPS: mean horizontal kinetic energy of each joint (15,
    torso lengths^2 / s^2), mean vertical kinetic energy (15), mean acceleration magnitude (15, torso lengths / s^2).
    Velocities and accelerations are central differences times fps of the poses smoothed with `smooth_in_time`
    (smooth_s full width at half maximum; 0 for none)."""
    poses = np.asarray(poses, dtype=np.float64)
    if len(poses) < 3:
        raise ValueError(f"kinetic features need at least 3 frames, got {len(poses)}")
    smooth = smooth_in_time(poses, fps, smooth_s)
    velocity = np.gradient(smooth, axis=0) * fps
    acceleration = np.gradient(velocity, axis=0) * fps
    return np.concatenate([0.5 * (velocity[..., 0] ** 2).mean(0), 0.5 * (velocity[..., 1] ** 2).mean(0),
                           np.linalg.norm(acceleration, axis=-1).mean(0)])


def root_travel(poses, fps, smooth_s=KINETIC_SMOOTH_S):
    """How the dancer crosses the floor: poses (T, 15, 2) in torso lengths, root included (`in_torso_lengths`).
    Returns dict(root_speed = mean speed of the smoothed MidHip track (torso lengths / s), floor_width = range of
    the MidHip's x over the dance (torso lengths)); both 0 for fewer than 2 frames."""
    root = np.asarray(poses, dtype=np.float64)[:, MIDHIP]
    if len(root) < 2:
        return {'root_speed': 0.0, 'floor_width': 0.0}
    velocity = np.gradient(smooth_in_time(root, fps, smooth_s), axis=0) * fps
    return {'root_speed': float(np.linalg.norm(velocity, axis=-1).mean()),
            'floor_width': float(root[:, 0].max() - root[:, 0].min())}


def geometric_relations(poses):
    """The 24 per-frame relations of the geometric features (see the module docstring): poses (T, 15, 2) ->
    (T, 24), distances, heights and offsets in torso lengths (the median Neck-MidHip distance over the T frames),
    angles in radians."""
    poses = np.asarray(poses, dtype=np.float64)
    torso = np.median(np.linalg.norm(poses[:, NECK] - poses[:, MIDHIP], axis=-1))
    torso = torso if torso > 0 else 1.0
    a, b = np.array(GEOMETRIC_DISTANCES).T
    distances = np.linalg.norm(poses[:, a] - poses[:, b], axis=-1) / torso
    a, b = np.array(GEOMETRIC_HEIGHTS).T
    heights = (poses[:, b, 1] - poses[:, a, 1]) / torso
    a, b = np.array(GEOMETRIC_OFFSETS).T
    offsets = (poses[:, a, 0] - poses[:, b, 0]) / torso
    return np.concatenate([distances, heights, offsets, joint_angles(poses)], axis=1)


def geometric_features(poses):
    """Geometric features of one segment: poses (T, 15, 2), any units -> (48,) float64: the mean over frames of
    each of the 24 `geometric_relations`, then their standard deviations."""
    relations = geometric_relations(poses)
    return np.concatenate([relations.mean(0), relations.std(0)])


def segments(n_frames, fps, segment_s):
    """Consecutive whole segments of segment_s seconds from frame 0 (a dance shorter than one segment is one
    segment of its own length). -> (S, 2) int [start, end) frames."""
    length = max(3, int(round(segment_s * fps)))
    if n_frames < length:
        return np.array([[0, n_frames]])
    starts = np.arange(0, n_frames - length + 1, length)
    return np.stack([starts, starts + length], axis=1)


def dance_features(poses, fps, segment_s):
    """Kinetic and geometric features of each segment of a dance. poses: (T, 15, 2) in torso lengths, root
    included (`in_torso_lengths` of the pixel poses). Returns (kinetic (S, 45), geometric (S, 48))."""
    bounds = segments(len(poses), fps, segment_s)
    kinetic = np.stack([kinetic_features(poses[s:e], fps) for s, e in bounds])
    geometric = np.stack([geometric_features(poses[s:e]) for s, e in bounds])
    return kinetic, geometric


def standardize(features, reference):
    """z-normalise features (N, F) with the mean and std of reference (M, F); features constant in the reference
    are divided by 1 instead of 0."""
    reference = np.asarray(reference, dtype=np.float64)
    std = reference.std(0)
    return (np.asarray(features, dtype=np.float64) - reference.mean(0)) / np.where(std > 1e-12, std, 1.0)


def frechet_distance(a, b):
    """Frechet distance between Gaussians fitted to two sample sets (N, F) and (M, F):
    |mu_a - mu_b|^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2)). Needs at least 2 samples in each."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"the Frechet distance needs at least 2 samples per set, got {len(a)} and {len(b)}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    # tr((C_a C_b)^(1/2)) is the sum of the square roots of the eigenvalues of C_a C_b, which are real and >= 0
    # for two covariance matrices (rounding aside): no matrix square root, and singular covariances (fewer samples
    # than features) need no ridge. Fast enough for a bootstrap of a thousand resamples.
    eigenvalues = np.linalg.eigvals(cov_a @ cov_b)
    trace_root = np.sqrt(np.clip(np.real(eigenvalues), 0, None)).sum()
    value = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root
    return float(max(value, 0.0))


def fid(generated, real, reference=None):
    """FID_k or FID_g: generated (N, F) and real (M, F) features, both z-normalised with the statistics of
    `reference` (bench.py: the real training segments; default: `real`), then their `frechet_distance`."""
    reference = real if reference is None else reference
    return frechet_distance(standardize(generated, reference), standardize(real, reference))


def diversity(features, groups):
    """Div_k / Div_g: mean Euclidean distance between the features (N, F) of samples from different groups
    (dances), groups (N,) labels; z-normalise the features first (`standardize`). nan with fewer than 2 groups."""
    features, groups = np.asarray(features, dtype=np.float64), np.asarray(groups)
    distances = np.linalg.norm(features[:, None] - features[None], axis=-1)
    different = groups[:, None] != groups[None]
    return float(distances[different].mean()) if different.any() else float('nan')


def multimodality(samples):
    """Mean Euclidean distance between the features of several dances for ONE song, at the same segment:
    samples, a list (>= 2) of (S, F) z-normalised feature arrays (segments aligned in time; the shortest S is used)
    -> float."""
    if len(samples) < 2:
        raise ValueError("multimodality needs at least two dances for the song")
    n = min(len(s) for s in samples)
    return float(np.mean([np.linalg.norm(np.asarray(a)[:n] - np.asarray(b)[:n], axis=-1).mean()
                          for a, b in itertools.combinations(samples, 2)]))


def style_classifier(train_features, train_labels, seed=0):
    """Music responsiveness: a classifier (standardised features, logistic regression) fitted to real dances'
    segment features (N, F) and their style / dance-type labels (N,). Returns the fitted sklearn pipeline; its
    .predict(features (M, F)) -> (M,) labels."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0, random_state=seed))
    return classifier.fit(np.asarray(train_features), np.asarray(train_labels))


def style_accuracy(train_features, train_labels, test_sets, seed=0):
    """`style_classifier` fitted to (train_features (N, F), train_labels (N,)), applied to each test set.
    test_sets: {name: (features (M, F), labels (M,))} -> {name: accuracy in 0..1}."""
    classifier = style_classifier(train_features, train_labels, seed)
    return {name: float(np.mean(classifier.predict(np.asarray(x)) == np.asarray(y)))
            for name, (x, y) in test_sets.items()}


# ---- FID and diversity of resampled dances, from per-dance sums (a bootstrap recomputes them a thousand times) --

def group_moments(features, groups, names):
    """Per-group sufficient statistics of features (N, F) labelled groups (N,), for the groups `names` (G,) in that
    order -> (counts (G,), sums (G, F), outer_sums (G, F, F))."""
    features, groups = np.asarray(features, dtype=np.float64), np.asarray(groups)
    member = np.stack([groups == name for name in names]).astype(np.float64)  # (G, N)
    return member.sum(1), member @ features, np.einsum('gn,ni,nj->gij', member, features, features)


def resampled_gaussian(counts, sums, outer_sums, weights):
    """Mean (F,) and covariance (F, F) (normalised by N - 1) of the samples of every group taken weights (G,)
    times, from `group_moments`: the Gaussian that `fid` fits to a resample of dances."""
    weights = np.asarray(weights, dtype=np.float64)
    n = weights @ counts
    if n < 2:
        raise ValueError(f"the Frechet distance needs at least 2 samples per set, got {n:g}")
    mean = weights @ sums / n
    cov = (np.tensordot(weights, outer_sums, axes=1) - n * np.outer(mean, mean)) / (n - 1)
    return mean, cov


def psd_sqrt(matrix):
    """Square root of a symmetric positive semi-definite matrix (F, F) (negative rounding eigenvalues taken as 0)."""
    eigenvalues, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ vectors.T


def frechet_to_reference(mean, cov, reference_mean, reference_cov, reference_root):
    """`frechet_distance` between the Gaussian (mean (F,), cov (F, F)) and a fixed reference one whose covariance's
    square root reference_root = psd_sqrt(reference_cov) is computed once: tr((C R)^(1/2)) = tr((S C S)^(1/2)) with
    S = R^(1/2), a symmetric eigenproblem."""
    eigenvalues = np.linalg.eigvalsh(reference_root @ cov @ reference_root)
    value = (((mean - reference_mean) ** 2).sum() + np.trace(cov) + np.trace(reference_cov)
             - 2 * np.sqrt(np.clip(eigenvalues, 0, None)).sum())
    return float(max(value, 0.0))


def group_distance_sums(features, groups, names):
    """Sums (G, G) of the Euclidean distances between the samples of group i and of group j of features (N, F)
    labelled groups (N,), for the groups `names` (G,), and the numbers of such pairs (G, G)."""
    features, groups = np.asarray(features, dtype=np.float64), np.asarray(groups)
    member = np.stack([groups == name for name in names]).astype(np.float64)
    distances = np.linalg.norm(features[:, None] - features[None], axis=-1)
    return member @ distances @ member.T, np.outer(member.sum(1), member.sum(1))


def resampled_diversity(distance_sums, pair_counts, weights):
    """`diversity` of a resample that takes each group weights (G,) times, from `group_distance_sums`: pairs of
    samples of different groups only (two copies of one dance are one dance). nan with fewer than 2 groups drawn."""
    weights = np.asarray(weights, dtype=np.float64)
    off = 1.0 - np.eye(len(weights))
    count = weights @ (pair_counts * off) @ weights
    return float(weights @ (distance_sums * off) @ weights / count) if count > 0 else float('nan')


# ---- intervals --------------------------------------------------------------------------------------------------

N_RESAMPLES = 1000
CONFIDENCE = 0.95


def bootstrap_indices(n_items, n_resamples=N_RESAMPLES, seed=0):
    """(n_resamples, n_items) int: each row a resample with replacement of range(n_items). The same seed gives the
    same rows, so statistics of two rows of a report computed with it are paired item by item."""
    return np.random.default_rng(seed).integers(0, n_items, (n_resamples, n_items))


def bootstrap_distribution(values_or_statistic, n_items=None, n_resamples=N_RESAMPLES, seed=0):
    """The bootstrap distribution of a statistic over items (test dances): (n_resamples,) float64.

    values_or_statistic: per-item values (N,) (the statistic is their nanmean), or a function of an index array
    (N,) -> float that recomputes the statistic on those items (e.g. a FID on the chosen dances' segments); then
    n_items is required."""
    if callable(values_or_statistic):
        statistic = values_or_statistic
        if n_items is None:
            raise ValueError("a statistic function needs n_items")
    else:
        values = np.asarray(values_or_statistic, dtype=np.float64).reshape(-1)
        n_items = len(values)

        def statistic(index):
            chosen = values[index]
            return float(np.mean(chosen[np.isfinite(chosen)])) if np.isfinite(chosen).any() else float('nan')
    if n_items < 1:
        raise ValueError("a bootstrap needs at least one item")
    return np.array([statistic(index) for index in bootstrap_indices(n_items, n_resamples, seed)], dtype=np.float64)


def percentile_interval(distribution, confidence=CONFIDENCE, centre=None):
    """(low, high): the central `confidence` share of a bootstrap distribution (nan draws ignored; (nan, nan) when
    all are nan). centre: re-centre the draws first so that their median is `centre` (the value on all items),
    for a statistic that a resample biases: FID on resampled dances is biased upwards, because a dance drawn twice
    repeats its segments and the fitted Gaussian narrows; the re-centred interval keeps the bootstrap's spread
    around the value instead of around the biased draws."""
    d = np.asarray(distribution, dtype=np.float64)
    d = d[np.isfinite(d)]
    if len(d) == 0:
        return float('nan'), float('nan')
    if centre is not None:
        d = d - np.median(d) + centre
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(d, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_interval(values_or_statistic, n_items=None, n_resamples=N_RESAMPLES, seed=0, confidence=CONFIDENCE):
    """95 % (by default) percentile bootstrap interval of a statistic over items: see `bootstrap_distribution`
    for the arguments. Returns (low, high)."""
    return percentile_interval(bootstrap_distribution(values_or_statistic, n_items, n_resamples, seed), confidence)


# ---- body plausibility ------------------------------------------------------------------------------------------

def mean_jerk(poses, fps):
    """Joint jitter: mean magnitude of the third time derivative of joint positions (units per s^3, forward
    differences of the unsmoothed poses, so that trembling shows). poses: (T, J, D), T >= 4 -> float."""
    poses = np.asarray(poses, dtype=np.float64)
    if len(poses) < 4:
        raise ValueError(f"jerk needs at least 4 frames, got {len(poses)}")
    return float(np.linalg.norm(np.diff(poses, 3, axis=0) * fps ** 3, axis=-1).mean())


def limb_excess_rate(poses, max_bone_lengths):
    """Share of frames with at least one bone longer than the longest of that bone among real poses.
    poses: (T, 15, 2); max_bone_lengths: (14,) in the same units (e.g. ``bone_lengths(real).max(0)``) -> 0..1."""
    lengths = bone_lengths(np.asarray(poses, dtype=np.float64))
    return float(np.mean((lengths > np.asarray(max_bone_lengths)[None]).any(axis=1)))
