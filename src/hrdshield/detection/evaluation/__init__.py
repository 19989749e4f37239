"""Evaluating detection: synthetic scenarios with ground truth, scored per detector."""
