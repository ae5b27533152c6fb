"""The desktop window (PySide6, pyqtgraph, superqt): the only package that imports Qt. Start: app.run(argv)."""
