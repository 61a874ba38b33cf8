"""The sanity controls (l2d.controls) and the directions the metrics must move in on them, on real-like dances: a
constructed dancer that travels across the floor, swings its limbs in a beat-locked pattern of its own tempo and
amplitude, and carries a little frame-to-frame jitter."""
import numpy as np
import pytest

from l2d.controls import (amplitude_scaled, frozen, jittered, mirrored, paired_clips, reversed_in_time, slowed,
                          split_half)
from l2d.metrics import (beat_metrics, dance_features, diversity, fid, in_torso_lengths, mean_jerk, root_travel,
                         standardize)
from l2d.skeleton import FLIP_PERM, J, MIDHIP

FPS = 25
SEGMENT_S = 4.0
STANDING = np.array([[0, -1.35], [0, -1], [-0.35, -1], [-0.45, -0.55], [-0.5, -0.1], [0.35, -1], [0.45, -0.55],
                     [0.5, -0.1], [0, 0], [-0.18, 0], [-0.2, 0.9], [-0.2, 1.8], [0.18, 0], [0.2, 0.9], [0.2, 1.8]])
LIMBS = [J[n] for n in ('RElbow', 'RWrist', 'LElbow', 'LWrist', 'RKnee', 'RAnkle', 'LKnee', 'LAnkle')]


def travelling_dance(seed, seconds=24.0, torso_px=100.0):
    """A dance and its music beats: limbs circle once every two beats, still on the beats (a beat-locked pattern of the
    dance's own tempo, shape and size), the root walks back and forth across the floor, 0.3 px of jitter (little, as
    in motion capture). -> (poses (T, 15, 2) pixels, beat times (B,) s)."""
    rng = np.random.default_rng(seed)
    beat_s = 60.0 / rng.uniform(90, 130)
    t_s = np.arange(int(seconds * FPS)) / FPS
    beats = t_s / beat_s
    turn = np.pi * (beats - np.sin(2 * np.pi * beats) / (2 * np.pi))  # half a turn a beat, speed 0 on each beat
    normed = np.repeat(STANDING[None], len(t_s), axis=0)
    radius = rng.uniform(0.1, 0.5, len(LIMBS))
    phase = rng.uniform(0, 2 * np.pi, len(LIMBS))
    normed[:, LIMBS, 0] += radius * (np.cos(turn[:, None] + phase) - np.cos(phase))
    normed[:, LIMBS, 1] += radius * (np.sin(turn[:, None] + phase) - np.sin(phase))
    period_s = 8 * beat_s * rng.uniform(1, 2)
    root = np.stack([rng.uniform(1.5, 4) * np.sin(2 * np.pi * t_s / period_s), 0.1 * np.sin(np.pi * t_s / beat_s)], 1)
    poses = (normed + root[:, None]) * torso_px + [640, 400] + rng.normal(0, 0.3, normed.shape)
    return poses, np.arange(1, seconds / beat_s) * beat_s


@pytest.fixture(scope='module')
def dances():
    """({clip: (poses, beats)} of 6 training dances, the same of 6 test dances)."""
    train = {f'train_{i}': travelling_dance(i) for i in range(6)}
    test = {f'test_{i}': travelling_dance(100 + i) for i in range(6)}
    return train, test


def features(dances_px):
    """(kinetic (S, 45), geometric (S, 48), groups (S,)) of every segment of {clip: pixel poses}."""
    k, g, groups = [], [], []
    for clip, poses in dances_px.items():
        kinetic, geometric = dance_features(in_torso_lengths(poses), FPS, SEGMENT_S)
        k.append(kinetic)
        g.append(geometric)
        groups += [clip] * len(kinetic)
    return np.concatenate(k), np.concatenate(g), np.array(groups)


@pytest.fixture(scope='module')
def scored(dances):
    """FID_k (against the real test dances, z-normalised by training), Div_k, mean jerk and BAS of the real test
    dances and of each control, and the real floor (real test vs real train)."""
    train, test = dances
    train_k = features({c: p for c, (p, _) in train.items()})[0]
    real = {c: p for c, (p, _) in test.items()}
    real_k = features(real)[0]
    controls = {'real': real, 'jittered': {c: jittered(p, seed=k) for k, (c, p) in enumerate(real.items())},
                'slowed': {c: slowed(p) for c, p in real.items()},
                'amplitude_halved': {c: amplitude_scaled(p) for c, p in real.items()},
                'frozen': {c: frozen(p) for c, p in real.items()},
                'reversed': {c: reversed_in_time(p) for c, p in real.items()},
                'mirrored': {c: mirrored(p) for c, p in real.items()}}
    scores = {}
    for name, control in controls.items():
        k, _, groups = features(control)
        scores[name] = dict(
            fid_k=fid(real_k if name == 'real' else k, train_k if name == 'real' else real_k, train_k),
            div_k=diversity(standardize(k, train_k), groups),
            jerk=np.mean([mean_jerk(in_torso_lengths(p), FPS) for p in control.values()]),
            bas=np.mean([beat_metrics(in_torso_lengths(p), FPS, test[c][1])['bas'] for c, p in control.items()]))
    return scores


