"""Custom actions of the clinic assistant, one module per feature.

- answers: vetted topic answers and the confidence gate (clarify or hand over).
- conversation: small talk, help, out-of-scope and guard replies from content/messages.yml.
- safety: the emergency reply.

Actions read content and settings through `clinic.resources.get_resources()`, loaded once on
first use, never at import time.
"""
