"""Rasa input channels of the clinic assistant (custom connectors and their configuration)."""
