"""Moved to methods.py (the calls the fake answers); this name stays for older imports."""

from .methods import *  # noqa: F401,F403
from .methods import HANDLERS, UNAUTHORIZED_OK, WRAPPERS, page  # noqa: F401
