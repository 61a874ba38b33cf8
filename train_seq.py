"""Stage 2 of the GAN dancer: a sequence GAN, conditioned on the music, that walks the pose GAN's latent space.

Reads the training clips' poses and music features (data/<dataset>/poses/, music/ from process_waves.py, meta.json
for the style labels) and the frozen pose generator of train_pose.py (out/<dataset>/gan_pose/ckpt.pt).
models.gan.SeqGenerator turns an initial latent, per-frame noise, the music of each frame (by default only its beat:
`generator_hears`) and optionally the style into latent shifts, summed over time and decoded by the pose generator,
and into the root's velocity (the dancer's travel, trained against the real dances' MidHip tracks smoothed over
`root_smooth_s`). models.gan.SeqCritic (hinge loss) judges (dance, root velocity, music) triples: real dances with
their own music against generated dances and against real dances paired with the wrong music (another song, or the
same song shifted off the beat), so a dance that moves well but ignores the music loses. The generator dances
`rollout` windows in a row from a random start, and losses beside the critic's keep it dancing for a whole song and
on the beat of any song: each window's per-joint speed, size of moves, change of step and root speed match the real
dances', and so does how much these vary from window to window; the whole motion's per-joint kinetic energy and
acceleration (what FID_k compares) match the real dances'; the latents it visits stay spread over the pose GAN's
inputs; and the body slows down on the music's beats and moves between them (models.gan.beat_speed_score, after
Bailando's beat reward; the root's travel is left out, so the dancer does not halt on every beat), which ties the
moves to the beat phase that every song's features carry, not to the training songs' sound. With styles, a music ->
style classifier trains alongside, to pick a style for a new song.

Writes out/<dataset>/gan_seq/: ckpt.pt (everything generate_dance needs, the placement on the training dancers'
floor (l2d.norm.placement), optimisers and settings; training resumes from it, with the same settings except those
of RESUMABLE_CHANGES), losses.png, and sample_<step>.mp4 (a generated dance with its music).

    python train_seq.py --dataset=demo
    torchrun --nproc_per_node=2 train_seq.py          # same global batch, split over the processes (DDP)
"""
import os

import numpy as np
import scipy.ndimage
import torch
import torch.nn.functional as F

from l2d.config import configure
from l2d.io import (AUDIO_EXTENSIONS, InputError, atomic_path, data_dir, find_media, load_meta, load_poses, out_dir,
                    split_clips)
from l2d.audio import load_music
from l2d.metrics import FWHM_PER_SIGMA, KINETIC_SMOOTH_S, MOTION_BEAT_SIGMA_S
from l2d.norm import normalize, place, placement
from l2d.plots import save_loss_plot
from l2d.processes import start_processes, stop_processes
from l2d.progress import progress
from l2d.skeleton import MIDHIP, NUM_JOINTS, mirror
from models.gan import (MUSIC_GROUPS, PoseGenerator, SeqCritic, SeqGenerator, StyleClassifier, beat_phase,
                        beat_speed_score, generate_dance, kinetic_statistics, motion_levels, motion_statistics,
                        music_inputs, sample_latents)

dataset = 'demo'
pose_ckpt = ''            # the pose GAN's checkpoint ('' = out/<dataset>/gan_pose/ckpt.pt)
seq_len = 60              # frames per training window (2 s at 30 fps); generation chains windows of this length
rollout = 2               # windows per generated training sequence, each judged on its own: the walk learns to keep
                          # dancing long after its random start, as it must in a whole song
noise_dim = 8             # per-frame noise size
code_dim = 8              # size of the dance code, noise drawn once per dance
hidden = 128              # GRU state size
music_hidden = 32         # size of the music projection
generator_hears = 'beat'  # what of the music the generator reads (models.gan.MUSIC_GROUPS: mel, tempogram, onset,
                          # beat); the critic and the style classifier always read all of it. The beat alone: hearing
                          # the demo's synthetic timbre too, the demo GAN lost the beat of a string orchestra it never
                          # heard (BAS 0.97x its half-beat null; 1.9x with the timbre held at its training mean)
