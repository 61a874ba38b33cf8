"""Dancing with real clips: root paths, the joint choice of clips (l2d.moves.choose_clips), joining clips that travel,
and the move classifier and random-moves dancers drawing real clips of a tiny travelling dataset."""
import numpy as np
import pytest
import torch

from conftest import module_roots, run_script
from l2d.io import InputError, data_dir, load_poses, out_dir, save_poses
from l2d.metrics import beat_period_s
from l2d.moves import (centre_travel, choose_clips, cover_song, cut_root_paths, join_clips, join_real_clips,
                       load_moves, move_style_counts, resample_path, resample_time, style_votes,
                       tempo_weights)
from test_cluster import FPS, STANDING, write_dataset

WALK_PX = 2.0  # the tiny dataset's dancers drift this far right every frame: 0.6 torso lengths/s (torso 100 px)


def still_clip(offset, n_frames=6):
    """A clip standing still in STANDING shifted by `offset` torso lengths: (n_frames, 15, 2)."""
    return np.repeat((STANDING + offset)[None], n_frames, axis=0).astype(np.float32)


def test_resample_path_keeps_the_whole_displacement():
    path = np.stack([np.arange(11.0), np.zeros(11)], axis=1)  # 1 torso length a frame for 10 frames
    for n_steps in (4, 10, 25):
        out = resample_path(path, n_steps)
        assert out.shape == (n_steps + 1, 2) and out[0, 0] == 0 and out[-1, 0] == pytest.approx(10)
        assert np.allclose(np.diff(out[:, 0]), 10 / n_steps, atol=1e-5)
    eased = resample_path(path, 20, ease=1.0)[:, 0]  # at rest at both ends
    assert eased[-1] == pytest.approx(10) and eased[1] - eased[0] < 0.2 * np.diff(eased).max()


def test_cut_root_paths_tile_the_travel():
    root = np.stack([0.1 * np.arange(100), 0.02 * np.arange(100)], axis=1)
    bounds = np.array([[0, 10], [10, 30], [30, 60]])
    paths = cut_root_paths(root, bounds, 8)
    assert paths.shape == (3, 9, 2) and np.all(paths[:, 0] == 0)
    # Each clip's path runs to the next clip's first frame, so consecutive paths add up to the whole travel.
    assert paths[:, -1].sum(axis=0) == pytest.approx(root[60] - root[0], abs=1e-4)


def test_join_real_clips_accumulates_travel_and_stretches_it_with_the_clip():
    clips = np.stack([still_clip(0.0), still_clip(0.0)])
    paths = np.zeros((2, 7, 2), np.float32)
    paths[0, :, 0] = np.linspace(0, 1.5, 7)  # 1.5 torso lengths to the right
    paths[1, :, 1] = np.linspace(0, -0.5, 7)  # then 0.5 up
    bounds = np.array([[5, 17], [17, 41]])  # the second clip plays at half speed
    normed, root_tl = join_real_clips(clips, paths, bounds, 50, blend_frames=3)
    assert normed.shape == (50, 15, 2) and root_tl.shape == (50, 2)
    assert np.all(root_tl[:6] == 0) and root_tl[-1] == pytest.approx([1.5, -0.5], abs=1e-5)
    assert np.abs(np.diff(root_tl, axis=0)).max() < 0.15  # no jump
    assert np.diff(root_tl[5:17, 0]).mean() == pytest.approx(1.5 / 12, rel=1e-3)
    assert np.diff(root_tl[17:41, 1]).mean() == pytest.approx(-0.5 / 24, rel=1e-3)
    # The joins are softened, the clips' middles kept.
    jolt = np.stack([still_clip(0.0), still_clip(0.0) + np.linspace(0, 1, 6)[:, None, None]])
    joined, _ = join_real_clips(jolt, paths, bounds, 50, blend_frames=3)
    plain = join_clips(jolt, bounds, 50, blend_frames=3)
    third = np.abs(np.diff(joined, 3, axis=0)).max(axis=(1, 2))
    assert third[12:20].max() < np.abs(np.diff(plain, 3, axis=0)).max(axis=(1, 2))[12:20].max()
    assert np.allclose(joined[30:36], plain[30:36], atol=1e-5)
    # Eased, each clip's travel starts and ends at rest, and still adds up.
    _, eased = join_real_clips(clips, paths, bounds, 50, blend_frames=3, ease=1.0)
    assert eased[-1] == pytest.approx([1.5, -0.5], abs=1e-5) and abs(eased[17, 0] - eased[16, 0]) < 0.3 * 1.5 / 12


