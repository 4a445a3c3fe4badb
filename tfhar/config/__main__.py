"""`python -m tfhar.config`: print the configuration reference (docs/configuration.md)."""

from tfhar.config.reference import reference

print(reference(), end="")