critic_hidden = 64
use_style = True          # condition on the meta.json labels (and train a music -> style classifier)
style_dim = 8
batch_size = 16           # global batch: split over torchrun processes
max_steps = 600           # generator steps
critic_steps = 1          # critic steps per generator step (hinge loss, spectrally normalised critic; 0: the
                          # generator learns from the side losses alone, against an untrained critic)
mismatch_weight = 0.5     # share of the critic's fake side taken by real dances paired with the wrong music
same_song_mismatch = 0.5  # of those, the share whose music is the same song shifted by part of a beat
mismatch_tempo = 0.1      # the other songs' music comes from songs whose beat period differs by at least this share
                          # (any other song when none does): a dance that merely keeps some tempo is not enough
latent_weight = 1.0       # keep the latents the walk visits spread over the sphere as the pose GAN's inputs were
                          # (mean 0, second moment I), so its poses are as varied as the real ones; without it the walk
                          # settles where the pose generator draws frontal, outstretched bodies
kinetic_weight = 1.0      # match the real dances' per-joint horizontal and vertical kinetic energy and acceleration of
                          # the whole motion (models.gan.kinetic_statistics, log ratio squared), what FID_k compares:
                          # matching the speed of each joint alone let the demo's walk swing its arms sideways (demo,
                          # 4 held-out training dances, 2 seeds: FID_k 321, 145 -> 54, 45 against a floor of 7.1; Dance
                          # with Melody, 7: FID_k 27, 29 -> 23, 24, floor 12.4, inside the intervals)
motion_weight = 3.0       # match the real dances' per-joint speed, size of moves and root speed (log ratio squared):
                          # the critic alone lets the walk settle for small moves
acceleration_weight = 3.0  # match the real dances' per-joint and root change of step from frame to frame (log ratio
                          # squared): without it the walk's per-frame noise makes the dance jolt (jerk 2.3x real)
variation_weight = 1.0    # match how much the real dances' liveliness (log step, size of moves, root speed of a
                          # window) varies from window to window: matching only its mean let every window be alike
beat_weight = 8.0         # slow down on the music's beats, move between them (models.gan.beat_speed_score); on the
                          # body alone, 4 left the demo's GAN off the beat of a fast never-heard recording
beat_root = False         # the beat term also sees the root's travel: it then stops the whole dancer on every beat
                          # (a metronomic pulse), where ballroom dancers keep travelling through the beats
diversity_weight = 1.0    # reward for two dances to the same music differing (mode seeking; the data has one dance
diversity_cap = 0.1       # per song, so nothing else asks for it), up to this mean joint distance (torso lengths)
root_smooth_s = 0.2       # the real root tracks are smoothed over this (Gaussian full width at half maximum, s)
                          # before their velocity is taken: a detector's frame-to-frame jitter is not travel
learning_rate = 1e-4      # generator
critic_learning_rate = 4e-4  # a faster critic (two time-scale update rule) in place of several critic steps
beta1 = 0.5
beta2 = 0.9
mirror_poses = True       # add left-right mirrored copies of the training dances
sample_every = 0          # write a sample animation every this many steps (0: only at the end; the end always)
sample_seconds = 10.0     # length of the sample animations
ckpt_every = 200          # save the checkpoint every this many steps (and at the end)
log_every = 10            # record losses every this many steps
resume = True             # continue from out/<dataset>/gan_seq/ckpt.pt when it exists
seed = 1337
device = 'auto'           # 'auto' (CUDA when available), 'cpu', 'cuda', 'cuda:1', ...
cpu_threads = 1           # torch threads per process on CPU (small networks lose more to thread sync than they gain)
settings = configure(globals())
# Settings a resumed run may change: how long it trains, what it writes and where it runs. Every other setting (data,
# networks, losses, optimisers) must be the one the checkpoint was trained with.
RESUMABLE_CHANGES = ('max_steps', 'sample_every', 'sample_seconds', 'ckpt_every', 'log_every', 'resume', 'device',
                     'cpu_threads')
