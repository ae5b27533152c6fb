"""The desktop window (PySide6, pyqtgraph, superqt): the only package that imports Qt. Start: app.run(argv).
Uses: sdk, pipelines, workflows, serving, jobs, ml, evaluation, formats, catalog, domain, settings, errors."""
