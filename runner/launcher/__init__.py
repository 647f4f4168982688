"""The batch launcher (``smrun launch``): run a manifest of many SageMaker jobs as one batch.

``manifest`` reads and validates a manifest (defaults, matrix sweeps, component inputs or raw
requests) into entries with stable identities, reporting every problem before anything is
submitted. ``journal`` records each entry's progress in SQLite so a killed launch resumes.

Like ``runner/cli.py``, this package is an entry-point layer: it may import ``components`` (to
turn component inputs into requests), which the runner core may not.
"""
