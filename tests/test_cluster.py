"""The move vocabulary: l2d.moves (cutting, music windows, joining) and cluster.py on a tiny synthetic dataset.

`write_dataset` builds a dataset whose dancer does one of a few known moves per two-beat clip, chosen by the music:
each move has its own band of mel bins that sounds during the clip. test_train_eval.py reuses it."""
import json
import os

import numpy as np
import pytest

from conftest import run_script, shared_path
from l2d.io import data_dir, load_poses, save_json, save_npz, save_poses
from l2d.moves import (beat_bounds, clip_bounds, cut_clips, dance_bounds, human_moves_at, join_clips, load_moves,
                       music_windows, resample_time)
from l2d.skeleton import J

FPS = 30
# A standing figure in torso lengths, MidHip at the origin, y down.
STANDING = np.array([[0, -1.35], [0, -1], [-0.35, -1], [-0.45, -0.55], [-0.5, -0.1], [0.35, -1], [0.45, -0.55],
                     [0.5, -0.1], [0, 0], [-0.18, 0], [-0.2, 0.9], [-0.2, 1.8], [0.18, 0], [0.2, 0.9], [0.2, 1.8]],
                    np.float32)
LIMBS = [J[n] for n in ('RElbow', 'RWrist', 'LElbow', 'LWrist', 'RKnee', 'RAnkle', 'LKnee', 'LAnkle')]


def move_offsets(n_moves, seed=7):
    """A displacement of the limbs for each synthetic move, (n_moves, 15, 2) torso lengths, well apart."""
    rng = np.random.default_rng(seed)
    offsets = np.zeros((n_moves, 15, 2), np.float32)
    offsets[:, LIMBS] = rng.normal(0, 0.5, (n_moves, len(LIMBS), 2))
    return offsets


def synthetic_song(moves, bpm, fps=FPS, lead_s=0.3, tail_s=0.4, n_moves=4, seed=0):
    """A song and its dance: two beats per move, the move's mel band loud while it lasts.

    -> (poses (T, 15, 2) pixels, music dict as process_waves.py writes it)."""
    rng = np.random.default_rng(seed)
    beat_s = 60.0 / bpm
    beat_times_s = lead_s + beat_s * np.arange(2 * len(moves) + 1)
    n_frames = int(round((beat_times_s[-1] + tail_s) * fps))
    t = np.arange(n_frames) / fps
    offsets = move_offsets(n_moves)
    normed = np.repeat(STANDING[None], n_frames, axis=0)
    mel_db = rng.normal(-60, 2, (n_frames, 128)).astype(np.float32)
    for i, m in enumerate(moves):
        start, end = beat_times_s[2 * i], beat_times_s[2 * i + 2]
        inside = (t >= start) & (t < end)
        phase = (t[inside] - start) / (end - start)
        # The move's pose swells and fades over the clip (still on every beat), while the limbs circle once a beat
        # with a speed of 1 - cos(beat phase): the dancer is slowest exactly on the beats.
        normed[inside] += offsets[m] * np.sin(np.pi * phase)[:, None, None] ** 2
        q = (2 * phase) % 1
        turn = 2 * np.pi * (q - np.sin(2 * np.pi * q) / (2 * np.pi))
        circle = 0.15 * np.stack([np.cos(turn) - 1, np.sin(turn)], axis=-1)
        normed[np.ix_(inside, LIMBS)] += circle[:, None, :]
        mel_db[inside, 10 + 25 * m: 30 + 25 * m] += 40
    beats = np.zeros(n_frames, np.float32)
    beats[np.clip(np.round(beat_times_s * fps).astype(int), 0, n_frames - 1)] = 1
    onset = beats * 5 + rng.uniform(0, 0.2, n_frames).astype(np.float32)
    poses = normed * 100 + np.array([320, 300], np.float32) + rng.normal(0, 0.3, normed.shape).astype(np.float32)
    music = dict(mel_db=mel_db, tempogram=rng.uniform(0, 1, (n_frames, 384)).astype(np.float32),
                 onset_strength=onset, beats=beats, beat_times_s=beat_times_s.astype(np.float32),
                 tempo_bpm=np.float32(bpm), fps=np.float32(fps))
    return poses.astype(np.float32), music


