"""The two-stage GAN dancer: a pose GAN, then a music-conditioned sequence GAN that walks its latent space.

After Cai et al., "Deep Video Generation, Prediction and Completion of Human Action Sequences" (arXiv 1711.08682):
``PoseGenerator`` maps a latent z to one pose; ``SeqGenerator`` turns an initial latent, noise and the music of
each frame into per-frame latent shifts, summed over time, which the frozen pose generator decodes into a dance.
Beside each latent shift the sequence generator emits the root's (MidHip's) velocity in torso lengths per frame:
the dancer's travel across the floor. ``SeqCritic`` judges (dance, root velocity, music) triples (hinge loss), so
it sees the travel as well as the body. ``generate_dance`` chains windows into a dance for a whole song.

Poses are normalised as ``l2d.norm.normalize`` (MidHip-centred, torso-length units); the root's path is the running
sum of the velocities (torso lengths, 0 before the first frame), which models.dancers places on the training
dancers' floor with ``l2d.norm.place`` (``checkpoint['placement']``).

The pose generator reads only the direction of z (it projects z onto the sphere of radius sqrt(z_dim)), and the
walk stays on that sphere (each shifted latent is projected back), so every latent it reaches decodes to a pose
from the training distribution and the walk moves at the same pace at any point of a long song: that keeps the body
plausible for a whole song. A window continues from the previous window's last latent and GRU state, so chained
windows are exactly one long walk (no jump at the joins).
"""
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from l2d.audio import music_matrix
from l2d.skeleton import BONES, MIDHIP, NUM_JOINTS

POSE_DIM = NUM_JOINTS * 2
MEL_BANDS = 16      # mel_db rows are averaged into this many bands
TEMPO_BINS = 16     # tempogram lags are averaged into this many bins
MUSIC_DIM = MEL_BANDS + TEMPO_BINS + 4   # + onset strength, beat indicator, sin and cos of the beat phase
# The columns of ``music_inputs`` by what they describe; SeqGenerator hears the groups it is given.
MUSIC_GROUPS = {'mel': tuple(range(MEL_BANDS)), 'tempogram': tuple(range(MEL_BANDS, MEL_BANDS + TEMPO_BINS)),
                'onset': (MEL_BANDS + TEMPO_BINS,), 'beat': tuple(range(MEL_BANDS + TEMPO_BINS + 1, MUSIC_DIM))}


def sphere(z):
    """Project latents onto the sphere of radius sqrt(z_dim), where the pose generator's inputs live. (..., d)."""
    return z * math.sqrt(z.shape[-1]) / z.norm(dim=-1, keepdim=True).clamp_min(1e-6)


def sample_latents(n, z_dim, generator=None, device='cpu'):
    """n latents uniform on the sphere of radius sqrt(z_dim): (n, z_dim) float32."""
    return sphere(torch.randn(n, z_dim, generator=generator).to(device))


def mlp(sizes, out):
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], out))


def _placement_order():
    """Bones in an order that places every joint from one already placed, starting at MidHip: a tuple of
    (bone index, placed joint, new joint, sign), where new joint = placed joint + sign * (child - parent) vector."""
    placed, order = {MIDHIP}, []
    while len(placed) < NUM_JOINTS:
        for i, (parent, child) in enumerate(BONES):
            if parent in placed and child not in placed:
                order.append((i, parent, child, 1.0))
                placed.add(child)
            elif child in placed and parent not in placed:
                order.append((i, child, parent, -1.0))
                placed.add(parent)
    return tuple(order)


PLACEMENT_ORDER = _placement_order()


def bone_vectors(poses):
    """(child - parent) vector of each bone: poses (..., 15, 2) -> (..., 14, 2)."""
    parents, children = zip(*BONES)
    return poses[..., list(children), :] - poses[..., list(parents), :]


def place_joints(vectors):
    """Inverse of ``bone_vectors`` with MidHip at the origin: vectors (B, 14, 2) -> poses (B, 15, 2)."""
    joints = [None] * NUM_JOINTS
    joints[MIDHIP] = torch.zeros_like(vectors[:, 0])
    for bone, placed, new, sign in PLACEMENT_ORDER:
        joints[new] = joints[placed] + sign * vectors[:, bone]
    return torch.stack(joints, 1)


