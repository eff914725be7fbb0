"""Shared, framework-free code of the clinic assistant: clinic settings and vetted content.

Used by the action server, the Rasa graph components, the web app and the scripts. Nothing here
reads a file at import time; callers load what they need once and keep it.
"""
