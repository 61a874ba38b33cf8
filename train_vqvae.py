"""Train the motion tokens: a temporal 1-D convolutional VQ-VAE over the training dances (models/tokens.py).

Every frame of a dance is its MidHip-centred pose in torso lengths plus the root's velocity in torso lengths per
frame (models.tokens.motion_features; the root track smoothed over `root_smooth_s` first, as detector jitter is
larger than the travel per frame), standardised per channel over the training frames. The VQ-VAE learns to
rebuild random windows of `window_frames` frames through a codebook of `n_codes` tokens, each standing for
2**downsample frames (8 frames, 0.27 s at 30 fps, 0.32 s at 25 fps, by default: about two tokens per beat, so
a token is a piece of a move rather than a move; on the demo, 600 steps with 4-frame tokens rebuilt the test dances
with 0.044 torso lengths of joint error, with 8-frame tokens 0.031, and the transformer has half as many to
write). Loss: mean squared error of the standardised frames, plus `velocity_weight` times that of their
frame-to-frame differences (the motion itself, of which beats and jerk are made), plus `commitment_weight` times
the encoder's distance to its code. The codebook follows its vectors by EMA and dead codes are re-seeded from the
batch. With `n_books` > 1 a token is a product code, one code from each of n_books codebooks (n_codes ** n_books
tokens rather than n_codes; on 6 held-out Dance with Melody training dances, 1200 steps: joint error 0.133 torso
lengths with one book of 256, 0.118 with two). With `residual` the books work in series instead (residual VQ, as
SoundStream and MoMask): book 0 quantises the encoder's vector, book 1 what book 0 left of it, and so on, and the
token is the sum of its n_books code vectors; each book keeps its own EMA and re-seeds its dead codes from the
leftovers it is given. On those 6 held-out dances, 1200 steps, hidden 128, root_weight 8: joint error 0.114 torso
lengths with two product books, 0.093 with four residual books (root velocity error 0.18 -> 0.11 torso lengths/s);
the decoder fed the encoder's unquantised vectors rebuilt them with 0.088, so what remains is the encoder and
decoder's, not the codes'. `pose_in_torso_lengths` weighs each pose channel's losses by its variance, so that the
loss counts the error in torso lengths, as the joint error is measured, rather than in standard deviations, where a
wrist's large swing counts as little as the neck's small one (wrists and elbows carried most of the error): 0.093
-> 0.078 (root 0.096). On the demo's 4 held-out training dances (waltz_01, hiphop_02, reggaeton_03, house_01; 400
steps), four residual books with pose_in_torso_lengths and hidden 128 (what `make demo` uses) rebuilt them within
0.026 torso lengths against 0.038 with one book and hidden 64, root velocity 0.060 against 0.088 torso lengths/s;
the token dancer's floor width went 0.47, 0.65 -> 1.19, 1.27 torso lengths (real 1.39; 2 transformer seeds) and its
BAS 0.63, 0.69 -> 0.54, 0.51 (nulls about 0.07 half-beat and 0.21 circular). `energy_weight` keeps the
rebuilt moves as big as the real ones: the squared error alone shrinks them (those 4 dances rebuilt with 0.78 and
0.86 of their horizontal kinetic energy, 2 seeds, and a classifier named their style in 0.75 and 0.71 of their 5-s
segments, against 0.96 for the real dances). At 0.1 (what `make demo` adds): 0.94 and 0.87 of the energy, style 0.83
and 0.83, joint error unchanged (0.026, 0.028 -> 0.026, 0.027); the token dancer's style 0.72 -> 0.83 and FID_k 23.6
-> 17.9 on average over 6 runs (2 VQ-VAE seeds, transformer seeds, bench seeds), each run better paired on both, Div_k
5.8 -> 6.0, BAS 0.51 -> 0.54, floor width 1.03 -> 0.81 (real 1.39). At 0.3 the joint error rose to 0.035. On 7
held-out Dance with Melody dances it raised the joint error 0.083 -> 0.092 and lowered the dancer's BAS 0.28, 0.30
-> 0.24, 0.25 (nulls 0.12-0.14 half-beat), so `make bench-dwm` leaves it at 0. More steps: 2400 rather than 1200
(without it) 0.084; a learning rate of 2e-3 rather than 1e-3, 0.099. Longer still is unsafe: over 3600 steps (decayed
over them; and again at a constant rate with the gradient's norm clipped at 1) the encoder's vectors drifted away
from their codes between steps 1400 and 1800 (commitment loss 0.4 -> 1 -> 4 or 1e7) and every window fell to one
code (7 held-out Dance with Melody dances: joint error 0.36, perplexity 1); so did a commitment_weight of 0.25 at
1200 steps (step 950), and, without re-seeding dead codes (dead_below 0), 3600 steps (step 2100). At the settings
of `make bench-dwm` three seeds gave 0.083, 0.081, 0.083. A run that collapses (models.tokens.training_collapsed)
stops with an error before it saves another checkpoint.
`root_weight` weighs the two root velocity channels in the losses against a pose channel: the travel is 2 of 32
channels, and at 1 the dancer's rebuilt root velocity was off by 0.60 torso lengths/s against a real speed of 0.9
(there, with root_weight 8: 0.20, joints 0.125). The learning rate decays
along a cosine to `lr_floor` times itself over `lr_decay_steps` (0: constant) and stays there (on 6 Dance with
Melody training dances held out, 1200 steps: joint error 0.140 torso lengths constant, 0.133 decayed over 1200; the
demo's 400 steps rebuilt its dances better at a constant rate, 0.038 against 0.045). `mirror_dances` adds every
dance mirrored left-right (twice the motion, and no side preferred).

At the end it reports, on the held-out TEST dances (meta.json split 'test') and on the training dances: the
reconstruction error per joint in torso lengths and in pixels (the dance's own torso length), the (smoothed) root
velocity error in torso lengths per second, how energetic the rebuilt moves are (their kinetic energy over the real
ones'), codebook perplexity and dead codes; it writes them to out/<dataset>/vqvae/report.json and draws what the
most used codes decode to (codes.png). The checkpoint out/<dataset>/vqvae/ckpt.pt holds the weights, settings, model
args, the standardisation, the floor placement of the training dancers (l2d.norm.placement) and fps; a rerun
continues from it. Runs on CPU or CUDA, and under torchrun:

    python train_vqvae.py --dataset=demo
    torchrun --nproc_per_node=2 train_vqvae.py --dataset=demo
"""
import hashlib
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from l2d.config import configure
from l2d.io import InputError, atomic_path, data_dir, load_meta, load_poses, out_dir, save_json, split_clips
from l2d.norm import placement as floor_placement
from l2d.processes import start_processes, stop_processes
from l2d.progress import progress
from l2d.skeleton import BONE_SIDES, BONES
from models.tokens import (MotionVQVAE, dance_frames, dance_tokens, energy_log_ratio, mirror_features, motion_features,
                           motion_from_features, perplexity, pose_energy, resume_checkpoint, training_collapsed)