class PoseGenerator(nn.Module):
    """z (B, z_dim) -> pose (B, 15, 2), MidHip at the origin. Only the direction of z matters.

    The network outputs each bone's vector (child minus parent) as an offset from the training poses' mean bone
    vector, in units of its spread, so it starts near a body. A bone longer than its median training length is then
    squashed smoothly below the length that 99.9% of the training poses stay under, and the joints are placed bone
    by bone from MidHip: the generator cannot draw a limb longer than the real ones, however far the sequence GAN
    walks. Short bones are left alone: in 2-D views they are real (foreshortening), and a floor on the length would
    flip a bone whose vector passes near zero from one side to the other in a single frame. The buffers (mean and
    spread of the bone vectors, median and longest length of each bone) are set from the training poses with
    ``set_pose_stats``."""

    def __init__(self, z_dim=32, hidden=128, layers=3):
        super().__init__()
        self.z_dim = z_dim
        self.net = mlp([z_dim] + [hidden] * layers, len(BONES) * 2)
        self.register_buffer('bone_mean', torch.zeros(len(BONES), 2))
        self.register_buffer('bone_std', torch.ones(len(BONES), 2))
        self.register_buffer('length_median', torch.ones(len(BONES)))
        self.register_buffer('length_max', torch.full((len(BONES),), 2.0))

    def set_pose_stats(self, poses):
        """Bone statistics of the training poses (N, 15, 2) tensor; the spread is floored at 0.02 torso lengths."""
        vectors = bone_vectors(poses)
        lengths = vectors.norm(dim=-1)
        self.bone_mean.copy_(vectors.mean(0))
        self.bone_std.copy_(vectors.std(0).clamp_min(0.02))
        # The 0.1% longest are left out: a pose detector's glitches, not a body.
        median, longest = np.quantile(lengths.cpu().numpy(), [0.5, 0.999], axis=0)
        self.length_median.copy_(torch.from_numpy(median))
        self.length_max.copy_(torch.from_numpy(longest))

    def forward(self, z):
        vectors = self.bone_mean + self.bone_std * self.net(sphere(z)).view(-1, len(BONES), 2)
        length = vectors.norm(dim=-1, keepdim=True).clamp_min(1e-6)
        knee, room = self.length_median[:, None], (self.length_max - self.length_median).clamp_min(1e-6)[:, None]
        # Unchanged up to the median, then a tanh that leaves the knee with slope 1 and never reaches the longest.
        squashed = torch.where(length > knee, knee + room * torch.tanh((length - knee) / room), length)
        return place_joints(vectors * squashed / length)


class PoseCritic(nn.Module):
    """pose (B, 15, 2) -> Wasserstein critic score (B,). Sees the joint positions and the bone lengths."""

    def __init__(self, hidden=128, layers=3):
        super().__init__()
        self.net = mlp([POSE_DIM + len(BONES)] + [hidden] * layers, 1)

    def forward(self, pose):
        return self.net(torch.cat([pose.reshape(len(pose), POSE_DIM), bone_lengths(pose)], 1)).squeeze(1)


def bone_lengths(poses):
    """Bone lengths (..., 14) of poses (..., 15, 2), as l2d.skeleton.bone_lengths but differentiable."""
    return bone_vectors(poses).norm(dim=-1)


def gradient_penalty(scores, inputs):
    """WGAN-GP term mean((|d score / d input| - 1)^2) for scores (B,) of interpolated inputs (B, ...)."""
    grad, = torch.autograd.grad(scores.sum(), inputs, create_graph=True)
    return ((grad.reshape(len(grad), -1).norm(dim=1) - 1) ** 2).mean()


