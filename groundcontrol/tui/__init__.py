"""The dispatcher console (Textual). ``model.py`` is the boundary a fleet backend implements."""