def write_dataset(dataset, n_train=6, n_test=2, moves_per_song=6, n_moves=4, seed=0):
    """Write poses/, music/ and meta.json of a synthetic dataset under data_dir(dataset). Songs alternate between
    two tempi; each song draws its moves at random. Returns {clip: true move sequence}."""
    rng = np.random.default_rng(seed)
    truth, clips = {}, {}
    for i in range(n_train + n_test):
        name = f"song_{i:02d}"
        moves = rng.integers(0, n_moves, moves_per_song).tolist()
        poses, music = synthetic_song(moves, bpm=(100, 125)[i % 2], n_moves=n_moves, seed=seed * 100 + i)
        save_poses(data_dir(dataset, 'poses', name + '.npz'), poses, np.ones(poses.shape[:2]), FPS, 'synthetic')
        save_npz(data_dir(dataset, 'music', name + '.npz'), **music)
        truth[name] = moves
        clips[name] = {'label': f"tempo{i % 2}", 'split': 'train' if i < n_train else 'test'}
    save_json(data_dir(dataset, 'meta.json'), {'label_kind': 'style', 'fps': FPS, 'clips': clips})
    return truth


# ---- l2d.moves ----------------------------------------------------------------------------------------------------

def test_resample_time_keeps_a_clip_and_its_span():
    x = np.arange(10, dtype=np.float32)
    assert np.array_equal(resample_time(x, 10), x)
    up = resample_time(x, 20)
    assert up.shape == (20,) and up[0] == 0 and up[-1] == 9 and np.all(np.diff(up) >= 0)
    assert resample_time(x, 5) == pytest.approx([0.5, 2.5, 4.5, 6.5, 8.5])
    eased = resample_time(x, 20, ease=1.0)  # at rest at both ends, fastest in the middle
    steps = np.diff(eased)
    assert eased[0] == 0 and eased[-1] == pytest.approx(9, abs=0.1) and np.all(steps >= 0)
    assert steps[0] < 0.2 * steps.max() and steps[-1] < 0.2 * steps.max() and steps.argmax() in (9, 10)


def test_clip_bounds_in_seconds_and_beats():
    assert clip_bounds(95, 30, 'seconds', clip_s=1.0).tolist() == [[0, 30], [30, 60], [60, 90]]
    beats = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    assert clip_bounds(100, 30, 'beats', beats_per_clip=2, beat_times_s=beats).tolist() == [[15, 45], [45, 75]]
    assert beat_bounds([0.5, 1.0, 9.0], 30, 100, 1).tolist() == [[15, 30]]  # a beat past the end is dropped
    with pytest.raises(ValueError):
        clip_bounds(100, 30, 'bars')


def test_dance_bounds_land_on_beats_and_cover_the_song():
    beats = np.arange(0.4, 9.6, 0.48)
    bounds = dance_bounds(300, 30, 'seconds', clip_s=1.0, beat_times_s=beats)
    beat_frames = set(np.round(beats * 30).astype(int).tolist())
    assert np.all(bounds[1:, 0] == bounds[:-1, 1])
    assert bounds[-1, 1] == 300
    assert all(int(s) in beat_frames for s in bounds[:, 0])
    in_beats = dance_bounds(300, 30, 'beats', beats_per_clip=2, beat_times_s=beats)
    assert set(in_beats.ravel().tolist()) <= beat_frames and len(in_beats) == 9
    # No beat found: a steady grid of the training tempo stands in.
    steady = dance_bounds(90, 30, 'beats', beats_per_clip=2, beat_times_s=[], beat_s=0.5)
    assert steady.tolist() == [[0, 30], [30, 60], [60, 90]]


