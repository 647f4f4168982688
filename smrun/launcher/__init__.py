"""The batch launcher (``smrun launch``): run a manifest of many SageMaker jobs as one batch.

``manifest`` reads and validates a manifest (defaults, matrix sweeps, component inputs or raw
requests, upstream outputs) into entries with stable identities, reporting every problem before
anything is submitted; ``vocabulary`` is the one set of kind names (and aliases) users write.
``journal`` records each entry's progress in SQLite so a killed launch resumes; ``resume`` holds
the resume rules (what a launch does with each entry it ran before, an edit told field by field,
reruns); ``attached`` tells whether a launch holds a journal. ``preflight`` decides the region
and checks credentials; ``admission`` the limits; ``launch`` runs the batch; ``progress`` and
``report`` show it; ``command`` is what the CLI calls.

Like ``smrun/cli.py``, this package is an entry-point layer: it may import ``components`` (to
turn component inputs into requests), which the runner core may not.
"""
