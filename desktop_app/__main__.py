"""`python -m desktop_app` runs the command line."""

from desktop_app.cli.main import main

raise SystemExit(main())