def test_choose_clips_joins_best_over_the_whole_dance_and_never_repeats():
    # Clips 0-3 stand still at x = 0, 0, 1, 1 torso lengths. Slot 0 prefers clip 2 on its own (lower unary cost),
    # but slots 1 and 2 only offer clips at x = 0: the joint choice pays the unary cost to avoid the jump.
    clips = np.stack([still_clip(0.0), still_clip(0.0), still_clip(1.0), still_clip(1.0)])
    paths = np.zeros((4, 7, 2), np.float32)
    speeds = np.ones(3)
    candidates = [np.array([0, 2]), np.array([0, 1]), np.array([0, 1])]
    unary = [np.array([0.5, 0.0]), np.zeros(2), np.zeros(2)]
    chosen = choose_clips(candidates, unary, clips, paths, speeds, blend_frames=2)
    assert chosen[0] == 0 and list(chosen[1:]) == [1, 0]  # x = 0 throughout, and no clip twice in a row
    # Where the jump costs less than the unary difference, the likelier clip wins.
    assert choose_clips(candidates, [np.array([5.0, 0.0]), np.zeros(2), np.zeros(2)], clips, paths, speeds,
                        2)[0] == 2
    assert choose_clips(candidates, unary, clips, paths, speeds, 2, join_weight=0.0)[0] == 2
    # Velocity matters too: a clip moving right joins a clip that keeps moving right better than one that stops.
    moving = np.stack([still_clip(0.0) + np.linspace(0, 0.5, 6)[:, None, None] * [1, 0] for _ in range(2)])
    library = np.concatenate([moving, still_clip(0.5)[None]])
    library[1] += 0.5  # clip 1 starts where clip 0 ends and keeps going; clip 2 starts there too but stands still
    chosen = choose_clips([np.array([0]), np.array([1, 2])], [np.zeros(1), np.zeros(2)], library,
                          np.zeros((3, 7, 2), np.float32), np.ones(2), blend_frames=4)
    assert chosen.tolist() == [0, 1]
    with pytest.raises(ValueError):
        choose_clips([np.array([0]), np.array([], int)], [np.zeros(1), np.zeros(0)], clips, paths, speeds, 2)


def test_cover_song_dances_the_intro_and_the_ending():
    bounds = np.array([[15, 45], [45, 75]])
    assert cover_song(bounds, 100, 10).tolist() == [[0, 15], [15, 45], [45, 75], [75, 100]]
    assert cover_song(bounds, 100, 30).tolist() == [[0, 45], [45, 100]]  # too short: joins its neighbour
    assert cover_song(np.array([[0, 30], [30, 100]]), 100, 10).tolist() == [[0, 30], [30, 100]]


def test_centre_travel_puts_the_middle_of_the_range_at_zero():
    track = np.stack([np.linspace(0, 8, 50), np.linspace(0, -1, 50)], axis=1)
    centred = centre_travel(track)
    assert centred[0] == pytest.approx([-4, 0.5]) and centred[-1] == pytest.approx([4, -0.5])
    assert np.allclose(np.diff(centred, axis=0), np.diff(track, axis=0))


def test_style_of_a_song_from_its_move_probabilities():
    # Moves 0-1 are style a's, move 2 style b's; style a has ten times the clips, which must not win on its own.
    labels = np.array([0] * 50 + [1] * 50 + [2] * 10)
    styles = np.array(['a'] * 100 + ['b'] * 10)
    counts = move_style_counts(labels, styles, 3, ['a', 'b'])
    assert counts.tolist() == [[50, 0], [50, 0], [0, 10]]
    song_of_b = np.log(np.array([[0.2, 0.2, 0.6]] * 8))
    assert np.argmax(style_votes(song_of_b, counts)) == 1
    assert np.argmax(style_votes(np.log(np.array([[0.45, 0.45, 0.1]] * 8)), counts)) == 0


def test_floor_is_a_quantile_of_the_training_dances_travel():
    from l2d.norm import placement
    # Three dancers walking right 1, 2 and 4 torso lengths (100 px) over 11 frames.
    dances = [STANDING[None] * 100 + np.stack([np.linspace(0, 100 * w, 11), np.zeros(11)], 1)[:, None]
              for w in (1, 2, 4)]
    assert placement(dances)['floor_tl'][0] == pytest.approx(2)
    assert placement(dances, 0.75)['floor_tl'][0] == pytest.approx(3)


