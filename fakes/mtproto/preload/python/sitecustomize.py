"""botfakes' Pyrogram preload (PYTHONPATH=<this folder>): see botfakes_pyrogram_preload.py.

Python imports one `sitecustomize` at start-up; after installing the preload this one runs the
next sitecustomize on sys.path (a distribution's own, e.g. Debian's), so nothing is lost.
"""

import importlib.machinery
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE) if _HERE not in sys.path else None
import botfakes_pyrogram_preload  # noqa: E402

botfakes_pyrogram_preload.install_from_environment()

_rest = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
_next = importlib.machinery.PathFinder.find_spec("sitecustomize", _rest)
if _next is not None and _next.loader is not None:
    _module = importlib.util.module_from_spec(_next)
    _next.loader.exec_module(_module)
