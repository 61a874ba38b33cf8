"""Every dancer of the project behind one interface: load a trained dancer, then dance to any song's music features.

    from models.dancers import load
    dancer = load('demo', 'dancer')                       # a trained model of out/demo/, loaded once
    dance = dancer.generate(music, n_frames, seed=0)      # music: l2d.audio.music_features at dancer.fps
    dance['poses']                                        # (n_frames, 15, 2) pixels, y down, on the floor

`generate` returns a dict with at least 'poses' (pixels, placed with l2d.norm.place on the floor the real training
dancers used), 'normed' (n_frames, 15, 2) torso lengths around the MidHip and 'root_tl' (n_frames, 2), the MidHip's
path in torso lengths; move-based dancers add 'moves' and 'bounds' (and, drawing real clips, 'clips': the index of
each move's clip in the vocabulary's clip library, and 'style': the style it danced, '' if the library has none).
The same seed gives the same dance.

A dancer is one class here with a `made_by` line for reports; DANCERS maps its name to the class. eval.py and
bench.py import this module, so a new dancer is one entry here plus its training script. `options` are the
dancer's own generation settings (eval.py passes all of its settings; each dancer takes the ones it knows).
"""
import os

import numpy as np

from l2d.config import ConfigError, parse_setting
from l2d.io import InputError, out_dir
from l2d.metrics import smooth_in_time
from l2d.norm import place


def torch_device(device):
    """'auto' -> 'cuda' when available, else 'cpu'; anything else unchanged."""
    import torch
    return ('cuda' if torch.cuda.is_available() else 'cpu') if device == 'auto' else device


def load_checkpoint(path, how_to_make, device):
    """torch.load a checkpoint dict; InputError naming the file when it is missing or unreadable."""
    import torch
    if not os.path.isfile(path):
        folder = os.path.dirname(os.path.abspath(path))
        while not os.path.isdir(folder):  # out/<dataset> being a file hides every checkpoint under it
            if os.path.isfile(folder):
                raise InputError(f"{path}: {folder} is a file, not a folder (move it away, then run {how_to_make})")
            folder = os.path.dirname(folder)
        raise InputError(f"{path} not found (run {how_to_make} first)")
    try:
        return torch.load(path, map_location=device, weights_only=False)
    except Exception as e:  # torch raises many types for a damaged file
        raise InputError(f"{path}: unreadable checkpoint ({str(e).splitlines()[0] if str(e) else type(e).__name__})")


def load_network(network_class, ckpt, path, device, what, rerun):
    """network_class(**ckpt['model_args']) with ckpt['model']'s weights, in eval mode on `device`; InputError naming
    the file when the checkpoint holds other networks (what: the network it should hold; rerun: the script to rerun)."""
    try:
        net = network_class(**ckpt['model_args']).to(device).eval()
        net.load_state_dict(ckpt['model'])
        return net
    except (KeyError, RuntimeError, TypeError) as e:
        raise InputError(f"{path}: not a checkpoint of {what} ({str(e).splitlines()[0]}); rerun {rerun}")


def legacy_placement(root, scale):
    """The placement of a checkpoint made before dancers travelled: a fixed spot, no floor."""
    return dict(origin=np.asarray(root, np.float32).tolist(), scale=float(scale), floor_tl=[0.0, 0.0])


