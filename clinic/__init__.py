"""What every part of the clinic assistant shares: settings, file paths, loaded resources.

Also the allowed widget origins and the filters that keep other packages' warnings quiet.
Nothing here reads a file at import time; callers load what they need once and keep it.
"""
