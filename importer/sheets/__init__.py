"""Reading sheets: files under explicit limits, header detection, mapping files and
presets, and canonical column names and values. Imports neither ``reports`` nor ``gateways``."""
