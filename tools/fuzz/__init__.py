"""Fuzz harnesses for every reader of untrusted input (issue 11 E16).

``targets.TARGETS`` maps a name to a function taking bytes; it must return or
raise a :class:`gait.errors.GaitError` that is not an internal failure.
Anything else is a crash. ``run`` drives them with atheris when it is
installed, otherwise with a seeded mutation fuzzer.
"""
