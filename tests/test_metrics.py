import numpy as np
import pytest

from l2d.metrics import (HIT_TOLERANCE_S, KINETIC_GROUPS, N_GEOMETRIC, N_KINETIC, beat_align_score,
                         beat_align_score_fact, beat_coverage, beat_hit_rate, beat_metrics, beat_period_s,
                         bootstrap_distribution, bootstrap_interval, circular_offsets_s, circular_shifted_beats,
                         dance_features, diversity, dominant_period_s, feature_group, fid, frechet_distance,
                         frechet_to_reference, geometric_features, geometric_relations, group_distance_sums,
                         group_moments, in_torso_lengths, kinetic_features, limb_excess_rate, mean_jerk, motion_beats,
                         motion_speed, multimodality, nearest_distance_s, percentile_interval, period_match,
                         psd_sqrt, resampled_diversity, resampled_gaussian, root_travel, segments, shifted_beats,
                         smooth_in_time, standardize, style_accuracy)
from l2d.skeleton import J, bone_lengths

FPS = 30
BEAT_S = 0.4  # 150 BPM: 12 frames a beat, half a beat is a whole 6 frames


def swinging_dance(n_beats, phase_beats=0.0, fps=FPS):
    """(T, 15, 2) poses whose joints swing sideways and back once every two beats, so that they stop (speed 0)
    once a beat, at times (k + phase_beats) * BEAT_S. Joints swing with different amplitudes."""
    t_s = np.arange(int(round(n_beats * BEAT_S * fps))) / fps
    x = np.cos(np.pi * (t_s / BEAT_S - phase_beats))
    amplitude = np.linspace(5, 40, 15)
    poses = np.zeros((len(t_s), 15, 2))
    poses[:, :, 0] = 100 + amplitude[None, :] * x[:, None]
    poses[:, :, 1] = 200 + np.arange(15)[None, :] * 10.0
    return poses


def inner_beats(n_beats):
    """Music beats at every beat except the clip's first and last instant (a minimum on the clip's edge is no
    local minimum)."""
    return np.arange(1, n_beats) * BEAT_S


def test_motion_speed_units_and_shape():
    poses = np.zeros((10, 15, 2))
    poses[:, :, 0] = np.arange(10)[:, None] * 3.0  # 3 px per frame right
    poses[:, :, 1] = np.arange(10)[:, None] * 4.0  # 4 px per frame down: 5 px per frame in all
    speed = motion_speed(poses, fps=25)
    assert speed.shape == (10,)
    np.testing.assert_allclose(speed, 5 * 25)
    assert motion_speed(poses[:1], 25).tolist() == [0.0]


def test_motion_beats_are_the_speed_minima():
    beats = motion_beats(swinging_dance(8), FPS)
    np.testing.assert_array_equal(beats, np.arange(1, 8) * 12)


def test_minima_on_the_beats_score_one():
    motion = motion_beats(swinging_dance(8), FPS) / FPS
    assert beat_align_score(motion, inner_beats(8)) == pytest.approx(1.0, abs=1e-9)
    m = beat_metrics(swinging_dance(8), FPS, inner_beats(8))
    assert m['bas'] == pytest.approx(1.0, abs=1e-9)
    assert m['coverage'] == 1.0 and m['hit_rate'] == 1.0
    assert m['bas_shifted'] < 0.01  # the off-beats are 0.2 s from every motion beat
    assert m['hit_rate_shifted'] == 0.0


def test_minima_half_a_beat_off_score_low():
    motion = motion_beats(swinging_dance(8, phase_beats=0.5), FPS) / FPS
    np.testing.assert_allclose(motion, (np.arange(8) + 0.5) * BEAT_S)
    bas = beat_align_score(motion, inner_beats(8))
    assert bas == pytest.approx(np.exp(-0.2 ** 2 / (2 * 0.05 ** 2)), rel=1e-6)
    assert bas < 1e-3
    assert beat_hit_rate(motion, inner_beats(8)) == 0.0
    # ... and such a dance is on the off-beats.
    assert beat_align_score(motion, shifted_beats(inner_beats(8))) == pytest.approx(1.0, abs=1e-9)