LOSS_KEYS = ('loss_d', 'loss_g', 'real_vs_fake', 'real_vs_mismatch', 'style_loss', 'move_size', 'move_change',
             'root_speed', 'beat_speed')
STEP, SIZE, CHANGE = 0, 1, 2  # rows of models.gan.motion_statistics: mean step, size of moves, change of step

heard_groups = tuple(generator_hears.split(','))
unheard = sorted(set(heard_groups) - set(MUSIC_GROUPS))
if unheard:
    raise SystemExit(f"error: --generator_hears={generator_hears!r}: no music group {', '.join(map(repr, unheard))} "
                     f"(known: {','.join(MUSIC_GROUPS)})")

# ---- processes and device ----------------------------------------------------------------------------------------
device, rank, world = start_processes(device, cpu_threads)
ddp = world > 1
if ddp:
    from torch.nn.parallel import DistributedDataParallel as DDP
master = rank == 0
if batch_size % (2 * world):
    raise SystemExit(f"error: batch_size={batch_size} must be an even multiple of the {world} processes")
local_batch = batch_size // world
out = out_dir(dataset, 'gan_seq')
ckpt_path = os.path.join(out, 'ckpt.pt')
pose_ckpt_path = pose_ckpt or out_dir(dataset, 'gan_pose', 'ckpt.pt')

# ---- data: training dances (normalised) with their root velocities and music --------------------------------------
meta = load_meta(dataset)
dances, root_velocities, songs, beat_cos, labels, periods, pixel_dances, fps = [], [], [], [], [], [], [], None
for clip in split_clips(dataset, 'train'):
    pose_path, music_path = data_dir(dataset, 'poses', clip + '.npz'), data_dir(dataset, 'music', clip + '.npz')
    try:
        pose_file, features = load_poses(pose_path), load_music(music_path)
        if abs(pose_file['fps'] - float(features['fps'])) > 1e-3:
            raise InputError(f"{music_path}: {features['fps']} fps, but the poses have {pose_file['fps']}")
        if fps is not None and abs(pose_file['fps'] - fps) > 1e-3:
            raise InputError(f"{pose_path}: {pose_file['fps']} fps, but the other clips have {fps}")
        n = min(len(pose_file['poses']), len(features['beats']))
        if n < seq_len * rollout:
            raise InputError(f"{pose_path}: {n} frames, shorter than seq_len * rollout = {seq_len * rollout}")
        normed, root, scale = normalize(pose_file['poses'][:n])
        song = music_inputs(features, n)
    except InputError as e:
        print(f"{e}; skipped")
        continue
    except (KeyError, ValueError) as e:
        print(f"{pose_path} / {music_path}: {e}; skipped")
        continue
    if not (np.isfinite(normed).all() and np.isfinite(root).all()):
        print(f"{pose_path}: non-finite poses; skipped")
        continue
    fps = pose_file['fps']
    sigma = root_smooth_s * fps / (2 * np.sqrt(2 * np.log(2)))
    smooth_root = scipy.ndimage.gaussian_filter1d(root.astype(np.float64), sigma, axis=0, mode='nearest')
    beat_frames = np.flatnonzero(features['beats'][:n] > 0.5)
    dances.append(normed)
    root_velocities.append((np.gradient(smooth_root, axis=0) / scale).astype(np.float32))
    songs.append(song)
    beat_cos.append(np.cos(2 * np.pi * beat_phase(features['beats'][:n])).astype(np.float32))
    labels.append(meta['clips'][clip].get('label'))
    periods.append(float(np.median(np.diff(beat_frames))) if len(beat_frames) > 1 else fps / 2)
    pixel_dances.append(pose_file['poses'][:n])
if not dances:
    raise SystemExit(f"error: no training clip of {dataset} has both poses and music features "
                     f"(run parse.py and process_waves.py first)")
