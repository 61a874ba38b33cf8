"""bench.py end to end on a tiny synthetic dataset (test_cluster.write_dataset): every dancer's row, the targets,
the figures, a model that is not trained yet, and a test dance without music features."""
import json
import os

import numpy as np
import pytest

from conftest import module_roots, run_script
from l2d.io import data_dir, load_poses, out_dir
from test_cluster import FPS, write_dataset
from test_train_eval import write_click_song

# 'gan' is not a model eval.py knows here (no checkpoint either): its row must turn into a note. The original design
# goes through the same eval.py route as any trained model, so it stands for the project's dancer too.
BENCH = ('--dataset=tiny', '--models=gan', '--original_epochs=3', '--original_context=2.0',
         '--original_music_rows=12', '--samples=2', '--segment_s=2.0', '--video=False')


@pytest.fixture(scope='module')
def benched(tmp_path_factory):
    """A tiny dataset with test songs and a move vocabulary, benchmarked; yields (data root, out root, stdout)."""
    root = tmp_path_factory.mktemp('bench')
    with module_roots(root):
        write_dataset('tiny')
        for clip in ('song_06', 'song_07'):
            poses = load_poses(data_dir('tiny', 'poses', clip + '.npz'))['poses']
            bpm = (100, 125)[int(clip[-1]) % 2]
            write_click_song(data_dir('tiny', 'audio', clip + '.wav'), len(poses) / FPS, bpm)
        run_script('cluster.py', '--dataset=tiny', '--unit=beats', '--n_moves=4', '--n_init=1', '--gallery=False')
        proc = run_script('bench.py', *BENCH)
        yield root / 'data', root / 'out', proc.stdout


def load_report(out_root):
    with open(out_root / 'tiny' / 'report.json') as f:
        return json.load(f)


def test_every_dancer_has_a_row_and_the_untrained_model_a_note(benched):
    _, out_root, stdout = benched
    report = load_report(out_root)
    assert list(report['rows']) == ['real', 'random_moves', 'original']
    assert 'gan' in report['notes'] and 'gan' in stdout  # said, not fatal
    for name, row in report['rows'].items():
        assert row['n_dances'] == 2
        for key in ('bas', 'bas_shifted', 'coverage', 'hit_rate', 'fid_k', 'fid_g', 'div_k', 'div_g', 'mean_jerk',
                    'limb_excess', 'bone_drift', 'style_accuracy'):
            assert np.isfinite(row[key]), (name, key)
    for name in ('random_moves', 'original'):
        assert report['rows'][name]['multimodality_k'] > 0
        assert report['rows'][name]['speed_x_realtime'] > 0
    assert 'multimodality_k' not in report['rows']['real']  # one real dance per song


def test_real_dances_are_on_the_beat_and_random_moves_are_not(benched):
    report = load_report(benched[1])
    real, random_moves = report['rows']['real'], report['rows']['random_moves']
    # The synthetic dancer is slowest exactly on every beat.
    assert real['bas'] > 0.6 > real['bas_shifted']
    assert real['hit_rate'] > 0.8 > real['hit_rate_shifted']
    assert random_moves['bas_ratio'] < real['bas_ratio']
    assert all(song['period_match'] != 'none' for song in report['per_song']['real'].values())
    # The real dances keep the real body: no bone longer than the longest real one, no size drift.
    assert real['limb_excess'] <= 0.05 and real['bone_drift'] < 0.1


def test_generated_dances_are_kept_with_the_settings_that_made_them(benched):
    _, out_root, _ = benched
    folder = out_root / 'tiny' / 'bench' / 'dances' / 'original'
    assert sorted(os.listdir(folder)) == ['song_06.npz', 'song_06_sample1.npz', 'song_07.npz']
    d = load_poses(str(folder / 'song_06_sample1.npz'))
    assert d['settings']['seed'] == 1001 and d['settings']['top_k'] == 5 and d['settings']['model'] == 'dancer'
    # The original design has its own 1-s vocabulary and checkpoint, beside (not over) the project's.
    original_moves = np.load(out_root / 'tiny' / 'bench' / 'original' / 'data' / 'tiny' / 'moves.npz')
    assert str(original_moves['unit']) == 'seconds'
    assert os.path.isfile(out_root / 'tiny' / 'bench' / 'original' / 'out' / 'tiny' / 'dancer' / 'ckpt.pt')
    assert str(np.load(benched[0] / 'tiny' / 'moves.npz')['unit']) == 'beats'


def test_report_and_figures(benched):
    _, out_root, _ = benched
    report = (out_root / 'tiny' / 'report.md').read_text()
    assert '| real |' in report and '| original |' in report and 'FID_k' in report
    assert '## Targets' in report and '**original**' in report and 'BAS >= 1.3 x off-beat BAS' in report
    assert '"segment_s": 2.0' in report  # the settings that made it
    for figure in ('beats.png', 'kinetic.png'):
        with open(out_root / 'tiny' / figure, 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    assert not os.path.exists(out_root / 'tiny' / 'compare.mp4')  # --video=False


def test_a_test_dance_without_music_features_is_skipped(roots):
    write_dataset('tiny', n_train=3, n_test=2)
    os.remove(data_dir('tiny', 'music', 'song_04.npz'))
    proc = run_script('bench.py', '--dataset=tiny', '--models=', '--original=False', '--samples=0', '--video=False',
                      '--segment_s=2.0')
    assert 'skipping song_04' in proc.stdout and 'song_04.npz' in proc.stdout
    with open(out_dir('tiny', 'report.json')) as f:
        report = json.load(f)
    assert list(report['rows']) == ['real'] and report['rows']['real']['n_dances'] == 1
    assert 'random_moves' in report['notes']  # not clustered
