"""Stage 2 of the GAN dancer: a sequence GAN, conditioned on the music, that walks the pose GAN's latent space.

Reads the training clips' poses and music features (data/<dataset>/poses/, music/ from process_waves.py,
meta.json for the style labels) and the frozen pose generator of train_pose.py (out/<dataset>/gan_pose/ckpt.pt).
models.gan.SeqGenerator turns an initial latent, per-frame noise, the music of each frame and optionally the style
into latent shifts, summed over time and decoded by the pose generator. models.gan.SeqCritic (hinge loss) judges
(dance, music) pairs: real dances with their own music against generated dances and against real dances paired
with the wrong music (another song, or the same song shifted off the beat), so a dance that moves well but ignores
the music loses. The generator dances `rollout` windows in a row from a random start, and two losses beside the
critic's keep it dancing for a whole song: each window's per-joint speed and size of moves match the real dances',
and the latents it visits stay spread over the pose GAN's inputs. With styles, a music -> style classifier trains
alongside, to pick a style for a new song.

Writes out/<dataset>/gan_seq/: ckpt.pt (everything generate_dance needs, plus optimisers and settings; training
resumes from it), losses.png, and sample_<step>.mp4 (a generated dance with its music).

    python train_seq.py --dataset=demo
    torchrun --nproc_per_node=2 train_seq.py          # same global batch, split over the processes (DDP)
"""
import os

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from l2d.config import configure
from l2d.io import (AUDIO_EXTENSIONS, InputError, atomic_path, data_dir, find_media, load_meta, load_poses, out_dir,
                    split_clips)
from l2d.audio import load_music
from l2d.norm import normalize
from l2d.processes import start_processes
from l2d.skeleton import MIDHIP, NUM_JOINTS, bone_lengths, mirror
from models.gan import (PoseGenerator, SeqCritic, SeqGenerator, StyleClassifier, generate_dance, motion_statistics,
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
critic_hidden = 64
use_style = True          # condition on the meta.json labels (and train a music -> style classifier)
style_dim = 8
batch_size = 16           # global batch: split over torchrun processes
max_steps = 600           # generator steps
critic_steps = 1          # critic steps per generator step (hinge loss, spectrally normalised critic)
mismatch_weight = 0.5     # share of the critic's fake side taken by real dances paired with the wrong music
same_song_mismatch = 0.5  # of those, the share whose music is the same song shifted by part of a beat
smooth_weight = 0.0       # the paper's smoothness loss: mean squared joint step between frames (torso lengths)
shift_weight = 0.0        # the paper's shift-size loss: mean squared latent shift per frame
latent_weight = 1.0       # keep the latents the walk visits spread over the sphere as the pose GAN's inputs were
                          # (mean 0, second moment I), so its poses are as varied as the real ones; without it the walk
                          # settles where the pose generator draws frontal, outstretched bodies
motion_weight = 1.0       # match the real dances' per-joint speed and size of moves (log ratio squared): the critic
                          # alone lets the walk settle for small moves
diversity_weight = 1.0    # reward for two dances to the same music differing (mode seeking; the data has one dance
diversity_cap = 0.1       # per song, so nothing else asks for it), up to this mean joint distance (torso lengths)
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

# ---- data: training dances (normalised) with their music ---------------------------------------------------------
meta = load_meta(dataset)
dances, songs, labels, periods, roots, scales, fps = [], [], [], [], [], [], None
for clip in split_clips(dataset, 'train'):
    pose_path, music_path = data_dir(dataset, 'poses', clip + '.npz'), data_dir(dataset, 'music', clip + '.npz')
    try:
        pose_file, music = load_poses(pose_path), load_music(music_path)
        if abs(pose_file['fps'] - float(music['fps'])) > 1e-3:
            raise InputError(f"{music_path}: {music['fps']} fps, but the poses have {pose_file['fps']}")
        if fps is not None and abs(pose_file['fps'] - fps) > 1e-3:
            raise InputError(f"{pose_path}: {pose_file['fps']} fps, but the other clips have {fps}")
        n = min(len(pose_file['poses']), len(music['beats']))
        if n < seq_len * rollout:
            raise InputError(f"{pose_path}: {n} frames, shorter than seq_len * rollout = {seq_len * rollout}")
        normed, root, scale = normalize(pose_file['poses'][:n])
        song = music_inputs(music, n)
    except InputError as e:
        print(f"{e}; skipped")
        continue
    except (KeyError, ValueError) as e:
        print(f"{pose_path} / {music_path}: {e}; skipped")
        continue
    if not np.isfinite(normed).all():
        print(f"{pose_path}: non-finite poses; skipped")
        continue
    fps = pose_file['fps']
    beat_frames = np.flatnonzero(music['beats'][:n] > 0.5)
    dances.append(normed)
    songs.append(song)
    labels.append(meta['clips'][clip].get('label'))
    periods.append(float(np.median(np.diff(beat_frames))) if len(beat_frames) > 1 else fps / 2)
    roots.append(np.median(root, 0))
    scales.append(scale)
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
if mirror_poses:  # a mirrored dancer dances to the same music
    dances += [mirror(d) for d in dances]
    songs, labels, periods = songs * 2, labels * 2, periods * 2
dance_t = [torch.from_numpy(d).to(device) for d in dances]
song_t = [((torch.from_numpy(s) - music_mean) / music_std).to(device) for s in songs]
style_t = torch.tensor([styles.index(label) if style_on else 0 for label in labels], device=device)
span = seq_len * rollout  # frames per training sequence
n_starts = np.array([len(d) - span + 1 for d in dances])
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
              'music_hidden': music_hidden, 'n_styles': n_styles, 'style_dim': style_dim}
