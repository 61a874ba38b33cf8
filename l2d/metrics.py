"""Dance metrics. Beat metrics: do the dance's kinematic beats fall on the music's beats?

Kinematic (motion) beats are the local minima of the smoothed mean joint speed, where a dancer pauses or turns
(Li et al., "Bailando", CVPR 2022). The beat align score (BAS) is Bailando's: for every music beat, the distance d
to the nearest motion beat scores exp(-d^2 / (2 sigma^2)), averaged over the music beats. Bailando works in frames
of AIST++'s 60 fps (sigma 3 frames, speed smoothed with a Gaussian of 5 frames); here times are in seconds, so the
same constants are sigma_s = 0.05 s and a smoothing of fps / 12 frames.

BAS rewards a dance with many motion beats (every music beat then finds one nearby), so read it beside
beat coverage (#motion beats / #music beats), beat hit rate (share of motion beats near a music beat) and the
score against the off-beats (`shifted_beats`), which a dance that ignores the music scores about as well as
against the beats.
"""
import numpy as np

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
    hit_rate, n_motion_beats, n_music_beats."""
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
        'n_motion_beats': float(len(motion)),
        'n_music_beats': float(len(music)),
    }
