"""Scout: fingerprints of runs, families of similar incidents, drivers and fix suggestions.

``signal`` builds the ``gait.scout.signal_report`` of scout_packs.md §1.
"""