class SeqGenerator(nn.Module):
    """A GRU that walks the pose generator's latent space to the music.

    Inputs per frame: the music features (normalised, ``MUSIC_DIM``; of them only the ``MUSIC_GROUPS`` named in
    `hears`) through a small non-causal convolution (a few frames of look-ahead, so moves can land on the beat),
    per-frame noise, a dance code (noise drawn once per dance: what makes two dances to the same song differ), an
    optional style embedding, and the current latent. The GRU starts from a state made from the initial latent, the
    code and the style; each step emits a latent shift added to the current latent, and the root's velocity (torso
    lengths per frame). Seeing where it is lets the walk plan its next move: without it, the walk ran to one region
    of the latent space after its start and then only trembled there.
    """

    def __init__(self, z_dim=32, noise_dim=8, code_dim=8, hidden=128, music_hidden=32, n_styles=0, style_dim=8,
                 music_kernel=5, hears=tuple(MUSIC_GROUPS)):
        super().__init__()
        self.z_dim, self.noise_dim, self.code_dim, self.hidden = z_dim, noise_dim, code_dim, hidden
        self.music_columns = [c for group in hears for c in MUSIC_GROUPS[group]]
        self.music = nn.Sequential(nn.Conv1d(len(self.music_columns), music_hidden, music_kernel,
                                             padding=music_kernel // 2),
                                   nn.LeakyReLU(0.2))
        self.style = nn.Embedding(n_styles, style_dim) if n_styles else None
        fixed = code_dim + (style_dim if n_styles else 0)  # inputs that stay the same for the whole dance
        self.start = nn.Linear(z_dim + fixed, hidden)
        self.gru = nn.GRUCell(music_hidden + noise_dim + fixed + z_dim, hidden)
        self.shift = nn.Linear(hidden, z_dim)
        nn.init.normal_(self.shift.weight, std=0.01)
        nn.init.zeros_(self.shift.bias)
        self.root = nn.Linear(hidden, 2)
        nn.init.normal_(self.root.weight, std=0.001)
        nn.init.zeros_(self.root.bias)

    def encode_music(self, music):
        """music (B, T, MUSIC_DIM) normalised -> (B, T, music_hidden). Run on a whole song at once."""
        return self.music(music[..., self.music_columns].transpose(1, 2)).transpose(1, 2)

    def walk(self, z0, music_code, noise, dance_code, style=None, state=None):
        """Latents for consecutive frames.

        z0 (B, z_dim): the latent before the first frame; music_code (B, T, music_hidden) from ``encode_music``;
        noise (B, T, noise_dim); dance_code (B, code_dim); style (B,) long or None; state (B, hidden): the GRU
        state to continue from (None starts one from z0). Returns (latents (B, T, z_dim): z0 plus the running sum of
        the shifts, each step projected back onto the sphere; root velocity (B, T, 2) torso lengths per frame;
        state)."""
        fixed = dance_code if self.style is None else torch.cat([dance_code, self.style(style)], 1)
        if state is None:
            state = torch.tanh(self.start(torch.cat([z0, fixed], 1)))
        steps = torch.cat([music_code, noise, fixed[:, None].expand(-1, music_code.shape[1], -1)], 2)
        latents, states, z = [], [], z0
        for step in steps.unbind(1):
            state = self.gru(torch.cat([step, z], 1), state)
            # Back onto the sphere after every step, so a step of a given size moves the pose as much at the end of
            # a long song as at its start (a plain running sum drifts outwards and the dance slows down).
            z = sphere(z + self.shift(state))
            latents.append(z)
            states.append(state)
        return torch.stack(latents, 1), self.root(torch.stack(states, 1)), state

    @torch.no_grad()
    def walk_latents(self, z0, music_code, noise, dance_code, style=None):
        """The latents of ``walk`` for one dance, without gradients and many times faster on a CPU: z0 (z_dim,),
        music_code (T, music_hidden), noise (T, noise_dim), dance_code (code_dim,), style () long or None ->
        (latents (T, z_dim), GRU states (T, hidden)) CPU tensors, equal to ``walk``'s up to float32 rounding.

        The GRU's input weights are applied to the music, noise and code of every frame in one product before the
        loop, and the loop runs on numpy arrays: a step of ``walk`` is about ten torch calls of a few microseconds
        each on vectors of 128 numbers (~0.2 ms a frame, 0.4 s for a 76-s song at 25 fps)."""
        fixed = dance_code if self.style is None else torch.cat([dance_code, self.style(style)])
        state = torch.tanh(self.start(torch.cat([z0, fixed])))
        steps = torch.cat([music_code, noise, fixed.expand(len(music_code), -1)], 1)
        n_steps = steps.shape[1]
        w_ih, w_hh = self.gru.weight_ih, self.gru.weight_hh
        inputs = (steps @ w_ih[:, :n_steps].T + self.gru.bias_ih).cpu().numpy()
        w_z, w_hh, b_hh = (x.cpu().numpy() for x in (w_ih[:, n_steps:], w_hh, self.gru.bias_hh))
        w_shift, b_shift = self.shift.weight.cpu().numpy(), self.shift.bias.cpu().numpy()
        h, z, radius = state.cpu().numpy(), z0.cpu().numpy(), np.float32(math.sqrt(self.z_dim))
        latents = np.empty((len(inputs), self.z_dim), np.float32)
        states = np.empty((len(inputs), self.hidden), np.float32)
        size = self.hidden
        for t, x in enumerate(inputs):  # torch.nn.GRUCell's equations, gates in the order r, z, n
            gi, gh = x + w_z @ z, w_hh @ h + b_hh
            gates = 1 / (1 + np.exp(-(gi[:2 * size] + gh[:2 * size])))
            reset, update = gates[:size], gates[size:]
            h = (1 - update) * np.tanh(gi[2 * size:] + reset * gh[2 * size:]) + update * h
            z = z + w_shift @ h + b_shift
            z = z * (radius / max(float(np.sqrt(z @ z)), 1e-6))
            latents[t], states[t] = z, h
        return torch.from_numpy(latents), torch.from_numpy(states)

    def forward(self, z0, music, noise, dance_code, style=None):
        """(latents (B, T, z_dim), root velocity (B, T, 2)) for a window of normalised music (B, T, MUSIC_DIM),
        noise (B, T, noise_dim) and dance codes (B, code_dim)."""
        return self.walk(z0, self.encode_music(music), noise, dance_code, style)[:2]


MOTION_CHANNELS = POSE_DIM * 2 + NUM_JOINTS + len(BONES) + 2


def motion_channels(poses, root_velocity):
    """poses (B, T, 15, 2) MidHip-centred, root_velocity (B, T, 2) torso lengths per frame -> (B, MOTION_CHANNELS,
    T): positions, velocities, joint speeds and bone lengths per frame (velocity 0 at t=0), and the root's velocity."""
    b, t = poses.shape[:2]
    flat = poses.reshape(b, t, POSE_DIM)
    vel = torch.cat([torch.zeros_like(flat[:, :1]), flat[:, 1:] - flat[:, :-1]], 1)
    speed = vel.view(b, t, NUM_JOINTS, 2).norm(dim=-1)
    return torch.cat([flat, vel, speed, bone_lengths(poses), root_velocity], 2).transpose(1, 2)


def motion_statistics(poses):
    """How much each dance of a batch moves, per joint: poses (B, T, 15, 2) -> (B, 3, 15) in torso lengths: the
    mean frame-to-frame step, the mean distance from the dance's own mean position (the size of the moves), and the
    mean change of step from one frame to the next (second difference: how abruptly the joint speeds up and slows
    down). The mean over the batch (dim 0) is the batch's figure, as every dance has T frames."""
    velocity = poses[:, 1:] - poses[:, :-1]
    step = velocity.norm(dim=-1).mean(1)
    spread = (poses - poses.mean(1, keepdim=True)).norm(dim=-1).mean(1)
    change = (velocity[:, 1:] - velocity[:, :-1]).norm(dim=-1).mean(1)
    return torch.stack([step, spread, change], 1)


def smooth_time(x, sigma_frames):
    """x (B, T, ...) smoothed along T with a Gaussian of sigma_frames (edges replicated) -> same shape."""
    radius = max(1, int(3 * sigma_frames))
    offsets = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-offsets ** 2 / (2 * sigma_frames ** 2))
    rows = x.reshape(len(x), x.shape[1], -1).transpose(1, 2).reshape(-1, 1, x.shape[1])
    smooth = F.conv1d(F.pad(rows, (radius, radius), mode='replicate'), (kernel / kernel.sum())[None, None])
    return smooth.reshape(len(x), -1, x.shape[1]).transpose(1, 2).reshape(x.shape)


