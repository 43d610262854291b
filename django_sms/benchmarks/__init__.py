"""``manage.py smsbench``: the app's speed, measured side by side with bare baselines.

See docs/benchmarks.rst. The pieces:

``runner``
    What the command runs: the parent process (creates and drops the benchmark database,
    starts the measuring process under :mod:`django_sms.benchmarks.settings`) and the
    measuring process itself.
``measure``
    The five measurements (per-message cost, bulk, webhook ingestion, workers, SQL).
``webhook_load``
    Signed Vonage callbacks generated in Python and replayed by ``wrk`` against gunicorn.
``processes``
    Starting and stopping the helper processes: sandboxes, gunicorn, ``db_worker``.
``report``
    The table, the machine and versions, ``docs/benchmarks.md``.
``settings``, ``urls``, ``wsgi``, ``sandbox_server``
    The Django project every benchmark process runs, and the provider sandbox process.
"""
