"""godpy-load-average: the ``load_average`` condition for godpy."""
