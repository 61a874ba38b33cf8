"""The two-stage GAN dancer: train_pose.py, train_seq.py and models.gan.generate_dance on tiny synthetic data."""
import json
import os

import numpy as np
import pytest

from conftest import run_script
from l2d.io import save_json, save_npz, save_poses
from l2d.skeleton import J

FPS = 30


def stick_figure(arm_raise, knee_bend):
    """A front-facing dancer in torso units (MidHip at 0, y down). arm_raise, knee_bend: (T,) in radians."""
    t = len(arm_raise)
    pose = np.zeros((t, 15, 2))
    pose[:, J['Neck']] = [0, -1]
    pose[:, J['Nose']] = [0, -1.35]
    for side, sx in (('R', -1), ('L', 1)):
        shoulder = np.array([sx * 0.4, -1.0])
        pose[:, J[side + 'Shoulder']] = shoulder
        down = np.stack([sx * np.sin(arm_raise), np.cos(arm_raise)], 1)  # angle from hanging straight down
        pose[:, J[side + 'Elbow']] = shoulder + 0.55 * down
        pose[:, J[side + 'Wrist']] = shoulder + 1.05 * down
        hip = np.array([sx * 0.2, 0.0])
        pose[:, J[side + 'Hip']] = hip
        knee = hip + 0.85 * np.stack([sx * np.sin(knee_bend) * 0.6, np.cos(knee_bend * 0.6)], 1)
        pose[:, J[side + 'Knee']] = knee
        pose[:, J[side + 'Ankle']] = knee + [0, 0.85]
    return pose


def make_dataset(data_root, name='tiny', n_clips=6, seconds=8.0, seed=0):
    """A dataset of clips whose dancer raises the arms ('arms' style) or bends the knees ('knees' style) on each
    beat of a click-track song while drifting sideways across the floor (one torso length every 4 s, turning back
    every 4 s); writes poses/, music/ and meta.json under data_root/name."""
    rng = np.random.default_rng(seed)
    meta = {'label_kind': 'style', 'fps': FPS, 'clips': {}}
    for i in range(n_clips):
        clip, style = f'clip{i}', ('arms', 'knees')[i % 2]
        t = int(seconds * FPS)
        bpm = (100.0, 140.0)[i % 2] + rng.uniform(-5, 5)
        period = FPS * 60.0 / bpm
        beat_frames = np.arange(rng.uniform(0, period), t, period).astype(int)
        beats = np.zeros(t, np.float32)
        beats[beat_frames] = 1
        since = np.arange(t) - beat_frames[np.maximum(np.searchsorted(beat_frames, np.arange(t), 'right') - 1, 0)]
        pulse = np.exp(-(np.maximum(since, 0) / (0.25 * period)) ** 2)  # 1 on the beat, fading
        arm = 0.3 + (1.6 if style == 'arms' else 0.3) * pulse + 0.05 * rng.standard_normal(t)
        knee = 0.1 + (0.8 if style == 'knees' else 0.1) * pulse + 0.05 * rng.standard_normal(t)
        travel = np.abs(np.mod(np.arange(t) / (4 * FPS), 2) - 1)[:, None, None] * [100, 0]  # pixels
        pixels = stick_figure(arm, knee) * 100 + [320, 300] + travel + rng.normal(0, 1.0, (t, 1, 2))
        save_poses(os.path.join(data_root, name, 'poses', clip + '.npz'), pixels, np.ones((t, 15)), FPS, 'synthetic')
        onset = pulse + 0.1 * rng.random(t)
        mel = rng.normal(-40, 3, (t, 128)) + 30 * onset[:, None] * np.linspace(1, 0, 128)[None]
        tempogram = np.tile(np.cos(2 * np.pi * np.arange(384) / period), (t, 1)) + 0.1 * rng.random((t, 384))
        save_npz(os.path.join(data_root, name, 'music', clip + '.npz'), mel_db=mel.astype(np.float32),
                 tempogram=tempogram.astype(np.float32), onset_strength=onset.astype(np.float32), beats=beats,
                 beat_times_s=(beat_frames / FPS).astype(np.float32), tempo_bpm=np.float32(bpm), fps=np.float32(FPS))
        meta['clips'][clip] = {'label': style, 'split': 'test' if i == n_clips - 1 else 'train'}
    save_json(os.path.join(data_root, name, 'meta.json'), meta)
    return name


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """Both GAN stages trained briefly on a tiny dataset (one training clip without music features).
    Returns (data_root, out_root, train_pose output, train_seq output)."""
    data, out = tmp_path_factory.mktemp('data'), tmp_path_factory.mktemp('out')
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('L2D_DATA', str(data))
        mp.setenv('L2D_OUT', str(out))
        make_dataset(data, n_clips=6)
        os.remove(data / 'tiny' / 'music' / 'clip1.npz')
        pose = run_script('train_pose.py', '--dataset=tiny', '--max_steps=300', '--check_samples=1000',
                          '--learning_rate=1e-3', '--hidden=64', '--batch_size=64')
        seq = run_script('train_seq.py', '--dataset=tiny', '--max_steps=30', '--seq_len=30', '--sample_seconds=2')
    return data, out, pose.stdout, seq.stdout


