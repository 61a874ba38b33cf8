"""Train the dancer: the music around each move clip of a song -> the move of each clip (models/dancer.py).

Reads the move vocabulary (data/<dataset>/moves.npz, from cluster.py) and the music features of every training dance
(data/<dataset>/music/, from process_waves.py). Each clip's music window spans the clip and `context` clip durations
on each side; the model predicts every clip's move from its music and the previous move (teacher forcing), with
cross-entropy. A seeded `val_fraction` of the training dances (whole dances) is held out for validation; the test
split is left to eval.py.

Writes out/<dataset>/dancer/ckpt.pt after every epoch (weights, optimiser, settings, model args, the music-feature
normalisation and the move vocabulary needed to dance) and continues from it when rerun (`--resume=False` starts
afresh). Runs on CPU or CUDA, and unchanged under torchrun (DistributedDataParallel; rank 0 writes):

    python train.py --dataset=demo
    torchrun --nproc_per_node=2 train.py --dataset=demo
"""
import hashlib
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from l2d.config import configure
from l2d.io import InputError, atomic_path, data_dir, out_dir
from l2d.audio import load_music, music_matrix
from l2d.moves import load_moves, moves_file, music_windows
from l2d.processes import start_processes, stop_processes
from l2d.progress import progress
from models.dancer import Dancer

dataset = 'demo'
dancer = 'dancer'  # which configuration: its vocabulary (l2d.moves.moves_file) and out/<dataset>/<dancer>/ckpt.pt
music_keys = 'mel_db,onset_strength,beats'  # per-frame music features the model hears, comma separated
music_rows = 24  # time bins of a clip's music window
context = 1.0  # clip durations of music on each side of a clip
seq_len = 32  # clips per training sequence (a dance is cut into sequences of this many clips)
batch_size = 16
epochs = 40
learning_rate = 2e-3
weight_decay = 0.05
grad_clip = 1.0
hidden = 128
move_embed = 64
dropout = 0.2
val_fraction = 0.15  # of the training dances, held out whole for validation (0: none)
seed = 0
device = 'auto'  # 'auto': cuda if available, else cpu
resume = True  # continue from out/<dataset>/dancer/ckpt.pt when it exists
settings = configure(globals())

# ---- devices and processes (torchrun sets RANK / WORLD_SIZE / LOCAL_RANK) ---------------------------------------
device, rank, world_size = start_processes(device)
distributed = world_size > 1
local_rank = int(os.environ.get('LOCAL_RANK', '0'))
master = rank == 0


def fail(message):
    """Stop with a one-line error (once, from rank 0 under torchrun)."""
    if distributed:
        torch.distributed.destroy_process_group()
    sys.exit(f"error: {message}" if master else 1)


# ---- data: music windows and move labels of every training dance ------------------------------------------------
moves_path = moves_file(dataset, dancer)
if not os.path.isfile(moves_path):
    fail(f"{moves_path} not found (run `python cluster.py --dataset={dataset} --dancer={dancer}` first)")
try:
    vocabulary = load_moves(moves_path)
except InputError as e:
    fail(str(e))
# Labels only mean something with their centroids: a checkpoint remembers which vocabulary it learnt.
vocabulary_id = hashlib.sha1(vocabulary['centroids'].tobytes()).hexdigest()[:16]
keys = [k.strip() for k in music_keys.split(',') if k.strip()]
fps = float(vocabulary['fps'])
n_moves = len(vocabulary['centroids'])
dances = {}
for name, d in sorted(vocabulary['dances'].items()):
    if d['split'] != 'train' or len(d['labels']) == 0:
        continue
    try:
        music = load_music(data_dir(dataset, 'music', name + '.npz'))
        features = music_matrix(music, keys)
    except (InputError, KeyError) as e:
        if master:
            print(f"skipping {name}: {e}")
        continue
    dances[name] = dict(features=features, music_fps=float(music['fps']), bounds=d['bounds'], labels=d['labels'])
if not dances:
    fail(f"no training dance with music features in {data_dir(dataset, 'music')} (run process_waves.py first)")