def test_music_windows_average_bins_and_pad_outside_the_song():
    features = np.arange(20, dtype=np.float32)[:, None]  # row t = value t, at 10 rows per second
    w = music_windows(features, 10, [0.5], [1.0], context=1.0, n_rows=3)
    assert w.shape == (1, 3, 1)
    assert w[0, :, 0] == pytest.approx([2, 7, 12])  # bins [0, .5), [.5, 1), [1, 1.5) s
    edge = music_windows(features, 10, [0.0], [0.5], context=1.0, n_rows=3)
    assert edge[0, 0, 0] == 0 and edge[0, 1, 0] == pytest.approx(2)
    assert music_windows(features, 10, [1.5], [2.0], 1.0, 3)[0, 2, 0] == 0


def test_join_clips_stretches_clips_and_never_jumps():
    rng = np.random.default_rng(0)
    # Smooth clips whose ends are far apart: a 2-torso-length jump at each boundary without blending.
    drift = np.linspace(0, 0.1, 8, dtype=np.float32)[None, :, None, None]
    clips = (np.array([0, 2, 0], np.float32)[:, None, None, None] + drift
             + rng.normal(0, 0.01, (3, 1, 15, 2)).astype(np.float32))
    bounds = np.array([[5, 20], [20, 30], [30, 50]])
    dance = join_clips(clips, bounds, 60, blend_frames=4)
    assert dance.shape == (60, 15, 2)
    assert np.array_equal(dance[0], dance[4]) and np.array_equal(dance[55], dance[59])  # held outside the clips
    steps = np.abs(np.diff(dance, axis=0)).max()
    assert steps < 0.25 * 2
    assert np.allclose(dance[19], dance[20], atol=1e-6)  # the clips meet half way, at rest on the boundary
    assert np.ptp(join_clips(clips, bounds, 60, blend_frames=0)[19:21]) > 1.8  # no blend: the jump
    # Away from the boundaries a clip is the centroid stretched to its span.
    assert np.allclose(dance[8:12], resample_time(clips[0], 15)[3:7], atol=1e-6)


def test_human_moves_at_centre_times():
    labels = human_moves_at([0.1, 1.1, 2.9, 3.5, -1], ['a', 'b', 'c'], [2, 1, 3], beat_s=0.5)
    assert labels == ['a', 'b', 'c', None, None]


def test_cut_clips_resamples_each_span():
    poses = np.arange(40, dtype=np.float32)[:, None, None] * np.ones((1, 15, 2), np.float32)
    clips = cut_clips(poses, [[0, 10], [10, 30]], 5)
    assert clips.shape == (2, 5, 15, 2)
    assert clips[1, :, 0, 0] == pytest.approx([11.5, 15.5, 19.5, 23.5, 27.5])


# ---- cluster.py ---------------------------------------------------------------------------------------------------

def test_cluster_finds_the_synthetic_moves(roots):
    truth = write_dataset('tiny')
    before = {n: open(data_dir('tiny', 'poses', n + '.npz'), 'rb').read() for n in truth}
    proc = run_script('cluster.py', '--dataset=tiny', '--unit=beats', '--n_moves=4', '--n_init=2')
    assert 'inertia' in proc.stdout and 'cluster sizes' in proc.stdout
    moves = load_moves(data_dir('tiny', 'moves.npz'))
    assert moves['centroids'].shape[:1] == (4,) and moves['centroids'].shape[2:] == (15, 2)
    assert moves['unit'] == 'beats' and moves['settings']['n_moves'] == 4
    # Every clip of every dance (test split too) is labelled, and clusters are the true moves up to renaming.
    assert set(moves['dances']) == set(truth)
    for name, seq in truth.items():
        labels = moves['dances'][name]['labels']
        assert len(labels) == len(seq)
    pairs = {(t, int(l)) for n, seq in truth.items() for t, l in zip(seq, moves['dances'][n]['labels'])}
    assert len(pairs) == 4 and len({t for t, _ in pairs}) == 4
    assert os.path.getsize(os.path.join(roots[1], 'tiny', 'moves.png')) > 5000
    assert all(open(data_dir('tiny', 'poses', n + '.npz'), 'rb').read() == b for n, b in before.items())


