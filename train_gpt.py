"""Train the music transformer: the next motion token from the tokens so far, the music and the style.

Reads the VQ-VAE of train_vqvae.py (out/<dataset>/vqvae/ckpt.pt), turns every training dance (and its mirror image,
with `mirror_dances`) into tokens, and the dance's music (data/<dataset>/music/<clip>.npz) into features on the same
token grid (models.tokens.token_music: mel bands, strongest onset, beat flag and beat phase, with `music_before` /
`music_after` tokens of music around each token, standardised). A small causal transformer (models.tokens.MusicGPT)
learns, with teacher forcing, token i from the tokens before it, the music of token i and the dance's style
(meta.json's 'label'; with probability `style_dropout` the style is hidden, which keeps the model listening to the
music rather than to the label alone, and is all it has on a dataset without labels). Training windows of
`block_size` tokens start anywhere in a dance. A dance's tokens depend on where the token grid starts, so with
`grid_shifts` every training dance is tokenised from that many evenly spaced first frames within a token (the music
follows the grid): as many token sequences of the same moves, where a dance from frame 0 only is soon learnt by
heart. On the demo's 4 held-out training dances (waltz_01, hiphop_02, reggaeton_03, house_01), the teacher-forced
test loss went 4.87 (1 grid, 400 steps) -> 3.99 (8 grids, 400 steps) -> 3.61 (8 grids, 2000 steps), while 1 grid
for 1000 steps overfit to 6.31; the dancer (2 transformer seeds x 2 bench seeds for 8 grids and 2000 steps, 2 bench
seeds for 1 grid and 400) went from FID_k 18.2 to 15.7 on average (real floor 7.1), Div_k 5.6 -> 8.1 (real 8.5) and
BAS 0.52 -> 0.70 (real 0.75; half-beat null 0.10 -> 0.04), its style accuracy 0.81 -> 0.78 (real 0.96). Dance with
Melody's dances are long enough not to be learnt by heart: on 7 held-out training dances (1000 steps, 2 transformer
seeds x 2 bench seeds) 8 grids lowered the test loss 5.95 -> 5.16 but not what the dancer does (FID_k 11.4 -> 16.7,
real floor 12.4; Div_k 5.4 -> 5.7, real 7.4; dance type 0.82 -> 0.77, real 0.97), so `make bench-dwm` uses 1.
When no style is asked for, the dancer takes the style of the training song whose rhythm is most like the song's
(models.tokens.nearest_style over models.tokens.song_descriptor: the metre read off the tempogram, and the beat
period); its accuracy on the test songs is reported.

Writes out/<dataset>/gpt/ckpt.pt (weights, optimiser, settings, model args, the music standardisation, the styles
and training-song descriptors, the id of the VQ-VAE codebook it learnt) and reports the teacher-forced loss and
accuracy on the TEST dances beside "repeat the previous token". A rerun continues from the checkpoint. Runs on CPU
or CUDA, and under torchrun:

    python train_gpt.py --dataset=demo
    torchrun --nproc_per_node=2 train_gpt.py --dataset=demo
"""
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from l2d.audio import load_music
from l2d.config import configure
from l2d.io import InputError, atomic_path, data_dir, load_meta, load_poses, out_dir, save_json, split_clips
from l2d.processes import start_processes, stop_processes
from l2d.progress import progress
from models.tokens import (MotionVQVAE, MusicGPT, dance_tokens, mirror_features, motion_features, nearest_style,
                           resume_checkpoint, song_descriptor, token_music, with_neighbours)

