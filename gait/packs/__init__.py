"""Evidence packs: guard and incident packs, unified packs (scout_packs.md §2–§4).

Modules: ``guard`` (evidence pack builder), ``incident`` (window selection),
``unified`` (run packs with a proof-record chain, export), ``verify`` (one
verifier for every pack kind), ``common`` (shared helpers). Packs are written
by the runpack zip writer and read by its safe reader.
"""
