"""Continuous-learning pipelines: retrain the champion on fixed data, gate the challenger, promote or discard."""