def test_bas_is_bailandos_gaussian_of_the_nearest_distance():
    music = np.array([1.0, 2.0, 3.0])
    motion = np.array([1.05, 2.0, 9.0])  # music beats 1 s, 2 s, 3 s are 0.05 s, 0 s and 1 s from a motion beat
    expected = np.mean(np.exp(-np.array([0.05, 0.0, 1.0]) ** 2 / (2 * 0.05 ** 2)))
    assert beat_align_score(motion, music) == pytest.approx(expected)
    assert beat_align_score(motion, music, sigma_s=1.0) > beat_align_score(motion, music)
    assert beat_align_score([], music) == 0.0
    assert np.isnan(beat_align_score(motion, []))


def test_nearest_distance_unsorted_reference():
    np.testing.assert_allclose(nearest_distance_s([0.0, 2.4, 10.0], [3.0, 1.0, 2.0]), [1.0, 0.4, 7.0])
    assert np.isinf(nearest_distance_s([1.0], [])).all()


def test_shifted_beats_follow_the_local_period():
    np.testing.assert_allclose(shifted_beats([0.0, 1.0, 3.0, 3.5]), [0.5, 2.0, 3.25, 3.75])
    np.testing.assert_allclose(shifted_beats([3.0, 0.0, 1.0]), [0.5, 2.0, 4.0])  # sorted first
    assert len(shifted_beats([1.0])) == 0


def test_coverage_and_hit_rate_on_known_counts():
    music = np.arange(10) * 0.5  # 10 beats
    # 5 motion beats: 3 near a beat (0 s, 40 ms, 90 ms off), 2 a quarter beat away.
    motion = np.array([1.0, 2.04, 3.09, 3.25, 4.25 - 0.01])
    assert beat_coverage(motion, music) == 0.5
    assert beat_hit_rate(motion, music) == pytest.approx(3 / 5)
    assert beat_hit_rate(motion, music, tolerance_s=0.05) == pytest.approx(2 / 5)
    assert beat_hit_rate(motion, music, tolerance_s=HIT_TOLERANCE_S) == pytest.approx(3 / 5)
    assert beat_hit_rate(motion, []) == 0.0
    assert np.isnan(beat_hit_rate([], music))
    assert np.isnan(beat_coverage(motion, []))


def test_a_restless_dance_scores_high_bas_but_shows_in_coverage_and_hit_rate():
    # Jittering every few frames gives a motion beat near every music beat: BAS alone would call it aligned.
    rng = np.random.default_rng(0)
    poses = swinging_dance(8) + rng.normal(0, 20, (96, 15, 2))
    m = beat_metrics(poses, FPS, inner_beats(8), sigma_frames=0)
    assert m['bas'] > 0.5
    assert m['coverage'] > 3
    assert m['bas_shifted'] > 0.5  # as good against the off-beats: the null gives it away


def test_still_dancer_has_no_motion_beats():
    poses = np.ones((90, 15, 2))
    assert len(motion_beats(poses, FPS)) == 0
    m = beat_metrics(poses, FPS, inner_beats(6))
    assert m['bas'] == 0.0 and m['coverage'] == 0.0 and np.isnan(m['hit_rate'])


# ---- periods ---------------------------------------------------------------------------------------------------

def test_dominant_period_is_the_pause_period():
    # The swinging dance stops once a beat: its speed repeats every beat (0.4 s).
    period = dominant_period_s(swinging_dance(40), FPS)
    assert period == pytest.approx(BEAT_S, rel=0.03)
    assert period_match(period, beat_period_s(inner_beats(40))) == 'beat'
    # Against a song twice as fast, the same motion repeats every 2 beats; against a slow song it matches nothing.
    assert period_match(period, BEAT_S / 2) == '2 beats'
    assert period_match(period, BEAT_S * 1.7) == 'none'
    assert np.isnan(dominant_period_s(np.ones((90, 15, 2)), FPS))
    assert period_match(float('nan'), BEAT_S) == 'none'


