import pytest

from l2d.config import configure


def namespace():
    return {'dataset': 'demo', 'epochs': 20, 'lr': 3e-4, 'verbose': True, 'device': None, 'np': object()}


def test_overrides_apply_with_types():
    ns = namespace()
    s = configure(ns, ['--epochs=5', '--lr=1', '--dataset=mine', '--verbose=False', '--device=cpu'], quiet=True)
    assert s == {'dataset': 'mine', 'epochs': 5, 'lr': 1.0, 'verbose': False, 'device': 'cpu'}
    assert ns['epochs'] == 5 and isinstance(ns['lr'], float)


def test_unknown_name_and_wrong_type_are_errors():
    with pytest.raises(SystemExit, match="unknown setting 'epoch'"):
        configure(namespace(), ['--epoch=5'], quiet=True)
    with pytest.raises(SystemExit, match="'epochs' must be int"):
        configure(namespace(), ['--epochs=five'], quiet=True)
    with pytest.raises(SystemExit, match="'verbose' must be True or False"):
        configure(namespace(), ['--verbose=1'], quiet=True)


def test_config_file_then_command_line(tmp_path):
    cfg = tmp_path / 'small.py'
    cfg.write_text("epochs = 2\ndataset = 'tiny'\n")
    s = configure(namespace(), [str(cfg), '--epochs=3'], quiet=True)
    assert s['epochs'] == 3 and s['dataset'] == 'tiny'
    bad = tmp_path / 'bad.py'
    bad.write_text("epohcs = 2\n")
    with pytest.raises(SystemExit, match="unknown setting 'epohcs'"):
        configure(namespace(), [str(bad)], quiet=True)
    with pytest.raises(SystemExit, match="not found"):
        configure(namespace(), [str(tmp_path / 'missing.py')], quiet=True)


def test_a_str_setting_takes_the_text_as_given():
    s = configure(namespace(), ['--dataset=2024', '--device=cpu'], quiet=True)
    assert s['dataset'] == '2024' and s['device'] == 'cpu'
    assert configure(namespace(), ['--dataset=True'], quiet=True)['dataset'] == 'True'
    with pytest.raises(SystemExit, match="'epochs' must be int"):
        configure(namespace(), ['--epochs=2024.5'], quiet=True)


def test_dancer_options_are_typed_per_dancer():
    from l2d.io import InputError
    from models.dancers import parse_options
    assert parse_options('') == {}
    assert parse_options('tokens.top_k=20, tokens.temperature=1, dancer.clips=centroids, gan.style=waltz') == {
        'tokens': {'top_k': 20, 'temperature': 1.0}, 'dancer': {'clips': 'centroids'}, 'gan': {'style': 'waltz'}}
    assert parse_options('tokens.snap_beats=False') == {'tokens': {'snap_beats': False}}
    for bad, says in [('tokens.top_k=many', "tokens.top_k' must be int"), ('top_k=20', 'dancer.option=value'),
                      ('waltzer.top_k=3', "unknown dancer 'waltzer'"), ('tokens.blend_s=0.3', "no option 'blend_s'")]:
        with pytest.raises(InputError, match=says):
            parse_options(bad)
