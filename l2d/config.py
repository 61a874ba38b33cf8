"""Settings as plain constants at the top of a script, overridable from the command line.

A script defines its settings as module-level constants, then calls ``configure(globals())``::

    dataset = 'demo'
    epochs = 20
    learning_rate = 3e-4
    settings = configure(globals())

``python train.py --epochs=5 my_config.py`` first executes ``my_config.py`` (a Python file of the same
constants), then applies ``--name=value`` overrides in order (a str setting takes the text as given, other
values are read as Python literals), checks that each name is a known setting and that each value has the
constant's type, rewrites the script's globals, prints the effective settings once and returns them as a dict
(for checkpoints and output files). ``--help`` prints the settings and exits.
"""
import ast
import os
import sys

SETTING_TYPES = (bool, int, float, str, type(None))


class ConfigError(SystemExit):
    """A bad override: unknown name, wrong type or unreadable config file (exits with a one-line message)."""

    def __init__(self, message):
        super().__init__(f"error: {message}")


def setting_names(namespace):
    """Names of the settings in a script's namespace: public constants of a plain type (bool/int/float/str/None)."""
    return [k for k, v in namespace.items()
            if not k.startswith('_') and k.islower() and isinstance(v, SETTING_TYPES)
            and not callable(v)]


def _coerce(name, value, default):
    """Check that `value` fits the type of the constant's `default`, converting int to float where harmless."""
    if default is None or value is None:
        return value
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise ConfigError(f"setting '{name}' must be True or False, got {value!r}")
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if type(value) is not type(default):
        raise ConfigError(f"setting '{name}' must be {type(default).__name__} (default {default!r}), got {value!r}")
    return value


def _parse_value(text):
    """'3' -> 3, '1e-3' -> 0.001, 'True' -> True, 'None' -> None, anything else -> the string itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_setting(name, text, default):
    """The value of setting `name` written as `text` on a command line, of the type of its `default`: a str setting
    takes the text as given (--dataset=2024 names the dataset '2024', not a number), others are read as Python
    literals. ConfigError when it does not fit."""
    return _coerce(name, text if isinstance(default, str) else _parse_value(text), default)


def configure(namespace, argv=None, quiet=False):
    """Apply a config file and ``--name=value`` overrides to a script's settings, in place.

    Parameters: namespace, the script's ``globals()``; argv, the arguments (default ``sys.argv[1:]``);
    quiet, do not print the effective settings (they are printed only on rank 0 under torchrun anyway).
    Returns the effective settings as a dict {name: value}.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    names = setting_names(namespace)
    defaults = {k: namespace[k] for k in names}
    if '--help' in argv or '-h' in argv:
        script = os.path.basename(str(namespace.get('__file__', 'script')))
        print(f"usage: python {script} [config.py] [--name=value ...]\nsettings (defaults):")
        for k in names:
            print(f"  --{k}={defaults[k]!r}")
        raise SystemExit(0)
    for arg in argv:
        if arg.startswith('--'):
            if '=' not in arg:
                raise ConfigError(f"'{arg}' must be written --name=value")
            key, text = arg[2:].split('=', 1)
            key = key.replace('-', '_')
            if key not in defaults:
                raise ConfigError(f"unknown setting '{key}' (known: {', '.join(names)})")
            namespace[key] = parse_setting(key, text, defaults[key])
        else:
            if not os.path.isfile(arg):
                raise ConfigError(f"config file '{arg}' not found (settings are given as --name=value)")
            file_settings = {}
            try:
                with open(arg) as f:
                    exec(compile(f.read(), arg, 'exec'), {}, file_settings)
            except Exception as e:  # a config file is user code: report, do not trace back
                raise ConfigError(f"config file '{arg}' could not be read: {e}")
            for key, value in file_settings.items():
                if key.startswith('_') or not isinstance(value, SETTING_TYPES):
                    continue
                if key not in defaults:
                    raise ConfigError(f"{arg}: unknown setting '{key}' (known: {', '.join(names)})")
                namespace[key] = _coerce(key, value, defaults[key])
    settings = {k: namespace[k] for k in names}
    if not quiet and int(os.environ.get('RANK', '0')) == 0:
        script = os.path.basename(str(namespace.get('__file__', '')))
        print(f"{script} settings: " + ' '.join(f"{k}={v!r}" for k, v in settings.items()), flush=True)
    return settings