dataset = 'demo'
downsample = 3            # stride-2 stages: a token stands for 2**downsample frames
n_codes = 256             # codebook size
n_books = 1               # codebooks per token (a product code: n_codes ** n_books tokens, n_books codes to write)
residual = False          # the n_books codebooks in series (residual VQ) rather than side by side (product)
code_dim = 64             # size of a code vector
hidden = 64               # channels of the convolutions
window_frames = 64        # frames of a training window (a multiple of 2**downsample)
batch_size = 32           # windows per step, split over torchrun processes
max_steps = 400
learning_rate = 1e-3
lr_decay_steps = 0        # the learning rate decays along a cosine to lr_floor times itself over these steps
lr_floor = 0.05
velocity_weight = 1.0     # weight of the frame-to-frame difference loss
energy_weight = 0.0       # weight of the pose channels' kinetic energy loss (log ratio of rebuilt and real energy)
root_weight = 1.0         # weight of the root velocity's two channels against a pose channel's, in both losses
pose_in_torso_lengths = False  # pose losses in torso lengths (channels weighed by variance), not in std units
commitment_weight = 0.02  # weight of the encoder's pull towards its code
ema_decay = 0.99          # codebook EMA decay
dead_below = 0.1          # a code whose EMA count per batch falls below this is re-seeded from the batch
mirror_dances = True      # add every training dance mirrored left-right
root_smooth_s = 0.2       # the root track is smoothed over this many seconds before its velocity is taken
log_every = 25            # record losses every this many steps
ckpt_every = 500          # save the checkpoint every this many steps (and at the end)
picture_codes = 8         # how many of the most used codes codes.png draws
resume = True             # continue from out/<dataset>/vqvae/ckpt.pt when it exists
seed = 1337
device = 'auto'           # 'auto' (CUDA when available), 'cpu', 'cuda', 'cuda:1', ...
cpu_threads = 1           # torch threads per process on CPU (small networks lose more to thread sync than they gain)
settings = configure(globals())
ENERGY_LAG_FRAMES = 4      # the energy loss's steps are taken over this many frames
# Settings that do not change what is learnt, so a rerun may change them and still continue.
RUN_SETTINGS = ('max_steps', 'log_every', 'ckpt_every', 'picture_codes', 'resume', 'device', 'cpu_threads')

