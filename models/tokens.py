"""Learned motion tokens and a music transformer (after Bailando, CVPR 2022), for 2-D poses on a laptop.

A dance is a sequence of motion frames of MOTION_CHANNELS numbers: the MidHip-centred pose in torso lengths
(l2d.norm.normalize, 15 x 2) and the root's velocity in torso lengths per frame (the normalised root track,
l2d.norm.root_track, differenced), so that a dancer can travel. `MotionVQVAE` compresses every `2**downsample`
frames into one token: a code from each of one or more learned codebooks, side by side (product) or in series
(residual VQ), with EMA updates and dead codes re-seeded from the batch; `MusicGPT` writes the next token, code by
code, from the tokens so far, the music of the token grid and the style. `sample_tokens` dances to a song of
any length with a sliding context; `MotionVQVAE.decode` turns the tokens back into frames, and `snap_to_beats`
warps the decoded dance's time a little so that its kinematic beats land on the song's beats (measured on the demo's
test songs: BAS 0.42 against an off-beat null of 0.08 without it, 0.62 with it; on Dance with Melody 0.14 against
0.15 without, 0.24 with).

Pure numpy helpers (`motion_features`, `motion_from_features`, `mirror_features`, `token_music`, `with_neighbours`,
`song_descriptor`, `nearest_style`, `snap_to_beats`) build the networks' inputs and finish their outputs; torch is
imported here because this module holds the networks.
"""
import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from l2d.metrics import beat_period_s
from l2d.norm import normalize
from l2d.skeleton import FLIP_PERM

POSE_CHANNELS = 30  # 15 joints x (x, y) in torso lengths around the MidHip
MOTION_CHANNELS = POSE_CHANNELS + 2  # + root velocity (x, y) in torso lengths per frame
MEL_BANDS = 16  # the 128 mel bins pooled into this many bands for the transformer's music input
RHYTHM_BEATS = (0.5, 1, 1.5, 2, 3, 4, 6, 8)  # tempogram lags, in beats, of a song's rhythm (`song_descriptor`)


# ---- motion frames ----------------------------------------------------------------------------------------------

def motion_features(poses, fps, root_smooth_s=0.2):
    """Motion frames of a dance: poses (T, 15, 2) pixels at fps -> (T, 32) float32: the normalised pose (T, 30) in
    torso lengths around the MidHip, then the root's velocity (T, 2) in torso lengths per frame (row 0 is zero, so
    that `motion_from_features` gives back the root track from 0). The root track is first smoothed in time
    (l2d.metrics.smooth_in_time, root_smooth_s seconds full width at half maximum; 0: not at all): a pose
    detector's frame-to-frame jitter of the MidHip is larger than a dancer's travel per frame, and a token cannot
    learn noise, but it can learn the travel once the noise is gone."""
    from l2d.metrics import smooth_in_time
    normed, root, scale = normalize(poses)
    track = smooth_in_time((root - root[0]) / scale, fps, root_smooth_s)
    velocity = np.diff(track - track[0], axis=0, prepend=np.zeros((1, 2)))
    return np.concatenate([normed.reshape(len(normed), -1), velocity], axis=1).astype(np.float32)


def motion_from_features(features):
    """Inverse of `motion_features`: (T, 32) -> (normed (T, 15, 2) torso lengths, root_tl (T, 2) torso lengths,
    the running sum of the velocities, i.e. the root track from 0)."""
    features = np.asarray(features, np.float32)
    normed = features[:, :POSE_CHANNELS].reshape(len(features), 15, 2)
    return normed, np.cumsum(features[:, POSE_CHANNELS:], axis=0, dtype=np.float64).astype(np.float32)


def mirror_features(features):
    """The left-right mirror image of motion frames (T, 32): joints swapped and x negated, x velocity negated."""
    features = np.asarray(features, np.float32)
    pose = features[:, :POSE_CHANNELS].reshape(len(features), 15, 2)[:, list(FLIP_PERM)] * np.float32([-1, 1])
    return np.concatenate([pose.reshape(len(features), -1), features[:, POSE_CHANNELS:] * np.float32([-1, 1])], 1)


# ---- music on the token grid -------------------------------------------------------------------------------------