class MoveDancer:
    """The move classifier (train.py's checkpoint in out/<dataset>/<name>/): music -> a move per beat-placed clip,
    joined with blends at the boundaries. clips='real' draws each move with a real training clip of that move and
    its root path, so the dancer travels: the clips are picked jointly over the dance (l2d.moves.choose_clips) for
    the smallest pose and velocity jumps at the joins, never one clip twice in a row, among at most `max_candidates`
    clips of each move (a seeded sample). `other_moves` > 0 also offers the clips of the model's next likeliest
    moves at each slot, at a cost of -log p(move), so the search may swap a move for one that joins better.
    clips='centroids' draws each move with its k-means centroid, on the spot. Real clips join with 0.25-s blends and
    half the time warp (ease 0.5). Blends and the softening around them damp the arms' accelerations: on held-out
    training dances (3 seeds each), 0.4-s blends gave Div_k 0.72x real on Dance with Melody (demo 0.87x) and FID_k
    13.7 (demo 11.7); 0.25 s gives 0.82x (demo 0.96x), FID_k 11.6 (demo 9.0) and BAS 0.28 against 0.26, with jerk
    1.13x real against 0.90x (0.15 s: 1.40x, over the 1.3x target; ease 1 with 0.25 s had jerked at 1.8x).

    A real dancer keeps one style (dance type) for a whole song: with keep_style, real clips come only from training
    dances of `style`, or, when '', of the style the model's moves vote for (l2d.moves.style_votes); a slot whose
    moves have no clip of it offers the next likeliest moves until `min_style_candidates` clips are on offer
    (validation on held-out training dances, 3 seeds each: demo style accuracy 0.71 -> 0.92, real 0.96, FID_k 10.9
    -> 11.6; with 16, FID_k 15.9). The song is danced from its first frame to its last (l2d.moves.cover_song: the
    intro before the first beat is a move of its own). With centre_travel the root track is centred on its range
    before it is folded onto the floor (l2d.moves.centre_travel): started in the middle, a dancer travelling one way
    turned back at the first edge (held-out Dance with Melody dances: floor width 0.81x real -> 1.03x; a travelling
    heading in the clip search, tried on top, moved it to 1.12x and was dropped). The joined poses are smoothed in
    time over `smooth_s` seconds (full width at half maximum), as the other dancers' are: the blends still jolt
    (7 held-out Dance with Melody dances, 2 seeds: jerk 1.27x and 1.32x real unsmoothed, 1.17x and 1.22x at 0.05 s,
    1.03x and 1.09x at 0.1 s, where Div_k went 7.00, 6.58 -> 6.66, 6.27, BAS 0.28, 0.29 -> 0.26, 0.27 against real
    0.15, and FID_k did not move; on the demo's 4 held-out songs Div_k 8.70, 9.41 -> 8.46, 9.08 and BAS 0.76,
    0.75 -> 0.74, 0.72)."""
    OPTIONS = dict(temperature=1.0, top_k=5, blend_s=0.25, ease=0.5, clips='real', other_moves=0, join_weight=1.0,
                   max_candidates=64, style='', keep_style=True, min_style_candidates=1, centre_travel=True,
                   tempo_width=0.05, smooth_s=0.1)
    TEMPO_FLOOR = 0.01

    def __init__(self, dataset, name='dancer', device='auto', options=None):
        from models.dancer import Dancer
        self.options = {k: (options or {}).get(k, v) for k, v in self.OPTIONS.items()}
        if self.options['clips'] not in ('real', 'centroids'):
            raise InputError(f"clips must be 'real' or 'centroids', got {self.options['clips']!r}")
        self.device = torch_device(device)
        path = out_dir(dataset, name, 'ckpt.pt')
        self.ckpt = load_checkpoint(path, f"`python train.py --dataset={dataset} --dancer={name}`", self.device)
        self.net = load_network(Dancer, self.ckpt, path, self.device, "models/dancer.py's network", 'train.py')
        vocabulary = self.ckpt['moves']
        self.vocabulary = vocabulary
        self.fps = float(vocabulary['fps'])
        self.placement = vocabulary.get('placement') or legacy_placement(vocabulary['typical_root'],
                                                                         vocabulary['typical_scale'])
        self.n_moves = len(vocabulary['centroids'])
        self.majority_move = self.ckpt['majority_move']
        if self.options['clips'] == 'real':
            self.library = vocabulary.get('clips')
            if self.library is None:
                raise InputError(f"{path} has no real clips (made before cluster.py kept them): rerun "
                                 f"`python cluster.py --dataset={dataset} --dancer={name}` and train.py, or use "
                                 f"clips='centroids'")
            self.members = members_of_moves(self.library, vocabulary['centroids'])
        self.styles = self.style_names()
        style = self.options['style']
        if style and style not in self.styles:
            raise InputError(f"unknown style {style!r} for {path} (known: {', '.join(self.styles) or 'none'})")
        self.made_by = (f"{path}: {self.n_moves} moves (unit {vocabulary['unit']}), "
                        + ', '.join(f"{k}={v}" for k, v in self.options.items()))

    def style_names(self):
        """The styles (dance types) of the real-clip library's dances, sorted; [] without real clips or styles."""
        if self.options['clips'] != 'real' or 'styles' not in self.library:
            return []
        return sorted({str(x) for x in self.library['styles']} - {''})

    def bounds(self, music, n_frames):
        """The song's move clips, boundaries on its beats (l2d.moves.dance_bounds), covering the whole song
        (l2d.moves.cover_song: an intro or an ending of at least half a typical clip is a clip of its own)
        -> (N, 2) frames."""
        from l2d.moves import cover_song, dance_bounds
        v = self.vocabulary
        beats_per_clip = int(v['beats_per_clip'])
        beat_s = float(v['median_clip_s']) / (beats_per_clip if v['unit'] == 'beats' else 1)
        bounds = dance_bounds(n_frames, self.fps, v['unit'], float(v['clip_s']), beats_per_clip,
                              music['beat_times_s'], beat_s)
        if len(bounds) == 0:
            raise InputError(f"song too short for one move ({n_frames / self.fps:.2f} s)")
        return cover_song(bounds, n_frames, max(1, int(round(float(v['median_clip_s']) * self.fps / 2))))

    def song_style(self, log_probs, beat_times_s):
        """The style asked for, or the one the model's move probabilities log_probs (N, K) along the dance's moves
        point to (l2d.moves.style_votes), each style's share of the votes weighted by how well the song's tempo
        (beat_times_s (B,) seconds) fits its training songs' (l2d.moves.tempo_weights, plus TEMPO_FLOOR so that a
        tempo no style knows leaves the votes to decide); '' when the library knows no styles. The votes alone took
        the held-out cha-cha of Dance with Melody for a rumba (6 of 7 songs right, demo 11 of 12); with the tempo
        every held-out song of both was named right, for kernel widths 0.03 to 0.1."""
        from l2d.metrics import beat_period_s
        from l2d.moves import move_style_counts, style_votes, tempo_weights
        if self.options['style'] or not self.styles:
            return self.options['style']
        counts = move_style_counts(self.library['labels'], self.library['styles'], self.n_moves, self.styles)
        votes = style_votes(log_probs, counts)
        if self.options['tempo_width'] > 0 and 'beat_s' in self.library:
            votes = votes / votes.sum() * (self.TEMPO_FLOOR + tempo_weights(
                beat_period_s(beat_times_s), self.library['beat_s'], self.library['dances'], self.library['styles'],
                self.styles, float(self.options['tempo_width'])))
        return self.styles[int(np.argmax(votes))]

    def windows(self, music, bounds):
        """The standardised music window of each clip -> (N, R, F) tensor on the model's device."""
        import torch
        from l2d.audio import music_matrix
        from l2d.moves import music_windows
        c = self.ckpt
        features = (music_matrix(music, c['music_keys']) - c['music_mean']) / c['music_std']
        return torch.from_numpy(music_windows(features, float(music['fps']), bounds[:, 0] / self.fps,
                                              bounds[:, 1] / self.fps, c['context'], c['music_rows'])).to(self.device)

    def generate(self, music, n_frames, seed=0):
        import torch
        from l2d.moves import centre_travel, join_clips
        o = self.options
        bounds = self.bounds(music, n_frames)
        generator = torch.Generator().manual_seed(int(seed))
        moves, log_probs = self.net.generate(self.windows(music, bounds), o['temperature'], o['top_k'], generator,
                                             log_probs=True)
        moves, log_probs = moves.cpu().numpy(), log_probs.cpu().numpy()
        blend_frames = int(round(o['blend_s'] * self.fps))
        if o['clips'] == 'centroids':
            normed = join_clips(self.vocabulary['centroids'][moves], bounds, n_frames, blend_frames, o['ease'])
            normed = smooth_in_time(normed, self.fps, o['smooth_s']).astype(np.float32)
            return dict(poses=place(normed, None, self.placement), normed=normed,
                        root_tl=np.zeros((n_frames, 2), np.float32), moves=moves, bounds=bounds)
        move_order = [np.array([m] + [a for a in np.argsort(-p) if a != m], dtype=int)
                      for m, p in zip(moves, log_probs)]
        style = self.song_style(log_probs, music['beat_times_s']) if o['keep_style'] else ''
        allowed = (np.asarray(self.library['styles']) == style) if style else None
        chosen = draw_real_clips(self.library, self.members, move_order, 1 + int(o['other_moves']), log_probs,
                                 bounds, n_frames, blend_frames, o['ease'], o['join_weight'],
                                 int(o['max_candidates']), np.random.default_rng(seed), allowed,
                                 int(o['min_style_candidates']))
        chosen['normed'] = smooth_in_time(chosen['normed'], self.fps, o['smooth_s']).astype(np.float32)
        if o['centre_travel']:
            chosen['root_tl'] = centre_travel(chosen['root_tl'])
        return dict(chosen, poses=place(chosen['normed'], chosen['root_tl'], self.placement), bounds=bounds,
                    style=style)

    def score_moves(self, music, bounds, labels):
        """Move accuracy inputs for a real dance's clips: (teacher-forced argmax moves (N,), free-running greedy
        moves (N,)) given its clip bounds (N, 2) and k-means labels (N,)."""
        import torch
        w = self.windows(music, bounds)
        previous = torch.from_numpy(np.concatenate([[self.n_moves], labels[:-1]]).astype(np.int64)).to(self.device)
        with torch.no_grad():
            forced = self.net(w[None], previous[None])[0].argmax(-1).cpu().numpy()
        return forced, self.net.generate(w, greedy=True).cpu().numpy()


