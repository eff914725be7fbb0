"""Rasa's conversation storage.

Tracker and lock stores, the one store URL parser and engine maker, store health, outage marks
and retention.
"""