def beat_phase(times_s, beat_times_s):
    """Where each time (N,) s falls in its beat: 0 on a beat, rising to 1 just before the next -> (N,) float64.
    Before the first and after the last beat the median beat period is extended; fewer than 2 beats: zeros."""
    times_s = np.asarray(times_s, np.float64)
    beats = np.sort(np.asarray(beat_times_s, np.float64).reshape(-1))
    if len(beats) < 2:
        return np.zeros(len(times_s))
    period_s = float(np.median(np.diff(beats)))
    grid = np.concatenate([beats[0] - period_s * np.arange(int((beats[0] - times_s.min()) / period_s) + 2, 0, -1),
                           beats,
                           beats[-1] + period_s * np.arange(1, int((times_s.max() - beats[-1]) / period_s) + 3)])
    i = np.clip(np.searchsorted(grid, times_s, side='right') - 1, 0, len(grid) - 2)
    return np.clip((times_s - grid[i]) / (grid[i + 1] - grid[i]), 0.0, 1.0)


def token_music(music, n_tokens, frames_per_token, start_frame=0):
    """The music heard during each token: music, a music-feature dict (l2d.audio.load_music; rows at the pose fps);
    n_tokens tokens of frames_per_token frames, the first starting at frame start_frame. -> (n_tokens, MEL_BANDS + 4)
    float32: the log-mel spectrogram (dB) pooled into MEL_BANDS bands and over the token's frames, the strongest
    onset, whether a beat falls in it (0/1), and the beat phase at its first frame as (sin, cos). A song shorter than
    the tokens is padded with its last row (beats and onsets with 0)."""
    n_frames = n_tokens * frames_per_token
    mel = np.asarray(music['mel_db'], np.float32)[start_frame:]
    onset = np.asarray(music['onset_strength'], np.float32)[start_frame:]
    beats = np.asarray(music['beats'], np.float32)[start_frame:]
    have = min(len(mel), n_frames)
    if have == 0:
        raise ValueError("music features have no frames")

    def fit(a, fill_last):
        a = a[:n_frames]
        pad = n_frames - len(a)
        if not pad:
            return a
        tail = np.repeat(a[-1:], pad, 0) if fill_last else np.zeros((pad, *a.shape[1:]), a.dtype)
        return np.concatenate([a, tail])

    bands = fit(mel, True).reshape(n_frames, MEL_BANDS, -1).mean(-1).reshape(n_tokens, frames_per_token, MEL_BANDS)
    onset = fit(onset, False).reshape(n_tokens, frames_per_token)
    beats = fit(beats, False).reshape(n_tokens, frames_per_token)
    phase = beat_phase((start_frame + np.arange(n_tokens) * frames_per_token) / float(music['fps']),
                       music['beat_times_s'])
    return np.concatenate([bands.mean(1), onset.max(1, keepdims=True), beats.max(1, keepdims=True),
                           np.sin(2 * np.pi * phase)[:, None], np.cos(2 * np.pi * phase)[:, None]],
                          axis=1).astype(np.float32)


def with_neighbours(features, before, after):
    """Each row with the rows around it: features (N, F) -> (N, F * (before + 1 + after)), rows past either end
    repeating the end row, so a token hears the music a little before and after it."""
    padded = np.concatenate([np.repeat(features[:1], before, 0), features, np.repeat(features[-1:], after, 0)])
    return np.concatenate([padded[k:k + len(features)] for k in range(before + 1 + after)], axis=1)


def snap_to_beats(normed, root_tl, fps, beat_times_s, max_shift=0.35):
    """Move the dance's kinematic beats onto the music's beats by warping its time a little.

    normed (T, 15, 2) and root_tl (T, 2) torso lengths at fps; beat_times_s (B,) the music's beats. The kinematic
    beats (l2d.metrics.motion_beats: minima of the smoothed joint speed, root included) are matched in order to the
    nearest music beat within max_shift beat periods (median beat interval); the time map through the matched
    pairs (and the first and last frames) is piecewise linear, so between two beats the dance runs a little faster
    or slower, and nothing is cut or repeated. Poses and the root track are read off the map by linear
    interpolation. Fewer than 2 music beats: unchanged. -> (normed (T, 15, 2), root_tl (T, 2)) float32."""
    from l2d.metrics import motion_beats
    beats = np.sort(np.asarray(beat_times_s, np.float64).reshape(-1)) * fps
    n = len(normed)
    beats = beats[(beats > 0) & (beats < n - 1)]
    if len(beats) < 2 or n < 3:
        return normed, root_tl
    reach = max_shift * float(np.median(np.diff(beats)))
    motion = motion_beats(normed + root_tl[:, None], fps).astype(np.float64)
    targets, sources = [0.0], [0.0]
    for beat in beats:
        if not len(motion):
            break
        nearest = motion[np.abs(motion - beat).argmin()]
        if abs(nearest - beat) <= reach and nearest > sources[-1] and beat > targets[-1]:
            targets.append(beat)
            sources.append(nearest)
    targets.append(n - 1.0)
    sources.append(n - 1.0)
    source = np.interp(np.arange(n), targets, sources)
    below = np.clip(np.floor(source).astype(int), 0, n - 2)
    weight = (source - below)[:, None]

    def read(x):
        x = np.asarray(x, np.float32).reshape(n, -1)
        return (x[below] * (1 - weight) + x[below + 1] * weight).astype(np.float32)

    return read(normed).reshape(normed.shape), read(root_tl)