dataset = 'demo'
block_size = 32           # tokens the transformer sees at once (32 x 8 frames = 8.5 s at 30 fps)
n_layer = 3
n_head = 4
n_embd = 64
dropout = 0.2
music_before = 2          # tokens of music before each token that it hears
music_after = 2           # and after (the whole song is known when dancing)
style_dropout = 0.2       # share of training windows whose style is hidden
mirror_dances = True      # add every training dance mirrored left-right (same music, mirrored tokens)
grid_shifts = 8           # tokenise every training dance from this many evenly spaced first frames within a token
batch_size = 16           # windows per step, split over torchrun processes
max_steps = 2000
learning_rate = 1e-3
warmup_steps = 50
weight_decay = 0.1
grad_clip = 1.0
log_every = 25
ckpt_every = 500          # save the checkpoint every this many steps (and at the end)
resume = True             # continue from out/<dataset>/gpt/ckpt.pt when it exists
seed = 1337
device = 'auto'           # 'auto' (CUDA when available), 'cpu', 'cuda', 'cuda:1', ...
cpu_threads = 1           # torch threads per process on CPU (small networks lose more to thread sync than they gain)
settings = configure(globals())
# Settings that do not change what is learnt, so a rerun may change them and still continue.
RUN_SETTINGS = ('max_steps', 'log_every', 'ckpt_every', 'resume', 'device', 'cpu_threads')

device, rank, world = start_processes(device, cpu_threads)
ddp = world > 1
master = rank == 0
if batch_size % world:
    raise SystemExit(f"error: batch_size={batch_size} is not divisible by the {world} processes")
local_batch = batch_size // world
out = out_dir(dataset, 'gpt')
ckpt_path = os.path.join(out, 'ckpt.pt')

# ---- the VQ-VAE and the dances as tokens --------------------------------------------------------------------------
vqvae_path = out_dir(dataset, 'vqvae', 'ckpt.pt')
if not os.path.isfile(vqvae_path):
    raise SystemExit(f"error: {vqvae_path} not found (run `python train_vqvae.py --dataset={dataset}` first)")