def members_of_moves(library, centroids, n_stand_in=8):
    """Library indices of each move's real clips -> list of K int arrays. A move with no training clip (possible
    with MiniBatchKMeans) stands in with the `n_stand_in` clips nearest its centroid."""
    labels = np.asarray(library['labels'])
    members = [np.flatnonzero(labels == m) for m in range(len(centroids))]
    for m in [m for m, c in enumerate(members) if len(c) == 0]:
        distance = ((library['normed'] - centroids[m]) ** 2).reshape(len(labels), -1).sum(1)
        members[m] = np.argsort(distance)[:n_stand_in]
    return members


def draw_real_clips(library, members, move_order, n_offered, log_probs, bounds, n_frames, blend_frames, ease,
                    join_weight, max_candidates, rng, allowed=None, min_candidates=1):
    """Draw each slot's move with a real clip of the library, picked jointly (l2d.moves.choose_clips) among the
    clips of the first `n_offered` moves of the slot's `move_order` (list of N int arrays: the chosen move, then
    the others, likeliest first), each move's clips a seeded sample of at most `max_candidates`, at a cost of
    -log p(move) from log_probs (N, K). allowed: None, or (M,) bool, the only library clips that may be drawn
    (one style's); a slot then offers further moves down its order until it has at least `min_candidates` of them.
    -> dict(normed (n_frames, 15, 2), root_tl (n_frames, 2), moves (N,) of the clips drawn, clips (N,) indices)."""
    from l2d.moves import choose_clips, join_real_clips
    candidates, unary = [], []
    for i, order in enumerate(move_order):
        clips, moves, count = [], [], 0
        for k, m in enumerate(order):
            if k >= n_offered and (allowed is None or count >= min_candidates):
                break
            pool = members[m] if allowed is None else members[m][allowed[members[m]]]
            if len(pool):
                clips.append(rng.choice(pool, min(len(pool), max_candidates), replace=False))
                moves.append(m)
                count += len(clips[-1])
        candidates.append(np.concatenate(clips))
        unary.append(np.concatenate([np.full(len(c), -log_probs[i, m]) for c, m in zip(clips, moves)]))
    clip_frames = library['normed'].shape[1]
    speeds = clip_frames / np.maximum(np.diff(bounds, axis=1)[:, 0], 1) * (1 - ease)
    chosen = choose_clips(candidates, unary, library['normed'], library['root_paths'], speeds, blend_frames,
                          join_weight)
    normed, root_tl = join_real_clips(library['normed'][chosen], library['root_paths'][chosen], bounds, n_frames,
                                      blend_frames, ease)
    return dict(normed=normed, root_tl=root_tl, moves=np.asarray(library['labels'])[chosen], clips=chosen)


