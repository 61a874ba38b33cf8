import numpy as np
import pytest

from l2d.metrics import (HIT_TOLERANCE_S, beat_align_score, beat_coverage, beat_hit_rate, beat_metrics,
                         motion_beats, motion_speed, nearest_distance_s, shifted_beats)

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
