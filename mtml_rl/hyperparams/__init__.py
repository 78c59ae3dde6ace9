"""Default hyperparameters per (family, algorithm), as YAML files."""
