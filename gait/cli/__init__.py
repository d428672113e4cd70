"""The ``gait`` command line. Thin: parse flags, call the library, render output."""