class OriginalDancer(MoveDancer):
    """The original learn2dance design (2018) re-created: 1-s move clips and a long music window, trained by
    cluster.py and train.py with `--dancer=original` (see the Makefile), drawn with centroid clips joined as the
    project's first dancer joined them (0.25-s blends, resting on every boundary)."""

    def __init__(self, dataset, name='original', device='auto', options=None):
        super().__init__(dataset, name, device, dict(options or {}, clips='centroids', blend_s=0.25, ease=1.0,
                                                     smooth_s=0.0))


class RandomMoves:
    """The floor of every music score: the move classifier's vocabulary (data/<dataset>/moves.npz) drawn uniformly,
    with no music, on the steady beat grid eval.py uses for a song without beats, joined as MoveDancer joins: with
    clips='real' each move is a random real clip of it (and its root path), with 'centroids' its centroid."""
    OPTIONS = dict(blend_s=0.25, ease=0.5, clips='real')

    def __init__(self, dataset, name='random_moves', device='auto', options=None):
        from l2d.moves import load_moves, moves_file
        self.options = {k: (options or {}).get(k, v) for k, v in self.OPTIONS.items()}
        if self.options['clips'] not in ('real', 'centroids'):
            raise InputError(f"clips must be 'real' or 'centroids', got {self.options['clips']!r}")
        path = moves_file(dataset)
        if not os.path.isfile(path):
            raise InputError(f"{path} not found (run `python cluster.py --dataset={dataset}` first)")
        self.vocabulary = load_moves(path)
        if self.options['clips'] == 'real':
            if self.vocabulary['clips'] is None:
                raise InputError(f"{path} has no real clips (made before cluster.py kept them): rerun "
                                 f"`python cluster.py --dataset={dataset}`, or use clips='centroids'")
            self.members = members_of_moves(self.vocabulary['clips'], self.vocabulary['centroids'])
        self.fps = float(self.vocabulary['fps'])
        self.placement = self.vocabulary.get('placement') or legacy_placement(self.vocabulary['typical_root'],
                                                                              self.vocabulary['typical_scale'])
        self.made_by = (f"{path}: {len(self.vocabulary['centroids'])} moves drawn uniformly on a steady grid, "
                        + ', '.join(f"{k}={v}" for k, v in self.options.items()))

    def generate(self, music, n_frames, seed=0):
        from l2d.moves import dance_bounds, join_clips, join_real_clips
        v, o = self.vocabulary, self.options
        beats_per_clip = int(v['beats_per_clip'])
        beat_s = float(v['median_clip_s']) / (beats_per_clip if v['unit'] == 'beats' else 1)
        bounds = dance_bounds(n_frames, self.fps, v['unit'], float(v['clip_s']), beats_per_clip, None, beat_s)
        rng = np.random.default_rng(seed)
        moves = rng.integers(0, len(v['centroids']), len(bounds))
        blend_frames = int(round(o['blend_s'] * self.fps))
        if o['clips'] == 'centroids':
            normed = join_clips(v['centroids'][moves], bounds, n_frames, blend_frames, o['ease'])
            return dict(poses=place(normed, None, self.placement), normed=normed,
                        root_tl=np.zeros((n_frames, 2), np.float32), moves=moves, bounds=bounds)
        library = v['clips']
        chosen = np.array([rng.choice(self.members[m]) for m in moves], dtype=int)
        normed, root_tl = join_real_clips(library['normed'][chosen], library['root_paths'][chosen], bounds, n_frames,
                                          blend_frames, o['ease'])
        return dict(poses=place(normed, root_tl, self.placement), normed=normed, root_tl=root_tl, moves=moves,
                    bounds=bounds, clips=chosen)