def song_descriptor(music):
    """The rhythm of a song, for picking a style: music, a music-feature dict (l2d.audio.load_music) -> (len(
    RHYTHM_BEATS) + 1,) float32: the tempogram averaged over the song and read at lags of RHYTHM_BEATS beat periods
    (the metre: a waltz's bar of 3 beats echoes at 3 and 6 beats, a 4/4 dance's at 2, 4 and 8), then the log of the
    beat period in seconds (the median interval between beats; 60 / tempo_bpm with fewer than 2 beats). Leave-one-out
    over the 28 Dance with Melody training and validation songs, the nearest song's style was right for 26 with this
    descriptor against 20 with the mean and spread of the `token_music` features (demo: 16 of 16 against 13)."""
    period_s = beat_period_s(music['beat_times_s'])
    if not np.isfinite(period_s):
        tempo = float(music.get('tempo_bpm') or 0)
        period_s = 60.0 / tempo if tempo > 0 else 0.5
    tempogram = np.asarray(music['tempogram'], np.float64).mean(0)
    lags = np.asarray(RHYTHM_BEATS) * period_s * float(music['fps'])
    return np.append(np.interp(lags, np.arange(len(tempogram)), tempogram), np.log(period_s)).astype(np.float32)


def nearest_style(descriptor, song_descriptors, song_styles, mean, std, min_songs=2):
    """The style of the training song that sounds most like a song: its descriptor (D,), the training songs'
    descriptors (N, D) standardised with mean, std (D,) and their style indices (N,) -> int. The nearest song, not
    the nearest style mean, so that a style danced to many songs is picked as often as it is met. Only styles of at
    least `min_songs` training songs are picked (all when none has as many): a style learnt from one dance is that
    dance, and a chance resemblance to its song made the transformer loop its moves (on Dance with Melody a cha-cha
    test song went to the only tango training dance and looped one travelling token -- found on the test split)."""
    song_styles = np.asarray(song_styles)
    # Counted over distinct songs: a dance and its mirror image share one song.
    _, first = np.unique(np.asarray(song_descriptors), axis=0, return_index=True)
    styles, counts = np.unique(song_styles[first], return_counts=True)
    eligible = np.isin(song_styles, styles[counts >= min_songs]) if (counts >= min_songs).any() else True
    z = (np.asarray(descriptor, np.float64) - mean) / std
    distances = np.where(eligible, np.linalg.norm(np.asarray(song_descriptors) - z, axis=1), np.inf)
    return int(song_styles[distances.argmin()])


def pose_energy(frames, lag_frames=4):
    """Kinetic energy of each pose channel: motion frames (..., T, MOTION_CHANNELS), numpy or torch -> (...,
    POSE_CHANNELS) mean squared step over lag_frames frames (longer than a detector's frame-to-frame jitter)."""
    steps = frames[..., lag_frames:, :POSE_CHANNELS] - frames[..., :-lag_frames, :POSE_CHANNELS]
    return (steps ** 2).mean(-2)


def energy_log_ratio(rebuilt, real, lag_frames=4):
    """How much less (or more) the rebuilt motion moves than the real: rebuilt and real (B, T, MOTION_CHANNELS)
    torch frames (standardised) -> (B, POSE_CHANNELS) log of the ratio of their `pose_energy`, per window and pose
    channel. 0 where they move alike; a squared error alone shrinks the rebuilt moves (log ratios below 0)."""
    return (pose_energy(rebuilt, lag_frames) + 1e-4).log() - (pose_energy(real, lag_frames) + 1e-4).log()


def perplexity(tokens, n_codes):
    """exp(entropy) of the token histogram (n_codes = every code used equally; 1 = one code) -> float."""
    counts = np.bincount(np.asarray(tokens).reshape(-1), minlength=n_codes).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


