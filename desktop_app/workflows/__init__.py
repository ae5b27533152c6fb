"""The one orchestration room: train / evaluate (= predict + score) / predict / deploy one model, build its adapter.
Uses: serving, jobs, ml, evaluation, formats, catalog, domain, settings, errors.

The worker and service processes' entries live here (started by module name: `-m desktop_app.workflows.worker`,
`-m desktop_app.workflows.host`); the SDK, the CLI, the window and pipelines call it; it never imports them."""