critic_args = {'hidden': critic_hidden, 'music_hidden': music_hidden, 'n_styles': n_styles, 'style_dim': style_dim}
seq_g = SeqGenerator(**seq_g_args).to(device)
critic = SeqCritic(**critic_args).to(device)
classifier = StyleClassifier(n_styles).to(device) if style_on else None
betas = (beta1, beta2)
opt_g = torch.optim.Adam(seq_g.parameters(), lr=learning_rate, betas=betas)
opt_d = torch.optim.Adam(critic.parameters(), lr=critic_learning_rate, betas=betas)
opt_c = torch.optim.Adam(classifier.parameters(), lr=1e-3) if style_on else None
real_windows = torch.cat([d[:len(d) // seq_len * seq_len].view(-1, seq_len, *d.shape[1:]) for d in dance_t])
critic.set_motion_stats(real_windows)
real_motion = motion_statistics(real_windows)
moving_joints = torch.arange(NUM_JOINTS, device=device) != MIDHIP  # MidHip is the fixed origin
step, history = 0, []
if resume and os.path.isfile(ckpt_path):
    ckpt = torch.load(ckpt_path, map_location=device)
    if (ckpt['seq_g_args'], ckpt['critic_args'], ckpt['styles']) != (seq_g_args, critic_args, styles if style_on
                                                                      else []):
        raise SystemExit(f"error: {ckpt_path} was trained with other models or styles: use --resume=False "
                         f"to start again")
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


def checkpoint():
    """Everything generate_dance needs (see models.gan), plus the training state."""
    return {'settings': settings, 'step': step, 'world_size': world, 'fps': fps, 'styles': styles if style_on else [],
            'pose_ckpt': pose_ckpt_path, 'pose_g_args': pose_state['model_args'], 'pose_g': pose_g.state_dict(),
            'seq_g_args': seq_g_args, 'seq_g': seq_g.state_dict(), 'critic_args': critic_args,
            'critic': critic.state_dict(), 'classifier': classifier.state_dict() if style_on else None,
            'opt_g': opt_g.state_dict(), 'opt_d': opt_d.state_dict(), 'opt_c': opt_c.state_dict() if style_on else None,
            'music_mean': music_mean, 'music_std': music_std, 'history': history,
            'real_bone_lengths': torch.from_numpy(bone_lengths(np.concatenate(dances)).mean(0)),
            # where eval.py puts a dancer in pixels: the training videos' median MidHip and torso length
            'root': torch.tensor(np.median(roots, 0)), 'scale': float(np.median(scales))}


def save_checkpoint():
    with atomic_path(ckpt_path) as tmp:
        torch.save(checkpoint(), tmp)


def save_loss_plot(path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    steps = [h['step'] for h in history]
    fig, ax = plt.subplots(figsize=(7, 4))
    for key in ('loss_d', 'loss_g', 'real_vs_fake', 'real_vs_mismatch', 'style_loss', 'move_size'):
        if history and key in history[0]:
            ax.plot(steps, [h[key] for h in history], label=key)
    ax.set_xlabel('generator step')
    ax.legend()
    ax.grid(alpha=0.3)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)


sample_clips = split_clips(dataset, 'test') or split_clips(dataset, 'train')


def save_sample(path):
    """A generated dance to the music of the first test clip (or training clip), as an MP4 with the music."""
    from l2d.render import write_animation
    clip = sample_clips[0]
    try:
        music = load_music(data_dir(dataset, 'music', clip + '.npz'))
    except InputError as e:
        print(f"{e}; no sample")
        return
    n = min(len(music['beats']), int(sample_seconds * fps))
    dance = generate_dance(checkpoint(), music, n, seed, device=device)
    audio = find_media(data_dir(dataset, 'audio'), clip, AUDIO_EXTENSIONS)
    write_animation(path, [dance], fps, music_path=audio, titles=[f'GAN dance to {clip}, step {step}'])


def draw_windows(rng, n):
    """n random training sequences of `span` frames: dance (n, span, 15, 2), music (n, span, F), style (n,), music
    of the wrong kind (n, span, F): another song's, or (same_song_mismatch of them) the same song's shifted by
    0.3-0.7 of a beat."""
    clip = torch.multinomial(torch.from_numpy(n_starts / n_starts.sum()), n, True, generator=rng).numpy()
    start = (torch.rand(n, generator=rng).numpy() * n_starts[clip]).astype(int)
    other = (clip + 1 + (torch.rand(n, generator=rng).numpy() * (len(dances) - 1)).astype(int)) % len(dances)
    other_start = (torch.rand(n, generator=rng).numpy() * n_starts[other]).astype(int)
    same = torch.rand(n, generator=rng).numpy() < same_song_mismatch
    shift = np.round(np.array(periods)[clip] * (0.3 + 0.4 * torch.rand(n, generator=rng).numpy())).astype(int)
    shifted = np.where(start + shift < n_starts[clip], start + shift, start - shift)
    wrong = [song_t[c][s:s + span] if ok and 0 <= s else song_t[o][os_:os_ + span]
             for c, s, ok, o, os_ in zip(clip, shifted, same, other, other_start)]
    return (torch.stack([dance_t[c][s:s + span] for c, s in zip(clip, start)]),
            torch.stack([song_t[c][s:s + span] for c, s in zip(clip, start)]),
            style_t[torch.from_numpy(clip).to(device)] if style_on else None,
            torch.stack(wrong))


def windows(x):
    """Cut sequences (B, span, ...) into the critic's windows (B * rollout, seq_len, ...), sequence by sequence."""
    return x.reshape(len(x) * rollout, seq_len, *x.shape[2:])


def judge(net, dances, music, style):
    """Critic scores (B * rollout,) of the windows of dances (B, span, 15, 2) with music (B, span, F)."""
    return net(windows(dances), windows(music), None if style is None else style.repeat_interleave(rollout))


def fake_dances(rng, music, style, net, z0=None):
    """Generated dances (B, T, 15, 2), their latents (B, T, z_dim) and latent shifts (B, T, z_dim) for music
    windows (B, T, F)."""
    z0 = sample_latents(len(music), z_dim, rng, device) if z0 is None else z0
    noise = torch.randn(*music.shape[:2], noise_dim, generator=rng).to(device)
    dance_code = torch.randn(len(music), code_dim, generator=rng).to(device)
    latents = net(z0, music, noise, dance_code, style)
    poses = pose_g(latents.reshape(-1, z_dim)).view(*music.shape[:2], -1, 2)
    return poses, latents, torch.diff(torch.cat([z0[:, None], latents], 1), dim=1)


# ---- training ---------------------------------------------------------------------------------------------------
progress = tqdm(total=max_steps, initial=step, disable=not master, desc='sequence GAN')
while step < max_steps:
    # Noise and batches come from a generator seeded by (seed, step, rank): a resumed run repeats the same draws.
    rng = torch.Generator().manual_seed(seed * 1_000_003 + step * world + rank)
    for _ in range(critic_steps):
        real, music, style, wrong = draw_windows(rng, local_batch)
        with torch.no_grad():
            fake, _, _ = fake_dances(rng, music, style, seq_g)
        s_real, s_fake, s_wrong = judge(critic_ddp, torch.cat([real, fake, real]), torch.cat([music, music, wrong]),
                                        None if style is None else style.repeat(3)).split(local_batch * rollout)
        loss_d = (F.relu(1 - s_real).mean() + (1 - mismatch_weight) * F.relu(1 + s_fake).mean()
                  + mismatch_weight * F.relu(1 + s_wrong).mean())
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
    critic.requires_grad_(False)
    # Each music window twice, from the same start but with different noise and dance codes: the diversity term
    # pushes the two dances apart, which only the noise and the codes can do.
    half = local_batch // 2
    music, style = music[:half].repeat(2, 1, 1), None if style is None else style[:half].repeat(2)
    fake, latents, shifts = fake_dances(rng, music, style, seq_g_ddp, sample_latents(half, z_dim, rng, device).repeat(2, 1))
    loss_g = -judge(critic, fake, music, style).mean()
    spread = (fake[:half] - fake[half:]).norm(dim=-1).mean()
    if diversity_weight:
        loss_g = loss_g - diversity_weight * spread.clamp(max=diversity_cap)
    if smooth_weight:
        loss_g = loss_g + smooth_weight * (fake[:, 1:] - fake[:, :-1]).pow(2).sum(-1).mean()
    if shift_weight:
        loss_g = loss_g + shift_weight * shifts.pow(2).sum(-1).mean()
    if latent_weight:
        flat = latents.reshape(-1, z_dim)
        second_moment = flat.T @ flat / len(flat)
        loss_g = loss_g + latent_weight * (flat.mean(0).pow(2).sum()
                                           + (second_moment - torch.eye(z_dim, device=device)).pow(2).sum()) / z_dim
    # Window by window: one lively window (the walk leaving its random start) must not excuse still ones after it.
    motion_ratio = torch.stack([motion_statistics(w).clamp_min(1e-3).log() - real_motion.clamp_min(1e-3).log()
                                for w in fake.view(len(fake), rollout, seq_len, *fake.shape[2:]).unbind(1)])
    if motion_weight:
        loss_g = loss_g + motion_weight * motion_ratio.pow(2).mean()
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
    if not (torch.isfinite(loss_d) and torch.isfinite(loss_g)):
        raise SystemExit(f"error: losses became non-finite at step {step} (loss_d={loss_d.item()}, "
                         f"loss_g={loss_g.item()}); try a lower --learning_rate")
    step += 1
    progress.update()
    if master and (step % log_every == 0 or step == max_steps):
        record = {'step': step, 'loss_d': loss_d.item(), 'loss_g': loss_g.item(),
                  'real_vs_fake': (s_real.mean() - s_fake.mean()).item(),
                  'real_vs_mismatch': (s_real.mean() - s_wrong.mean()).item(), 'diversity': spread.item(),
                  # generated / real size of moves in the last window, mean over joints (1: as much as the dancers)
                  'move_size': motion_ratio[-1, 1].exp()[moving_joints].mean().item()}
        if style_on:
            record['style_loss'] = loss_c.item()
            record['style_accuracy'] = (logits.argmax(1) == style).float().mean().item()
        history.append(record)
        progress.set_postfix(d=f"{record['loss_d']:.3f}", g=f"{record['loss_g']:.3f}",
                             mismatch=f"{record['real_vs_mismatch']:.3f}", diversity=f"{record['diversity']:.3f}")
    if master and sample_every and step % sample_every == 0 and step < max_steps:
        save_sample(os.path.join(out, f'sample_{step}.mp4'))
    if master and step % ckpt_every == 0 and step < max_steps:
        save_checkpoint()
        save_loss_plot(os.path.join(out, 'losses.png'))
progress.close()

# ---- the end: checkpoint, loss plot, a sample dance --------------------------------------------------------------
if master:
    save_checkpoint()
    if history:
        save_loss_plot(os.path.join(out, 'losses.png'))
    if sample_seconds > 0:
        save_sample(os.path.join(out, f'sample_{step}.mp4'))
    print(f"wrote {out}")
if ddp:
    torch.distributed.destroy_process_group()