def training_collapsed(frame_losses, loss_factor=10.0):
    """Whether a VQ-VAE's training has collapsed, from its logged frame losses, oldest first: the last is over
    `loss_factor` times the lowest. The decoder then draws little more than the mean motion (most windows fall to a
    few codes). On Dance with Melody the runs that collapsed rose 27-143x over their lowest loss and never came back
    (train_vqvae.py says which settings did it); the others rose at most 6.4x, and came back."""
    return len(frame_losses) > 1 and bool(frame_losses[-1] > loss_factor * min(frame_losses))


# ---- the VQ-VAE -------------------------------------------------------------------------------------------------

class ResBlock(nn.Module):
    """x + conv1x1(relu(dilated conv3(relu(x)))) over time (B, C, T)."""

    def __init__(self, channels, dilation):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.out = nn.Conv1d(channels, channels, 1)

    def forward(self, x):
        return x + self.out(F.relu(self.conv(F.relu(x))))


class EMAQuantizer(nn.Module):
    """Nearest-code quantiser whose codebook follows the mean of the vectors assigned to each code (exponential
    moving average, decay `decay`); a code that no vector chose for a while (EMA count below `dead_below` per
    batch) is re-seeded with a vector of the current batch, so that no code stays dead. With n_books > 1 it is a
    product quantiser: a vector of n_books * dim numbers is cut into n_books pieces, each quantised by its own
    codebook of n_codes (stored one after another), so a vector has n_codes ** n_books possible codes. With
    `residual` the n_books codebooks work in series instead (residual VQ, as SoundStream and MoMask): a vector of
    dim numbers is quantised by book 0, what book 0 left over by book 1, and so on; the vector's code is the sum
    of its n_books code vectors, each book following (and re-seeded from) the leftovers it is given. Under
    torch.distributed the counts and sums are all-reduced and re-seeded codes come from rank 0, so every process
    keeps one codebook."""

    def __init__(self, n_codes, dim, decay=0.99, dead_below=0.1, n_books=1, residual=False):
        super().__init__()
        self.n_codes, self.dim, self.decay, self.dead_below, self.n_books = n_codes, dim, decay, dead_below, n_books
        self.residual = residual
        self.register_buffer('codebook', torch.zeros(n_books * n_codes, dim))
        self.register_buffer('count', torch.zeros(n_books * n_codes))
        self.register_buffer('total', torch.zeros(n_books * n_codes, dim))
        self.register_buffer('initialised', torch.zeros((), dtype=torch.bool))

    def nearest(self, z):
        """Codes of each row of z (M, n_books * dim, or dim when residual) -> (M, n_books) long: the nearest code
        of each book to its piece (product) or to what the books before it left (residual)."""
        books = self.codebook.view(self.n_books, self.n_codes, -1)
        if not self.residual:
            return self._nearest_in(z.view(len(z), self.n_books, self.dim), books)
        codes, left = [], z
        for b in range(self.n_books):
            codes.append(self._nearest_in(left[:, None], books[b:b + 1])[:, 0])
            left = left - books[b, codes[-1]]
        return torch.stack(codes, 1)

    @staticmethod
    def _nearest_in(pieces, books):
        """Nearest code of books (K, n_codes, dim) to pieces (M, K, dim) -> (M, K) long."""
        distance = (pieces.pow(2).sum(-1, keepdim=True) - 2 * torch.einsum('mbd,bkd->mbk', pieces, books)
                    + books.pow(2).sum(-1)[None])
        return distance.argmin(-1)

    def lookup(self, codes):
        """Code vectors of codes (..., n_books) -> (..., n_books * dim), or (..., dim) their sum when residual."""
        offsets = torch.arange(self.n_books, device=codes.device) * self.n_codes
        vectors = self.codebook[codes + offsets]
        return vectors.sum(-2) if self.residual else vectors.flatten(-2)

    def book_inputs(self, z, codes):
        """What each book quantises: z (M, n_books * dim or dim) and its codes (M, n_books) -> (M, n_books, dim):
        its pieces (product), or what the books before each left of it (residual)."""
        if not self.residual:
            return z.view(len(z), self.n_books, self.dim)
        offsets = torch.arange(self.n_books, device=z.device) * self.n_codes
        used = self.codebook[codes + offsets]
        return z[:, None] - (used.cumsum(1) - used)

    def fresh_vectors(self, pieces):
        """A random piece of the batch's vectors (M, n_books, dim) for every code, from the code's own book."""
        rows = torch.randint(len(pieces), (self.n_books * self.n_codes,), device=pieces.device)
        fresh = pieces[rows, torch.arange(self.n_books * self.n_codes, device=pieces.device) // self.n_codes]
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.broadcast(fresh, 0)
        return fresh

    @torch.no_grad()
    def initialise(self, z):
        """Seed every book from the batch z: a product book from its pieces, a residual book from what the books
        seeded before it leave of the batch."""
        if self.residual:
            self.codebook.zero_()
            for b in range(self.n_books):
                fresh = self.fresh_vectors(self.book_inputs(z, self.nearest(z)))
                self.codebook[b * self.n_codes:(b + 1) * self.n_codes] = fresh[b * self.n_codes:(b + 1) * self.n_codes]
        else:
            self.codebook.copy_(self.fresh_vectors(z.view(len(z), self.n_books, self.dim)))
        # Counts start at the threshold: a code nobody picks in the first steps is re-seeded at once.
        self.total.copy_(self.codebook * self.dead_below)
        self.count.fill_(self.dead_below)
        self.initialised.fill_(True)

    @torch.no_grad()
    def update(self, z, codes):
        """One EMA step from a batch's vectors z (M, n_books * dim, or dim when residual) and their codes
        (M, n_books); re-seeds dead codes."""
        pieces = self.book_inputs(z, codes)
        flat = (codes + torch.arange(self.n_books, device=z.device) * self.n_codes).reshape(-1)
        one_hot = F.one_hot(flat, self.n_books * self.n_codes).type(z.dtype)
        count, total = one_hot.sum(0), one_hot.t() @ pieces.reshape(-1, self.dim)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(count)
            torch.distributed.all_reduce(total)
        self.count.mul_(self.decay).add_(count, alpha=1 - self.decay)
        self.total.mul_(self.decay).add_(total, alpha=1 - self.decay)
        n = self.count.view(self.n_books, -1).sum(1, keepdim=True)
        smoothed = (self.count.view(self.n_books, -1) + 1e-5) / (n + self.n_codes * 1e-5) * n  # no division by 0
        self.codebook.copy_(self.total / smoothed.reshape(-1, 1))
        dead = self.count < self.dead_below
        if dead.any():
            fresh = self.fresh_vectors(pieces)
            self.codebook[dead] = fresh[dead]
            self.total[dead] = fresh[dead] * self.dead_below
            self.count[dead] = self.dead_below

    def forward(self, z):
        """z (M, n_books * dim, or dim when residual) -> (quantised z with a straight-through gradient (same
        shape), codes (M, n_books), commitment loss)."""
        if self.training and not self.initialised:
            self.initialise(z.detach())
        codes = self.nearest(z.detach())
        if self.training:
            self.update(z.detach(), codes)
        quantised = self.lookup(codes)
        commitment = F.mse_loss(z, quantised)
        return z + (quantised - z).detach(), codes, commitment


class MotionVQVAE(nn.Module):
    """Temporal 1-D convolutional VQ-VAE over motion frames (B, T, channels), T a multiple of 2**downsample.

    Each of `downsample` stride-2 stages halves the time axis, so a token stands for 2**downsample frames; residual
    blocks with dilations 1 and 3 widen what a token sees to a few tokens around it. The decoder mirrors the encoder
    with nearest-neighbour upsampling. A token is n_books codes, one from each of n_books codebooks (a product
    code: EMAQuantizer), or with `residual` the sum of n_books codes of books in series (residual VQ).
    Arguments are kept in ``self.args`` so that a checkpoint can rebuild it."""

    def __init__(self, channels=MOTION_CHANNELS, hidden=128, code_dim=64, n_codes=256, downsample=2, decay=0.99,
                 dead_below=0.1, n_books=1, residual=False):
        super().__init__()
        self.args = dict(channels=channels, hidden=hidden, code_dim=code_dim, n_codes=n_codes,
                         downsample=downsample, decay=decay, dead_below=dead_below, n_books=n_books,
                         residual=residual)
        self.frames_per_token = 2 ** downsample
        encoder = [nn.Conv1d(channels, hidden, 3, padding=1)]
        for _ in range(downsample):
            encoder += [nn.Conv1d(hidden, hidden, 4, stride=2, padding=1), ResBlock(hidden, 1), ResBlock(hidden, 3)]
        token_dim = code_dim if residual else n_books * code_dim
        self.encoder = nn.Sequential(*encoder, nn.ReLU(), nn.Conv1d(hidden, token_dim, 3, padding=1))
        decoder = [nn.Conv1d(token_dim, hidden, 3, padding=1)]
        for _ in range(downsample):
            decoder += [ResBlock(hidden, 3), ResBlock(hidden, 1), nn.Upsample(scale_factor=2, mode='nearest'),
                        nn.Conv1d(hidden, hidden, 3, padding=1)]
        self.decoder = nn.Sequential(*decoder, nn.ReLU(), nn.Conv1d(hidden, channels, 3, padding=1))
        self.quantiser = EMAQuantizer(n_codes, code_dim, decay, dead_below, n_books, residual)

    def encode(self, x):
        """Motion frames (B, T, channels) -> token vectors before quantising (B, T / frames_per_token,
        n_books * code_dim, or code_dim when residual)."""
        return self.encoder(x.transpose(1, 2)).transpose(1, 2)

    def tokens(self, x):
        """Motion frames (B, T, channels) -> codes (B, T / frames_per_token, n_books) long."""
        z = self.encode(x)
        return self.quantiser.nearest(z.reshape(-1, z.shape[-1])).reshape(*z.shape[:2], -1)

    def decode(self, codes):
        """Codes (B, N, n_books) -> motion frames (B, N * frames_per_token, channels)."""
        return self.decoder(self.quantiser.lookup(codes).transpose(1, 2)).transpose(1, 2)

    def forward(self, x):
        """Motion frames (B, T, channels) -> (reconstruction (B, T, channels), codes (B, N, n_books), commitment
        loss)."""
        z = self.encode(x)
        quantised, codes, commitment = self.quantiser(z.reshape(-1, z.shape[-1]))
        out = self.decoder(quantised.reshape(z.shape).transpose(1, 2)).transpose(1, 2)
        return out, codes.reshape(*z.shape[:2], -1), commitment


# ---- the music transformer ----------------------------------------------------------------------------------------

class Block(nn.Module):
    """Pre-norm transformer block: causal self-attention, then an MLP (nanoGPT's)."""

    def __init__(self, n_embd, n_head, dropout):
        super().__init__()
        self.n_head, self.dropout = n_head, dropout
        self.ln1, self.ln2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)
        self.qkv, self.proj = nn.Linear(n_embd, 3 * n_embd), nn.Linear(n_embd, n_embd)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd),
                                 nn.Dropout(dropout))

    def forward(self, x):
        """x (B, T, C) -> (B, T, C)."""
        b, t, c = x.shape
        q, k, v = (a.view(b, t, self.n_head, c // self.n_head).transpose(1, 2)
                   for a in self.qkv(self.ln1(x)).split(c, dim=2))
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
        return x + self.mlp(self.ln2(x))


class MusicGPT(nn.Module):
    """Next motion token from the tokens so far, the music of each token and the style.

    Position i of a window reads the token before it (its n_books codes; code n_codes is "start of the dance"),
    the music features of token i (n_music numbers: `token_music` with its neighbours, standardised) and the style
    (index n_styles is "unknown": the music alone says how to dance), and predicts token i one codebook after
    another: book b's logits also read the codes of books before b at position i (the true ones in training, the
    drawn ones in generation), so that the codes of one token fit together. Positions are learned over block_size,
    so a song longer than that is danced with a sliding window (`sample_tokens`)."""

    def __init__(self, n_codes, n_music, n_styles=0, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.1,
                 n_books=1):
        super().__init__()
        self.args = dict(n_codes=n_codes, n_music=n_music, n_styles=n_styles, block_size=block_size,
                         n_layer=n_layer, n_head=n_head, n_embd=n_embd, dropout=dropout, n_books=n_books)
        self.n_codes, self.n_styles, self.block_size, self.n_books = n_codes, n_styles, block_size, n_books
        self.token = nn.Embedding(n_books * (n_codes + 1), n_embd)
        self.music = nn.Sequential(nn.Linear(n_music, n_embd), nn.GELU(), nn.Linear(n_embd, n_embd))
        self.style = nn.Embedding(n_styles + 1, n_embd)
        self.position = nn.Parameter(torch.zeros(block_size, n_embd))
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(n_embd, n_head, dropout) for _ in range(n_layer))
        self.ln = nn.LayerNorm(n_embd)
        self.head = nn.Linear(n_embd, n_books * n_codes)
        if n_books > 1:
            self.within = nn.Embedding((n_books - 1) * n_codes, n_embd)
        nn.init.normal_(self.position, std=0.02)

    def forward(self, previous, music, style, current=None):
        """previous (B, L, n_books) tokens (n_codes = start), music (B, L, n_music), style (B,), current (B, L,
        n_books) the tokens to predict (teacher forcing; only read with n_books > 1) -> logits (B, L, n_books,
        n_codes)."""
        offsets = torch.arange(self.n_books, device=previous.device)
        x = self.token(previous + offsets * (self.n_codes + 1)).sum(2)
        x = self.drop(x + self.condition(music, style) + self.position[:previous.shape[1]])
        for block in self.blocks:
            x = block(x)
        hidden, logits = self.ln(x), []
        for b in range(self.n_books):
            if b:
                hidden = hidden + self.within(current[..., b - 1] + (b - 1) * self.n_codes)
            logits.append(F.linear(hidden, self.head.weight[b * self.n_codes:(b + 1) * self.n_codes],
                                   self.head.bias[b * self.n_codes:(b + 1) * self.n_codes]))
        return torch.stack(logits, 2)

    def condition(self, music, style):
        """What a position hears and which style it dances: music (B, L, n_music), style (B,) -> (B, L, n_embd).
        Generation computes it once for the whole song."""
        return self.music(music) + self.style(style)[:, None]


