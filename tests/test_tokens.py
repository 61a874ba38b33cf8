"""The token dancer: models/tokens.py's helpers and networks, train_vqvae.py and train_gpt.py on a tiny synthetic
dataset (test_cluster.write_dataset), resuming, and a dance for a song longer than any in training."""
import os

import numpy as np
import pytest
import torch

torch.set_num_threads(1)

from conftest import module_roots, run_script
from l2d.io import data_dir, load_json, out_dir
from l2d.metrics import beat_metrics
from l2d.norm import root_track
from models.tokens import (RHYTHM_BEATS, EMAQuantizer, MotionVQVAE, MusicGPT, beat_phase, energy_log_ratio,
                           gpt_weights, mirror_features, motion_features, motion_from_features, nearest_style,
                           positions_hidden, sample_tokens, snap_to_beats, song_descriptor, token_music,
                           training_collapsed, with_neighbours)
from test_cluster import FPS, STANDING, write_dataset

VQVAE = ('--dataset=tiny', '--hidden=32', '--code_dim=16', '--n_codes=32', '--n_books=2', '--residual=True',
         '--pose_in_torso_lengths=True', '--energy_weight=0.1', '--window_frames=32', '--batch_size=8', '--log_every=5',
         '--ckpt_every=10', '--picture_codes=4')
GPT = ('--dataset=tiny', '--n_embd=32', '--n_layer=1', '--n_head=2', '--block_size=16', '--batch_size=8',
       '--log_every=5', '--ckpt_every=10', '--grid_shifts=2')
STEPS = 20