def test_tempo_weights_fit_a_song_to_the_styles_danced_at_its_tempo():
    assert beat_period_s([0.0, 0.5, 1.0, 1.6]) == pytest.approx(0.5) and np.isnan(beat_period_s([1.0]))
    # Style a's two dances were tracked at 87 and 170 beats a minute (a waltz's two tempi), style b's at 125; each
    # dance counts once however many clips it has.
    beat_s = 60 / np.array([87.0] * 5 + [170.0] + [125.0] * 2 + [np.nan])
    dances = np.array(['a1'] * 5 + ['a2', 'b1', 'b1', 'c1'])
    styles = np.array(['a'] * 6 + ['b', 'b', 'c'])
    weights = tempo_weights(60 / 170.0, beat_s, dances, styles, ['a', 'b', 'c'])
    assert weights[0] == pytest.approx(0.5) and weights[1] < 1e-6 and weights[2] == 0
    assert np.argmax(tempo_weights(60 / 124.0, beat_s, dances, styles, ['a', 'b', 'c'])) == 1
    assert np.all(tempo_weights(float('nan'), beat_s, dances, styles, ['a', 'b', 'c']) == 0)


# ---- the dancers on a tiny dataset whose dancers travel -----------------------------------------------------------

@pytest.fixture(scope='module')
def travelling(tmp_path_factory):
    """The tiny synthetic dataset with every dancer drifting right by WALK_PX a frame, clustered and trained for a
    few epochs (enough to dance; how well it learns is test_train_eval.py's business); yields the root."""
    root = tmp_path_factory.mktemp('clips')
    with module_roots(root):
        truth = write_dataset('tiny')
        for name in truth:
            path = data_dir('tiny', 'poses', name + '.npz')
            z = load_poses(path)
            poses = z['poses'] + np.stack([WALK_PX * np.arange(len(z['poses'])), np.zeros(len(z['poses']))],
                                          axis=1)[:, None].astype(np.float32)
            save_poses(path, poses, z['confidences'], z['fps'], 'synthetic')
        run_script('cluster.py', '--dataset=tiny', '--unit=beats', '--n_moves=4', '--n_init=1')
        run_script('train.py', '--dataset=tiny', '--hidden=32', '--move_embed=8', '--epochs=1', '--val_fraction=0')
        yield root


def tiny_music(seconds=12.0, bpm=110):
    """Music features of a steady song, as l2d.audio makes them (the dancers only read beats and the model's keys)."""
    n = int(seconds * FPS)
    rng = np.random.default_rng(1)
    beat_times_s = np.arange(0.2, seconds, 60 / bpm)
    beats = np.zeros(n, np.float32)
    beats[np.round(beat_times_s * FPS).astype(int)] = 1
    return dict(mel_db=rng.normal(-60, 5, (n, 128)).astype(np.float32), onset_strength=beats * 5,
                beats=beats, beat_times_s=beat_times_s.astype(np.float32), fps=np.float32(FPS),
                tempogram=np.zeros((n, 384), np.float32)), n


def test_cluster_keeps_the_training_clips_and_their_travel(travelling):
    with module_roots(travelling):
        moves = load_moves(data_dir('tiny', 'moves.npz'))
    library = moves['clips']
    train = [n for n, d in moves['dances'].items() if d['split'] == 'train']
    assert len(library['labels']) == sum(len(moves['dances'][n]['labels']) for n in train)
    assert set(library['dances']) == set(train)
    assert library['normed'].shape[1:] == moves['centroids'].shape[1:]
    assert library['root_paths'].shape == (len(library['labels']), moves['clip_frames'] + 1, 2)
    assert set(library['styles']) == {'tempo0', 'tempo1'}  # each clip knows its dance's style and tempo
    assert np.allclose(60 / library['beat_s'][library['styles'] == 'tempo1'], 125, rtol=0.05)
    first = library['dances'] == train[0]
    assert np.array_equal(library['labels'][first], moves['dances'][train[0]]['labels'])
    # Each clip's root path is the drift over its frames, in torso lengths (100 px).
    frames = np.diff(library['bounds'], axis=1)[:, 0]
    assert library['root_paths'][:, -1, 0] == pytest.approx(WALK_PX / 100 * frames, rel=0.02)
    assert (travelling / 'out' / 'tiny' / 'move_clips.png').stat().st_size > 5000


