"""Training plots shared by the trainers."""
from .io import atomic_path


def save_loss_plot(path, history, keys, xlabel='step'):
    """Plot the logged losses of a training run and write the picture atomically.

    path: the .png to write; history: list of dicts, each with 'step' and some of `keys` (floats); keys: the
    entries to draw, one line each (a key no record has is left out); xlabel: what a step is."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    steps = [h['step'] for h in history]
    fig, ax = plt.subplots(figsize=(7, 4))
    for key in keys:
        if any(key in h for h in history):
            ax.plot(steps, [h.get(key, float('nan')) for h in history], label=key)
    ax.set_xlabel(xlabel)
    ax.legend()
    ax.grid(alpha=0.3)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)