names = sorted(dances)
n_val = int(round(val_fraction * len(names))) if len(names) > 1 else 0
val_names = sorted(np.random.default_rng(seed).permutation(names)[:n_val].tolist())
train_names = [n for n in names if n not in val_names]

# Standardise each feature over the frames of the training dances; the checkpoint keeps mean and std for eval.py.
all_frames = np.concatenate([dances[n]['features'] for n in train_names])
music_mean = all_frames.mean(axis=0).astype(np.float32)
music_std = (all_frames.std(axis=0) + 1e-3).astype(np.float32)
for d in dances.values():
    standard = (d['features'] - music_mean) / music_std
    d['windows'] = music_windows(standard, d['music_fps'], d['bounds'][:, 0] / fps, d['bounds'][:, 1] / fps,
                                 context, music_rows)


def sequences(names_, rng=None):
    """Cut dances into sequences of at most seq_len clips: (music (S, seq_len, R, F), previous (S, seq_len),
    labels (S, seq_len)), padded with label -100 (ignored). With an rng, each dance's cut points start at a random
    offset, so that every epoch sees other sequence boundaries."""
    music, previous, labels = [], [], []
    for n in names_:
        w, y = dances[n]['windows'], dances[n]['labels'].astype(np.int64)
        prev = np.concatenate([[n_moves], y[:-1]])
        offset = int(rng.integers(0, seq_len)) if rng is not None and len(y) > seq_len else 0
        starts = sorted({0, *range(offset, len(y), seq_len)}) if offset else range(0, len(y), seq_len)
        for a, b in zip(starts, list(starts[1:]) + [len(y)]):
            pad = seq_len - (b - a)
            music.append(np.pad(w[a:b], ((0, pad), (0, 0), (0, 0))))
            previous.append(np.pad(prev[a:b], (0, pad), constant_values=n_moves))
            labels.append(np.pad(y[a:b], (0, pad), constant_values=-100))
    return (torch.from_numpy(np.stack(music)), torch.from_numpy(np.stack(previous)),
            torch.from_numpy(np.stack(labels)))


val_data = sequences(val_names) if val_names else None
train_labels = np.concatenate([dances[n]['labels'] for n in train_names])
majority = int(np.bincount(train_labels, minlength=n_moves).argmax())
if master:
    n_val_clips = sum(len(dances[n]['labels']) for n in val_names)
    print(f"{len(train_names)} training dances ({len(train_labels)} clips), {len(val_names)} validation dances "
          f"({n_val_clips} clips), {n_moves} moves, music {len(keys)} keys x {all_frames.shape[1]} features")

# ---- model, optimiser, checkpoint ------------------------------------------------------------------------------
torch.manual_seed(seed)
model_args = dict(n_moves=n_moves, n_features=all_frames.shape[1], n_rows=music_rows, hidden=hidden,
                  move_embed=move_embed, dropout=dropout)
model = Dancer(**model_args).to(device)
optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
ckpt_path = out_dir(dataset, dancer, 'ckpt.pt')
first_epoch, history = 1, []
if resume and os.path.isfile(ckpt_path):
    try:
        ckpt = torch.load(ckpt_path, map_location=device, weights_only=False)
    except Exception as e:  # a checkpoint torch cannot read: say so rather than trace back
        fail(f"{ckpt_path}: unreadable checkpoint ({e}); delete it or run with --resume=False")
    if ckpt['model_args'] != model_args:
        fail(f"{ckpt_path} was trained with other model settings {ckpt['model_args']}; "
             f"run with --resume=False to start afresh")
    if ckpt['vocabulary_id'] != vocabulary_id:
        fail(f"{ckpt_path} was trained on another {moves_path} (cluster.py ran since); "
             f"run with --resume=False to start afresh")
    model.load_state_dict(ckpt['model'])
    optimizer.load_state_dict(ckpt['optimizer'])
    first_epoch, history = ckpt['epoch'] + 1, ckpt['history']
    if master:
        print(f"resuming from {ckpt_path} at epoch {first_epoch}")
raw_model = model
if distributed:
    model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[local_rank] if device.startswith('cuda')
                                                      else None)
if master:
    print(f"{sum(p.numel() for p in raw_model.parameters())} parameters on {device}"
          + (f", {world_size} processes" if distributed else ""))