styles = sorted({label for label in labels if label is not None})
style_on = use_style and len(styles) > 1 and None not in labels
if use_style and not style_on and master:
    print(f"use_style: {dataset}'s training clips do not carry two or more labels; training without styles")
all_music = np.concatenate(songs)
music_mean = torch.from_numpy(all_music.mean(0))
music_std = torch.from_numpy(all_music.std(0)).clamp_min(1e-3)
if mirror_poses:  # a mirrored dancer dances to the same music, travelling the other way
    dances += [mirror(d) for d in dances]
    root_velocities += [v * np.array([-1, 1], np.float32) for v in root_velocities]
    songs, beat_cos, labels, periods = songs * 2, beat_cos * 2, labels * 2, periods * 2
song_index = np.arange(len(dances)) % (len(dances) // (2 if mirror_poses else 1))  # a mirrored copy: the same song
tempo_apart = np.abs(np.log(np.array(periods)[:, None] / np.array(periods)[None])) >= np.log1p(mismatch_tempo)
other_songs = [next(c for c in (np.flatnonzero(tempo_apart[i]), np.flatnonzero(song_index != song_index[i]),
                                 np.arange(len(dances))) if len(c)) for i in range(len(dances))]
dance_t = [torch.from_numpy(d).to(device) for d in dances]
root_t = [torch.from_numpy(v).to(device) for v in root_velocities]
song_t = [((torch.from_numpy(s) - music_mean) / music_std).to(device) for s in songs]
beat_cos_t = [torch.from_numpy(c).to(device) for c in beat_cos]
style_t = torch.tensor([styles.index(label) if style_on else 0 for label in labels], device=device)
span = seq_len * rollout  # frames per training sequence
n_starts = np.array([len(d) - span + 1 for d in dances])
beat_sigma_frames = MOTION_BEAT_SIGMA_S * fps
kinetic_sigma_frames = KINETIC_SMOOTH_S / FWHM_PER_SIGMA * fps
if master:
    print(f"{len(dances)} training dances ({int(sum(len(d) for d in dances))} frames)"
          + (f", styles {styles}" if style_on else ""))

# ---- models, optimisers, checkpoint -------------------------------------------------------------------------------
if not os.path.isfile(pose_ckpt_path):
    raise SystemExit(f"error: {pose_ckpt_path} not found (run `python train_pose.py --dataset={dataset}` first)")
pose_state = torch.load(pose_ckpt_path, map_location=device)
pose_g = PoseGenerator(**pose_state['model_args']).to(device)
try:
    pose_g.load_state_dict(pose_state['generator'])
except RuntimeError:
    raise SystemExit(f"error: {pose_ckpt_path} holds a pose generator of an older models/gan.py: rerun "
                     f"`python train_pose.py --dataset={dataset} --resume=False`") from None
pose_g.requires_grad_(False).eval()
z_dim = pose_g.z_dim
torch.manual_seed(seed)
n_styles = len(styles) if style_on else 0
seq_g_args = {'z_dim': z_dim, 'noise_dim': noise_dim, 'code_dim': code_dim, 'hidden': hidden,
              'music_hidden': music_hidden, 'n_styles': n_styles, 'style_dim': style_dim,
              'hears': heard_groups}
critic_args = {'hidden': critic_hidden, 'music_hidden': music_hidden, 'n_styles': n_styles, 'style_dim': style_dim}
seq_g = SeqGenerator(**seq_g_args).to(device)
critic = SeqCritic(**critic_args).to(device)
classifier = StyleClassifier(n_styles).to(device) if style_on else None
betas = (beta1, beta2)
opt_g = torch.optim.Adam(seq_g.parameters(), lr=learning_rate, betas=betas)
opt_d = torch.optim.Adam(critic.parameters(), lr=critic_learning_rate, betas=betas)
opt_c = torch.optim.Adam(classifier.parameters(), lr=1e-3) if style_on else None


def window_levels(poses, root_velocity):
    """Liveliness of each window (B, T, 15, 2) travelling at (B, T, 2): (B, 3) log step, log size of moves
    (models.gan.motion_levels) and log root speed (torso lengths per frame, floored at 1e-3)."""
    root_speed = root_velocity.norm(dim=-1).mean(1).clamp_min(1e-3).log()
    return torch.cat([motion_levels(poses), root_speed[:, None]], 1)


def whole_windows(tensors):
    """Consecutive seq_len-frame windows of each training sequence (N, ...) -> (W, seq_len, ...)."""
    return torch.cat([x[:len(x) // seq_len * seq_len].view(-1, seq_len, *x.shape[1:]) for x in tensors])


real_windows, real_root_windows = whole_windows(dance_t), whole_windows(root_t)
critic.set_motion_stats(real_windows, real_root_windows)
real_motion = motion_statistics(real_windows).mean(0)
real_kinetic = kinetic_statistics(real_windows, real_root_windows, kinetic_sigma_frames).mean(0)
real_root_speed = real_root_windows.norm(dim=-1).mean()
real_root_change = (real_root_windows[:, 1:] - real_root_windows[:, :-1]).norm(dim=-1).mean()
real_level_spread = window_levels(real_windows, real_root_windows).std(0)
real_beat_speed = beat_speed_score(real_windows + beat_root * real_root_windows.cumsum(1)[:, :, None],
                                   whole_windows(beat_cos_t), beat_sigma_frames).mean()
moving_joints = torch.arange(NUM_JOINTS, device=device) != MIDHIP  # MidHip is the fixed origin
if master:
    print(f"real dances: root speed {real_root_speed.item() * fps:.3f} torso lengths/s, beat speed score "
          f"{real_beat_speed.item():.2f} (-1: still on the beats, moving between them; 0: not following the beat)")
step, history = 0, []
if resume and os.path.isfile(ckpt_path):
    ckpt = torch.load(ckpt_path, map_location=device)
    changed = sorted(k for k in settings if k not in RESUMABLE_CHANGES
                     and ckpt.get('settings', {}).get(k, '(unset)') != settings[k])
    if changed:
        raise SystemExit(f"error: {ckpt_path} was trained with other settings ("
                         + ', '.join(f"{k}={ckpt.get('settings', {}).get(k, '(unset)')!r}, now {settings[k]!r}"
                                     for k in changed) + "): use them again, or --resume=False to start again")
    if ckpt['styles'] != (styles if style_on else []):
        raise SystemExit(f"error: {ckpt_path} was trained with styles {ckpt['styles']}, the data now has "
                         f"{styles if style_on else []}: use --resume=False to start again")
    if any(not torch.equal(v, pose_g.state_dict()[k].to(v.device)) for k, v in ckpt['pose_g'].items()):
        raise SystemExit(f"error: {ckpt_path} walks another pose generator than {pose_ckpt_path}'s: use "
                         f"--resume=False to start again")
    try:
        seq_g.load_state_dict(ckpt['seq_g'])
        critic.load_state_dict(ckpt['critic'])
    except RuntimeError:
        raise SystemExit(f"error: {ckpt_path} holds networks of an older models/gan.py: use --resume=False to "
                         f"start again") from None
    opt_g.load_state_dict(ckpt['opt_g'])
    opt_d.load_state_dict(ckpt['opt_d'])
    if style_on:
        classifier.load_state_dict(ckpt['classifier'])
        opt_c.load_state_dict(ckpt['opt_c'])
    step, history = ckpt['step'], ckpt['history']
    if master:
        print(f"resuming {ckpt_path} at step {step}")
seq_g_ddp = DDP(seq_g) if ddp else seq_g
critic_ddp = DDP(critic) if ddp else critic
classifier_ddp = DDP(classifier) if ddp and style_on else classifier
floor = placement(pixel_dances)


def checkpoint():
    """Everything generate_dance and models.dancers need (see models.gan), plus the training state."""
    return {'settings': settings, 'step': step, 'world_size': world, 'fps': fps, 'styles': styles if style_on else [],
            'pose_g_args': pose_state['model_args'], 'pose_g': pose_g.state_dict(),
            'seq_g_args': seq_g_args, 'seq_g': seq_g.state_dict(), 'critic_args': critic_args,
            'critic': critic.state_dict(), 'classifier': classifier.state_dict() if style_on else None,
            'opt_g': opt_g.state_dict(), 'opt_d': opt_d.state_dict(), 'opt_c': opt_c.state_dict() if style_on else None,
            'music_mean': music_mean, 'music_std': music_std, 'history': history, 'placement': floor}


def save_checkpoint():
    with atomic_path(ckpt_path) as tmp:
        torch.save(checkpoint(), tmp)


sample_clips = split_clips(dataset, 'test') or split_clips(dataset, 'train')


def save_sample(path):
    """A generated dance to the music of the first test clip (or training clip), as an MP4 with the music."""
    from l2d.render import write_animation
    clip = sample_clips[0]
    try:
        features = load_music(data_dir(dataset, 'music', clip + '.npz'))
    except InputError as e:
        print(f"{e}; no sample")
        return
    n = min(len(features['beats']), int(sample_seconds * fps))
    normed, root_tl = generate_dance(checkpoint(), features, n, seed, device=device)
    audio = find_media(data_dir(dataset, 'audio'), clip, AUDIO_EXTENSIONS)
    write_animation(path, [place(normed, root_tl, floor)], fps, music_path=audio,
                    titles=[f'GAN dance to {clip}, step {step}'])


def draw_windows(rng, n):
    """n random training sequences of `span` frames: dance (n, span, 15, 2), root velocity (n, span, 2), music
    (n, span, F), cos of the beat phase (n, span), style (n,), music of the wrong kind (n, span, F): another song's
    (of another tempo, see mismatch_tempo), or (same_song_mismatch of them) the same song's shifted by 0.3-0.7 of a
    beat."""
    clip = torch.multinomial(torch.from_numpy(n_starts / n_starts.sum()), n, True, generator=rng).numpy()
    start = (torch.rand(n, generator=rng).numpy() * n_starts[clip]).astype(int)
    pick = torch.rand(n, generator=rng).numpy()
    other = np.array([other_songs[c][int(p * len(other_songs[c]))] for c, p in zip(clip, pick)])
    other_start = (torch.rand(n, generator=rng).numpy() * n_starts[other]).astype(int)
    same = torch.rand(n, generator=rng).numpy() < same_song_mismatch
    shift = np.round(np.array(periods)[clip] * (0.3 + 0.4 * torch.rand(n, generator=rng).numpy())).astype(int)
    shifted = np.where(start + shift < n_starts[clip], start + shift, start - shift)
    wrong = [song_t[c][s:s + span] if ok and 0 <= s else song_t[o][os_:os_ + span]
             for c, s, ok, o, os_ in zip(clip, shifted, same, other, other_start)]

    def cut(tensors):
        return torch.stack([tensors[c][s:s + span] for c, s in zip(clip, start)])
    return (cut(dance_t), cut(root_t), cut(song_t), cut(beat_cos_t),
            style_t[torch.from_numpy(clip).to(device)] if style_on else None, torch.stack(wrong))


def windows(x):
    """Cut sequences (B, span, ...) into the critic's windows (B * rollout, seq_len, ...), sequence by sequence."""
    return x.reshape(len(x) * rollout, seq_len, *x.shape[2:])


def judge(net, dances, root_velocity, music, style):
    """Critic scores (B * rollout,) of the windows of dances (B, span, 15, 2) travelling at root_velocity
    (B, span, 2) with music (B, span, F)."""
    return net(windows(dances), windows(root_velocity), windows(music),
               None if style is None else style.repeat_interleave(rollout))


def fake_dances(rng, music, style, net, z0=None):
    """Generated dances (B, T, 15, 2), their root velocities (B, T, 2) and latents (B, T, z_dim) for music windows
    (B, T, F)."""
    z0 = sample_latents(len(music), z_dim, rng, device) if z0 is None else z0
    noise = torch.randn(*music.shape[:2], noise_dim, generator=rng).to(device)
    dance_code = torch.randn(len(music), code_dim, generator=rng).to(device)
    latents, root_velocity = net(z0, music, noise, dance_code, style)
    poses = pose_g(latents.reshape(-1, z_dim)).view(*music.shape[:2], -1, 2)
    return poses, root_velocity, latents


def per_window(x):
    """Sequences (B, span, ...) -> their rollout windows as a list of (B, seq_len, ...)."""
    return x.view(len(x), rollout, seq_len, *x.shape[2:]).unbind(1)


# ---- training ---------------------------------------------------------------------------------------------------
bar = progress(total=max_steps, initial=step, disable=not master, desc='sequence GAN')
half = local_batch // 2
while step < max_steps:
    # Noise and batches come from a generator seeded by (seed, step, rank): a resumed run repeats the same draws.
    rng = torch.Generator().manual_seed(seed * 1_000_003 + step * world + rank)
    critic_record = {}
    for _ in range(critic_steps):
        real, real_root, music, _, style, wrong = draw_windows(rng, local_batch)
        with torch.no_grad():
            fake, fake_root, _ = fake_dances(rng, music, style, seq_g)
        s_real, s_fake, s_wrong = judge(critic_ddp, torch.cat([real, fake, real]),
                                        torch.cat([real_root, fake_root, real_root]), torch.cat([music, music, wrong]),
                                        None if style is None else style.repeat(3)).split(local_batch * rollout)
        loss_d = (F.relu(1 - s_real).mean() + (1 - mismatch_weight) * F.relu(1 + s_fake).mean()
                  + mismatch_weight * F.relu(1 + s_wrong).mean())
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        if not torch.isfinite(loss_d):
            raise SystemExit(f"error: the critic's loss became non-finite at step {step}; try a lower "
                             f"--critic_learning_rate")
        critic_record = {'loss_d': loss_d.item(), 'real_vs_fake': (s_real.mean() - s_fake.mean()).item(),
                         'real_vs_mismatch': (s_real.mean() - s_wrong.mean()).item()}
    critic.requires_grad_(False)
    # The generator's own batch: each music window twice, from the same start but with different noise and dance
    # codes. The diversity term pushes the two dances apart, which only the noise and the codes can do.
    _, _, music, music_beat_cos, style, _ = draw_windows(rng, half)
    music, music_beat_cos = music.repeat(2, 1, 1), music_beat_cos.repeat(2, 1)
    style = None if style is None else style.repeat(2)
    fake, fake_root, latents = fake_dances(rng, music, style, seq_g_ddp,
                                           sample_latents(half, z_dim, rng, device).repeat(2, 1))
    loss_g = -judge(critic, fake, fake_root, music, style).mean()
    spread = (fake[:half] - fake[half:]).norm(dim=-1).mean()
    if diversity_weight:
        loss_g = loss_g - diversity_weight * spread.clamp(max=diversity_cap)
    if latent_weight:
        flat = latents.reshape(-1, z_dim)
        second_moment = flat.T @ flat / len(flat)
        loss_g = loss_g + latent_weight * (flat.mean(0).pow(2).sum()
                                           + (second_moment - torch.eye(z_dim, device=device)).pow(2).sum()) / z_dim
    # Window by window: one lively window (the walk leaving its random start) must not excuse still ones after it.
    # motion_ratio: (rollout, 3, 15) log(generated / real) of motion_statistics' rows STEP, SIZE, CHANGE per joint.
    motion_ratio = torch.stack([motion_statistics(w).mean(0).clamp_min(1e-3).log()
                                - real_motion.clamp_min(1e-3).log() for w in per_window(fake)])
    root_ratio = torch.stack([w.norm(dim=-1).mean().clamp_min(1e-5).log() - real_root_speed.clamp_min(1e-5).log()
                              for w in per_window(fake_root)])
    if kinetic_weight:
        fake_kinetic = kinetic_statistics(windows(fake), windows(fake_root), kinetic_sigma_frames).mean(0)
        kinetic_ratio = fake_kinetic.clamp_min(1e-8).log() - real_kinetic.clamp_min(1e-8).log()
        loss_g = loss_g + kinetic_weight * kinetic_ratio.pow(2).mean()
    if motion_weight:
        loss_g = loss_g + motion_weight * (motion_ratio[:, [STEP, SIZE]].pow(2).mean() + root_ratio.pow(2).mean())
    if acceleration_weight:
        root_change = (fake_root[:, 1:] - fake_root[:, :-1]).norm(dim=-1).mean().clamp_min(1e-6).log()
        loss_g = loss_g + acceleration_weight * (motion_ratio[:, CHANGE].pow(2).mean()
                                                 + (root_change - real_root_change.clamp_min(1e-6).log()).pow(2))
    if variation_weight:
        level_spread = window_levels(windows(fake), windows(fake_root)).std(0)
        loss_g = loss_g + variation_weight * (level_spread - real_level_spread).pow(2).sum()
    beat_motion = fake
    if beat_root:
        beat_motion = fake + torch.cat([w.cumsum(1) for w in per_window(fake_root)], 1)[:, :, None]
    beat_speed = beat_speed_score(windows(beat_motion), windows(music_beat_cos), beat_sigma_frames).mean()
    if beat_weight:
        loss_g = loss_g + beat_weight * beat_speed
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    critic.requires_grad_(True)
    if style_on:
        logits = classifier_ddp(music)
        loss_c = F.cross_entropy(logits, style)
        opt_c.zero_grad(set_to_none=True)
        loss_c.backward()
        opt_c.step()
    if not torch.isfinite(loss_g):
        raise SystemExit(f"error: the generator's loss became non-finite at step {step}; try a lower "
                         f"--learning_rate")
    step += 1
    bar.update()
    if master and (step % log_every == 0 or step == max_steps):
        record = {'step': step, 'loss_g': loss_g.item(), **critic_record, 'diversity': spread.item(),
                  # generated / real size of moves in the last window of the rollout (the farthest from the random
                  # start), mean over the moving joints (1: as much as the dancers)
                  'move_size': motion_ratio[-1, SIZE].exp()[moving_joints].mean().item(),
                  'move_change': motion_ratio[-1, CHANGE].exp()[moving_joints].mean().item(),
                  'root_speed': root_ratio[-1].exp().item(), 'beat_speed': beat_speed.item()}
        if style_on:
            record['style_loss'] = loss_c.item()
            record['style_accuracy'] = (logits.argmax(1) == style).float().mean().item()
        history.append(record)
        bar.set_postfix(d=f"{record.get('loss_d', float('nan')):.3f}", g=f"{record['loss_g']:.3f}",
                             size=f"{record['move_size']:.2f}", beat=f"{record['beat_speed']:.2f}",
                             diversity=f"{record['diversity']:.3f}")
    if master and sample_every and step % sample_every == 0 and step < max_steps:
        save_sample(os.path.join(out, f'sample_{step}.mp4'))
    if master and step % ckpt_every == 0 and step < max_steps:
        save_checkpoint()
        save_loss_plot(os.path.join(out, 'losses.png'), history, LOSS_KEYS, 'generator step')
bar.close()

# ---- the end: checkpoint, loss plot, a sample dance --------------------------------------------------------------
if master:
    save_checkpoint()
    if history:
        save_loss_plot(os.path.join(out, 'losses.png'), history, LOSS_KEYS, 'generator step')
    if sample_seconds > 0:
        save_sample(os.path.join(out, f'sample_{step}.mp4'))
    print(f"wrote {out}")
del seq_g_ddp, critic_ddp, classifier_ddp  # they hold the process group (see stop_processes)
stop_processes(world)