def test_dominant_period_of_a_bar_long_move():
    # Pauses at 0, 1, 2 beats, then a held third beat: the pattern repeats every 3 beats (a waltz bar).
    t_s = np.arange(int(30 * BEAT_S * FPS)) / FPS
    phase = (t_s / BEAT_S) % 3
    x = np.where(phase < 2, np.cos(np.pi * phase), 1.0)
    poses = np.zeros((len(t_s), 15, 2))
    poses[:, :, 0] = 40 * x[:, None]
    period = dominant_period_s(poses, FPS)
    assert period == pytest.approx(3 * BEAT_S, rel=0.03)
    assert period_match(period, BEAT_S) == '3 beats'


# ---- features --------------------------------------------------------------------------------------------------

def standing_pose():
    """A front-facing pose in torso lengths (Neck-MidHip = 1), MidHip at the origin, y down."""
    pose = np.zeros((15, 2))
    named = {'Nose': (0, -1.4), 'Neck': (0, -1.0), 'RShoulder': (-0.4, -1.0), 'RElbow': (-0.5, -0.5),
             'RWrist': (-0.5, 0.0), 'LShoulder': (0.4, -1.0), 'LElbow': (0.5, -0.5), 'LWrist': (0.5, 0.0),
             'MidHip': (0, 0), 'RHip': (-0.2, 0), 'RKnee': (-0.2, 0.9), 'RAnkle': (-0.2, 1.8),
             'LHip': (0.2, 0), 'LKnee': (0.2, 0.9), 'LAnkle': (0.2, 1.8)}
    for name, xy in named.items():
        pose[J[name]] = xy
    return pose


def test_kinetic_features_of_a_constant_velocity_and_a_still_body():
    poses = np.repeat(standing_pose()[None], 20, axis=0)
    poses[:, J['RWrist'], 0] += np.arange(20) * 0.1  # 0.1 torso lengths per frame: 3 per second sideways
    poses[:, J['LWrist'], 1] += np.arange(20) * 0.2  # 6 per second down
    k = kinetic_features(poses, FPS)
    assert k.shape == (N_KINETIC,)
    horizontal, vertical, acceleration = k[:15], k[15:30], k[30:]
    assert horizontal[J['RWrist']] == pytest.approx(0.5 * 3.0 ** 2)
    assert vertical[J['LWrist']] == pytest.approx(0.5 * 6.0 ** 2)
    assert horizontal[J['LWrist']] == vertical[J['RWrist']] == 0.0
    np.testing.assert_allclose(acceleration, 0.0, atol=1e-9)  # constant velocity
    assert np.count_nonzero(horizontal) == 1 and np.count_nonzero(vertical) == 1
    # A faster dance has more kinetic energy, quadratically.
    fast = kinetic_features(swinging_dance(8), FPS)
    slow = kinetic_features(swinging_dance(8) * 0.5, FPS)
    np.testing.assert_allclose(fast[:30], 4 * slow[:30])
    np.testing.assert_allclose(fast[30:], 2 * slow[30:])