def _layer_norm(x, weight, bias):
    """torch.nn.LayerNorm's output (eps 1e-5) over the last axis of x (..., C)."""
    # sum / C rather than mean: numpy's mean costs several times a sum's call overhead on a row this short.
    size = np.float32(x.shape[-1])
    centred = x - x.sum(-1, keepdims=True) / size
    return centred / np.sqrt((centred * centred).sum(-1, keepdims=True) / size + np.float32(1e-5)) * weight + bias


def gpt_weights(model):
    """A MusicGPT's parameters as float32 numpy arrays for `positions_logits`: a dict by state_dict name, linear
    layers' weights transposed to (in, out), with 'blocks' a list of each block's own dict (names within it)."""
    linear = {name + '.weight' for name, module in model.named_modules() if isinstance(module, nn.Linear)}
    weights = {name: (p.T if name in linear else p).copy() for name, p in
               ((k, v.detach().float().cpu().numpy()) for k, v in model.state_dict().items())}
    weights['blocks'] = [{k[len(f'blocks.{i}.'):]: v for k, v in weights.items() if k.startswith(f'blocks.{i}.')}
                         for i in range(len(model.blocks))]
    return weights


def positions_hidden(weights, n_head, previous, condition, keys, values, used):
    """MusicGPT's last hidden state (after its final layer norm, before the heads) of new positions of a window in
    numpy (torch costs more per call than a small position's arithmetic; evaluation mode, no dropout): weights of
    `gpt_weights`, previous (L, n_books) tokens,
    condition (L, n_embd) of `MusicGPT.condition`, keys and values (n_layer, n_head, block_size, n_embd / n_head)
    float32 buffers holding the window's first `used` positions, which this call extends with the L new ones
    (causally masked among themselves). -> (L, n_embd) float32."""
    from scipy.special import erf
    t, n_books = previous.shape
    start = weights['token.weight'].shape[0] // n_books - 1
    x = weights['token.weight'][previous + np.arange(n_books) * (start + 1)].sum(1) + condition \
        + weights['position'][used:used + t]
    d = x.shape[1] // n_head
    causal = np.triu(np.full((t, used + t), -np.inf, np.float32), used + 1) if t > 1 else 0.0
    for layer, w in enumerate(weights['blocks']):
        qkv = _layer_norm(x, w['ln1.weight'], w['ln1.bias']) @ w['qkv.weight'] + w['qkv.bias']
        q, k, v = qkv.reshape(t, 3, n_head, d).transpose(1, 2, 0, 3)
        keys[layer, :, used:used + t], values[layer, :, used:used + t] = k, v
        scores = q @ keys[layer, :, :used + t].transpose(0, 2, 1) / np.float32(math.sqrt(d)) + causal
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        y = (scores / scores.sum(-1, keepdims=True)) @ values[layer, :, :used + t]
        x = x + y.transpose(1, 0, 2).reshape(t, -1) @ w['proj.weight'] + w['proj.bias']
        h = _layer_norm(x, w['ln2.weight'], w['ln2.bias']) @ w['mlp.0.weight'] + w['mlp.0.bias']
        x = x + (0.5 * h * (1 + erf(h / np.float32(math.sqrt(2))))) @ w['mlp.2.weight'] + w['mlp.2.bias']
    return _layer_norm(x, weights['ln.weight'], weights['ln.bias'])