def constructed_dance(n_frames=240, fps=FPS, seed=0):
    """Pixel poses of a dancer swinging arms and legs at two speeds and walking to the right and back:
    (n_frames, 15, 2) pixels, torso 100 px."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames) / fps
    normed = np.repeat(STANDING[None], n_frames, 0)
    for joint, (hz, phase) in zip((4, 7, 11, 14), rng.uniform((0.5, 0), (1.5, 6), (4, 2))):
        normed[:, joint, 0] += 0.4 * np.sin(2 * np.pi * hz * t + phase)
        normed[:, joint, 1] += 0.2 * np.cos(2 * np.pi * hz * t + phase)
    root = np.stack([300 + 80 * np.sin(2 * np.pi * t / 8), 250 + 0 * t], 1)
    return (normed * 100 + root[:, None]).astype(np.float32)


def test_motion_features_round_trip_and_mirror():
    poses = constructed_dance()
    features = motion_features(poses, FPS, root_smooth_s=0)
    assert features.shape == (240, 32) and np.all(features[0, 30:] == 0)
    normed, root_tl = motion_from_features(features)
    assert np.allclose(root_tl, root_track(poses), atol=1e-4)
    jittery = poses + np.random.default_rng(0).normal(0, 3, (len(poses), 1, 2)).astype(np.float32)
    _, smoothed = motion_from_features(motion_features(jittery, FPS))  # 3 px of jitter on a 100 px torso

    def travel_error(track):  # away from the two ends, where smoothing has only one side to go on
        return np.abs((track - track[10]) - (root_track(poses) - root_track(poses)[10]))[10:-10].max()
    assert travel_error(smoothed) < 0.05 < travel_error(root_track(jittery))
    assert np.allclose(normed[:, 8], 0) and np.allclose(normed[:, 1], STANDING[1], atol=1e-3)  # MidHip, Neck
    mirrored = mirror_features(features)
    assert np.allclose(mirrored[:, 30], -features[:, 30]) and np.allclose(mirror_features(mirrored), features)
    # The dancer's right wrist (4) swings as the mirror image of its left wrist (7).
    assert np.allclose(mirrored[:, 2 * 7], -features[:, 2 * 4])


def test_token_music_beats_phase_and_padding():
    n = 40
    music = dict(mel_db=np.tile(np.arange(128, dtype=np.float32), (n, 1)), onset_strength=np.zeros(n, np.float32),
                 beats=np.zeros(n, np.float32), beat_times_s=np.array([0.5, 1.0]), fps=20.0)
    music['beats'][[10, 20]] = 1
    rows = token_music(music, n_tokens=12, frames_per_token=4)  # 48 frames: 8 past the song's end
    assert rows.shape == (12, 20)
    assert rows[:, 16].tolist() == [0] * 12  # onsets
    assert np.flatnonzero(rows[:, 17]).tolist() == [2, 5]  # the tokens holding frames 10 and 20
    assert rows[0, 0] == pytest.approx(3.5) and rows[0, 15] == pytest.approx(123.5)  # mel pooled into 16 bands
    assert beat_phase([0.5, 0.75, 1.25, 0.25], [0.5, 1.0]) == pytest.approx([0, 0.5, 0.5, 0.5])
    assert with_neighbours(np.arange(3.0)[:, None], 1, 1).tolist() == [[0, 0, 1], [0, 1, 2], [1, 2, 2]]
    # The grid laid from frame 2: the beats at frames 10 and 20 fall in tokens 2 and 4, and the phases are those of
    # the song's time at each token's first frame (0.1 s, 0.3 s, 0.5 s against beats every 0.5 s).
    shifted = token_music(music, n_tokens=9, frames_per_token=4, start_frame=2)
    assert np.flatnonzero(shifted[:, 17]).tolist() == [2, 4]
    phases = [0.2, 0.6, 0.0]
    assert np.allclose(shifted[:3, 18], np.sin(2 * np.pi * np.array(phases)), atol=1e-6)
    assert np.allclose(shifted[:3, 19], np.cos(2 * np.pi * np.array(phases)), atol=1e-6)


def test_snap_to_beats_moves_motion_onto_the_beats():
    fps, period_s = 30, 0.6
    t = np.arange(300) / fps
    normed = np.repeat(STANDING[None], len(t), 0)
    # A wrist circling with pauses every period (its angular speed is 1 - cos), 0.1 s before each music beat.
    u = (t - 0.2) / period_s
    angle = np.pi * (u - np.sin(2 * np.pi * u) / (2 * np.pi))
    normed[:, 4] += 0.4 * np.stack([np.cos(angle), np.sin(angle)], 1)
    beats = np.arange(0.3, 9.8, period_s)
    before = beat_metrics(normed, fps, beats)['bas']
    snapped, root = snap_to_beats(normed, np.zeros((len(t), 2), np.float32), fps, beats)
    assert snapped.shape == normed.shape and root.shape == (len(t), 2)
    after = beat_metrics(snapped, fps, beats)
    assert before < 0.3 and after['bas'] > 0.8 and after['bas_shifted'] < 0.3
    assert np.allclose(snap_to_beats(normed, root, fps, [])[0], normed)  # no beats: unchanged


def test_song_descriptor_reads_the_metre_at_any_tempo():
    def song(period_s, bar_beats, fps=25.0):
        """A song whose onsets echo every bar of bar_beats beats, as a tempogram (T, 384) sees it."""
        lags_s = np.arange(384) / fps
        echo = np.cos(2 * np.pi * lags_s / (bar_beats * period_s)).clip(0) ** 8
        return dict(tempogram=np.tile(echo, (50, 1)), beat_times_s=np.arange(20) * period_s, tempo_bpm=0.0, fps=fps)

    waltz, slow_waltz, four = song(0.35, 3), song(0.7, 3), song(0.5, 4)
    assert song_descriptor(waltz).shape == (len(RHYTHM_BEATS) + 1,)
    assert np.allclose(song_descriptor(waltz)[:-1], song_descriptor(slow_waltz)[:-1], atol=0.1)
    assert song_descriptor(slow_waltz)[-1] == pytest.approx(np.log(0.7))
    at = {beats: i for i, beats in enumerate(RHYTHM_BEATS)}
    assert song_descriptor(waltz)[at[3]] > 0.9 > 0.1 > song_descriptor(four)[at[3]]
    assert song_descriptor(four)[at[4]] > 0.9 > 0.1 > song_descriptor(waltz)[at[4]]


def test_nearest_style():
    songs, styles = np.array([[0, 0], [1, 0], [-3, 0]]), np.array([0, 0, 1])
    assert nearest_style([3.0, 0.0], songs, styles, np.zeros(2), np.full(2, 2.0)) == 0
    assert nearest_style([-5.0, 0.0], songs, styles, np.full(2, 1.0), np.full(2, 2.0), min_songs=1) == 1
    assert nearest_style([-5.0, 0.0], songs, styles, np.full(2, 1.0), np.full(2, 2.0)) == 0  # one song: not picked
    mirrored = np.concatenate([songs, songs]), np.concatenate([styles, styles])  # still one song of style 1
    assert nearest_style([-5.0, 0.0], *mirrored, np.full(2, 1.0), np.full(2, 2.0)) == 0
    assert nearest_style([-5.0, 0.0], songs, np.array([0, 1, 2]), np.full(2, 1.0), np.full(2, 2.0)) == 2  # all one


def test_vqvae_reconstructs_a_constructed_motion():
    torch.manual_seed(0)
    features = motion_features(constructed_dance(480), FPS)
    mean, std = features.mean(0), features.std(0) + 1e-4
    x = torch.from_numpy((features - mean) / std)
    model = MotionVQVAE(hidden=32, code_dim=16, n_codes=64, downsample=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    for _ in range(150):
        starts = rng.integers(0, len(x) - 48, 8)
        batch = torch.stack([x[s:s + 48] for s in starts])
        out, _, commitment = model(batch)
        loss = torch.nn.functional.mse_loss(out, batch) + 0.02 * commitment
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        rebuilt = model.decode(model.tokens(x[None]))[0].numpy() * std + mean
    error_tl = np.linalg.norm((rebuilt[:, :30] - features[:, :30]).reshape(-1, 15, 2), axis=-1).mean()
    still_tl = np.linalg.norm((mean[:30] - features[:, :30]).reshape(-1, 15, 2), axis=-1).mean()
    print(f"joint error {error_tl:.4f} torso lengths, standing still {still_tl:.4f}")
    assert error_tl < 0.05 and error_tl < still_tl / 3  # torso lengths per joint
    assert len(np.unique(model.tokens(x[None]).numpy())) > 8  # no collapse onto a few codes


def test_energy_log_ratio_sees_shrunken_moves_not_a_shift():
    t = torch.linspace(0, 6.28, 64)
    real = torch.zeros(2, 64, 32)
    real[:, :, :30] = torch.sin(3 * t)[None, :, None]
    real[:, :, 30:] = 5.0  # root velocity: not a pose channel
    assert energy_log_ratio(real + 0.7, real).abs().max() < 1e-6
    halved = energy_log_ratio(real * 0.5, real)
    assert halved.shape == (2, 30) and torch.allclose(halved, torch.full_like(halved, np.log(0.25)), atol=0.01)
    assert energy_log_ratio(real * 0.5 + torch.randn(2, 64, 32) * 0.02, real, lag_frames=4).max() < -1


def test_training_collapse_is_a_frame_loss_that_rose_tenfold():
    learning = [0.6, 0.3, 0.1, 0.05, 0.04]
    assert not any(training_collapsed(learning[:i]) for i in range(len(learning) + 1))
    # Step 1000 of a run on Dance with Melody whose commitment weight was 0.25.
    assert training_collapsed(learning + [0.98])
    # A spike as high as one that a healthy run (8 residual books) came back from is not a collapse.
    assert not training_collapsed(learning + [0.25])


def test_product_quantiser_keeps_each_book_to_its_own_piece():
    torch.manual_seed(0)
    quantiser = EMAQuantizer(n_codes=4, dim=2, decay=0.5, n_books=2)
    centres = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    for _ in range(30):
        # Book 0's pieces lie around the unit square's corners, book 1's the same 100 further out.
        pieces = centres[torch.randint(4, (64, 2))] + 0.01 * torch.randn(64, 2, 2)
        pieces[:, 1] += 100
        quantised, codes, _ = quantiser(pieces.reshape(64, 4))
    assert codes.shape == (64, 2) and torch.allclose(quantised, quantiser.lookup(codes), atol=1e-5)
    books = quantiser.codebook.view(2, 4, 2)
    assert books[0].max() < 2 and books[1].min() > 98  # no code of one book was seeded from the other's pieces
    assert torch.allclose(quantised, pieces.reshape(64, 4), atol=0.1)  # every corner has its code


def test_residual_quantiser_rebuilds_what_one_book_cannot():
    torch.manual_seed(0)
    quantiser = EMAQuantizer(n_codes=4, dim=2, decay=0.5, n_books=2, residual=True)
    # 16 clusters: a coarse corner 10 apart plus a fine corner 1 apart; 4 codes alone leave the fine corner out.
    corners = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    for _ in range(40):
        z = 10 * corners[torch.randint(4, (64,))] + corners[torch.randint(4, (64,))] + 0.01 * torch.randn(64, 2)
        quantised, codes, _ = quantiser(z)
    assert codes.shape == (64, 2) and quantised.shape == (64, 2)
    assert torch.allclose(quantised, quantiser.lookup(codes), atol=1e-5)
    assert (quantised - z).abs().max() < 0.2  # every one of the 16 clusters rebuilt
    books = quantiser.codebook.view(2, 4, 2)
    assert books[0].abs().max() > 9 and books[1].abs().max() < 1  # book 1 holds what book 0 left: the fine step


@pytest.mark.parametrize('n_books', [1, 2])
def test_transformer_overfits_a_short_token_sequence_and_caches_exactly(n_books):
    torch.manual_seed(0)
    tokens = torch.from_numpy(np.random.default_rng(1).integers(0, 16, (24, n_books)))
    music = torch.randn(24, 6)
    previous = torch.cat([torch.full((1, n_books), 16), tokens[:-1]])[None]
    model = MusicGPT(16, 6, n_styles=0, block_size=24, n_layer=2, n_head=2, n_embd=32, dropout=0.0, n_books=n_books)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(150):
        logits = model(previous, music[None], torch.tensor([0]), tokens[None])[0]
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 16), tokens.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    assert loss.item() < 0.05
    assert sample_tokens(model, music, 0, top_k=1).tolist() == tokens.tolist()
    # The numpy positions of generation give torch's hidden state, a whole window at once or one position at a time.
    with torch.no_grad():
        condition = model.condition(music[None], torch.tensor([0]))[0].numpy()
        first_book = model(previous, music[None], torch.tensor([0]), tokens[None])[0, :, 0].numpy()
    weights, buffers = gpt_weights(model), np.zeros((2, 2, 2, 24, 16), np.float32)
    head = (weights['head.weight'][:, :16], weights['head.bias'][:16])
    at_once = positions_hidden(weights, 2, previous[0].numpy(), condition, *buffers, 0) @ head[0] + head[1]
    stepwise = [positions_hidden(weights, 2, previous[0, i:i + 1].numpy(), condition[i:i + 1], *buffers, i)[0]
                for i in range(24)]
    assert np.allclose(at_once, first_book, atol=1e-4)
    assert np.allclose(np.stack(stepwise) @ head[0] + head[1], first_book, atol=1e-4)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """Both stages trained on the tiny dataset (data and out under one temporary root); yields the root."""
    root = tmp_path_factory.mktemp('tokens')
    with module_roots(root):
        write_dataset('tiny')
        run_script('train_vqvae.py', *VQVAE, f'--max_steps={STEPS}')
        run_script('train_gpt.py', *GPT, f'--max_steps={STEPS}')
        yield root


def test_training_writes_reports_and_checkpoints(trained):
    with module_roots(trained):
        report = load_json(out_dir('tiny', 'vqvae', 'report.json'))
        assert report['step'] == STEPS and report['test']['dances'] == 2 and report['train']['dances'] == 6
        assert 0 < report['test']['joint_error_tl'] < 1 and 1 <= report['test']['perplexity'] <= 32
        assert 0 < report['test']['energy_ratio'] < 10
        assert os.path.isfile(out_dir('tiny', 'vqvae', 'codes.png'))
        gpt = torch.load(out_dir('tiny', 'gpt', 'ckpt.pt'), weights_only=False)
        vq = torch.load(out_dir('tiny', 'vqvae', 'ckpt.pt'), weights_only=False)
        assert gpt['codebook_id'] == vq['codebook_id'] and gpt['styles'] == ['tempo0', 'tempo1']
        assert gpt['history'][-1]['loss'] < gpt['history'][0]['loss']
        assert 'test_loss' in gpt['report'] and vq['placement']['scale'] > 0
        # 6 training dances, each also mirrored, each tokenised from its first frame and from half a token in.
        assert gpt['report']['train_sequences'] == 6 * 2 * 2


def test_resumed_run_continues_where_it_stopped(trained, tmp_path):
    with module_roots(tmp_path):
        write_dataset('tiny')
        run_script('train_vqvae.py', *VQVAE, f'--max_steps={STEPS // 2}')
        proc = run_script('train_vqvae.py', *VQVAE, f'--max_steps={STEPS}')
        assert 'resuming' in proc.stdout and f'at step {STEPS // 2}' in proc.stdout
        resumed = torch.load(out_dir('tiny', 'vqvae', 'ckpt.pt'), weights_only=False)
        changed = run_script('train_vqvae.py', *VQVAE, '--max_steps=30', '--n_codes=16', check=False)
        assert changed.returncode != 0 and 'n_codes=32, now 16' in changed.stderr
    straight = torch.load(trained / 'out' / 'tiny' / 'vqvae' / 'ckpt.pt', weights_only=False)
    assert [h['step'] for h in resumed['history']] == [h['step'] for h in straight['history']]
    for a, b in zip(resumed['history'], straight['history']):
        assert a['loss'] == pytest.approx(b['loss'], rel=1e-4)
    assert resumed['codebook_id'] == straight['codebook_id']


def test_a_song_longer_than_any_training_song_gets_a_full_dance(trained):
    from l2d.audio import load_music
    from models.dancers import load
    with module_roots(trained):
        dancer = load('tiny', 'tokens', 'cpu')
        song = load_music(data_dir('tiny', 'music', 'song_06.npz'))
        n = len(song['beats'])
        repeats = 4
        longer = dict(song, mel_db=np.tile(song['mel_db'], (repeats, 1)),
                      onset_strength=np.tile(song['onset_strength'], repeats), beats=np.tile(song['beats'], repeats),
                      beat_times_s=np.concatenate([song['beat_times_s'] + k * n / FPS for k in range(repeats)]))
        dance = dancer.generate(longer, repeats * n, seed=3)
        again = dancer.generate(longer, repeats * n, seed=3)
    assert dance['poses'].shape == (repeats * n, 15, 2) and np.isfinite(dance['poses']).all()
    assert dance['root_tl'].shape == (repeats * n, 2) and np.array_equal(dance['poses'], again['poses'])
    frames_per_token = dancer.vqvae.frames_per_token
    assert len(dance['tokens']) * frames_per_token >= repeats * n > 16 * frames_per_token  # past the 16-token window
    last_second = dance['normed'][-FPS:]
    assert last_second.std(0).mean() > 1e-3  # still dancing at the end


def test_rebuilt_real_dance_is_the_dance_through_the_tokens(trained):
    from l2d.audio import load_music
    from l2d.io import load_poses
    from models.dancers import load
    from models.tokens import dance_frames, dance_tokens, motion_features, motion_from_features
    with module_roots(trained):
        dancer = load('tiny', 'tokens', 'cpu', dict(snap_beats=False, smooth_s=0.0, centre_travel=False))
        poses = load_poses(data_dir('tiny', 'poses', 'song_06.npz'))['poses']
        song = load_music(data_dir('tiny', 'music', 'song_06.npz'))
    rebuilt = dancer.rebuild(poses, song)
    assert rebuilt['poses'].shape == poses.shape and np.isfinite(rebuilt['poses']).all()
    features = motion_features(poses, dancer.fps, dancer.vq['settings']['root_smooth_s'])
    assert np.array_equal(rebuilt['tokens'], dance_tokens(dancer.vqvae, features, dancer.vq['mean'], dancer.vq['std']))
    # With nothing to finish, the dance is what the VQ-VAE decodes from those tokens.
    decoded = motion_from_features(dance_frames(dancer.vqvae, rebuilt['tokens'], dancer.vq['mean'], dancer.vq['std'],
                                                len(poses)))
    assert np.allclose(rebuilt['normed'], decoded[0]) and np.allclose(rebuilt['root_tl'], decoded[1])


def test_both_stages_train_under_torchrun(tmp_path):
    with module_roots(tmp_path):
        write_dataset('tiny')
        for script, args in (('train_vqvae.py', VQVAE), ('train_gpt.py', GPT)):
            proc = run_script(script, *args, '--max_steps=10', processes=2)
            assert proc.stdout.count('trained 10 steps') == 1  # only rank 0 reports and writes
            ckpt = torch.load(out_dir('tiny', script[len('train_'):-len('.py')], 'ckpt.pt'), weights_only=False)
            assert ckpt['step'] == 10 and np.isfinite(ckpt['history'][-1]['loss'])
