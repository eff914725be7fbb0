"""The project's Rasa input channels: Rasa's connectors plus the checks the clinic needs.

Each chat channel wraps Rasa's message handler in the reply guard (channels/reply_guard.py), so
a parent always gets an answer, and emergency guidance first, even when part of the system
fails. channels/credentials.py writes the credentials Rasa loads: credentials.yml plus the
messaging apps whose secrets are set.
"""