def kinetic_statistics(poses, root_velocity, sigma_frames):
    """The per-frame counterparts of l2d.metrics.kinetic_features (what FID_k compares) for each dance of a batch:
    poses (B, T, 15, 2) MidHip-centred, root_velocity (B, T, 2) torso lengths per frame, sigma_frames: the Gaussian
    smoothing in time before differences (as kinetic_features' smooth_s) -> (B, 3, 15): the mean squared horizontal
    and vertical velocity of each joint of the whole motion (root included; torso lengths^2 per frame^2) and its
    mean acceleration magnitude (torso lengths per frame^2)."""
    whole = smooth_time(poses + root_velocity.cumsum(1)[:, :, None], sigma_frames)
    velocity = whole[:, 1:] - whole[:, :-1]
    acceleration = (velocity[:, 1:] - velocity[:, :-1]).norm(dim=-1).mean(1)
    return torch.stack([velocity[..., 0].pow(2).mean(1), velocity[..., 1].pow(2).mean(1), acceleration], 1)


def motion_levels(poses):
    """How lively each dance of a batch is: poses (B, T, 15, 2) -> (B, 2): log of the mean frame-to-frame step and
    log of the size of moves (``motion_statistics``' first two rows), each averaged over the joints (torso lengths,
    floored at 1e-4 before the log). Real dances vary these from window to window; their spread over a batch is what
    a dancer that does the same thing all song long lacks."""
    return motion_statistics(poses)[:, :2].mean(2).clamp_min(1e-4).log()


