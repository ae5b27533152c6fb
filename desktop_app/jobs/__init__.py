"""Jobs: execution records, the queue, the scheduler and the worker process's shell (control, heartbeat).
Uses: ml, evaluation, formats, catalog, domain, settings, errors."""
