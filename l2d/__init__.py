"""learn2dance's shared package: skeleton, OpenPose I/O, config overrides, file I/O, normalisation, metrics.

numpy-only at import time (no torch), so that scripts such as parse.py start fast."""