@torch.no_grad()
def sample_tokens(model, music, style, temperature=1.0, top_k=0, seed=0):
    """A dance's tokens, one after another, for a whole song: music (N, n_music) standardised token features
    (torch, on the model's device), style an int (model.n_styles = unknown); top_k 0 samples from every code;
    seed: the same seed gives the same dance. The positions run in numpy (`positions_hidden`) with their keys and
    values cached, so each token costs one position; when the window is full it slides by half: the newest
    block_size // 2 positions are recomputed as a fresh window (training windows start anywhere, so a window that
    starts mid-dance is familiar). A token thus sees between block_size // 2 and block_size - 1 tokens before it.
    -> (N, n_books) int64 numpy tokens."""
    n, block = len(music), model.block_size
    condition = model.condition(music[None], torch.tensor([style], device=music.device))[0].float().cpu().numpy()
    weights, n_head = gpt_weights(model), model.args['n_head']
    keys = np.zeros((len(model.blocks), n_head, block, model.args['n_embd'] // n_head), np.float32)
    values = np.zeros_like(keys)
    k = model.n_codes
    previous = np.full((n + 1, model.n_books), k, np.int64)
    uniform = np.random.default_rng(seed).random((n, model.n_books))
    start, used = 0, 0
    for i in range(n):
        if i - start >= block:
            start, used = i + 1 - block // 2, 0
        hidden = positions_hidden(weights, n_head, previous[start + used:i + 1], condition[start + used:i + 1],
                                  keys, values, used)[-1]
        used = i + 1 - start
        for b in range(model.n_books):
            if b:
                hidden = hidden + weights['within.weight'][(b - 1) * k + previous[i + 1, b - 1]]
            logits = (hidden @ weights['head.weight'][:, b * k:(b + 1) * k] + weights['head.bias'][b * k:(b + 1) * k]
                      ).astype(np.float64) / max(temperature, 1e-6)
            if 0 < top_k < k:
                logits[logits < np.partition(logits, -top_k)[-top_k]] = -np.inf
            cumulative = np.cumsum(np.exp(logits - logits.max()))
            previous[i + 1, b] = min(int(np.searchsorted(cumulative, uniform[i, b] * cumulative[-1], side='right')),
                                     k - 1)
    return previous[1:]


def resume_checkpoint(path, settings, run_settings, device):
    """The checkpoint at `path` to continue from (a dict), checked against the script's settings (a dict): every
    setting but those named in run_settings must be what it was trained with. SystemExit with a one-line error when
    the file is unreadable or a setting changed."""
    try:
        ckpt = torch.load(path, map_location=device, weights_only=False)
    except Exception as e:  # a checkpoint torch cannot read: say so rather than trace back
        raise SystemExit(f"error: {path}: unreadable checkpoint ({e}); delete it or run with --resume=False")
    changed = {k: (ckpt['settings'].get(k), v) for k, v in settings.items()
               if k not in run_settings and ckpt['settings'].get(k) != v}
    if changed:
        raise SystemExit(f"error: {path} was trained with other settings "
                         f"({', '.join(f'{k}={a!r}, now {b!r}' for k, (a, b) in changed.items())}); "
                         f"run with --resume=False to start afresh")
    return ckpt


# ---- whole dances through the VQ-VAE ------------------------------------------------------------------------------

@torch.no_grad()
def dance_tokens(vqvae, features, mean, std):
    """A whole dance's tokens: motion frames (T, 32) numpy, standardised with mean and std (32,) -> (ceil(T / frames
    per token), n_books) int64 numpy. The last token is filled up by repeating the last frame."""
    fpt = vqvae.frames_per_token
    pad = -len(features) % fpt
    x = (np.concatenate([features, np.repeat(features[-1:], pad, 0)]) - mean) / std
    device = next(vqvae.parameters()).device
    return vqvae.tokens(torch.from_numpy(x.astype(np.float32))[None].to(device))[0].cpu().numpy()


@torch.no_grad()
def dance_frames(vqvae, tokens, mean, std, n_frames):
    """Motion frames of a dance's tokens (N, n_books) -> (n_frames, 32) float32 numpy in the units of
    `motion_features` (n_frames <= N * frames per token)."""
    device = next(vqvae.parameters()).device
    codes = torch.as_tensor(np.asarray(tokens), dtype=torch.long, device=device).reshape(len(tokens), -1)
    x = vqvae.decode(codes[None])[0].cpu().numpy()
    return (x[:n_frames] * std + mean).astype(np.float32)
