"""Regression testing: runpack fixtures + graders (``gait regress``) and golden policy tests.

Submodules are imported on use; this package imports nothing heavy.
"""