def load_checkpoint(path):
    import torch
    return torch.load(path, map_location='cpu')


def test_pose_gan_learns_a_body(trained):
    _, out, stdout, _ = trained
    report = json.loads((out / 'tiny' / 'gan_pose' / 'body_check.json').read_text())
    before, after, noise = report['untrained'], report['trained'], report['independent_joints']
    assert after['bone_length_error'] < 0.03 and after['bone_length_error_worst'] < noise['bone_length_error_worst'] / 3
    assert after['bone_length_spread'] < noise['bone_length_spread'] / 2
    assert after['angle_wasserstein_rad'] < min(0.1, before['angle_wasserstein_rad'] / 1.5)
    ckpt = load_checkpoint(out / 'tiny' / 'gan_pose' / 'ckpt.pt')
    assert ckpt['step'] == 300 and ckpt['body_check'] == after and ckpt['settings']['max_steps'] == 300
    assert all(np.isfinite([h['loss_d'], h['loss_g']]).all() for h in ckpt['history'])
    for name in ('samples_300.png', 'losses.png'):
        assert (out / 'tiny' / 'gan_pose' / name).stat().st_size > 1000
    assert 'bone_length_error' in stdout


def test_pose_gan_under_torchrun_then_resumed(roots):
    data, out = roots
    make_dataset(data, n_clips=2, seconds=3.0)
    args = ('--dataset=tiny', '--log_every=1', '--check_samples=100')
    proc = run_script('train_pose.py', *args, '--max_steps=4', processes=2)
    ckpt = load_checkpoint(out / 'tiny' / 'gan_pose' / 'ckpt.pt')
    assert ckpt['world_size'] == 2 and ckpt['step'] == 4
    assert all(np.isfinite([h['loss_d'], h['loss_g']]).all() for h in ckpt['history'])
    assert proc.stdout.count('body check at step 4') == 1  # only rank 0 reports and writes
    resumed_run = run_script('train_pose.py', *args, '--max_steps=6')
    assert 'resuming' in resumed_run.stdout
    resumed = load_checkpoint(out / 'tiny' / 'gan_pose' / 'ckpt.pt')
    assert resumed['world_size'] == 1 and [h['step'] for h in resumed['history']] == [1, 2, 3, 4, 5, 6]
    assert resumed['history'][:4] == ckpt['history']


def test_seq_gan_under_torchrun(roots):
    data, out = roots
    make_dataset(data, n_clips=3, seconds=3.0)
    run_script('train_pose.py', '--dataset=tiny', '--max_steps=20', '--check_samples=100')
    proc = run_script('train_seq.py', '--dataset=tiny', '--max_steps=4', '--seq_len=30', '--sample_seconds=1',
                      '--log_every=1', processes=2)
    assert proc.stdout.count('wrote') == 1  # only rank 0 writes
    ckpt = load_checkpoint(out / 'tiny' / 'gan_seq' / 'ckpt.pt')
    assert ckpt['world_size'] == 2 and ckpt['step'] == 4 and [h['step'] for h in ckpt['history']] == [1, 2, 3, 4]


