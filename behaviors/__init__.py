"""Built-in behaviors, installed as ``godpy.behaviors``; one class per module."""
