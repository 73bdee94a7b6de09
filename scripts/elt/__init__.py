"""ELT for the wholesale analytics warehouse: land ERP extracts, load them, build with dbt."""

__version__ = "0.1.0"
