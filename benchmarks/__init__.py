"""The benchmark of django-transactional-sms: ``python -m benchmarks`` (docs/benchmarks.rst).

Not part of the app: this folder sits beside ``django_sms/`` in the repository and is not in
the wheel. Run it from a clone, after ``./scripts/setup`` (which installs the ``bench``
dependency group: gunicorn, psycopg, django-tasks-db...). The pieces:

``__main__``
    The command line: options, and the two processes (see ``runner``).
``runner``
    The parent process (creates and drops the benchmark database, starts the measuring
    process under :mod:`benchmarks.settings`) and the measuring process itself.
``measure``
    The measurements (per-message cost, bulk, webhook ingestion, workers, SQL).
``providers``
    The table of providers ``--provider`` takes: the app's backend settings for each, and
    the request a developer writes by hand to send through it.
``peer_send``, ``peer_webhook``
    The hand-written peers: what a developer writes without this app to send one SMS and
    to take one signed delivery report, on the same tables.
``bare_webhook``, ``floor``
    Reference rows: the least a Django view can do with a report (one UPDATE), and the
    least a stored send costs (hand-written psycopg).
``profile``
    Where the time goes: a cProfile summary of a send and of a webhook, by component.
``webhook_load``
    Signed Vonage callbacks generated in Python and replayed by ``wrk`` against gunicorn.
``processes``
    Starting and stopping the helper processes: sandboxes, gunicorn, ``db_worker``.
``report``
    The table, the machine and versions, ``docs/benchmarks.md``.
``settings``, ``urls``, ``wsgi``, ``sandbox_server``
    The Django project every benchmark process runs, and the provider sandbox process.
``admin_changelist``
    A separate script: the admin's message list at a million rows (docs/benchmarks-admin.rst).
"""
