"""train.py and eval.py on a tiny synthetic dataset (test_cluster.write_dataset): learning, resuming, two-process
torchrun, a dance for songs longer and shorter than any in training, the test-split scores, and bad input."""
import json
import os
import shutil

import numpy as np
import pytest
import torch

from conftest import module_roots, run_script
from l2d.io import data_dir, load_poses, out_dir, save_wav, video_info
from test_cluster import FPS, write_dataset

# Small and quick: the synthetic moves are easy to hear.
TRAIN = ('--dataset=tiny', '--hidden=64', '--move_embed=16', '--learning_rate=0.005', '--dropout=0.1',
         '--val_fraction=0.2')
EPOCHS = 20


def write_click_song(path, seconds, bpm, sr=22050):
    """A click on every beat (from 0.25 s) over a quiet drone: a song with an obvious beat."""
    t = np.arange(int(seconds * sr)) / sr
    y = 0.05 * np.sin(2 * np.pi * 220 * t)
    click = 0.8 * np.exp(-np.arange(int(0.05 * sr)) / (0.01 * sr)) * np.sin(2 * np.pi * 1000 * t[:int(0.05 * sr)])
    for beat_s in np.arange(0.25, seconds, 60.0 / bpm):
        i = int(beat_s * sr)
        n = min(len(click), len(y) - i)
        y[i:i + n] += click[:n]
    save_wav(path, y.astype(np.float32), sr)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A clustered and trained tiny dataset (data and out under one temporary root); yields the root."""
    root = tmp_path_factory.mktemp('dancer')
    with module_roots(root):
        write_dataset('tiny')
        write_click_song(data_dir('tiny', 'audio', 'song_06.wav'), 8.0, 100)
        run_script('cluster.py', '--dataset=tiny', '--unit=beats', '--n_moves=4', '--n_init=2', '--gallery=False')
        run_script('train.py', *TRAIN, f'--epochs={EPOCHS}')
        yield root


def copy_dataset(trained, roots):
    """The trained fixture's data (not its checkpoint) in this test's own roots."""
    shutil.copytree(trained / 'data' / 'tiny', roots[0] / 'tiny')


def load_checkpoint(out_root=None):
    """The tiny dataset's checkpoint, under `out_root` (default: the current L2D_OUT)."""
    path = os.path.join(out_root, 'tiny', 'dancer', 'ckpt.pt') if out_root else out_dir('tiny', 'dancer', 'ckpt.pt')
    return torch.load(path, weights_only=False)


def test_training_learns_the_moves(trained):
    ckpt = load_checkpoint(trained / 'out')
    history = ckpt['history']
    assert [h['epoch'] for h in history] == list(range(1, EPOCHS + 1)) and ckpt['epoch'] == EPOCHS
    assert history[-1]['train_loss'] < 0.5 * history[0]['train_loss']
    assert history[-1]['train_accuracy'] > 0.6
    assert ckpt['settings']['epochs'] == EPOCHS and ckpt['model_args']['hidden'] == 64
    assert ckpt['music_mean'].shape == ckpt['music_std'].shape == (130,)
    assert ckpt['moves']['centroids'].shape[0] == 4 and len(ckpt['val_dances']) == 1


def test_resume_continues_where_it_stopped(trained, roots):
    """1 epoch, then a rerun to 2: it starts at epoch 2 and repeats the uninterrupted run exactly."""
    copy_dataset(trained, roots)
    run_script('train.py', *TRAIN, '--epochs=1')
    proc = run_script('train.py', *TRAIN, '--epochs=2')
    assert 'resuming from' in proc.stdout and 'at epoch 2' in proc.stdout
    assert 'epoch 1/' not in proc.stdout and 'epoch 2/2' in proc.stdout
    resumed = load_checkpoint()['history']
    straight = load_checkpoint(trained / 'out')['history'][:2]  # trained the same way, without a break
    assert len(resumed) == 2
    for a, b in zip(resumed, straight):
        assert a['train_loss'] == pytest.approx(b['train_loss'], rel=1e-5)
        assert a['val_loss'] == pytest.approx(b['val_loss'], rel=1e-5)


def test_torchrun_two_processes(trained, roots):
    copy_dataset(trained, roots)
    proc = run_script('train.py', *TRAIN, '--epochs=1', processes=2)
    assert '2 processes' in proc.stdout
    assert proc.stdout.count('epoch 1/1:') == 1  # only rank 0 reports
    ckpt = load_checkpoint()
    assert ckpt['epoch'] == 1 and np.isfinite(ckpt['history'][-1]['train_loss'])