def test_seq_gan_trains_skips_bad_clips_and_resumes(trained, monkeypatch):
    data, out, _, stdout = trained
    assert os.path.join('music', 'clip1.npz') in stdout  # the clip without music is named and skipped
    ckpt_path = out / 'tiny' / 'gan_seq' / 'ckpt.pt'
    ckpt = load_checkpoint(ckpt_path)
    assert ckpt['step'] == 30 and ckpt['styles'] == ['arms', 'knees'] and ckpt['settings']['seq_len'] == 30
    assert all(np.isfinite([h['loss_d'], h['loss_g']]).all() for h in ckpt['history'])
    assert (out / 'tiny' / 'gan_seq' / 'sample_30.mp4').stat().st_size > 1000
    assert not {'pose_ckpt', 'real_bone_lengths'} & set(ckpt)  # nothing reads them
    # The floor of the training dancers: 100 px torso, a sideways drift of one torso length.
    assert ckpt['placement']['scale'] == pytest.approx(100, rel=0.05)
    assert ckpt['placement']['floor_tl'][0] == pytest.approx(1.0, abs=0.1)
    monkeypatch.setenv('L2D_DATA', str(data))
    monkeypatch.setenv('L2D_OUT', str(out))
    changed = run_script('train_seq.py', '--dataset=tiny', '--max_steps=35', '--seq_len=30', '--sample_seconds=0',
                         '--beat_weight=2', '--mirror_poses=False', check=False)
    assert changed.returncode != 0 and len(changed.stderr.strip().splitlines()) == 1
    assert 'beat_weight=8.0, now 2.0' in changed.stderr and 'mirror_poses' in changed.stderr
    proc = run_script('train_seq.py', '--dataset=tiny', '--max_steps=35', '--seq_len=30', '--sample_seconds=0',
                      '--log_every=5')  # how often it logs may change on resume
    assert 'resuming' in proc.stdout
    resumed = load_checkpoint(ckpt_path)
    assert resumed['step'] == 35 and resumed['history'][:len(ckpt['history'])] == ckpt['history']


def test_seq_gan_without_critic_steps(roots):
    """--critic_steps=0 trains the generator on its side losses alone (it used to crash on the missing critic
    scores)."""
    data, out = roots
    make_dataset(data, n_clips=2, seconds=3.0)
    run_script('train_pose.py', '--dataset=tiny', '--max_steps=2', '--check_samples=50', '--hidden=16')
    run_script('train_seq.py', '--dataset=tiny', '--max_steps=3', '--seq_len=30', '--sample_seconds=0',
               '--critic_steps=0', '--log_every=1', '--hidden=16', '--critic_hidden=8')
    history = load_checkpoint(out / 'tiny' / 'gan_seq' / 'ckpt.pt')['history']
    assert [h['step'] for h in history] == [1, 2, 3] and all('loss_d' not in h for h in history)


def song(data, clip):
    from l2d.audio import load_music
    return load_music(os.path.join(data, 'tiny', 'music', clip + '.npz'))


def test_generation_chains_windows_without_jumps(trained):
    from models.gan import generate_dance
    data, out, _, _ = trained
    ckpt = load_checkpoint(out / 'tiny' / 'gan_seq' / 'ckpt.pt')
    window, music = ckpt['settings']['seq_len'], song(data, 'clip5')
    n = len(music['beats'])
    assert n > 4 * window
    dance, root_tl = generate_dance(ckpt, music, n, seed=3)
    assert dance.shape == (n, 15, 2) and dance.dtype == np.float32 and np.isfinite(dance).all()
    assert root_tl.shape == (n, 2) and root_tl.dtype == np.float32 and np.isfinite(root_tl).all()
    assert np.abs(dance[:, J['MidHip']]).max() < 1e-5
    joins = np.arange(window, n, window) - 1
    for motion in (dance, root_tl[:, None]):
        steps = np.linalg.norm(np.diff(motion, axis=0), axis=-1).max(-1)  # step t: frame t -> t + 1
        assert steps[joins].max() <= np.delete(steps, joins).max()
    again, again_root = generate_dance(ckpt, music, n, seed=3)
    assert np.array_equal(dance, again) and np.array_equal(root_tl, again_root)
    other, other_root = generate_dance(ckpt, music, n, seed=4)
    assert np.linalg.norm(dance - other, axis=-1).mean() > 1e-3
    assert np.linalg.norm(root_tl - other_root, axis=-1).mean() > 1e-4