device, rank, world = start_processes(device, cpu_threads)
ddp = world > 1
master = rank == 0
if batch_size % world:
    raise SystemExit(f"error: batch_size={batch_size} is not divisible by the {world} processes")
frames_per_token = 2 ** downsample
if window_frames % frames_per_token:
    raise SystemExit(f"error: window_frames={window_frames} is not a multiple of 2**downsample={frames_per_token}")
local_batch = batch_size // world
out = out_dir(dataset, 'vqvae')
ckpt_path = os.path.join(out, 'ckpt.pt')

# ---- data: motion frames of every dance -------------------------------------------------------------------------
fps = float(load_meta(dataset).get('fps') or 0)
dances = {'train': {}, 'test': {}}
pixel_poses = []
for split in dances:
    for clip in split_clips(dataset, split):
        path = data_dir(dataset, 'poses', clip + '.npz')
        try:
            pose_file = load_poses(path)
            fps = fps or pose_file['fps']
            features = motion_features(pose_file['poses'], fps, root_smooth_s)
        except InputError as e:
            print(f"{e}; skipped")
            continue
        except ValueError as e:
            print(f"{path}: {e}; skipped")
            continue
        if not np.isfinite(features).all():
            print(f"{path}: poses with missing joints; skipped")
            continue
        if len(features) < window_frames:
            print(f"{path}: {len(features)} frames, under window_frames={window_frames}; skipped")
            continue
        dances[split][clip] = dict(features=features, poses=pose_file['poses'])
        if split == 'train':
            pixel_poses.append(pose_file['poses'])
if not dances['train']:
    raise SystemExit(f"error: no usable training dance in {data_dir(dataset, 'poses')} (run parse.py first)")
train = [d['features'] for d in dances['train'].values()]
if mirror_dances:
    train += [mirror_features(f) for f in train]
all_frames = np.concatenate(train)
mean = all_frames.mean(0).astype(np.float32)
std = (all_frames.std(0) + 1e-4).astype(np.float32)
standard = [torch.from_numpy((f - mean) / std) for f in train]
lengths = np.array([len(f) for f in train], np.float64)
placement = floor_placement(pixel_poses)
if master:
    print(f"{len(dances['train'])} training dances ({len(all_frames)} frames with mirrors: {mirror_dances}), "
          f"{len(dances['test'])} test dances, {fps:g} fps, a token = {frames_per_token} frames "
          f"({frames_per_token / fps:.3f} s)")

# ---- model, optimiser, checkpoint -------------------------------------------------------------------------------
torch.manual_seed(seed)
model_args = dict(hidden=hidden, code_dim=code_dim, n_codes=n_codes, downsample=downsample, decay=ema_decay,
                  dead_below=dead_below, n_books=n_books, residual=residual)
model = MotionVQVAE(**model_args).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
step, history, seconds = 0, [], 0.0
if resume and os.path.isfile(ckpt_path):
    ckpt = resume_checkpoint(ckpt_path, settings, RUN_SETTINGS, device)
    model.load_state_dict(ckpt['model'])
    optimizer.load_state_dict(ckpt['optimizer'])
    step, history, seconds = ckpt['step'], ckpt['history'], ckpt['seconds']
    if master:
        print(f"resuming {ckpt_path} at step {step}")
# The codebook's EMA buffers are all-reduced by the quantiser itself: DDP need not copy rank 0's over them.
trainer = torch.nn.parallel.DistributedDataParallel(model, forward_sync_buffers=False) if ddp else model
if master:
    print(f"{sum(p.numel() for p in model.parameters())} parameters on {device}"
          + (f", {world} processes" if ddp else ""))


def save_checkpoint(report=None):
    """Everything the dancer and train_gpt.py need, and everything a rerun needs to continue."""
    codebook_id = hashlib.sha1(model.quantiser.codebook.cpu().numpy().tobytes()).hexdigest()[:16]
    with atomic_path(ckpt_path) as tmp:
        torch.save(dict(model=model.state_dict(), optimizer=optimizer.state_dict(), step=step, history=history,
                        seconds=seconds, settings=settings, model_args=model_args, mean=mean, std=std,
                        placement=placement, fps=fps, train_dances=sorted(dances['train']),
                        test_dances=sorted(dances['test']), codebook_id=codebook_id, report=report), tmp)


