"""Dance metrics. Beat metrics: do the dance's kinematic beats fall on the music's beats?

Kinematic (motion) beats are the local minima of the smoothed mean joint speed, where a dancer pauses or turns
(Li et al., "Bailando", CVPR 2022). The beat align score (BAS) is Bailando's: for every music beat, the distance d
to the nearest motion beat scores exp(-d^2 / (2 sigma^2)), averaged over the music beats. Bailando works in frames
of AIST++'s 60 fps (sigma 3 frames, speed smoothed with a Gaussian of 5 frames); here times are in seconds, so the
same constants are sigma_s = 0.05 s and a smoothing of fps / 12 frames.

BAS rewards a dance with many motion beats (every music beat then finds one nearby), so read it beside
beat coverage (#motion beats / #music beats), beat hit rate (share of motion beats near a music beat) and the
score against the off-beats (`shifted_beats`), which a dance that ignores the music scores about as well as
against the beats. `dominant_period_s` says whether the motion repeats at the music's beat or bar period.

Motion quality (after Bailando / FACT, adapted to 2-D poses). Features are computed on normalised poses
(``l2d.norm.normalize``: MidHip-centred, torso-length units) over segments of a dance (`segments`):

- kinetic features (`kinetic_features`, 45 = 3 x 15 joints): per joint, the mean horizontal kinetic energy
  mean(vx^2) / 2, the mean vertical kinetic energy mean(vy^2) / 2 (v in torso lengths per second, forward
  differences) and the mean acceleration magnitude mean(|a|) (torso lengths per second^2);
- geometric features (`geometric_features`, 48 = mean and std over the segment's frames of 24 per-frame
  relations): the 7 joint-pair distances of `GEOMETRIC_DISTANCES` (hands apart, feet apart, each wrist to the
  nose, each wrist to its own hip, knees apart); the 6 signed heights of `GEOMETRIC_HEIGHTS`, positive up (each
  wrist above its shoulder, each knee above its hip, right ankle above left ankle, nose above neck); 3 signed
  horizontal offsets from the MidHip-Neck line (`GEOMETRIC_OFFSETS`: the neck's lean over the MidHip, each wrist's
  reach from the neck); the 8 joint angles of ``l2d.skeleton.ANGLES`` (radians). Distances, heights and offsets
  are in torso lengths (the median Neck-MidHip distance of the segment), so they do not depend on the units.

FID_k / FID_g (`fid`): both feature sets z-normalised with the mean and std of a reference set (the real test
dances), then the Frechet distance between Gaussians fitted to them. Diversity (`diversity`): mean Euclidean
distance between the z-normalised features of segments of different dances; multimodality (`multimodality`):
the same between segments at the same time of several dances for one song. Body plausibility: `mean_jerk`,
`limb_excess_rate` and ``l2d.plausibility.bone_drift``. Music responsiveness: `style_accuracy`.
"""
import itertools
import warnings

import numpy as np

from .skeleton import ANGLES, J, MIDHIP, NECK, NOSE, bone_lengths, joint_angles

BAS_SIGMA_S = 0.05  # Bailando: 3 frames at 60 fps
MOTION_BEAT_SIGMA_S = 5 / 60  # Bailando: 5 frames at 60 fps
HIT_TOLERANCE_S = 0.1  # a motion beat within 100 ms of a music beat is on it (2.5 to 3 pose frames)


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