def test_move_dancer_dances_real_clips_that_travel(travelling):
    from models.dancers import load
    music, n_frames = tiny_music()
    with module_roots(travelling):
        ckpt = torch.load(out_dir('tiny', 'dancer', 'ckpt.pt'), weights_only=False)
        assert ckpt['moves']['clips'] is not None  # the checkpoint dances on its own, without data/
        real = load('tiny', 'dancer', 'cpu', dict(ease=0.0, blend_s=0.1, smooth_s=0.0))
        centroids = load('tiny', 'dancer', 'cpu', dict(clips='centroids'))
    library = real.library
    dance = real.generate(music, n_frames, seed=3)
    assert dance['poses'].shape == (n_frames, 15, 2) and np.isfinite(dance['poses']).all()
    # The model's moves, each drawn with a real clip of it, never one clip twice in a row.
    assert np.array_equal(library['labels'][dance['clips']], dance['moves'])
    assert np.all(dance['clips'][1:] != dance['clips'][:-1])
    s, e = dance['bounds'][1]
    middle = slice(s + (e - s) // 3, e - (e - s) // 3)
    assert np.allclose(dance['normed'][middle], resample_time(library['normed'][dance['clips'][1]], e - s)[
        middle.start - s:middle.stop - s], atol=1e-4)  # away from the joins, the clip as it was
    # It travels as the training dancers did (0.6 torso lengths/s) and stays on their floor.
    span = slice(dance['bounds'][0, 0], dance['bounds'][-1, 1])
    speed = np.abs(np.diff(dance['root_tl'][span, 0])).mean() * FPS
    assert speed == pytest.approx(WALK_PX / 100 * FPS, rel=0.2)
    floor_px = real.placement['floor_tl'][0] * real.placement['scale']
    assert np.ptp(dance['poses'][:, 8, 0]) <= floor_px + 1e-3
    assert np.array_equal(dance['poses'], real.generate(music, n_frames, seed=3)['poses'])  # seeded
    assert not np.array_equal(dance['clips'], real.generate(music, n_frames, seed=4)['clips'])
    # It dances from the first frame to the last, and in one style: the one asked for, or the music's.
    assert dance['bounds'][0, 0] == 0 and dance['bounds'][-1, 1] == n_frames
    assert real.styles == ['tempo0', 'tempo1'] and dance['style'] in real.styles
    assert set(library['styles'][dance['clips']]) == {dance['style']}
    with module_roots(travelling):
        asked = load('tiny', 'dancer', 'cpu', dict(style='tempo1')).generate(music, n_frames, seed=3)
        assert asked['style'] == 'tempo1' and set(library['styles'][asked['clips']]) == {'tempo1'}
        # A song's tempo names the style danced at it (tempo0's songs are at 100 beats a minute, tempo1's at 125).
        default = load('tiny', 'dancer', 'cpu')
        for bpm, style in ((100, 'tempo0'), (125, 'tempo1')):
            song, frames = tiny_music(bpm=bpm)
            assert default.generate(song, frames, seed=5)['style'] == style
        with pytest.raises(InputError, match="unknown style 'salsa'"):
            load('tiny', 'dancer', 'cpu', dict(style='salsa'))
    # The centroid renderer is still there, standing on the spot.
    still = centroids.generate(music, n_frames, seed=3)
    assert np.all(still['root_tl'] == 0) and 'clips' not in still


def test_random_moves_draws_real_clips_and_old_checkpoints_say_what_to_do(travelling, tmp_path):
    from models.dancers import load
    music, n_frames = tiny_music()
    with module_roots(travelling):
        floor = load('tiny', 'random_moves', 'cpu').generate(music, n_frames, seed=0)
        library = load_moves(data_dir('tiny', 'moves.npz'))['clips']
        assert np.array_equal(library['labels'][floor['clips']], floor['moves'])
        assert np.abs(np.diff(floor['root_tl'][:, 0])).mean() > 0.2 * WALK_PX / 100
        ckpt = torch.load(out_dir('tiny', 'dancer', 'ckpt.pt'), weights_only=False)
        del ckpt['moves']['clips']['styles']  # clustered before clips kept their style: danced in any style
        (travelling / 'out' / 'tiny' / 'any_style').mkdir()
        torch.save(ckpt, out_dir('tiny', 'any_style', 'ckpt.pt'))
        from models.dancers import MoveDancer
        assert MoveDancer('tiny', 'any_style', 'cpu').generate(music, n_frames)['style'] == ''
        del ckpt['moves']['clips']
        (travelling / 'out' / 'tiny' / 'old').mkdir()
        torch.save(ckpt, out_dir('tiny', 'old', 'ckpt.pt'))
        with pytest.raises(InputError, match="no real clips.*cluster.py"):
            MoveDancer('tiny', 'old', 'cpu')
        assert MoveDancer('tiny', 'old', 'cpu', dict(clips='centroids')).generate(music, n_frames)['poses'].shape == (
            n_frames, 15, 2)
        with pytest.raises(InputError, match="clips must be"):
            MoveDancer('tiny', 'dancer', 'cpu', dict(clips='both'))
