"""Safety checks on every message and log line.

Red flags (emergency wordings), user input cleaning, log redaction, rate limits.
"""
