"""Stage 1 of the GAN dancer: a WGAN-GP that learns single poses from noise.

Reads the training clips' poses (data/<dataset>/poses/<clip>.npz, normalised with l2d.norm), trains
models.gan.PoseGenerator against models.gan.PoseCritic and writes to out/<dataset>/gan_pose/:
ckpt.pt (models, optimisers, settings, loss history; training resumes from it), samples_<step>.png (a grid of
generated poses), losses.png, and body_check.json (bone lengths and joint angles of generated vs real poses,
before and after training: the proof that it learned a body, not noise).

    python train_pose.py --dataset=demo --max_steps=3000
    torchrun --nproc_per_node=2 train_pose.py          # same global batch, split over the processes (DDP)
"""
import os

import numpy as np
import torch

from l2d.config import configure
from l2d.io import InputError, atomic_path, data_dir, load_poses, out_dir, save_json, split_clips
from l2d.norm import normalize
from l2d.processes import start_processes, stop_processes
from l2d.progress import progress
from l2d.plausibility import body_check
from l2d.plots import save_loss_plot
from l2d.skeleton import BONE_SIDES, BONES, mirror
from models.gan import PoseCritic, PoseGenerator, gradient_penalty, sample_latents

dataset = 'demo'
z_dim = 32                # latent size
hidden = 128              # width of generator and critic layers
layers = 3                # hidden layers of each
batch_size = 128          # global batch: split over torchrun processes, so results do not depend on their number
max_steps = 1000          # generator steps
critic_steps = 5          # critic steps per generator step
gp_weight = 10.0          # gradient-penalty lambda
learning_rate = 1e-4
beta1 = 0.5
beta2 = 0.9
mirror_poses = True       # add left-right mirrored copies of the training poses
sample_every = 500        # save a grid of generated poses every this many steps (0: only at the end; the end always)
ckpt_every = 500          # save the checkpoint every this many steps (and at the end)
log_every = 10            # record losses every this many steps
check_samples = 4000      # generated poses compared with real ones by the body check
resume = True             # continue from out/<dataset>/gan_pose/ckpt.pt when it exists
seed = 1337
device = 'auto'           # 'auto' (CUDA when available), 'cpu', 'cuda', 'cuda:1', ...
cpu_threads = 1           # torch threads per process on CPU (small networks lose more to thread sync than they gain)
settings = configure(globals())

# ---- processes and device ----------------------------------------------------------------------------------------
device, rank, world = start_processes(device, cpu_threads)
ddp = world > 1
if ddp:
    import warnings

    from torch.nn.parallel import DistributedDataParallel as DDP
    # The gradient penalty's double backward hands the critic's (1, hidden) output weight a gradient with other
    # strides than DDP's bucket; for a single row that costs one small copy and changes nothing.
    warnings.filterwarnings('ignore', message='Grad strides do not match bucket view strides')
master = rank == 0
if batch_size % world:
    raise SystemExit(f"error: batch_size={batch_size} is not divisible by the {world} processes")
local_batch = batch_size // world
out = out_dir(dataset, 'gan_pose')
ckpt_path = os.path.join(out, 'ckpt.pt')

# ---- data: every frame of the training clips, normalised --------------------------------------------------------
frames = []
for clip in split_clips(dataset, 'train'):
    path = data_dir(dataset, 'poses', clip + '.npz')
    try:
        normed, _, _ = normalize(load_poses(path)['poses'])
    except InputError as e:
        print(f"{e}; skipped")
        continue
    except ValueError as e:
        print(f"{path}: {e}; skipped")
        continue
    frames.append(normed[np.isfinite(normed).all((1, 2))])
if not frames:
    raise SystemExit(f"error: no readable pose files for the training clips in {data_dir(dataset, 'poses')}")
real = np.concatenate(frames)
if mirror_poses:
    real = np.concatenate([real, mirror(real)])
if master:
    print(f"{len(real)} training poses from {len(frames)} clips")
real_t = torch.from_numpy(real).to(device)

# ---- models, optimisers, checkpoint -----------------------------------------------------------------------------
torch.manual_seed(seed)
model_args = {'z_dim': z_dim, 'hidden': hidden, 'layers': layers}
generator = PoseGenerator(**model_args).to(device)
generator.set_pose_stats(real_t)
critic = PoseCritic(hidden, layers).to(device)
opt_g = torch.optim.Adam(generator.parameters(), lr=learning_rate, betas=(beta1, beta2))
opt_d = torch.optim.Adam(critic.parameters(), lr=learning_rate, betas=(beta1, beta2))
step, history, check_untrained = 0, [], None
if resume and os.path.isfile(ckpt_path):
    ckpt = torch.load(ckpt_path, map_location=device)
    if ckpt['model_args'] != model_args:
        raise SystemExit(f"error: {ckpt_path} has models {ckpt['model_args']}, not {model_args}: "
                         f"use --resume=False to start again")
    try:
        generator.load_state_dict(ckpt['generator'])
        critic.load_state_dict(ckpt['critic'])
    except RuntimeError:
        raise SystemExit(f"error: {ckpt_path} holds networks of an older models/gan.py: use --resume=False to "
                         f"start again") from None
    opt_g.load_state_dict(ckpt['opt_g'])
    opt_d.load_state_dict(ckpt['opt_d'])
    step, history, check_untrained = ckpt['step'], ckpt['history'], ckpt['body_check_untrained']
    if master:
        print(f"resuming {ckpt_path} at step {step}")
real_check = real[np.random.default_rng(seed).choice(len(real), min(len(real), 20000), replace=False)]


