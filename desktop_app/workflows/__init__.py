"""The one orchestration room: train / evaluate (predict + score) / predict / deploy one model and build its adapter;
the worker and service processes' entries. Uses serving, jobs, ml, evaluation, formats, catalog; never sdk."""
