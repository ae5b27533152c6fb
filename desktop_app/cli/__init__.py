"""The command line (`desktop-app`): thin typed commands over the SDK; with no command, the window.
Uses: gui, sdk, pipelines, workflows, serving, jobs, ml, evaluation, formats, catalog, domain, settings, errors."""