class GanDancer:
    """The two-stage GAN (train_pose.py, then train_seq.py's checkpoint in out/<dataset>/gan_seq/): a music-driven
    walk through the pose GAN's latent space, window by window, in `style` (or one its classifier picks), travelling
    with the root velocity the sequence generator emits, folded into the training dancers' floor. The poses and the
    root's path are smoothed in time over `smooth_s` seconds (full width at half maximum): the walk takes a step per
    frame with fresh noise, and its frame-to-frame jitter doubled the real dances' jerk."""
    OPTIONS = dict(style='', smooth_s=0.1)

    def __init__(self, dataset, name='gan', device='auto', options=None):
        from models.gan import load_models
        self.options = {k: (options or {}).get(k, v) for k, v in self.OPTIONS.items()}
        self.device = torch_device(device)
        path = out_dir(dataset, 'gan_seq', 'ckpt.pt')
        self.ckpt = load_checkpoint(path, f"`python train_pose.py --dataset={dataset}` then "
                                          f"`python train_seq.py --dataset={dataset}`", self.device)
        try:
            self.models = load_models(self.ckpt, self.device)
        except Exception as e:  # a checkpoint of other networks fails in many ways
            raise InputError(f"{path}: not a checkpoint of models/gan.py's networks ({str(e).splitlines()[0]}); "
                             f"rerun train_seq.py")
        style = self.options['style']
        if style and self.ckpt['styles'] and style not in self.ckpt['styles']:
            raise InputError(f"unknown style {style!r} for {path} (known: {', '.join(self.ckpt['styles'])})")
        self.fps = float(self.ckpt['fps'])
        self.placement = self.ckpt['placement']
        self.made_by = f"{path}, style {style or 'picked from the music'}, smooth_s={self.options['smooth_s']}"

    def generate(self, music, n_frames, seed=0):
        from models.gan import generate_dance
        # A music file a few frames shorter than its pose file: the dancer holds the last pose, where it stands.
        n_music = min(n_frames, len(music['beats']))
        if n_music < 1:
            raise InputError("no music frames")
        normed, root_tl = generate_dance(self.ckpt, music, n_music, seed, self.options['style'] or None, self.device,
                                         self.models)
        normed = smooth_in_time(normed, self.fps, self.options['smooth_s']).astype(np.float32)
        root_tl = smooth_in_time(root_tl, self.fps, self.options['smooth_s']).astype(np.float32)
        normed = np.concatenate([normed, np.repeat(normed[-1:], n_frames - n_music, 0)])
        root_tl = np.concatenate([root_tl, np.repeat(root_tl[-1:], n_frames - n_music, 0)])
        return dict(poses=place(normed, root_tl, self.placement), normed=normed, root_tl=root_tl)


