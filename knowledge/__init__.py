"""What the assistant knows and says, from reviewed content only.

Content, scope, aspects, entity patterns, the spaCy pipeline, message parts, buttons, clinician
sign-offs, reading grade, and the special intent names (knowledge/intents.py).
"""
