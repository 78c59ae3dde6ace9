"""An example mtml-rl family package: ``drift``, declared by an entry point."""
