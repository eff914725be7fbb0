"""Cases for clinicians.

The escalation store, the local outbox used while it is down, the webhook notifier, and the
service the actions call to record a case.
"""