class TokenDancer:
    """Learned motion tokens and a music transformer (train_vqvae.py, then train_gpt.py: out/<dataset>/vqvae/ and
    out/<dataset>/gpt/ckpt.pt): the transformer writes the dance token by token from the music (and `style`, or the
    music alone when ''), sampled with `temperature` and `top_k` (0: all codes), with a sliding context for songs
    of any length; the VQ-VAE decodes the tokens to poses and the root's velocity, which travels the dancer. With
    `snap_beats` the decoded dance's kinematic beats are moved onto the song's beats by a small time warp
    (models.tokens.snap_to_beats). The decoded poses are smoothed in time over `smooth_s` seconds (full width at half
    maximum) first: the decoder's frames jolt where one token meets the next (Dance with Melody test songs: jerk
    221 at 0, 65 at 0.1 s against the real dances' 111, FID_k 17.1 and 17.7, BAS 0.207 and 0.204). With
    centre_travel the root track is centred on its range before it is folded onto the floor, as the move classifier
    does (l2d.moves.centre_travel; held-out Dance with Melody dances, two transformer seeds: floor width 7.44 and
    8.51 -> 9.86 and 9.76 torso lengths, real 9.30). With no `style`, the style is the one of the training song of
    the most similar rhythm (models.tokens.song_descriptor)."""
    OPTIONS = dict(temperature=1.0, top_k=5, style='', snap_beats=True, smooth_s=0.1, centre_travel=True)

    def __init__(self, dataset, name='tokens', device='auto', options=None):
        from models.tokens import RHYTHM_BEATS, MotionVQVAE, MusicGPT
        self.options = {k: (options or {}).get(k, v) for k, v in self.OPTIONS.items()}
        self.device = torch_device(device)
        vqvae_path, gpt_path = out_dir(dataset, 'vqvae', 'ckpt.pt'), out_dir(dataset, 'gpt', 'ckpt.pt')
        self.vq = load_checkpoint(vqvae_path, f"`python train_vqvae.py --dataset={dataset}`", self.device)
        self.gpt = load_checkpoint(gpt_path, f"`python train_gpt.py --dataset={dataset}`", self.device)
        self.vqvae = load_network(MotionVQVAE, self.vq, vqvae_path, self.device, "models/tokens.py's VQ-VAE",
                                  'train_vqvae.py')
        self.net = load_network(MusicGPT, self.gpt, gpt_path, self.device, "models/tokens.py's transformer",
                                'train_gpt.py')
        missing = {'codebook_id', 'styles', 'song_descriptors', 'music_mean'} - set(self.gpt)
        if missing:
            raise InputError(f"{gpt_path}: made by an older train_gpt.py (no {', '.join(sorted(missing))}); "
                             f"rerun train_gpt.py")
        if np.shape(self.gpt['song_descriptors'])[1:] != (len(RHYTHM_BEATS) + 1,):
            raise InputError(f"{gpt_path}: made by an older train_gpt.py (song descriptors of another kind); "
                             f"rerun train_gpt.py")
        if self.gpt['codebook_id'] != self.vq['codebook_id']:
            raise InputError(f"{gpt_path} learnt the tokens of another VQ-VAE than {vqvae_path} (train_vqvae.py "
                             f"ran since); rerun train_gpt.py")
        style, styles = self.options['style'], self.gpt['styles']
        if style and style not in styles:
            raise InputError(f"unknown style {style!r} for {gpt_path} (known: {', '.join(styles) or 'none'})")
        self.style = styles.index(style) if style else None
        self.fps = float(self.vq['fps'])
        self.placement = self.vq['placement']
        books, n_codes = self.vqvae.args.get('n_books', 1), self.vqvae.args['n_codes']
        codebooks = (f"{books} {'residual' if self.vqvae.args.get('residual') else 'product'} codebooks of "
                     f"{n_codes}" if books > 1 else f"one codebook of {n_codes}")
        self.made_by = (f"{gpt_path} over {vqvae_path}: tokens of {self.vqvae.frames_per_token} frames from "
                        f"{codebooks}, style {style or 'picked from the music'}, "
                        f"temperature={self.options['temperature']}, top_k={self.options['top_k']}, "
                        f"snap_beats={self.options['snap_beats']}, smooth_s={self.options['smooth_s']}, "
                        f"centre_travel={self.options['centre_travel']}")

    def generate(self, music, n_frames, seed=0):
        import torch
        from models.tokens import (dance_frames, nearest_style, sample_tokens, song_descriptor, token_music,
                                   with_neighbours)
        if len(music['beats']) < 1:
            raise InputError("no music frames")
        n_tokens = -(-int(n_frames) // self.vqvae.frames_per_token)
        g = self.gpt
        raw = token_music(music, n_tokens, self.vqvae.frames_per_token)
        heard = with_neighbours(raw, g['music_before'], g['music_after'])
        heard = torch.from_numpy(((heard - g['music_mean']) / g['music_std']).astype(np.float32)).to(self.device)
        style = self.style
        if style is None:
            style = (nearest_style(song_descriptor(music), g['song_descriptors'], g['song_styles'],
                                   g['descriptor_mean'], g['descriptor_std']) if g['styles'] else 0)
        tokens = sample_tokens(self.net, heard, style, self.options['temperature'], self.options['top_k'], int(seed))
        return dict(self.finish(dance_frames(self.vqvae, tokens, self.vq['mean'], self.vq['std'], n_frames), music),
                    tokens=tokens)

    def rebuild(self, poses, music):
        """A real dance as this dancer would dance it if its transformer wrote the dance's own tokens: pixel poses
        (T, 15, 2) at self.fps, tokenised and decoded by the VQ-VAE, then finished as `generate` finishes its dances
        (to the song's music features). What the dancer could reach at best: a ceiling for its figures."""
        from models.tokens import dance_frames, dance_tokens, motion_features
        features = motion_features(poses, self.fps, self.vq['settings']['root_smooth_s'])
        tokens = dance_tokens(self.vqvae, features, self.vq['mean'], self.vq['std'])
        return dict(self.finish(dance_frames(self.vqvae, tokens, self.vq['mean'], self.vq['std'], len(poses)), music),
                    tokens=tokens)

    def finish(self, frames, music):
        """Decoded motion frames (T, 32) -> the dance dict of `generate`: smoothed, snapped to the beats, travel
        centred and placed on the floor, as the options say."""
        from l2d.moves import centre_travel
        from models.tokens import motion_from_features, snap_to_beats
        normed, root_tl = motion_from_features(frames)
        normed = smooth_in_time(normed, self.fps, self.options['smooth_s']).astype(np.float32)
        if self.options['snap_beats']:
            normed, root_tl = snap_to_beats(normed, root_tl, self.fps, music['beat_times_s'])
        if self.options['centre_travel']:
            root_tl = centre_travel(root_tl)
        return dict(poses=place(normed, root_tl, self.placement), normed=normed, root_tl=root_tl)


DANCERS = {'dancer': MoveDancer, 'original': OriginalDancer, 'random_moves': RandomMoves, 'gan': GanDancer,
           'tokens': TokenDancer}


def parse_options(text):
    """Generation settings per dancer from a command line: 'tokens.top_k=20,tokens.temperature=1.2' ->
    {'tokens': {'top_k': 20, 'temperature': 1.2}}, each value of the type of the dancer's OPTIONS default ('' -> {}).
    InputError for an unknown dancer or option, or an entry not written dancer.option=value."""
    options = {}
    for entry in filter(None, (e.strip() for e in text.split(','))):
        name, dot, rest = entry.partition('.')
        key, equals, value = rest.partition('=')
        if not (dot and equals):
            raise InputError(f"dancer option {entry!r} must be written dancer.option=value")
        if name not in DANCERS:
            raise InputError(f"dancer option {entry!r}: unknown dancer {name!r} (known: {', '.join(DANCERS)})")
        known = getattr(DANCERS[name], 'OPTIONS', {})
        if key not in known:
            raise InputError(f"dancer option {entry!r}: {name} has no option {key!r} (known: "
                             f"{', '.join(known) or 'none'})")
        try:
            options.setdefault(name, {})[key] = parse_setting(f'{name}.{key}', value, known[key])
        except ConfigError as e:
            raise InputError(str(e).removeprefix('error: '))
    return options


def load(dataset, name, device='auto', options=None):
    """A trained dancer of `dataset` by name (a key of DANCERS); options: dict of generation settings (the
    dancer's OPTIONS it knows; others are ignored). InputError naming the file when its model is missing or
    unreadable, and for an unknown name."""
    if name not in DANCERS:
        raise InputError(f"unknown dancer {name!r} (known: {', '.join(DANCERS)})")
    return DANCERS[name](dataset, name, device, options)