def save_checkpoint(epoch):
    """Everything eval.py needs to dance, and everything train.py needs to continue."""
    checkpoint = dict(
        model=raw_model.state_dict(), optimizer=optimizer.state_dict(), epoch=epoch, history=history,
        settings=settings, model_args=model_args, music_keys=keys, music_mean=music_mean, music_std=music_std,
        music_rows=music_rows, context=context, majority_move=majority, vocabulary_id=vocabulary_id,
        train_dances=train_names,
        val_dances=val_names,
        moves={k: vocabulary[k] for k in ('centroids', 'clips', 'placement', 'fps', 'unit', 'clip_s', 'beats_per_clip',
                                          'clip_frames', 'median_clip_s', 'typical_root', 'typical_scale', 'settings')
               if k in vocabulary})
    with atomic_path(ckpt_path) as tmp:
        torch.save(checkpoint, tmp)


def evaluate(data):
    """(mean cross-entropy, accuracy) of teacher-forced predictions over the unpadded clips of `data`."""
    raw_model.eval()
    with torch.no_grad():
        music, previous, labels = (t.to(device) for t in data)
        logits = raw_model(music, previous)
        mask = labels >= 0
        loss = F.cross_entropy(logits[mask], labels[mask]).item()
        accuracy = (logits.argmax(-1)[mask] == labels[mask]).float().mean().item()
    raw_model.train()
    return loss, accuracy


# ---- training loop ------------------------------------------------------------------------------------------------
if first_epoch > epochs and master:
    print(f"{ckpt_path} is already trained for {first_epoch - 1} epochs (>= epochs={epochs})")
for epoch in range(first_epoch, epochs + 1):
    # Every epoch's randomness comes from (seed, epoch), so a resumed run repeats the uninterrupted one.
    rng = np.random.default_rng([seed, epoch])
    torch.manual_seed(seed * 100003 + epoch)
    music, previous, labels = sequences(train_names, rng)
    order = rng.permutation(len(labels))
    # Every process gets the same number of sequences (DDP needs equal steps): repeat a few to fill up.
    order = np.resize(order, math.ceil(len(order) / world_size) * world_size)[rank::world_size]
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    started = time.time()
    totals = torch.zeros(3, dtype=torch.float64, device=device)  # loss sum, correct, clips
    bar = progress(batches, desc=f"epoch {epoch}/{epochs}", unit='batch', disable=not master, leave=False)
    for batch in bar:
        used = int((labels[batch] >= 0).any(0).nonzero().max()) + 1  # drop the padding every sequence has
        x, p, y = (t[batch][:, :used].to(device) for t in (music, previous, labels))
        logits = model(x, p)
        mask = y >= 0
        loss = F.cross_entropy(logits[mask], y[mask])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        n = mask.sum()
        totals += torch.stack([loss.detach().double() * n, (logits.argmax(-1)[mask] == y[mask]).sum().double(),
                               n.double()])
        bar.set_postfix(loss=f"{loss.item():.3f}")
    if distributed:
        torch.distributed.all_reduce(totals)
    record = dict(epoch=epoch, train_loss=float(totals[0] / totals[2]), train_accuracy=float(totals[1] / totals[2]),
                  seconds=round(time.time() - started, 2))
    if val_data is not None:
        record['val_loss'], record['val_accuracy'] = evaluate(val_data)
        record['val_majority_accuracy'] = float((val_data[2][val_data[2] >= 0] == majority).float().mean())
    history.append(record)
    if master:
        line = f"epoch {epoch}/{epochs}: train loss {record['train_loss']:.3f} acc {record['train_accuracy']:.3f}"
        if val_data is not None:
            line += (f" | val loss {record['val_loss']:.3f} acc {record['val_accuracy']:.3f} "
                     f"(majority move {record['val_majority_accuracy']:.3f})")
        print(line + f" | {record['seconds']:.1f} s", flush=True)
        save_checkpoint(epoch)
    if distributed:
        torch.distributed.barrier()
if master and first_epoch <= epochs:
    print(f"wrote {ckpt_path}")
del model  # under torchrun it holds the process group (see stop_processes)
stop_processes(world_size)