def test_geometric_relations_measure_the_pose():
    pose = standing_pose()
    r = geometric_relations(pose[None])[0]
    assert r.shape == (N_GEOMETRIC // 2,)
    assert r[0] == pytest.approx(1.0)  # wrists 1 torso length apart
    assert r[1] == pytest.approx(0.4)  # ankles
    assert r[7] == pytest.approx(-1.0)  # right wrist one torso length BELOW its shoulder
    assert r[11] == pytest.approx(0.0)  # ankles level
    assert r[12] == pytest.approx(0.4)  # nose above neck
    assert r[13] == pytest.approx(0.0)  # upright torso
    assert r[20] == pytest.approx(np.pi, abs=1e-3) and r[21] == pytest.approx(np.pi, abs=1e-3)  # straight knees
    raised = pose.copy()
    raised[J['RWrist']] = (-0.5, -1.6)  # the right hand up above the head
    r_raised = geometric_relations(raised[None])[0]
    assert r_raised[7] == pytest.approx(0.6)
    # In pixels, twice as big and moved: the same relations (torso-length units).
    np.testing.assert_allclose(geometric_relations(raised[None] * 200 + 300)[0], r_raised, atol=1e-4)
    g = geometric_features(np.stack([pose, raised]))
    assert g.shape == (N_GEOMETRIC,)
    assert g[7] == pytest.approx(-0.2) and g[24 + 7] == pytest.approx(0.8)  # mean and std of the wrist height


def test_segments_and_dance_features():
    np.testing.assert_array_equal(segments(100, 10, 3.0), [[0, 30], [30, 60], [60, 90]])
    np.testing.assert_array_equal(segments(20, 10, 3.0), [[0, 20]])
    kinetic, geometric = dance_features(swinging_dance(25), FPS, segment_s=2.0)  # 10 s: 5 segments
    assert kinetic.shape == (5, N_KINETIC) and geometric.shape == (5, N_GEOMETRIC)
    np.testing.assert_allclose(kinetic, kinetic[:1].repeat(5, 0), rtol=1e-6)  # a steady dance: equal segments


# ---- FID, diversity, multimodality -----------------------------------------------------------------------------

def test_frechet_distance_of_known_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, (4000, 3))
    assert frechet_distance(a, rng.normal(0, 1, (4000, 3))) < 0.02
    # Means 2 apart in one dimension: |mu_a - mu_b|^2 = 4.
    assert frechet_distance(a, a + [2.0, 0, 0]) == pytest.approx(4.0, abs=1e-6)
    # Unit vs doubled std in every dimension: 3 * (1 + 4 - 2 * 2) = 3.
    assert frechet_distance(a, 2 * a) == pytest.approx(3.0 * np.mean(a.var(0)), rel=0.01)
    # Fewer samples than features: singular covariances still give a finite, symmetric distance.
    few_a, few_b = rng.normal(0, 1, (5, 20)), rng.normal(1, 1, (6, 20))
    d = frechet_distance(few_a, few_b)
    assert np.isfinite(d) and d == pytest.approx(frechet_distance(few_b, few_a), rel=1e-3)
    with pytest.raises(ValueError):
        frechet_distance(a[:1], a)


def test_fid_uses_the_reference_statistics():
    rng = np.random.default_rng(1)
    real = rng.normal([0, 100], [1, 50], (3000, 2))
    # A shift of one real std in each feature counts the same, whatever the feature's units.
    assert fid(real + [1, 0], real) == pytest.approx(1.0, rel=0.02)
    assert fid(real + [0, 50], real) == pytest.approx(1.0, rel=0.02)
    assert fid(real, real) == pytest.approx(0.0, abs=1e-6)
    assert fid(real + [1, 0], real, reference=real * 2) == pytest.approx(0.25, rel=0.02)
    np.testing.assert_allclose(standardize(real, real).std(0), 1.0)
    np.testing.assert_allclose(standardize([[5.0, 1.0]], [[5.0, 0.0], [5.0, 2.0]]), [[0.0, 0.0]])  # constant


def test_diversity_counts_only_pairs_of_different_dances():
    features = np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 4.0]])
    assert diversity(features, ['a', 'a', 'b']) == pytest.approx(5.0)  # the two (a, b) pairs are 5 apart
    assert diversity(features, ['a', 'b', 'c']) == pytest.approx((0 + 5 + 5) / 3)
    assert np.isnan(diversity(features, ['a', 'a', 'a']))
    same = np.zeros((4, 2))
    assert diversity(same, [0, 1, 2, 3]) == 0.0  # every dance alike: no diversity


def test_multimodality_compares_segments_at_the_same_time():
    one = np.array([[0.0, 0.0], [1.0, 0.0]])
    assert multimodality([one, one]) == 0.0
    assert multimodality([one, one + [0, 2], one + [0, 4]]) == pytest.approx((2 + 4 + 2) / 3)
    assert multimodality([one, np.array([[0.0, 1.0]])]) == pytest.approx(1.0)  # shortest S
    with pytest.raises(ValueError):
        multimodality([one])


# ---- music responsiveness --------------------------------------------------------------------------------------

def test_style_accuracy_tells_styles_apart_and_chance_when_not():
    rng = np.random.default_rng(0)
    labels = np.repeat(['slow', 'fast'], 40)
    features = np.where(labels[:, None] == 'fast', 3.0, 0.0) + rng.normal(0, 0.5, (80, 4))
    test_labels = np.repeat(['slow', 'fast'], 20)
    good = np.where(test_labels[:, None] == 'fast', 3.0, 0.0) + rng.normal(0, 0.5, (40, 4))
    same = np.full((40, 4), 1.5)  # one dance for every song
    scores = style_accuracy(features, labels, {'good': (good, test_labels), 'same': (same, test_labels)})
    assert scores['good'] > 0.95
    assert scores['same'] == pytest.approx(0.5)  # one class for all: half right


