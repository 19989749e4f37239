"""The detectors, one module each; `default_detectors` is the set the pipeline runs."""
