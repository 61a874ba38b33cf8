"""Progress bars that suit where the output goes: live on a terminal, a line every few seconds in a log file or CI."""
import sys

LOG_INTERVAL_S = 10.0  # seconds between lines when stderr is not a terminal


def progress(iterable=None, **kwargs):
    """tqdm(iterable, **kwargs), redrawn at most every LOG_INTERVAL_S seconds when stderr is not a terminal, so a
    log gets a readable line now and then instead of thousands of carriage-return updates."""
    from tqdm import tqdm
    if not sys.stderr.isatty():
        kwargs.setdefault('mininterval', LOG_INTERVAL_S)
        kwargs.setdefault('maxinterval', LOG_INTERVAL_S * 2)
    return tqdm(iterable, **kwargs)