# ---- body plausibility -----------------------------------------------------------------------------------------

def test_mean_jerk_of_a_cubic_and_of_noise():
    t = np.arange(30) / FPS
    poses = np.zeros((30, 15, 2))
    poses[:, :, 0] = (t ** 3)[:, None]  # third derivative 6 everywhere
    assert mean_jerk(poses, FPS) == pytest.approx(6.0, rel=1e-6)
    smooth = mean_jerk(swinging_dance(8), FPS)
    noisy = mean_jerk(swinging_dance(8) + np.random.default_rng(0).normal(0, 1, (96, 15, 2)), FPS)
    assert noisy > 10 * smooth


def test_limb_excess_rate_counts_frames_with_a_too_long_bone():
    real = np.repeat(standing_pose()[None], 10, axis=0)
    longest = bone_lengths(real).max(0)
    dance = real.copy()
    dance[2, J['RWrist'], 1] += 0.5  # forearm stretched in 2 of 10 frames
    dance[7, J['LAnkle'], 1] += 0.01
    assert limb_excess_rate(dance, longest) == pytest.approx(0.2)
    assert limb_excess_rate(real, longest) == 0.0


# ---- what a viewer sees: travel, smoothing, both BAS directions, the circular null --------------------------------

def test_in_torso_lengths_keeps_the_root_and_root_travel_measures_it():
    poses = np.repeat(standing_pose()[None], 50, axis=0) * 120 + [300, 200]  # torso 120 px
    poses[:, :, 0] += np.arange(50)[:, None] * 6.0  # walks right 6 px a frame: 0.05 torso lengths, 1.5 per s at 30
    view = in_torso_lengths(poses)
    assert view[0, J['MidHip'], 0] == pytest.approx(300 / 120)  # not centred
    travel = root_travel(view, FPS)
    assert travel['root_speed'] == pytest.approx(1.5, rel=1e-6)  # the smoothing keeps a steady walk steady
    assert travel['floor_width'] == pytest.approx(49 * 0.05, rel=1e-6)
    # Kinetic features see the walk: every joint's horizontal energy is (1.5)^2 / 2.
    k = kinetic_features(view, FPS)
    np.testing.assert_allclose(feature_group(k, KINETIC_GROUPS, 'horizontal_energy'), 0.5 * 1.5 ** 2, rtol=1e-6)
    np.testing.assert_allclose(feature_group(k, KINETIC_GROUPS, 'vertical_energy'), 0.0, atol=1e-12)


def test_smoothing_hides_jitter_from_kinetic_features_but_not_from_jerk():
    clean = swinging_dance(40) / 100  # torso lengths
    noisy = clean + np.random.default_rng(0).normal(0, 0.02, clean.shape)
    raw_clean, raw_noisy = kinetic_features(clean, FPS, smooth_s=0), kinetic_features(noisy, FPS, smooth_s=0)
    smooth_clean, smooth_noisy = kinetic_features(clean, FPS), kinetic_features(noisy, FPS)
    acceleration = KINETIC_GROUPS['acceleration']
    raw_change = np.abs(raw_noisy[acceleration] / raw_clean[acceleration] - 1).mean()
    smooth_change = np.abs(smooth_noisy[acceleration] / smooth_clean[acceleration] - 1).mean()
    assert raw_change > 5 * smooth_change and smooth_change < 0.5
    assert mean_jerk(noisy, FPS) > 10 * mean_jerk(clean, FPS)
    np.testing.assert_allclose(smooth_in_time(clean[:, 0, 0], FPS, 0), clean[:, 0, 0])


