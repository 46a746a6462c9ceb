# A text argument of the text kernels (``text.pyx``, ``pipeline.pyx``, ``grouping.pyx``, which
# include this file): any ``str``, a subclass's characters taken as they are, as the pure twins
# take them.


cdef inline str _as_text(object text):
    """``text`` as an exact ``str``: a subclass's characters (a typed ``str`` argument refused
    one with a builtin TypeError the pure twin never raised), anything else a TypeError."""
    if type(text) is str:
        return <str>text
    if isinstance(text, str):
        return str.__str__(text)  # the characters, whatever the subclass's __str__ says
    raise TypeError(f"text must be a str (got {type(text).__name__})")