def generated_poses(n, sample_seed):
    """n poses from fixed latents (the same for every call with this seed): (n, 15, 2) numpy."""
    generator.eval()
    with torch.no_grad():
        z = sample_latents(n, z_dim, torch.Generator().manual_seed(sample_seed), device)
        poses = generator(z).cpu().numpy()
    generator.train()
    return poses


if master and check_untrained is None:
    check_untrained = body_check(generated_poses(check_samples, seed), real_check)
gen_ddp = DDP(generator) if ddp else generator
critic_ddp = DDP(critic) if ddp else critic


def save_samples(path, poses, columns=8):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = (len(poses) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.2, rows * 1.8))
    colours = {'R': 'tab:red', 'L': 'tab:blue', 'C': 'k'}
    for ax, pose in zip(axes.flat, poses):
        for (a, b), side in zip(BONES, BONE_SIDES):
            ax.plot(pose[[a, b], 0], pose[[a, b], 1], color=colours[side], lw=1.5)
        ax.set_xlim(-1.6, 1.6)
        ax.set_ylim(2.2, -1.8)  # image coordinates: y down
        ax.set_aspect('equal')
        ax.axis('off')
    fig.suptitle(os.path.basename(path), fontsize=8)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)


def save_checkpoint(check=None):
    with atomic_path(ckpt_path) as tmp:
        torch.save({'settings': settings, 'model_args': model_args, 'step': step, 'world_size': world,
                    'generator': generator.state_dict(), 'critic': critic.state_dict(),
                    'opt_g': opt_g.state_dict(), 'opt_d': opt_d.state_dict(), 'history': history,
                    'body_check_untrained': check_untrained, 'body_check': check}, tmp)


LOSS_KEYS = ('wasserstein', 'loss_g', 'gp')


# ---- training ---------------------------------------------------------------------------------------------------
fixed_samples_seed = seed + 1
bar = progress(total=max_steps, initial=step, disable=not master, desc='pose GAN')
while step < max_steps:
    # Noise and batches come from a generator seeded by (seed, step, rank): a resumed run repeats the same draws.
    rng = torch.Generator().manual_seed(seed * 1_000_003 + step * world + rank)
    for _ in range(critic_steps):
        x_real = real_t[torch.randint(len(real_t), (local_batch,), generator=rng).to(device)]
        with torch.no_grad():
            x_fake = generator(sample_latents(local_batch, z_dim, rng, device))
        eps = torch.rand(local_batch, 1, 1, generator=rng).to(device)
        x_mix = (eps * x_real + (1 - eps) * x_fake).requires_grad_(True)
        s_real, s_fake, s_mix = critic_ddp(torch.cat([x_real, x_fake, x_mix])).split(local_batch)
        gp = gradient_penalty(s_mix, x_mix)
        loss_d = s_fake.mean() - s_real.mean() + gp_weight * gp
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
    critic.requires_grad_(False)
    loss_g = -critic(gen_ddp(sample_latents(local_batch, z_dim, rng, device))).mean()
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    critic.requires_grad_(True)
    if not (torch.isfinite(loss_d) and torch.isfinite(loss_g)):
        raise SystemExit(f"error: losses became non-finite at step {step} (loss_d={loss_d.item()}, "
                         f"loss_g={loss_g.item()}); try a lower --learning_rate")
    step += 1
    bar.update()
    if master and (step % log_every == 0 or step == max_steps):
        record = {'step': step, 'loss_d': loss_d.item(), 'loss_g': loss_g.item(),
                  'wasserstein': (s_real.mean() - s_fake.mean()).item(), 'gp': gp.item()}
        history.append(record)
        bar.set_postfix(w=f"{record['wasserstein']:.3f}", g=f"{record['loss_g']:.3f}", gp=f"{record['gp']:.3f}")
    if master and sample_every and step % sample_every == 0 and step < max_steps:
        save_samples(os.path.join(out, f'samples_{step}.png'), generated_poses(32, fixed_samples_seed))
    if master and step % ckpt_every == 0 and step < max_steps:
        save_checkpoint()
        save_loss_plot(os.path.join(out, 'losses.png'), history, LOSS_KEYS, 'generator step')
bar.close()

# ---- the end: samples, loss plot, body check --------------------------------------------------------------------
if master:
    check = body_check(generated_poses(check_samples, seed), real_check)
    # The reference for "a body, not noise": every coordinate drawn independently with the real mean and spread.
    noise = real.mean(0) + real.std(0) * np.random.default_rng(seed).standard_normal((check_samples, *real.shape[1:]))
    check_noise = body_check(noise, real_check)
    save_checkpoint(check)
    save_samples(os.path.join(out, f'samples_{step}.png'), generated_poses(32, fixed_samples_seed))
    if history:
        save_loss_plot(os.path.join(out, 'losses.png'), history, LOSS_KEYS, 'generator step')
    save_json(os.path.join(out, 'body_check.json'), {'settings': settings, 'step': step, 'trained': check,
                                                     'untrained': check_untrained, 'independent_joints': check_noise,
                                                     'training_poses': len(real)})
    print(f"body check at step {step}: generated vs real poses, beside the untrained generator and independent-joint "
          f"noise")
    for key, value in check.items():
        print(f"  {key:24s} {value:.4f}  untrained {check_untrained[key]:.4f}  noise {check_noise[key]:.4f}")
    print(f"wrote {out}")
del gen_ddp, critic_ddp  # they hold the process group (see stop_processes)
stop_processes(world)