def batch(rng):
    """local_batch random windows (B, window_frames, 32) of the training dances, dances drawn by length."""
    picks = rng.choice(len(standard), local_batch, p=lengths / lengths.sum())
    starts = [rng.integers(0, len(standard[i]) - window_frames + 1) for i in picks]
    return torch.stack([standard[i][s:s + window_frames] for i, s in zip(picks, starts)]).to(device)


def book_perplexity(codes):
    """Mean over the codebooks of the perplexity of codes (..., n_books)."""
    codes = codes.reshape(-1, n_books)
    return float(np.mean([perplexity(codes[:, b], n_codes) for b in range(n_books)]))


# ---- training ---------------------------------------------------------------------------------------------------
channel_weight = torch.ones(len(mean), device=device)
if pose_in_torso_lengths:
    pose_variance = torch.from_numpy(std[:-2] ** 2).to(device)
    channel_weight[:-2] = pose_variance / pose_variance.mean()
channel_weight[-2:] = root_weight
channel_weight *= len(mean) / channel_weight.sum()  # the same total weight as an unweighted mean
model.train()
bar = progress(total=max_steps, initial=step, disable=not master, desc='VQ-VAE')
started = time.time()
while step < max_steps:
    # Windows and re-seeds come from (seed, step, rank): a resumed run repeats the uninterrupted one.
    rng = np.random.default_rng([seed, step, rank])
    torch.manual_seed(seed * 1_000_003 + step)
    decayed_share = min(step / lr_decay_steps, 1.0) if lr_decay_steps else 0.0
    for group in optimizer.param_groups:
        group['lr'] = learning_rate * (lr_floor + (1 - lr_floor) * 0.5 * (1 + np.cos(np.pi * decayed_share)))
    x = batch(rng)
    reconstruction, codes, commitment = trainer(x)
    loss_frames = (channel_weight * (reconstruction - x).pow(2)).mean()
    loss_velocity = (channel_weight * (reconstruction.diff(dim=1) - x.diff(dim=1)).pow(2)).mean()
    loss = loss_frames + velocity_weight * loss_velocity + commitment_weight * commitment
    if energy_weight:
        # A squared error is smallest for the average of the motions a code might stand for, which moves less than
        # any of them. Over one frame, rather than ENERGY_LAG_FRAMES, the energy loss chased the detector's jitter
        # (demo: joint error 0.026 -> 0.044 torso lengths).
        energy_ratio = energy_log_ratio(reconstruction, x, ENERGY_LAG_FRAMES)
        loss_energy = (channel_weight[:-2] * energy_ratio.pow(2)).mean()
        loss = loss + energy_weight * loss_energy
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if not torch.isfinite(loss):
        raise SystemExit(f"error: the loss became non-finite at step {step}; try a lower --learning_rate")
    step += 1
    bar.update()
    if master and (step % log_every == 0 or step == max_steps):
        record = dict(step=step, loss=loss.item(), frames=loss_frames.item(), velocity=loss_velocity.item(),
                      commitment=commitment.item(), batch_perplexity=book_perplexity(codes.cpu().numpy()),
                      dead_codes=int((model.quantiser.count < dead_below).sum()))
        if energy_weight:
            record['energy'] = loss_energy.item()
        history.append(record)
        bar.set_postfix(frames=f"{record['frames']:.4f}", ppl=f"{record['batch_perplexity']:.0f}")
        if training_collapsed([r['frames'] for r in history]):
            bar.close()
            raise SystemExit(f"error: the VQ-VAE collapsed at step {step} (frame loss {record['frames']:.3f}, "
                             f"{min(r['frames'] for r in history):.4f} at best; batch perplexity "
                             f"{record['batch_perplexity']:.1f}). {ckpt_path} still holds the last checkpoint "
                             f"(every {ckpt_every} steps); train afresh (--resume=False) with a lower "
                             f"--learning_rate, fewer --max_steps or a shorter --lr_decay_steps (the docstring of "
                             f"train_vqvae.py says what collapsed)")
    if step % ckpt_every == 0 and step < max_steps:
        seconds += time.time() - started
        started = time.time()
        if master:
            save_checkpoint()
bar.close()
seconds += time.time() - started


