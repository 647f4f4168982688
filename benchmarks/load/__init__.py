"""Load benchmarks: the runner core against the old ways of following SageMaker jobs.

``python -m benchmarks.load [--quick] [--sizes 100,1000,10000] [--out DIR]``

Three strategies drive the same jobs, one after another, each in a process of its own against
a fresh emulator process with the ``aws-like`` quotas:

``ours``      the runner core as the batch launcher uses it (``strategy_ours``)
``v1``        one thread per job, boto3, fixed-interval Describe, logs read after the end
              (``strategy_v1``): one Kubeflow pod per job, as the v1 components ran
``trigger``   one coroutine per job, a client per job, fixed-interval Describe with no jitter
              (``strategy_trigger``): Airflow's deferrable SageMaker triggers

Modules: ``workload`` (the jobs and their time compression), ``emulator`` (the emulator
process and what it records), ``probes`` (CPU, memory and loop lag inside a strategy),
``strategy`` (a strategy process's entry point), ``harness`` (runs the phases), ``metrics``
(the figures), ``report`` (JSON, Markdown and charts).
"""
