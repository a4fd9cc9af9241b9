"""The Pyrogram preload's folder: put it on PYTHONPATH (its sitecustomize.py runs at start-up).

A package only so that it is installed with botfakes; see botfakes_pyrogram_preload.py."""