def beat_metrics(poses, fps, music_beat_times_s, sigma_frames=None):
    """All beat metrics of one dance: poses (T, J, D) at fps, music_beat_times_s (B,) in seconds, limited to the
    dance's span. Returns a dict of floats: bas, bas_shifted (the same dance against the off-beats), coverage,
    hit_rate, hit_rate_shifted (against the off-beats), n_motion_beats, n_music_beats. Coverage has no off-beat
    null: it counts beats, and there are as many off-beats as beats."""
    duration_s = len(poses) / fps
    music = np.asarray(music_beat_times_s, dtype=np.float64).reshape(-1)
    music = music[(music >= 0) & (music < duration_s)]
    off_beats = shifted_beats(music)
    off_beats = off_beats[off_beats < duration_s]
    motion = motion_beats(poses, fps, sigma_frames) / fps
    return {
        'bas': beat_align_score(motion, music),
        'bas_shifted': beat_align_score(motion, off_beats),
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
N_GEOMETRIC = 2 * (len(GEOMETRIC_DISTANCES) + len(GEOMETRIC_HEIGHTS) + len(GEOMETRIC_OFFSETS) + len(ANGLES))


def kinetic_features(poses, fps):
    """Kinetic features of one segment: poses (T, 15, 2) in torso lengths at fps (T >= 3) -> (45,) float64:
    mean horizontal kinetic energy of each joint (15), mean vertical kinetic energy (15), mean acceleration
    magnitude (15). Velocities and accelerations are forward differences times fps."""
    poses = np.asarray(poses, dtype=np.float64)
    if len(poses) < 3:
        raise ValueError(f"kinetic features need at least 3 frames, got {len(poses)}")
    velocity = np.diff(poses, axis=0) * fps
    acceleration = np.diff(velocity, axis=0) * fps
    return np.concatenate([0.5 * (velocity[..., 0] ** 2).mean(0), 0.5 * (velocity[..., 1] ** 2).mean(0),
                           np.linalg.norm(acceleration, axis=-1).mean(0)])


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
    """Kinetic and geometric features of each segment of a dance. poses: (T, 15, 2) in torso lengths (normalise
    pixel poses with l2d.norm.normalize first). Returns (kinetic (S, 45), geometric (S, 48))."""
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
    import scipy.linalg
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"the Frechet distance needs at least 2 samples per set, got {len(a)} and {len(b)}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    with warnings.catch_warnings():
        # Singular products are expected with fewer samples than features; the ridge below handles the bad case.
        warnings.simplefilter('ignore', scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(root).all():
        # Singular covariances (fewer samples than features): a small ridge makes the square root defined.
        ridge = 1e-6 * np.eye(len(cov_a))
        root = scipy.linalg.sqrtm((cov_a + ridge) @ (cov_b + ridge))
    value = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(np.real(root))
    return float(max(value, 0.0))


def fid(generated, real, reference=None):
    """FID_k or FID_g: generated (N, F) and real (M, F) features, both z-normalised with the statistics of
    `reference` (default: `real`), then their `frechet_distance`."""
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


def style_accuracy(train_features, train_labels, test_sets, seed=0):
    """Music responsiveness: a classifier (standardised features, logistic regression) trained on real dances'
    features (N, F) with their style / dance-type labels (N,), applied to each test set.
    test_sets: {name: (features (M, F), labels (M,))} -> {name: accuracy in 0..1}."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0, random_state=seed))
    classifier.fit(np.asarray(train_features), np.asarray(train_labels))
    return {name: float(np.mean(classifier.predict(np.asarray(x)) == np.asarray(y)))
            for name, (x, y) in test_sets.items()}


# ---- body plausibility ------------------------------------------------------------------------------------------

def mean_jerk(poses, fps):
    """Joint jitter: mean magnitude of the third time derivative of joint positions (units per s^3, forward
    differences). poses: (T, J, D), T >= 4 -> float."""
    poses = np.asarray(poses, dtype=np.float64)
    if len(poses) < 4:
        raise ValueError(f"jerk needs at least 4 frames, got {len(poses)}")
    return float(np.linalg.norm(np.diff(poses, 3, axis=0) * fps ** 3, axis=-1).mean())


def limb_excess_rate(poses, max_bone_lengths):
    """Share of frames with at least one bone longer than the longest of that bone among real poses.
    poses: (T, 15, 2); max_bone_lengths: (14,) in the same units (e.g. ``bone_lengths(real).max(0)``) -> 0..1."""
    lengths = bone_lengths(np.asarray(poses, dtype=np.float64))
    return float(np.mean((lengths > np.asarray(max_bone_lengths)[None]).any(axis=1)))