def beat_speed_score(poses, beat_cos, sigma_frames):
    """Where in the beat a dance moves, after Bailando's beat reward (its motion beats are the speed minima): the
    speed-weighted mean of cos(2 pi * beat phase), the speed (mean over joints) smoothed as l2d.metrics.motion_beats
    smooths it. poses (B, T, 15, 2); beat_cos (B, T): cos(2 pi * models.gan.beat_phase) of each frame; sigma_frames:
    Gaussian smoothing (frames) -> (B,) tensor in [-1, 1]: -1 when the dancer moves only half-way between the beats
    and stands still on them, +1 the other way round, 0 when the speed does not follow the beat."""
    speed = (poses[:, 1:] - poses[:, :-1]).norm(dim=-1).mean(-1)
    speed = torch.cat([speed[:, :1], speed], 1)  # speed[t]: the step into frame t
    smooth = smooth_time(speed, sigma_frames)
    return (smooth * beat_cos).sum(1) / smooth.sum(1).clamp_min(1e-6)


class SeqCritic(nn.Module):
    """(dance (B, T, 15, 2), root velocity (B, T, 2), music (B, T, MUSIC_DIM), style (B,) or None) -> critic score
    (B,), for a hinge loss.

    A temporal convolution over the motion (positions, velocities, joint speeds, bone lengths, root velocity) and the
    music features (beat indicator and beat phase among them) stacked with the
    music features of the same frames, so it can tell whether the dancer slows down on the beat; later layers are
    strided so the score also weighs a second or more of motion; then mean-pooled over time. Every layer is spectrally
    normalised, which keeps the critic Lipschitz without a gradient penalty's double backward."""

    def __init__(self, hidden=64, music_hidden=32, n_styles=0, style_dim=8, kernel=5, layers=4):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        self.music = sn(nn.Conv1d(MUSIC_DIM, music_hidden, 1))
        self.style = nn.Embedding(n_styles, style_dim) if n_styles else None
        channels = MOTION_CHANNELS + music_hidden + (style_dim if n_styles else 0)
        convs = []
        for i in range(layers):
            stride = 1 if i == 0 else 2
            convs += [sn(nn.Conv1d(channels, hidden, kernel, stride=stride, padding=kernel // 2)), nn.LeakyReLU(0.2)]
            channels = hidden
        self.net = nn.Sequential(*convs)
        self.out = sn(nn.Linear(hidden, 1))
        self.register_buffer('motion_mean', torch.zeros(MOTION_CHANNELS, 1))
        self.register_buffer('motion_std', torch.ones(MOTION_CHANNELS, 1))

    def set_motion_stats(self, poses, root_velocity):
        """Standardise the motion channels with real dances (B, T, 15, 2) and their root velocities (B, T, 2):
        per-frame steps are ~30 times smaller than positions, and a Lipschitz critic could not weigh them otherwise.
        Spreads are floored at 0.01 (0.001 for the root velocity, whose spread is that small)."""
        channels = motion_channels(poses, root_velocity)
        floor = torch.full((MOTION_CHANNELS,), 0.01, device=channels.device)
        floor[-2:] = 0.001
        self.motion_mean.copy_(channels.mean((0, 2))[:, None])
        self.motion_std.copy_(torch.maximum(channels.std((0, 2)), floor)[:, None])

    def forward(self, poses, root_velocity, music, style=None):
        x = [(motion_channels(poses, root_velocity) - self.motion_mean) / self.motion_std,
             self.music(music.transpose(1, 2))]
        if self.style is not None:
            x.append(self.style(style)[:, :, None].expand(-1, -1, poses.shape[1]))
        return self.out(self.net(torch.cat(x, 1)).mean(2)).squeeze(1)


class StyleClassifier(nn.Module):
    """music (B, T, MUSIC_DIM) normalised -> style logits (B, n_styles): picks a style when none is asked for."""

    def __init__(self, n_styles, hidden=64, kernel=5):
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(MUSIC_DIM, hidden, kernel, padding=kernel // 2), nn.LeakyReLU(0.2),
                                 nn.Conv1d(hidden, hidden, kernel, padding=kernel // 2), nn.LeakyReLU(0.2))
        self.out = nn.Linear(hidden, n_styles)

    def forward(self, music):
        return self.out(self.net(music.transpose(1, 2)).mean(2))


# ---- music features ---------------------------------------------------------------------------------------------

def beat_phase(beats):
    """Position of each frame between beats: (time since the last beat) / (beat period), in [0, 1).

    beats: (T,) 0/1 beat indicator per frame -> (T,) float32. Before the first and after the last beat the median
    beat period is extrapolated; with fewer than two beats the phase is 0 everywhere."""
    beats = np.asarray(beats).reshape(-1)
    idx = np.flatnonzero(beats > 0.5)
    t = np.arange(len(beats), dtype=np.float64)
    if len(idx) < 2:
        return np.zeros(len(beats), np.float32)
    period = float(np.median(np.diff(idx)))
    phase = np.mod((t - idx[0]) / period, 1.0)
    after = t >= idx[-1]
    phase[after] = np.mod((t[after] - idx[-1]) / period, 1.0)
    inside = (t >= idx[0]) & ~after
    k = np.searchsorted(idx, t[inside], side='right') - 1
    phase[inside] = (t[inside] - idx[k]) / (idx[k + 1] - idx[k])
    return phase.astype(np.float32)


def pool_columns(x, n):
    """Average the columns of x (T, D) into n nearly equal groups -> (T, n)."""
    return np.stack([g.mean(1) for g in np.array_split(np.asarray(x, np.float32), n, axis=1)], 1)


MUSIC_KEYS = ('mel_db', 'tempogram', 'onset_strength', 'beats')


def music_inputs(music, n_frames=None):
    """Per-frame raw (not yet normalised) music inputs of the sequence GAN from l2d.audio features.

    music: dict of l2d.audio.music_features (mel_db (T, 128), tempogram (T, L), onset_strength (T,), beats (T,)
    0/1); n_frames: keep the first n rows (default all). Returns (n_frames, MUSIC_DIM) float32: mel bands, tempogram
    bins, onset strength, beat indicator, sin and cos of the beat phase (so the walk knows where the next beat
    falls). ValueError when the music has fewer than n_frames rows; KeyError naming a missing feature."""
    matrix = music_matrix(music, MUSIC_KEYS)
    n = len(matrix) if n_frames is None else n_frames
    if len(matrix) < n:
        raise ValueError(f"music has {len(matrix)} frames, {n} needed")
    n_mel, n_tempo = np.shape(music['mel_db'])[1], np.shape(music['tempogram'])[1]
    mel, tempo, onset, beats = np.split(matrix[:n], np.cumsum([n_mel, n_tempo, 1]), axis=1)
    phase = 2 * np.pi * beat_phase(beats[:, 0])
    return np.concatenate([pool_columns(mel, MEL_BANDS), pool_columns(tempo, TEMPO_BINS), onset, beats,
                           np.sin(phase)[:, None], np.cos(phase)[:, None]], 1).astype(np.float32)


# ---- generation -------------------------------------------------------------------------------------------------

def load_models(checkpoint, device='cpu'):
    """(pose generator, sequence generator, style classifier or None) from a train_seq.py checkpoint dict,
    in eval mode on `device`."""
    pose_g = PoseGenerator(**checkpoint['pose_g_args'])
    pose_g.load_state_dict(checkpoint['pose_g'])
    seq_g = SeqGenerator(**checkpoint['seq_g_args'])
    seq_g.load_state_dict(checkpoint['seq_g'])
    classifier = None
    if checkpoint.get('classifier') is not None:
        classifier = StyleClassifier(len(checkpoint['styles']))
        classifier.load_state_dict(checkpoint['classifier'])
    return tuple(m if m is None else m.to(device).eval() for m in (pose_g, seq_g, classifier))


def style_probabilities(classifier, music, window):
    """Style probabilities for a whole song: the classifier's softmax averaged over windows of `window` frames.
    music: (1, T, MUSIC_DIM) normalised -> (n_styles,) tensor."""
    chunks = [music[:, s:s + window] for s in range(0, music.shape[1], window)]
    probs = torch.stack([F.softmax(classifier(c), 1)[0] * c.shape[1] for c in chunks]).sum(0)
    return probs / probs.sum()


@torch.no_grad()
def generate_dance(checkpoint, music, n_frames, seed, style=None, device='cpu', models=None):
    """A dance for a whole song: one walk through the latent space, as long as the song.

    checkpoint: dict from ``torch.load('out/<ds>/gan_seq/ckpt.pt')``; music: dict of l2d.audio features of the song
    (rows = frames at the checkpoint's fps, at least n_frames rows); n_frames: length of the dance; seed: int (the
    same seed gives the same dance, different seeds differ); style: a label of ``checkpoint['styles']``, or None to
    sample one from the music classifier (models trained without styles ignore it); device: torch device; models:
    ``load_models(checkpoint, device)`` when already loaded (a caller dancing many songs loads them once).
    Returns (normed (n_frames, 15, 2) float32: MidHip at the origin, torso-length units (l2d.norm); root_tl
    (n_frames, 2) float32: the root's path in torso lengths, the running sum of its velocities).

    The windows are one walk (``SeqGenerator.walk_latents``): each carries the GRU state and the last latent into
    the next, so the dance has no jump at the joins; the dance code is drawn once for the whole song."""
    pose_g, seq_g, classifier = load_models(checkpoint, device) if models is None else models
    rng = torch.Generator().manual_seed(int(seed))
    raw = torch.from_numpy(music_inputs(music, n_frames))
    normed = ((raw - checkpoint['music_mean']) / checkpoint['music_std'])[None].to(device)
    style_index = None
    if seq_g.style is not None:
        if style is None:
            probs = style_probabilities(classifier, normed, checkpoint['settings']['seq_len']).cpu()
            style_index = int(torch.multinomial(probs, 1, generator=rng))
        elif style in checkpoint['styles']:
            style_index = checkpoint['styles'].index(style)
        else:
            raise ValueError(f"unknown style {style!r} (known: {', '.join(checkpoint['styles'])})")
        style_index = torch.tensor([style_index], device=device)
    music_code = seq_g.encode_music(normed)[0]
    window = checkpoint['settings']['seq_len']
    z = sample_latents(1, seq_g.z_dim, rng, device)[0]
    dance_code = torch.randn(1, seq_g.code_dim, generator=rng)[0].to(device)
    # Drawn window by window, as training's windows were, so a seed gives the same dance as it did before.
    noise = torch.cat([torch.randn(1, min(window, n_frames - start), seq_g.noise_dim, generator=rng)[0]
                       for start in range(0, n_frames, window)]).to(device)
    latents, states = seq_g.walk_latents(z, music_code, noise, dance_code,
                                         None if style_index is None else style_index[0])
    poses = pose_g(latents.to(device)).cpu().numpy().astype(np.float32)
    return poses, seq_g.root(states.to(device)).cumsum(0).cpu().numpy().astype(np.float32)