def test_eval_scores_the_test_split(trained, monkeypatch):
    monkeypatch.setenv('L2D_DATA', str(trained / 'data'))
    monkeypatch.setenv('L2D_OUT', str(trained / 'out'))
    proc = run_script('eval.py', '--dataset=tiny')
    assert 'move accuracy' in proc.stdout
    report = json.load(open(out_dir('tiny', 'eval.json')))
    assert report['n_songs'] == 2 and report['n_clips'] == 12 and set(report['per_song']) == {'song_06', 'song_07'}
    assert report['move_accuracy'] >= 2 * report['majority_accuracy']
    # The synthetic dancers are slowest on the beats, and so are dances made of their moves.
    assert report['real_bas'] > 0.6 > report['real_bas_shifted']
    assert report['generated_bas'] > 0.6 > report['generated_bas_shifted']
    assert report['speed_x_realtime'] > 0 and report['settings']['seed'] == 0
    _, _, n_frames, has_audio = video_info(out_dir('tiny', 'dances', 'dancer', 'compare_song_06.mp4'))
    assert has_audio and abs(n_frames - len(load_poses(data_dir('tiny', 'poses', 'song_06.npz'))['poses'])) <= 2


@pytest.mark.parametrize('seconds', [21.0, 1.6])
def test_eval_dances_to_a_song_longer_or_shorter_than_training(trained, monkeypatch, tmp_path, seconds):
    monkeypatch.setenv('L2D_DATA', str(trained / 'data'))
    monkeypatch.setenv('L2D_OUT', str(trained / 'out'))
    song = str(tmp_path / f'click_{int(seconds)}.wav')
    write_click_song(song, seconds, 120)
    video = seconds < 5  # render only the short one: rendering is not what this tests
    proc = run_script('eval.py', '--dataset=tiny', f'--music={song}', f'--video={video}', '--seed=3')
    dance_path = out_dir('tiny', 'dances', 'dancer', f'click_{int(seconds)}.npz')
    assert dance_path in proc.stdout
    dance = load_poses(dance_path)
    poses, bounds, moves = dance['poses'], dance['bounds'], dance['moves']
    assert len(poses) == int(seconds * FPS) and dance['fps'] == FPS and np.isfinite(poses).all()
    assert len(moves) == len(bounds) >= 1 and set(moves.tolist()) <= set(range(4))
    beat_frames = set(np.round(dance['beat_times_s'] * FPS).astype(int).tolist())
    # Every move starts and ends on a beat, but the intro before the first and the ending after the last are danced.
    assert set(bounds[1:, 0].tolist()) <= beat_frames and bounds[0, 0] == 0 and bounds[-1, 1] == len(poses)
    torso = np.median(np.linalg.norm(poses[:, 1] - poses[:, 8], axis=-1))
    assert np.abs(np.diff(poses, axis=0)).max() < 0.35 * torso  # blended: no jump between moves
    assert dance['settings']['music'] == song and dance['settings']['seed'] == 3
    if video:
        _, _, n_frames, has_audio = video_info(out_dir('tiny', 'dances', 'dancer', f'click_{int(seconds)}.mp4'))
        assert has_audio and abs(n_frames - len(poses)) <= 2


def test_bad_input_gives_one_line(trained, roots, monkeypatch, tmp_path):
    def one_line_error(proc):
        assert proc.returncode != 0 and 'Traceback' not in proc.stderr
        # libmpg123 itself may print "Note: ..." lines while it tries a file that is not MP3.
        lines = [line for line in proc.stderr.strip().splitlines() if not line.startswith('Note: ')]
        assert len(lines) == 1 and lines[0].startswith('error:')
        return lines[0]
    assert 'python cluster.py' in one_line_error(run_script('train.py', '--dataset=tiny', check=False))
    assert 'python train.py' in one_line_error(run_script('eval.py', '--dataset=tiny', check=False))
    monkeypatch.setenv('L2D_OUT', str(trained / 'out'))
    not_audio = tmp_path / 'notes.mp3'
    not_audio.write_text('these are not sounds')
    message = one_line_error(run_script('eval.py', '--dataset=tiny', f'--music={not_audio}', check=False))
    assert str(not_audio) in message and 'decode' in message
    empty = tmp_path / 'empty.wav'
    save_wav(str(empty), np.zeros(0, np.float32), 22050)
    assert 'empty' in one_line_error(run_script('eval.py', '--dataset=tiny', f'--music={empty}', check=False))
