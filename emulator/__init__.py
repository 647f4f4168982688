"""A local emulator of the SageMaker, CloudWatch Logs and STS APIs (see ``server`` and ``state``).

It speaks AWS's own wire protocols on 127.0.0.1, so the runner is exercised end to end through
the real aiobotocore client. It stands apart from the system it tests: of the project it imports
only ``runner.validation`` (botocore's SageMaker model, which both sides read), and the library
(``runner``) never imports it. ``smrun emulator`` and ``smrun launch --local`` serve it.
"""