# ---- the end: reconstruction and codebook usage on test and training dances, a picture of the codes ---------------
def reconstruction_report(split):
    """Per-split figures: mean joint error (torso lengths, pixels), root velocity error (torso lengths per second),
    how energetic the rebuilt moves are (their poses' kinetic energy over ENERGY_LAG_FRAMES-frame steps / the real
    ones'), perplexity and codes used by the split's tokens, and the tokens themselves."""
    model.eval()
    joint_tl, joint_px, root_tl_s, energy_ratio, tokens = [], [], [], [], []
    for d in dances[split].values():
        features = d['features']
        codes = dance_tokens(model, features, mean, std)
        rebuilt = dance_frames(model, codes, mean, std, len(features))
        error_tl = np.linalg.norm((rebuilt[:, :30] - features[:, :30]).reshape(-1, 15, 2), axis=-1)
        torso_px = float(np.median(np.linalg.norm(d['poses'][:, 1] - d['poses'][:, 8], axis=-1)))
        joint_tl.append(error_tl.mean())
        joint_px.append(error_tl.mean() * torso_px)
        root_tl_s.append(np.linalg.norm(rebuilt[:, 30:] - features[:, 30:], axis=-1).mean() * fps)
        energy_ratio.append(pose_energy(rebuilt, ENERGY_LAG_FRAMES).mean()
                            / pose_energy(features, ENERGY_LAG_FRAMES).mean())
        tokens.append(codes)
    if not tokens:
        return None, None
    tokens = np.concatenate(tokens)
    used = sum(len(np.unique(tokens[:, b])) for b in range(n_books))
    return dict(dances=len(joint_tl), joint_error_tl=float(np.mean(joint_tl)), joint_error_px=float(np.mean(joint_px)),
                root_velocity_error_tl_s=float(np.mean(root_tl_s)), energy_ratio=float(np.mean(energy_ratio)),
                perplexity=book_perplexity(tokens),
                perplexity_per_book=[perplexity(tokens[:, b], n_codes) for b in range(n_books)],
                codes_used=int(used), dead_codes=int(n_books * n_codes - used), tokens=int(len(tokens))), tokens


def save_codes_picture(path, codes):
    """What each of `codes` (tokens of n_books codes) decodes to: the token repeated three times, its middle token's
    frames drawn over each other from pale to dark, each frame shifted by the root's travel."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    columns = min(len(codes), 8)
    rows = (len(codes) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.4, rows * 2.2), squeeze=False)
    colours = {'R': 'tab:red', 'L': 'tab:blue', 'C': 'k'}
    model.eval()
    for ax, code in zip(axes.flat, codes):
        frames = dance_frames(model, [code] * 3, mean, std, 3 * frames_per_token)
        normed, root_tl = motion_from_features(frames)
        for k in range(frames_per_token, 2 * frames_per_token):
            pose = normed[k] + root_tl[k] - root_tl[frames_per_token]
            alpha = 0.25 + 0.75 * (k - frames_per_token + 1) / frames_per_token
            for (a, b), side in zip(BONES, BONE_SIDES):
                ax.plot(pose[[a, b], 0], pose[[a, b], 1], color=colours[side], lw=1.2, alpha=alpha)
        ax.set_title(f"code {'-'.join(str(c) for c in code)}", fontsize=7)
    for ax in axes.flat:
        ax.set_xlim(-1.6, 1.6)
        ax.set_ylim(2.2, -1.8)  # image coordinates: y down
        ax.set_aspect('equal')
        ax.axis('off')
    fig.suptitle(f"{dataset}: the {len(codes)} most used codes, {frames_per_token} frames each (pale to dark)",
                 fontsize=8)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)


if master:
    test, _ = reconstruction_report('test')
    training, train_tokens = reconstruction_report('train')
    report = dict(settings=settings, step=step, training_seconds=round(seconds, 1),
                  cpu_seconds_this_run=round(time.process_time(), 1), frames_per_token=frames_per_token,
                  fps=fps, test=test, train=training)
    save_checkpoint(report)
    save_json(os.path.join(out, 'report.json'), report)
    kinds, counts = np.unique(train_tokens, axis=0, return_counts=True)
    save_codes_picture(os.path.join(out, 'codes.png'), kinds[np.argsort(-counts)[:picture_codes]].tolist())
    for split, r in (('test', test), ('train', training)):
        if r:
            print(f"{split} ({r['dances']} dances): joint error {r['joint_error_tl']:.4f} torso lengths = "
                  f"{r['joint_error_px']:.2f} px, root velocity error {r['root_velocity_error_tl_s']:.4f} "
                  f"torso lengths/s, moves {r['energy_ratio']:.2f}x as energetic as the real ones, perplexity "
                  f"{'/'.join(f'{p:.1f}' for p in r['perplexity_per_book'])} of {n_codes} codes, "
                  f"{r['dead_codes']} unused")
    print(f"trained {step} steps in {seconds:.1f} s ({time.process_time():.1f} s of CPU in this run); wrote {out}")
del trainer  # it holds the process group (see stop_processes)
stop_processes(world)