vq = torch.load(vqvae_path, map_location=device, weights_only=False)
vqvae = MotionVQVAE(**vq['model_args']).to(device).eval()
vqvae.load_state_dict(vq['model'])
frames_per_token, fps, n_codes = vqvae.frames_per_token, float(vq['fps']), vqvae.args['n_codes']
n_books = vqvae.args.get('n_books', 1)
meta = load_meta(dataset)['clips']
labels = {clip: meta[clip].get('label') for clip in split_clips(dataset, 'train')}
styles = sorted({v for v in labels.values() if v}) if all(labels.values()) else []
dances = {'train': [], 'test': []}
for split in dances:
    for clip in split_clips(dataset, split):
        try:
            features = motion_features(load_poses(data_dir(dataset, 'poses', clip + '.npz'))['poses'], fps,
                                       vq['settings']['root_smooth_s'])
            music = load_music(data_dir(dataset, 'music', clip + '.npz'))
        except (InputError, ValueError) as e:
            print(f"{clip}: {e}; skipped")
            continue
        if not np.isfinite(features).all():
            print(f"{clip}: poses with missing joints; skipped")
            continue
        if abs(float(music['fps']) - fps) > 1e-3:
            raise SystemExit(f"error: {data_dir(dataset, 'music', clip + '.npz')}: music at {music['fps']} fps, "
                             f"the poses at {fps} (rerun process_waves.py)")
        style = styles.index(meta[clip]['label']) if meta[clip].get('label') in styles else len(styles)
        versions = [features, mirror_features(features)] if mirror_dances and split == 'train' else [features]
        shifts = range(0, frames_per_token, -(-frames_per_token // grid_shifts)) if split == 'train' else [0]
        descriptor = song_descriptor(music)
        for f, shift in ((f, shift) for f in versions for shift in shifts):
            tokens = dance_tokens(vqvae, f[shift:], vq['mean'], vq['std'])
            heard = token_music(music, len(tokens), frames_per_token, start_frame=shift)
            song = with_neighbours(heard, music_before, music_after)
            dances[split].append(dict(clip=clip, tokens=tokens, music=song, style=style, descriptor=descriptor))
if not dances['train']:
    raise SystemExit(f"error: no training dance with poses and music in {data_dir(dataset)}")
train_music = np.concatenate([d['music'] for d in dances['train']])
music_mean = train_music.mean(0).astype(np.float32)
music_std = (train_music.std(0) + 1e-3).astype(np.float32)
for d in dances['train'] + dances['test']:
    d['music'] = torch.from_numpy(((d['music'] - music_mean) / music_std).astype(np.float32))
    d['tokens'] = torch.from_numpy(d['tokens'].astype(np.int64))
lengths = np.array([len(d['tokens']) for d in dances['train']], np.float64)
# With no style asked for, the dancer dances the style of the training song that sounds most like the song.
descriptors = np.stack([d['descriptor'] for d in dances['train']])
descriptor_mean, descriptor_std = descriptors.mean(0), descriptors.std(0) + 1e-3
song_descriptors = (descriptors - descriptor_mean) / descriptor_std
song_styles = np.array([d['style'] for d in dances['train']])
if master:
    print(f"{len(dances['train'])} training token sequences ({int(lengths.sum())} tokens), "
          f"{len(dances['test'])} test dances, styles {styles or 'none'}, music {train_music.shape[1]} features "
          f"per token")

# ---- model, optimiser, checkpoint -------------------------------------------------------------------------------
torch.manual_seed(seed)
model_args = dict(n_codes=n_codes, n_music=train_music.shape[1], n_styles=len(styles), block_size=block_size,
                  n_layer=n_layer, n_head=n_head, n_embd=n_embd, dropout=dropout, n_books=n_books)
model = MusicGPT(**model_args).to(device)
decay = [p for p in model.parameters() if p.dim() >= 2]
no_decay = [p for p in model.parameters() if p.dim() < 2]
optimizer = torch.optim.AdamW([dict(params=decay, weight_decay=weight_decay), dict(params=no_decay, weight_decay=0.0)],
                              lr=learning_rate, betas=(0.9, 0.95))
step, history, seconds = 0, [], 0.0
if resume and os.path.isfile(ckpt_path):
    ckpt = resume_checkpoint(ckpt_path, settings, RUN_SETTINGS, device)
    if ckpt['codebook_id'] != vq['codebook_id']:
        raise SystemExit(f"error: {ckpt_path} learnt the tokens of another VQ-VAE (train_vqvae.py ran since); "
                         f"run with --resume=False to start afresh")
    model.load_state_dict(ckpt['model'])
    optimizer.load_state_dict(ckpt['optimizer'])
    step, history, seconds = ckpt['step'], ckpt['history'], ckpt['seconds']
    if master:
        print(f"resuming {ckpt_path} at step {step}")
trainer = torch.nn.parallel.DistributedDataParallel(model) if ddp else model
if master:
    print(f"{sum(p.numel() for p in model.parameters())} parameters on {device}"
          + (f", {world} processes" if ddp else ""))


def window(d, start, hide_style=False):
    """(previous tokens (L, n_books), music (L, F), targets (L, n_books) with -100 past the dance's end, style) of
    the block_size tokens of dance d from `start`."""
    tokens, n = d['tokens'], min(block_size, len(d['tokens']) - start)
    first = tokens[start - 1:start] if start > 0 else torch.full((1, n_books), n_codes)
    previous = torch.cat([first, tokens[start:start + n - 1]])
    pad = block_size - n
    return (F.pad(previous, (0, 0, 0, pad), value=n_codes), F.pad(d['music'][start:start + n], (0, 0, 0, pad)),
            F.pad(tokens[start:start + n], (0, 0, 0, pad), value=-100), len(styles) if hide_style else d['style'])


def batch(rng):
    """local_batch windows of random training dances (drawn by length) from random starts, on the device."""
    picks = rng.choice(len(lengths), local_batch, p=lengths / lengths.sum())
    windows = [window(dances['train'][i], int(rng.integers(0, max(1, lengths[i] - block_size + 1))),
                      bool(rng.random() < style_dropout)) for i in picks]
    previous, music, targets, style = zip(*windows)
    return (torch.stack(previous).to(device), torch.stack(music).to(device), torch.stack(targets).to(device),
            torch.tensor(style).to(device))


@torch.no_grad()
def test_scores():
    """Teacher-forced mean cross-entropy and accuracy over every token of the test dances (consecutive windows),
    and the accuracy of repeating the previous token."""
    model.eval()
    loss, correct, repeat, count = 0.0, 0, 0, 0
    for d in dances['test']:
        for start in range(0, len(d['tokens']), block_size):
            previous, music, targets, style = window(d, start)
            logits = model(previous[None].to(device), music[None].to(device), torch.tensor([style]).to(device),
                           targets.clamp(min=0)[None].to(device))[0]
            mask = targets >= 0
            targets = targets.to(device)[mask]
            loss += F.cross_entropy(logits[mask], targets, reduction='sum').item()
            correct += int((logits[mask].argmax(-1) == targets).sum())
            repeat += int((previous.to(device)[mask] == targets).sum())
            count += int(mask.sum())
    model.train()
    return dict(test_loss=loss / count, test_accuracy=correct / count, test_repeat_accuracy=repeat / count) \
        if count else {}


def save_checkpoint(report=None):
    """Everything the dancer needs, and everything a rerun needs to continue."""
    with atomic_path(ckpt_path) as tmp:
        torch.save(dict(model=model.state_dict(), optimizer=optimizer.state_dict(), step=step, history=history,
                        seconds=seconds, settings=settings, model_args=model_args, music_mean=music_mean,
                        music_std=music_std, music_before=music_before, music_after=music_after, styles=styles,
                        codebook_id=vq['codebook_id'], fps=fps, frames_per_token=frames_per_token,
                        song_descriptors=song_descriptors, song_styles=song_styles, descriptor_mean=descriptor_mean,
                        descriptor_std=descriptor_std, report=report), tmp)


# ---- training ---------------------------------------------------------------------------------------------------
model.train()
bar = progress(total=max_steps, initial=step, disable=not master, desc='music GPT')
started = time.time()
while step < max_steps:
    # Windows and dropout come from (seed, step, rank): a resumed run repeats the uninterrupted one.
    rng = np.random.default_rng([seed, step, rank])
    torch.manual_seed(seed * 1_000_003 + step * world + rank)
    for group in optimizer.param_groups:
        group['lr'] = learning_rate * min(1.0, (step + 1) / warmup_steps)
    previous, music, targets, style = batch(rng)
    logits = trainer(previous, music, style, targets.clamp(min=0))
    loss = F.cross_entropy(logits.reshape(-1, n_codes), targets.reshape(-1), ignore_index=-100)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    if not torch.isfinite(loss):
        raise SystemExit(f"error: the loss became non-finite at step {step}; try a lower --learning_rate")
    step += 1
    bar.update()
    if master and (step % log_every == 0 or step == max_steps):
        history.append(dict(step=step, loss=loss.item()))
        bar.set_postfix(loss=f"{loss.item():.3f}")
    if step % ckpt_every == 0 and step < max_steps:
        seconds += time.time() - started
        started = time.time()
        if master:
            history[-1].update(test_scores())
            save_checkpoint()
bar.close()
seconds += time.time() - started


def style_from_music_accuracy():
    """Share of test songs whose nearest style (models.tokens.nearest_style) is the dance's own; None without styles
    or test dances."""
    if not styles or not dances['test']:
        return None
    return float(np.mean([nearest_style(d['descriptor'], song_descriptors, song_styles, descriptor_mean, descriptor_std)
                          == d['style'] for d in dances['test']]))


if master:
    report = dict(settings=settings, step=step, training_seconds=round(seconds, 1),
                  train_sequences=len(dances['train']), train_tokens=int(lengths.sum()),
                  style_from_music_test_accuracy=style_from_music_accuracy(),
                  cpu_seconds_this_run=round(time.process_time(), 1), train_loss=history[-1]['loss']
                  if history else None, **test_scores())
    save_checkpoint(report)
    save_json(os.path.join(out, 'report.json'), report)
    if 'test_loss' in report:
        print(f"test dances, teacher-forced: loss {report['test_loss']:.3f}, accuracy {report['test_accuracy']:.3f} "
              f"(repeating the previous token: {report['test_repeat_accuracy']:.3f})")
    if report['style_from_music_test_accuracy'] is not None:
        print(f"style picked from the music: right for {report['style_from_music_test_accuracy']:.2f} of the test "
              f"songs")
    print(f"trained {step} steps in {seconds:.1f} s ({time.process_time():.1f} s of CPU in this run); wrote {out}")
del trainer  # it holds the process group (see stop_processes)
stop_processes(world)
