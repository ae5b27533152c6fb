"""Continuous-learning pipelines: retrain the champion on fixed data, gate the challenger, promote or discard.
Uses: workflows, serving, jobs, ml, evaluation, formats, catalog, domain, settings, errors."""
