"""bench.py end to end on a tiny synthetic dataset (test_cluster.write_dataset): a dancer generated in-process, a
dancer without a model (a note, not a crash), every figure with its interval, the sanity table, the targets, the
figures, and a test dance without music features."""
import json
import os

import numpy as np
import pytest

from conftest import module_roots, run_script
from l2d.io import data_dir, load_poses, out_dir
from test_cluster import FPS, write_dataset
from test_train_eval import write_click_song

# 'gan' has no checkpoint here and 'nobody' is no dancer: both must turn into notes.
BENCH = ('--dataset=tiny', '--dancers=random_moves,gan,nobody', '--samples=2', '--segment_s=2.0', '--resamples=50',
         '--video=False')
CONTROLS = ['split_half', 'jittered', 'slowed', 'amplitude_halved', 'frozen', 'reversed', 'mirrored',
            'other_song_beats']


@pytest.fixture(scope='module')
def benched(tmp_path_factory):
    """A tiny dataset with test songs and a move vocabulary, benchmarked; yields (out root, stdout)."""
    root = tmp_path_factory.mktemp('bench')
    with module_roots(root):
        write_dataset('tiny', n_train=6, n_test=3)
        for clip in ('song_06', 'song_07', 'song_08'):
            poses = load_poses(data_dir('tiny', 'poses', clip + '.npz'))['poses']
            write_click_song(data_dir('tiny', 'audio', clip + '.wav'), len(poses) / FPS, (100, 125)[int(clip[-1]) % 2])
        run_script('cluster.py', '--dataset=tiny', '--unit=beats', '--n_moves=4', '--n_init=1', '--gallery=False')
        proc = run_script('bench.py', *BENCH)
        yield root / 'out', proc.stdout


def load_report(out_root):
    with open(out_root / 'tiny' / 'report.json') as f:
        return json.load(f)


def test_rows_notes_and_intervals(benched):
    out_root, stdout = benched
    report = load_report(out_root)
    assert list(report['values']) == ['real', 'random_moves', *CONTROLS]
    assert set(report['notes']) == {'gan', 'nobody'} and 'gan: not benchmarked' in stdout
    for name, values in report['values'].items():
        for key in ('bas', 'bas_shifted', 'bas_circular', 'bas_fact', 'fid_k', 'fid_g', 'div_k', 'div_g',
                    'style_accuracy', 'root_speed', 'floor_width', 'mean_jerk'):
            if name == 'frozen' and key == 'bas_fact':
                continue  # no motion beat to average over
            assert np.isfinite(values[key]), (name, key)
            low, high = report['intervals'][name][key]
            assert low <= high, (name, key)
        assert values['n_segments'] > 0
    for key in ('bas', 'root_speed', 'mean_jerk', 'style_accuracy'):  # a mean over dances lies in its interval
        low, high = report['intervals']['real'][key]
        assert low - 1e-9 <= report['values']['real'][key] <= high + 1e-9
    generated = report['values']['random_moves']
    assert generated['multimodality_k'] > 0 and generated['speed_x_realtime'] > 0
    assert 'multimodality_k' not in report['values']['real']  # one real dance per song
    assert set(report['per_dance']['real']) == {'song_06', 'song_07', 'song_08'}


def test_sanity_rows_move_the_right_way(benched):
    report = load_report(benched[0])
    values = report['values']
    real = values['real']
    # The tiny dancer's MidHip never moves, so in training z-units 2 px of jitter on it is enormous: jitter is left
    # out here (test_controls.py asserts it on a travelling dancer).
    assert values['frozen']['fid_k'] > max(values[n]['fid_k'] for n in values if n not in ('frozen', 'jittered'))
    assert values['frozen']['div_k'] == pytest.approx(0.0, abs=1e-9) and values['frozen']['root_speed'] == 0.0
    assert values['jittered']['mean_jerk'] > 2 * real['mean_jerk']
    assert values['slowed']['fid_k'] > values['reversed']['fid_k']
    assert values['amplitude_halved']['div_k'] < real['div_k']
    # The synthetic dancer is slowest exactly on every beat: its own beats, not another song's or the nulls.
    assert real['bas'] > 0.5 > real['bas_shifted']
    assert real['bas'] > 1.3 * real['bas_circular']
    assert values['other_song_beats']['bas'] < real['bas']
    assert len(report['sanity']) == len(CONTROLS)


def test_report_and_figures(benched):
    out_root, _ = benched
    report = (out_root / 'tiny' / 'report.md').read_text()
    for text in ('| real |', '| random_moves |', '| frozen |', 'FID_k', 'BAS FACT', 'circular null', '## Sanity table',
                 '## Targets (issue 12)', 'FID_k <= 1.5x the real floor', '"segment_s": 2.0', 'gan**: not benchmarked',
                 'no difference'):
        assert text in report, text
    targets = load_report(out_root)['targets']['random_moves']
    assert any('circular-shift null' in line for line in targets)
    for figure in ('beats.png', 'kinetic.png'):
        with open(out_root / 'tiny' / figure, 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    assert not os.path.exists(out_root / 'tiny' / 'compare.mp4')  # --video=False


def test_a_test_dance_without_music_features_is_skipped(roots):
    write_dataset('tiny', n_train=3, n_test=3)
    os.remove(data_dir('tiny', 'music', 'song_04.npz'))
    proc = run_script('bench.py', '--dataset=tiny', '--dancers=', '--samples=0', '--video=False', '--segment_s=2.0',
                      '--resamples=20')
    assert 'skipping song_04' in proc.stdout and 'song_04.npz' in proc.stdout
    with open(out_dir('tiny', 'report.json')) as f:
        report = json.load(f)
    assert report['clips'] == ['song_03', 'song_05'] and 'random_moves' not in report['values']