def test_fact_bas_averages_over_motion_beats():
    music = np.array([1.0, 2.0, 3.0, 4.0])
    motion = np.array([1.0, 2.05])  # both motion beats near a music beat; two music beats without a move
    g = np.exp(-0.05 ** 2 / (2 * 0.05 ** 2))
    assert beat_align_score_fact(motion, music) == pytest.approx((1 + g) / 2)
    assert beat_align_score(motion, music) < 0.6  # Bailando's direction counts the music beats left alone
    assert np.isnan(beat_align_score_fact([], music)) and beat_align_score_fact(motion, []) == 0.0
    # Seconds, not frames: the same timing at 25 and 60 fps scores the same.
    m25 = beat_metrics(swinging_dance(8, fps=25), 25, inner_beats(8))
    m60 = beat_metrics(swinging_dance(8, fps=60), 60, inner_beats(8))
    assert m25['bas_fact'] == pytest.approx(m60['bas_fact'], abs=0.02) and m25['bas_fact'] > 0.9


def test_circular_null_keeps_tempo_and_loses_phase():
    beats = inner_beats(40)
    shifted = circular_shifted_beats(beats, 40 * BEAT_S, 1.1)
    assert len(shifted) == len(beats) and np.all(np.diff(shifted) >= 0) and shifted.max() < 40 * BEAT_S
    np.testing.assert_allclose(np.sort(np.diff(shifted))[1:-1], BEAT_S, atol=1e-9)  # the wrap aside, same tempo
    offsets = circular_offsets_s(16.0, 8, seed=3)
    assert len(offsets) == 8 and offsets.min() >= 1.6 and offsets.max() <= 14.4
    np.testing.assert_array_equal(offsets, circular_offsets_s(16.0, 8, seed=3))
    m = beat_metrics(swinging_dance(40), FPS, beats)
    assert m['bas'] > 0.95 and m['bas_circular'] < 0.6 and m['bas_fact_circular'] < 0.6


# ---- intervals and the resampled FID / diversity ------------------------------------------------------------------

def test_bootstrap_interval_covers_the_true_mean():
    rng = np.random.default_rng(0)
    values = rng.normal(5.0, 1.0, 40)
    low, high = bootstrap_interval(values, seed=1)
    assert low < 5.0 < high
    assert high - low == pytest.approx(2 * 1.96 / np.sqrt(40), rel=0.3)
    assert bootstrap_interval(values, seed=1) == (low, high)  # seeded
    # Over many samples, a 95 % interval covers the true mean about 95 % of the time.
    covered = [lo < 5.0 < hi for lo, hi in (bootstrap_interval(rng.normal(5.0, 1.0, 30), n_resamples=300, seed=k)
                                            for k in range(150))]
    assert 0.85 <= np.mean(covered) <= 1.0
    # A statistic of the resampled items: the same as the values' mean when it is their mean.
    same = bootstrap_interval(lambda index: float(values[index].mean()), len(values), seed=1)
    assert same == pytest.approx((low, high))
    with pytest.raises(ValueError):
        bootstrap_distribution(lambda index: 0.0)
    # Re-centred on 0: the draws minus their median 2.5, then the central half.
    assert percentile_interval([1.0, 2.0, 3.0, 10.0], confidence=0.5, centre=0.0) == pytest.approx((-0.75, 2.25))


def test_resampled_fid_and_diversity_equal_the_direct_ones():
    rng = np.random.default_rng(2)
    features = rng.normal(0, 1, (60, 5)) * [1, 2, 3, 1, 1]
    groups = np.repeat(['a', 'b', 'c', 'd', 'e', 'f'], 10)
    names = ['a', 'b', 'c', 'd', 'e', 'f']
    real = rng.normal(0.5, 1, (80, 5))
    cov = np.cov(real, rowvar=False)
    reference = (real.mean(0), cov, psd_sqrt(cov))
    moments, sums = group_moments(features, groups, names), group_distance_sums(features, groups, names)
    weights = np.array([2, 0, 1, 0, 3, 0])  # a resample: a twice, c once, e three times
    chosen = np.concatenate([np.flatnonzero(groups == n) for n, w in zip(names, weights) for _ in range(w)])
    assert frechet_to_reference(*resampled_gaussian(*moments, weights), *reference) == pytest.approx(
        frechet_distance(features[chosen], real))
    assert resampled_diversity(*sums, weights) == pytest.approx(diversity(features[chosen], groups[chosen]))
    assert resampled_diversity(*sums, np.ones(6)) == pytest.approx(diversity(features, groups))
    assert np.isnan(resampled_diversity(*sums, [3, 0, 0, 0, 0, 0]))  # one dance: no pair of different dances