def test_cluster_one_second_clips_and_bad_input(roots):
    write_dataset('tiny', n_train=4, n_test=1)
    with open(data_dir('tiny', 'poses', 'song_01.npz'), 'wb') as f:
        f.write(b'not a pose file')
    os.remove(data_dir('tiny', 'music', 'song_02.npz'))  # only 'beats' needs the music
    proc = run_script('cluster.py', '--dataset=tiny', '--n_moves=200', '--gallery=False')
    assert 'song_01.npz: not a readable pose file' in proc.stdout
    assert 'K = ' in proc.stdout and 'instead of 200' in proc.stdout
    moves = load_moves(data_dir('tiny', 'moves.npz'))
    assert 'song_01' not in moves['dances'] and moves['clip_frames'] == FPS
    n_frames = len(load_poses(data_dir('tiny', 'poses', 'song_00.npz'))['poses'])
    assert len(moves['dances']['song_00']['labels']) == n_frames // FPS
    proc = run_script('cluster.py', '--dataset=tiny', '--unit=beats', '--gallery=False')
    assert 'song_02' in proc.stdout and 'process_waves.py' in proc.stdout
    assert not os.path.exists(os.path.join(roots[1], 'tiny', 'moves.png'))
    proc = run_script('cluster.py', '--dataset=nothing_here', check=False)
    assert proc.returncode != 0 and 'error:' in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_cluster_agreement_with_human_labels(roots, tmp_path):
    """Human labels in ChoreoNet's format that name exactly the synthetic moves give NMI 1."""
    truth = write_dataset('tiny', n_train=4, n_test=0)
    entries = []
    for name, seq in truth.items():
        beat_times = np.load(data_dir('tiny', 'music', name + '.npz'))['beat_times_s']
        beat_s = float(beat_times[1] - beat_times[0])
        lead_beats = beat_times[0] / beat_s  # labels start at frame 0: the lead-in is a "still" movement
        start, end = 0, int(round((beat_times[-1]) * 25))
        entries.append(dict(name=name.upper(), start_pos=start, end_pos=end,
                            movements=['still'] + [f"m{m}" for m in seq],
                            durations=[float(lead_beats)] + [2] * len(seq)))
    labels_dir = tmp_path / 'labels'
    labels_dir.mkdir()
    (labels_dir / 'W.json').write_text(json.dumps(entries))
    proc = run_script('cluster.py', '--dataset=tiny', '--unit=beats', '--n_moves=4', '--gallery=False',
                      f'--human_labels={labels_dir}')
    assert 'NMI 1.000' in proc.stdout
    agreement = json.loads(load_moves(data_dir('tiny', 'moves.npz'))['agreement'])
    assert agreement['nmi'] == pytest.approx(1.0) and agreement['n_clips'] == 4 * 6
    assert agreement['nmi_shuffled'] < 0.5


def test_choreonet_labels_cover_dance_with_melody():
    """The human labels place every Dance with Melody dance on its own beat grid (the decision cluster.py uses)."""
    labels_dir = shared_path('choreonet_labels')
    entries = {e['name']: e for t in 'CRTW' for e in json.load(open(os.path.join(labels_dir, t + '.json')))}
    dances = os.listdir(shared_path('dance_with_melody'))
    assert all(d in entries for d in dances if d.startswith('DANCE_'))
    for d in dances:
        if d.startswith('DANCE_'):
            config = json.load(open(os.path.join(labels_dir, '..', 'dance_with_melody', d, 'config.json')))
            assert entries[d]['start_pos'] == config['start_position']
