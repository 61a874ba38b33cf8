"""eval.py --model=gan: a GAN dance in a chosen style for a song longer than the training window, an unknown style,
the test-split scores (the music picks the style), other seeds other dances, and a missing checkpoint."""
import json

import numpy as np

from conftest import run_script
from l2d.audio import load_music
from l2d.io import load_poses
from models.dancers import load
from test_gan import make_dataset
from test_train_eval import write_click_song


def test_eval_gan(roots):
    data, out = roots
    make_dataset(data, n_clips=4, seconds=4.0)
    song = data / 'song.wav'
    write_click_song(song, 5.0, 120)
    write_click_song(data / 'tiny' / 'audio' / 'clip3.wav', 4.0, 120)  # the test clip's song, for the speed

    missing = run_script('eval.py', '--dataset=tiny', '--model=gan', f'--music={song}', check=False)
    assert missing.returncode != 0
    assert 'train_pose.py' in missing.stderr and 'train_seq.py' in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1

    run_script('train_pose.py', '--dataset=tiny', '--max_steps=20', '--check_samples=100', '--hidden=32')
    run_script('train_seq.py', '--dataset=tiny', '--max_steps=5', '--seq_len=30', '--sample_seconds=1',
               '--hidden=32', '--critic_hidden=16')

    # 5 s of song at 30 fps: five chained 30-frame windows.
    run_script('eval.py', '--dataset=tiny', '--model=gan', '--style=knees', f'--music={song}', '--video=False')
    dance = load_poses(out / 'tiny' / 'dances' / 'gan' / 'song.npz')
    assert dance['poses'].shape == (150, 15, 2) and np.isfinite(dance['poses']).all()
    assert np.ptp(dance['poses'], axis=0).max() > 1  # the dancer moves (pixels)
    assert dance['settings']['style'] == 'knees' and dance['settings']['model'] == 'gan'

    bad = run_script('eval.py', '--dataset=tiny', '--model=gan', '--style=tango', f'--music={song}', check=False)
    assert bad.returncode != 0 and 'tango' in bad.stderr

    run_script('eval.py', '--dataset=tiny', '--model=gan', '--compare_video=False')
    report = json.loads((out / 'tiny' / 'eval_gan.json').read_text())
    assert report['n_songs'] == 1 and 'move_accuracy' not in report
    assert np.isfinite(report['generated_bas']) and report['speed_x_realtime'] > 0
    (clip, _), = report['per_song'].items()

    dancer = load('tiny', 'gan', 'cpu')
    music = load_music(str(data / 'tiny' / 'music' / f'{clip}.npz'))
    real = load_poses(data / 'tiny' / 'poses' / f'{clip}.npz')['poses']
    first, again, second = (dancer.generate(music, len(real), seed)['poses'] for seed in (0, 0, 1))
    assert first.shape == second.shape == real.shape
    assert np.array_equal(first, again) and not np.allclose(first, second)