def test_gan_dancer_travels_on_the_training_floor(trained, monkeypatch):
    """models.dancers' GAN dancer draws the generated root's path, folded into the training dancers' floor, at
    their scale: its MidHip in pixels is the placement's origin plus the folded path times the torso length."""
    from l2d.norm import keep_on_floor
    from models.dancers import load
    data, out, _, _ = trained
    monkeypatch.setenv('L2D_DATA', str(data))
    monkeypatch.setenv('L2D_OUT', str(out))
    dancer = load('tiny', 'gan', 'cpu')
    music = song(data, 'clip5')
    dance = dancer.generate(music, len(music['beats']) + 5, seed=1)  # music 5 frames short: the last pose is held
    p = dancer.placement
    assert dance['root_tl'].shape == (len(music['beats']) + 5, 2) and np.ptp(dance['root_tl'], 0).max() > 0
    expected = np.asarray(p['origin']) + keep_on_floor(dance['root_tl'], p['floor_tl']) * p['scale']
    assert np.allclose(dance['poses'][:, J['MidHip']], expected, atol=1e-3)
    assert np.allclose(dance['poses'][-5:], dance['poses'][-6])


def test_music_drives_the_dance(trained):
    from models.gan import generate_dance
    data, out, _, _ = trained
    ckpt = load_checkpoint(out / 'tiny' / 'gan_seq' / 'ckpt.pt')
    a, b = song(data, 'clip0'), song(data, 'clip5')
    n = 90
    for style in ('arms', None):
        same_noise = [generate_dance(ckpt, m, n, seed=7, style=style)[0] for m in (a, b)]
        assert np.linalg.norm(same_noise[0] - same_noise[1], axis=-1).mean() > 1e-3
    with pytest.raises(ValueError, match='unknown style'):
        generate_dance(ckpt, a, n, seed=7, style='tango')
    with pytest.raises(ValueError, match='frames'):
        generate_dance(ckpt, a, len(a['beats']) + 1, seed=7)


def test_beat_phase_and_music_inputs():
    from models.gan import MUSIC_DIM, beat_phase, music_inputs
    beats = np.zeros(40)
    beats[[10, 20, 30]] = 1
    phase = beat_phase(beats)
    assert np.allclose(phase[[10, 15, 20, 25, 30, 35]], [0, 0.5, 0, 0.5, 0, 0.5])
    assert np.isclose(phase[5], 0.5)  # before the first beat: the median period extrapolated
    assert np.all(beat_phase(np.zeros(10)) == 0)
    music = {'mel_db': np.zeros((40, 128)), 'tempogram': np.ones((40, 384)), 'onset_strength': np.zeros(40),
             'beats': beats}
    x = music_inputs(music, 30)
    assert x.shape == (30, MUSIC_DIM) and np.allclose(x[10, -2:], [0, 1])  # sin, cos of the phase on a beat
    assert np.allclose(x[:, MUSIC_DIM - 3], beats[:30]) and np.allclose(x[:, 16:32], 1)  # beats; tempogram bins
    with pytest.raises(KeyError, match='onset_strength'):
        music_inputs({k: v for k, v in music.items() if k != 'onset_strength'})


