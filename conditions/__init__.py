"""Built-in conditions, installed as ``godpy.conditions``; one class per module."""