def test_jitter_does_not_look_like_dancing_but_trembles(scored):
    floor = scored['real']['fid_k']
    assert scored['jittered']['fid_k'] < floor  # 2 px moves FID_k by less than two real sets differ
    assert scored['jittered']['jerk'] > 3 * scored['real']['jerk']
    assert abs(scored['jittered']['div_k'] - scored['real']['div_k']) < 0.2 * scored['real']['div_k']


def test_frozen_is_the_worst_on_fid_and_diversity(scored):
    others = [s for name, s in scored.items() if name != 'frozen']
    assert scored['frozen']['fid_k'] > max(s['fid_k'] for s in others)
    assert scored['frozen']['div_k'] < min(s['div_k'] for s in others)
    assert scored['frozen']['div_k'] == pytest.approx(0.0, abs=1e-9) and scored['frozen']['bas'] == 0.0


def test_slowed_and_halved_are_worse_than_real(scored):
    floor = scored['real']['fid_k']
    assert scored['slowed']['fid_k'] > 2 * floor and scored['amplitude_halved']['fid_k'] > 2 * floor
    assert scored['slowed']['bas'] < 0.7 * scored['real']['bas']
    assert scored['amplitude_halved']['div_k'] < 0.8 * scored['real']['div_k']


def test_reversed_and_mirrored_stay_close_to_real_on_kinetic(scored):
    floor = scored['real']['fid_k']
    assert scored['reversed']['fid_k'] < floor and scored['mirrored']['fid_k'] < floor
    assert scored['mirrored']['div_k'] == pytest.approx(scored['real']['div_k'], rel=0.2)


def test_another_songs_beats_score_lower_than_the_own_songs(dances):
    _, test = dances
    periods = {c: np.median(np.diff(b)) for c, (_, b) in test.items()}
    pairs = paired_clips(periods)
    own = [beat_metrics(in_torso_lengths(p), FPS, b)['bas'] for p, b in test.values()]
    other = [beat_metrics(in_torso_lengths(p), FPS, test[pairs[c]][1])['bas'] for c, (p, _) in test.items()]
    assert np.mean(other) < 0.7 * np.mean(own)
    # ... and so does the circular-shift null of every dance.
    for p, b in test.values():
        m = beat_metrics(in_torso_lengths(p), FPS, b)
        assert m['bas_circular'] < m['bas'] and m['bas_fact_circular'] < m['bas_fact']


def test_controls_change_what_they_say():
    poses, _ = travelling_dance(3, seconds=8.0)
    first, second = split_half(poses)
    assert len(first) + len(second) == len(poses) and np.array_equal(second[0], poses[len(poses) // 2])
    slow = slowed(poses)
    assert slow.shape == poses.shape
    np.testing.assert_allclose(slow[::2], poses[:len(poses) // 2 + len(poses) % 2], atol=1e-3)
    np.testing.assert_allclose(slow[1], (poses[0] + poses[1]) / 2, atol=1e-3)
    halved = amplitude_scaled(poses)
    np.testing.assert_allclose(halved.mean(0), poses.mean(0), atol=1e-3)
    np.testing.assert_allclose(halved.std(0), poses.std(0) / 2, rtol=1e-3, atol=1e-4)
    still = frozen(poses)
    assert still.shape == poses.shape and np.ptp(still, axis=0).max() == 0
    assert root_travel(in_torso_lengths(still), FPS) == {'root_speed': 0.0, 'floor_width': 0.0}
    np.testing.assert_array_equal(reversed_in_time(poses)[0], poses[-1])
    flipped = mirrored(poses)
    np.testing.assert_allclose(flipped[:, :, 1], poses[:, FLIP_PERM, 1], atol=1e-3)
    np.testing.assert_allclose(flipped[:, MIDHIP, 0].mean(), poses[:, MIDHIP, 0].mean(), atol=1e-2)
    noisy = jittered(poses, seed=1)
    assert np.std(noisy - poses) == pytest.approx(2.0, rel=0.05)
    assert np.array_equal(noisy, jittered(poses, seed=1)) and not np.array_equal(noisy, jittered(poses, seed=2))


def test_paired_clips_picks_the_nearest_tempo():
    assert paired_clips({'a': 0.5, 'b': 0.6, 'c': 0.45, 'd': 1.0}) == {'a': 'c', 'b': 'a', 'c': 'a', 'd': 'b'}
    assert paired_clips({'a': float('nan'), 'b': float('nan')}) == {'a': 'b', 'b': 'a'}
    with pytest.raises(ValueError):
        paired_clips({'a': 0.5})
