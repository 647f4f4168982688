"""smrun's applications, built on the ``runner`` library: the ``smrun`` command (``cli``), the
batch launcher (``launcher``) and the two-stage SIGINT/SIGTERM handling every entry point
shares (``signals``). Nothing in ``runner`` imports this package; the KFP components use only
``smrun.signals`` from it.
"""
