"""Built-in contacts, installed as ``godpy.contacts``; one class per module."""
