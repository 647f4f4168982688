"""A local emulator of the SageMaker and CloudWatch Logs APIs (see ``server`` and ``state``).

It speaks AWS's own wire protocol on 127.0.0.1, so the runner is exercised end to end through
the real aiobotocore client. The core (``runner``) never imports this package.
"""
