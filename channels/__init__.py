"""The project's Rasa input channels (referenced from credentials.yml)."""