def test_beat_speed_score_rewards_stopping_on_the_beat():
    """A wrist that stops on every beat and swings between them scores well below 0, one that stops half-way between
    the beats well above, a steady drift 0. The critic sees the root's velocity."""
    import torch
    from models.gan import SeqCritic, beat_phase, beat_speed_score
    t, period = 120, 20
    beats = np.zeros(t)
    beats[period // 2::period] = 1
    beat_cos = torch.from_numpy(np.cos(2 * np.pi * beat_phase(beats))).float().expand(3, -1)
    phase = 2 * np.pi * (np.arange(t) - period // 2) / (2 * period)
    wrist = np.stack([np.cos(phase), np.cos(phase + np.pi / 2), np.arange(t) / t], 0)  # stops on / off the beats
    poses = np.zeros((3, t, 15, 2), np.float32)
    poses[:, :, J['RWrist'], 0] = wrist
    score = beat_speed_score(torch.from_numpy(poses), beat_cos, 2.5).numpy()
    assert score[0] < -0.2 and score[1] > 0.2 and abs(score[2]) < 0.05  # -1/3 and 1/3 before the smoothing
    critic = SeqCritic(hidden=8, music_hidden=4)
    dance, music = torch.zeros(1, 30, 15, 2), torch.zeros(1, 30, 36)
    still, travelling = critic(dance, torch.zeros(1, 30, 2), music), critic(dance, torch.full((1, 30, 2), 0.1), music)
    assert still.item() != travelling.item()


def test_plausibility_figures():
    from l2d.plausibility import body_check, bone_drift, diversity
    from l2d.skeleton import bone_lengths
    rng = np.random.default_rng(0)
    real = stick_figure(rng.uniform(0, 2, 500), rng.uniform(0, 1, 500))
    check = body_check(real[:250], real[250:])
    assert check['bone_length_error'] < 0.01 and check['angle_wasserstein_rad'] < 0.1
    noise = rng.normal(0, 1, real.shape)
    noisy = body_check(noise, real)
    assert noisy['bone_length_error'] > 0.3 and noisy['angle_wasserstein_rad'] > 0.3
    reference = bone_lengths(real).mean(0)
    growing = real * np.linspace(1, 1.2, len(real))[:, None, None]
    drift = bone_drift(growing, reference, 50)
    assert 0.15 < drift['body'] < 0.2 and drift['bone'] >= drift['body']
    assert bone_drift(real, reference, 50)['body'] < 0.05
    assert diversity([real, real]) == 0 and diversity([real, real + [0.1, 0]]) == pytest.approx(0.1)


def test_pose_generator_keeps_every_bone_in_its_real_range():
    """However wild the network's output, the kinematic decoder draws no bone longer than that bone is in 99.9% of
    the training poses, and it starts near the mean body."""
    import torch
    from models.gan import PoseGenerator, bone_lengths
    rng = np.random.default_rng(0)
    t = 400
    real = stick_figure(rng.uniform(0, 2.5, t), rng.uniform(0, 1, t)) + rng.normal(0, 0.02, (t, 15, 2))
    real = torch.from_numpy(real - real[:, J['MidHip']:J['MidHip'] + 1]).float()
    generator = PoseGenerator(z_dim=8, hidden=16, layers=1)
    generator.set_pose_stats(real)
    lengths = bone_lengths(real)
    with torch.no_grad():
        near = generator(torch.randn(200, 8))
        assert (bone_lengths(near).mean(0) - lengths.mean(0)).abs().max() < 0.25
        for p in generator.net.parameters():
            p.mul_(50)  # outputs far outside the real range
        wild = generator(torch.randn(500, 8))
    assert torch.isfinite(wild).all() and (wild[:, J['MidHip']] == 0).all()
    wild_lengths = bone_lengths(wild)
    assert (wild_lengths.numpy() <= np.quantile(lengths.numpy(), 0.999, axis=0) + 1e-5).all()


def test_motion_statistics_of_a_swinging_wrist():
    """A wrist swinging on a circle of radius 0.5 over a whole window: each frame moves it by one chord, its mean
    distance from the window's mean position is the radius, and its step turns by 2 pi / frames each frame (a change
    of 2 chord sin(pi / frames)); still joints score 0."""
    import torch
    from models.gan import motion_statistics
    frames = 60
    angle = np.linspace(0, 2 * np.pi, frames, endpoint=False)
    poses = np.zeros((2, frames, 15, 2))
    poses[:, :, J['RWrist']] = 0.5 * np.stack([np.cos(angle), np.sin(angle)], 1)
    per_dance = motion_statistics(torch.from_numpy(poses)).numpy()
    assert per_dance.shape == (2, 3, 15) and np.all(per_dance[0] == per_dance[1])
    stats = per_dance[0]
    chord = 2 * 0.5 * np.sin(np.pi / frames)
    assert stats[0, J['RWrist']] == pytest.approx(chord, rel=1e-6)
    assert stats[1, J['RWrist']] == pytest.approx(0.5, rel=1e-6)
    assert stats[2, J['RWrist']] == pytest.approx(2 * chord * np.sin(np.pi / frames), rel=1e-6)
    assert np.all(np.delete(stats, J['RWrist'], axis=1) == 0)


def test_fast_walk_is_the_walk():
    """SeqGenerator.walk_latents (numpy loop, generation) gives walk's latents and root velocities (torch, training)
    for a dance in a style."""
    import torch
    from models.gan import SeqGenerator, sample_latents
    torch.manual_seed(0)
    net = SeqGenerator(z_dim=8, hidden=16, music_hidden=4, n_styles=3).eval()
    with torch.no_grad():
        for p in net.parameters():  # walks that move: the trained scale of the shifts, not their small init
            p.normal_(0, 0.3)
    frames = 40
    z0, music, noise, code = sample_latents(1, 8), torch.randn(1, frames, 4), torch.randn(1, frames, 8), \
        torch.randn(1, 8)
    style = torch.tensor([2])
    with torch.no_grad():
        latents, root_velocity, _ = net.walk(z0, music, noise, code, style)
        fast_latents, states = net.walk_latents(z0[0], music[0], noise[0], code[0], style[0])
        fast_root = net.root(states)
    assert latents[0].std(0).mean() > 0.1  # the walk moves
    assert torch.allclose(fast_latents, latents[0], atol=1e-5) and torch.allclose(fast_root, root_velocity[0],
                                                                                   atol=1e-5)


def test_kinetic_statistics_split_axes_and_add_the_root():
    """A body gliding right at 0.01 torso lengths a frame while its right wrist bobs up and down: every joint gets
    the glide's horizontal energy, only the wrist a vertical one (that of its smoothed sine), and the smoothing
    leaves a steady glide almost without acceleration (only at the window's ends)."""
    import torch
    from models.gan import kinetic_statistics
    frames, period, sigma = 300, 30, 1.0
    t = np.arange(frames)
    poses = np.zeros((1, frames, 15, 2))
    poses[0, :, J['RWrist'], 1] = 0.1 * np.sin(2 * np.pi * t / period)
    root_velocity = np.tile([0.01, 0.0], (1, frames, 1))
    stats = kinetic_statistics(torch.from_numpy(poses), torch.from_numpy(root_velocity), sigma)[0].numpy()
    assert stats.shape == (3, 15)
    assert stats[0] == pytest.approx(np.full(15, 1e-4), rel=0.03)
    omega = 2 * np.pi / period
    bob = 0.5 * (0.1 * omega * np.exp(-(omega * sigma) ** 2 / 2)) ** 2
    assert stats[1, J['RWrist']] == pytest.approx(bob, rel=0.03)
    assert np.all(np.delete(stats[1], J['RWrist']) == 0)
    swing = 0.1 * omega ** 2 * np.exp(-(omega * sigma) ** 2 / 2) * 2 / np.pi  # mean |second difference| of the sine
    assert stats[2, J['RWrist']] == pytest.approx(swing, rel=0.05)
    assert np.all(np.delete(stats[2], J['RWrist']) < 0.01 * swing)


def test_generator_hears_only_its_music_groups():
    import torch
    from models.gan import MUSIC_DIM, MUSIC_GROUPS, SeqGenerator
    torch.manual_seed(0)
    music = torch.randn(1, 30, MUSIC_DIM)
    louder = music.clone()
    louder[..., list(MUSIC_GROUPS['mel'])] += 5.0  # another timbre, the same beat
    beat_only, everything = SeqGenerator(hears=('beat',)), SeqGenerator()
    assert torch.equal(beat_only.encode_music(music), beat_only.encode_music(louder))
    assert not torch.allclose(everything.encode_music(music), everything.encode_music(louder))
    assert beat_only.music[0].in_channels == len(MUSIC_GROUPS['beat']) == 3


def test_unknown_music_group_is_a_one_line_error():
    proc = run_script('train_seq.py', '--generator_hears=beat,timbre', check=False)
    assert proc.returncode != 0 and "no music group 'timbre'" in proc.stderr.strip().splitlines()[-1]
