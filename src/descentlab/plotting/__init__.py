"""Axes-level figure helpers: each draws on a given matplotlib ``Axes`` and returns its artists.

Nothing here touches matplotlib's global state (no ``pyplot`` state, no rcParams)
or writes files; the CLI and the report decide where figures go.
"""
