"""Simulated ERP extracts written to the landing area."""
